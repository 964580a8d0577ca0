package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/httpapi"
	"github.com/omnicart/omnicart/sandbox"
	"github.com/omnicart/omnicart/sqlite"
)

// touchCounter is a store that counts the TouchAPIKey calls made in its
// write transactions.
type touchCounter struct {
	omnicart.Store
	mu      sync.Mutex
	touches int
}

type touchCountingTx struct {
	omnicart.Tx
	c *touchCounter
}

func (c *touchCounter) Tx(ctx context.Context, fn func(tx omnicart.Tx) error) error {
	return c.Store.Tx(ctx, func(tx omnicart.Tx) error { return fn(touchCountingTx{tx, c}) })
}

func (t touchCountingTx) TouchAPIKey(ctx context.Context, hash []byte, at time.Time) error {
	t.c.mu.Lock()
	t.c.touches++
	t.c.mu.Unlock()
	return t.Tx.TouchAPIKey(ctx, hash, at)
}

func (c *touchCounter) count() int { c.mu.Lock(); defer c.mu.Unlock(); return c.touches }

// TestKeyUsedIsThrottled: a key's use is written at most once per
// KeyUseInterval on a node, asynchronously, and the key list then shows
// when it was last used.
func TestKeyUsedIsThrottled(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store := &touchCounter{Store: sqlite.NewStore(db)}
	iss := sandbox.New(sqlite.NewLedger(db), []byte("k"))
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	svc := &gateway.Service{Store: store,
		Provider: func(*omnicart.Merchant) (omnicart.Provider, error) { return iss, nil },
		Now:      clk.Now, KeyPepper: []byte("p"), AnswerKey: make([]byte, 32),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), KeyUses: gateway.NewKeyUses()}
	go svc.RunKeyUses(ctx)
	m, raw, err := svc.CreateMerchant(ctx, gateway.NewMerchant{Name: "t", Mode: omnicart.ModeTest, Privileges: omnicart.DefaultPrivileges(),
		Items: []omnicart.CatalogItem{{ItemID: "pegasus", DisplayName: "P"}}})
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() *time.Time {
		var keys []*omnicart.APIKey
		if err := svc.Store.View(ctx, func(tx omnicart.Tx) error {
			var err error
			keys, err = tx.APIKeys(ctx, m.ID)
			return err
		}); err != nil || len(keys) != 1 {
			t.Fatalf("APIKeys = %v, %v", keys, err)
		}
		return keys[0].LastUsedAt
	}
	use := func() {
		t.Helper()
		_, k, err := svc.Authenticate(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		svc.KeyUsed(k)
	}
	waitFor := func(want time.Time, touches int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got := lastUsed()
			if got != nil && got.Equal(want) && store.count() == touches {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("LastUsedAt = %v after %d writes; want %v after %d", got, store.count(), want, touches)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	if got := lastUsed(); got != nil {
		t.Fatalf("new key: LastUsedAt = %v, want nil", got)
	}
	if _, _, err := svc.Authenticate(ctx, raw); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if got, n := lastUsed(), store.count(); got != nil || n != 0 {
		t.Fatalf("Authenticate alone recorded a use: %v, %d writes", got, n)
	}

	first := clk.Now()
	use()
	waitFor(first, 1)
	clk.Add(30 * time.Second)
	use() // within the interval: no write
	use()
	clk.Add(gateway.KeyUseInterval - 30*time.Second)
	third := clk.Now()
	use() // one interval after the first: written
	// The writes are made in order by one goroutine: once the third use
	// is seen, the uses before it were written or skipped.
	waitFor(third, 2)

	// The Merchant API records the use of the key that authenticated a
	// request, throttled the same way.
	srv := httptest.NewServer((&httpapi.Server{Service: svc, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicURL: "http://x"}).Handler())
	t.Cleanup(srv.Close)
	get := func() {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/status/no-such-cart", nil)
		req.Header.Set("Api-Access-Token", raw)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	get() // within the interval of the third use: no write
	clk.Add(gateway.KeyUseInterval)
	fourth := clk.Now()
	get()
	get()
	waitFor(fourth, 3)
}
