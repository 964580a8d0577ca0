package gateway_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"

	"github.com/omnicart/omnicart/gateway"
)

func wantKeyHash(pepper []byte, raw string) []byte {
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte(raw))
	return m.Sum(nil)
}

// TestHashKeyReusesNothingBetweenKeys: HashKey, which reuses keyed HMACs,
// gives each key its own HMAC-SHA256 under the pepper, from many
// goroutines at once (run with -race), and follows a changed pepper.
func TestHashKeyReusesNothingBetweenKeys(t *testing.T) {
	svc := &gateway.Service{KeyPepper: []byte("pepper-1")}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				raw := fmt.Sprintf("ock_test_%d_%d", g, i)
				if got, want := svc.HashKey(raw), wantKeyHash([]byte("pepper-1"), raw); !bytes.Equal(got, want) {
					t.Errorf("HashKey(%q) = %x, want %x", raw, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	first := svc.HashKey("ock_test_same")
	if again := svc.HashKey("ock_test_same"); !bytes.Equal(first, again) {
		t.Fatalf("two hashes of one key differ: %x, %x", first, again)
	}
	svc.KeyPepper = []byte("pepper-2")
	if got, want := svc.HashKey("ock_test_same"), wantKeyHash([]byte("pepper-2"), "ock_test_same"); !bytes.Equal(got, want) {
		t.Fatalf("after a new pepper: %x, want %x", got, want)
	}
}
