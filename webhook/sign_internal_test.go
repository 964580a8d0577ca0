package webhook

import (
	"fmt"
	"sync"
	"testing"
)

// TestCachedSignersSignAsSign signs many messages at once through one
// keyCache (whose signers reuse keyed hash states) and checks each
// signature against Sign's, which starts from a fresh key every time.
func TestCachedSignersSignAsSign(t *testing.T) {
	secrets := []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2VjcmV0LXR3by1mb3ItdGhlLXJvdGF0aW9u"}
	var cache keyCache
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				id, ts := fmt.Sprintf("evt_%d_%d", g, i), int64(1_700_000_000+i)
				body := []byte(fmt.Sprintf(`{"n":%d,"pad":"%*s"}`, i, i%97, ""))
				ss := secrets[:1+i%2]
				got, err := signWith(cache.signer, ss, id, ts, body)
				if err != nil {
					errs <- err
					return
				}
				want, err := Sign(ss, id, ts, body)
				if err != nil {
					errs <- err
					return
				}
				if got != want {
					errs <- fmt.Errorf("message %s: cached signers wrote %q, Sign %q", id, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, err := cache.signer("whsec_not base64!"); err == nil {
		t.Error("a secret that is not base64 got a signer")
	}
}
