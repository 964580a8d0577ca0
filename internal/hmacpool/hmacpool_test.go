package hmacpool

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
)

func want(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// TestPoolGivesFreshKeyedMACs: from many goroutines at once (run with
// -race), with two keys taking turns on one pool, every MAC a Get returns
// is keyed with the key asked for and holds nothing of its last use.
func TestPoolGivesFreshKeyedMACs(t *testing.T) {
	var p Pool
	keys := [][]byte{[]byte("key-one"), []byte("key-two")}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				key := keys[(g+i)%2]
				msg := fmt.Sprintf("message %d/%d", g, i)
				m := p.Get(key)
				m.Write([]byte(msg))
				got := m.Sum(nil)
				p.Put(m)
				if !bytes.Equal(got, want(key, msg)) {
					t.Errorf("%s under %s: %x, want %x", msg, key, got, want(key, msg))
					return
				}
			}
		})
	}
	wg.Wait()
	// A key changed in place after Get is still told apart (Get keeps a
	// copy).
	key := []byte("key-one")
	m := p.Get(key)
	p.Put(m)
	key[0] = 'K'
	m = p.Get(key)
	m.Write([]byte("x"))
	if got := m.Sum(nil); !bytes.Equal(got, want([]byte("Key-one"), "x")) {
		t.Fatalf("after the key changed in place: %x", got)
	}
}
