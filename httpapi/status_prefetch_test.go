package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
)

// prefetchSpyStore records the prefetch each API key read sees.
type prefetchSpyStore struct {
	omnicart.Store
	mu   sync.Mutex
	seen []string // CartID of the prefetch per APIKeyByHash ("-" none)
}

func (s *prefetchSpyStore) Read(ctx context.Context, fn func(omnicart.Tx) error) error {
	return fn(&prefetchSpyTx{s: s})
}

type prefetchSpyTx struct {
	omnicart.Tx
	s *prefetchSpyStore
}

func (t *prefetchSpyTx) APIKeyByHash(ctx context.Context, hash []byte) (*omnicart.APIKey, error) {
	id := "-"
	if p := omnicart.CartPrefetchOf(ctx); p != nil {
		id = p.CartID()
	}
	t.s.mu.Lock()
	t.s.seen = append(t.s.seen, id)
	t.s.mu.Unlock()
	return &omnicart.APIKey{Prefix: "ock_test_x", MerchantID: "m1", Hash: hash}, nil
}

func (t *prefetchSpyTx) Merchant(ctx context.Context, id string) (*omnicart.Merchant, error) {
	return &omnicart.Merchant{ID: id, Mode: omnicart.ModeTest, Privileges: omnicart.DefaultPrivileges()}, nil
}

func (t *prefetchSpyTx) Cart(ctx context.Context, merchantID, cartID string) (*omnicart.Cart, error) {
	return nil, omnicart.ErrNotFound
}

// TestStatusPrefetchWiring checks which requests reach the API key read
// with a cart prefetch (omnicart.CartPrefetch): GET /status with a valid
// cartId in any of its forms, and nothing else.
func TestStatusPrefetchWiring(t *testing.T) {
	st := &prefetchSpyStore{}
	s := &Server{Service: &gateway.Service{Store: st, Now: time.Now, KeyPepper: []byte("p")}, Log: slog.New(slog.DiscardHandler)}
	h := s.Handler()
	for _, c := range []struct{ method, target, want string }{
		{"GET", "/status/cart-000001", "cart-000001"},
		{"GET", "/status/:cart-000001", "cart-000001"},
		{"GET", "/status/cart%2D000001", "cart-000001"},
		{"GET", "/status/cart-000001?tags=a", "cart-000001"},
		{"GET", "/status/bad", "-"},
		{"GET", "/status", "-"},
		{"HEAD", "/status/cart-000001", "-"},
		{"POST", "/status/cart-000001", "-"},
	} {
		st.seen = nil
		r := httptest.NewRequest(c.method, c.target, nil)
		r.Header.Set("Api-Access-Token", "ock_test_secret")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if len(st.seen) != 1 || st.seen[0] != c.want {
			t.Errorf("%s %s: prefetch %v, want %q (%d %s)", c.method, c.target, st.seen, c.want, rec.Code, rec.Body)
		}
	}
	_ = http.MethodGet
}
