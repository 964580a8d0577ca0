package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/sandbox"
	"github.com/omnicart/omnicart/sandbox/sandboxtest"
)

// Engine is one storage engine's implementation of the storage ports,
// all kept in the same database.
type Engine struct {
	Store omnicart.Store
	// Notifications is the payment-link queue whose messages
	// Tx.EnqueueNotification writes.
	Notifications omnicart.NotificationQueue
}

// Run runs the suite. open returns a new, empty engine for each subtest and
// releases it with tb.Cleanup.
//
// The suite calls Store.Tx from inside View and Read, and View and Read
// from inside Tx (never Tx from inside Tx), so an engine's connection pool
// must hold at least two connections.
func Run(t *testing.T, open func(tb testing.TB) Engine) {
	for _, c := range []struct {
		name string
		run  func(*testing.T, Engine)
	}{
		{"Ping", testPing},
		{"Merchants", onStore(testMerchants)},
		{"APIKeys", onStore(testAPIKeys)},
		{"Catalog", onStore(testCatalog)},
		{"CatalogAdmin", onStore(testCatalogAdmin)},
		{"MerchantUpdate", onStore(testMerchantUpdate)},
		{"Carts", onStore(testCarts)},
		{"CartDocuments", onStore(testCartDocuments)},
		{"CartPrefetch", onStore(testCartPrefetch)},
		{"EventActors", onStore(testEventActors)},
		{"ActiveTimers", onStore(testActiveTimers)},
		{"TimerIndexFollowsTheCart", onStore(testTimerIndex)},
		{"Deadlines", onStore(testDeadlines)},
		{"DueClaimsRace", onStore(testDueClaimsRace)},
		{"Operations", onStore(testOperations)},
		{"RecoveryClaims", onStore(testRecoveryClaims)},
		{"RecoveryClaimsRace", onStore(testRecoveryClaimsRace)},
		{"IdempotencyKeys", onStore(testIdempotency)},
		{"Notifications", testNotifications},
		{"NotificationQueue", testNotificationQueue},
		{"NotificationClaimsRace", testNotificationClaimsRace},
		{"LedgerInTx", onStore(testLedgerInTx)},
		{"LedgerRace", onStore(testLedgerRace)},
		{"Rollback", testRollback},
		{"ViewAndRead", testViewAndRead},
		{"ConcurrentWriters", onStore(testConcurrent)},
		{"ConcurrentChanges", testConcurrentChanges},
	} {
		t.Run(c.name, func(t *testing.T) { t.Parallel(); c.run(t, open(t)) })
	}
	// The sandbox ledger's own conformance suites, on the ledger of
	// Tx.Ledger: every post is a transaction of its own (committed even
	// when the post is refused), every read a View.
	txLedgerOf := func(tb testing.TB) sandbox.Ledger { return txLedger{open(tb).Store} }
	t.Run("Ledger", func(t *testing.T) { t.Parallel(); sandboxtest.RunLedger(t, txLedgerOf) })
	t.Run("LedgerIssuer", func(t *testing.T) { t.Parallel(); sandboxtest.RunIssuer(t, txLedgerOf) })
}

func onStore(fn func(*testing.T, omnicart.Store)) func(*testing.T, Engine) {
	return func(t *testing.T, e Engine) { fn(t, e.Store) }
}

// t0 is the suite's "now". Engines keep times to the millisecond; the
// suite uses whole milliseconds.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

var errRollback = errors.New("storetest: roll back")

// tx runs fn in a transaction and fails the test on an error.
func tx(tb testing.TB, s omnicart.Store, fn func(omnicart.Tx) error) {
	tb.Helper()
	if err := s.Tx(context.Background(), fn); err != nil {
		tb.Fatal(err)
	}
}

// view runs fn in a View and fails the test on an error.
func view(tb testing.TB, s omnicart.Store, fn func(omnicart.Tx) error) {
	tb.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		tb.Fatal(err)
	}
}

func merchant(tb testing.TB, s omnicart.Store, id string) *omnicart.Merchant {
	tb.Helper()
	m := &omnicart.Merchant{ID: id, Name: "Shop " + id, Mode: omnicart.ModeTest, CartExpirySecs: 7200, MaxDeclines: 3,
		Privileges: omnicart.DefaultPrivileges(), CreatedAt: t0}
	tx(tb, s, func(tx omnicart.Tx) error { return tx.CreateMerchant(context.Background(), m) })
	return m
}

// newCart returns a cart of m with items pegasus (250, with a 600 s timer
// started at creation when timer is set) and naga (1100, tag tower),
// expiring 7200 s after now.
func newCart(tb testing.TB, m *omnicart.Merchant, id, customer string, timer bool, now time.Time) *omnicart.Cart {
	tb.Helper()
	spec := &omnicart.InitSpec{CartID: id, CustomerID: customer, Currency: "EUR",
		Items: []omnicart.ItemSpec{{ID: "pegasus", Amount: 250}, {ID: "naga", Amount: 1100, Tag: "tower"}}}
	if timer {
		on, trig, val := true, "initiated", int64(600)
		spec.Items[0].Level = omnicart.Level{EnableTimer: &on, Trigger: &trig, TimerValue: &val}
	}
	var sp omnicart.StagedProblems
	c := omnicart.NewCart(spec, m, now, &sp)
	if c == nil {
		tb.Fatalf("NewCart: %+v", sp)
	}
	return c
}

// due is the real moment of the cart's next deadline (its merchant-time
// deadline minus the merchant's test-clock offset), zero for none: what
// CreateCart and SaveCart take.
func due(c *omnicart.Cart, m *omnicart.Merchant) time.Time {
	d, ok := c.NextDeadline(m.AutoActionLead())
	if !ok {
		return time.Time{}
	}
	return d.Add(-m.ClockOffset)
}

// docOf is the cart as a JSON document: two carts with the same document
// hold the same state.
func docOf(tb testing.TB, c *omnicart.Cart) string {
	tb.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// loadCart reads a cart with Tx.Cart in a View.
func loadCart(tb testing.TB, s omnicart.Store, merchantID, cartID string) *omnicart.Cart {
	tb.Helper()
	var c *omnicart.Cart
	view(tb, s, func(tx omnicart.Tx) error {
		var err error
		c, err = tx.Cart(context.Background(), merchantID, cartID)
		return err
	})
	return c
}

func testPing(t *testing.T, e Engine) {
	if err := e.Store.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testMerchants(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m := merchant(t, s, "m1")
	err := s.Tx(ctx, func(tx omnicart.Tx) error { return tx.CreateMerchant(ctx, m) })
	if !errors.Is(err, omnicart.ErrConflict) {
		t.Fatalf("duplicate merchant: %v, want ErrConflict", err)
	}
	_ = s.View(ctx, func(tx omnicart.Tx) error {
		got, err := tx.Merchant(ctx, "m1")
		if err != nil || got.Name != "Shop m1" || got.Privileges != m.Privileges || !got.CreatedAt.Equal(t0) {
			t.Errorf("Merchant = %+v, %v", got, err)
		}
		if _, err := tx.Merchant(ctx, "nope"); !errors.Is(err, omnicart.ErrNotFound) {
			t.Errorf("unknown merchant: %v, want ErrNotFound", err)
		}
		all, err := tx.Merchants(ctx)
		if err != nil || len(all) != 1 {
			t.Errorf("Merchants = %d, %v", len(all), err)
		}
		return nil
	})
}

func testAPIKeys(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	merchant(t, s, "m1")
	k1 := &omnicart.APIKey{Prefix: "ock_test_AAAAAAA", MerchantID: "m1", Hash: []byte("hash-1"), CreatedAt: t0, CreatedBy: omnicart.ActorOperator}
	k2 := &omnicart.APIKey{Prefix: "ock_test_AAAABBB", MerchantID: "m1", Hash: []byte("hash-2"), Methods: []string{"status"}, CreatedAt: t0,
		CreatedBy: omnicart.PanelActor("ada@shop.example")}
	tx(t, s, func(tx omnicart.Tx) error {
		if err := tx.CreateAPIKey(ctx, k1); err != nil {
			return err
		}
		return tx.CreateAPIKey(ctx, k2)
	})
	_ = s.View(ctx, func(tx omnicart.Tx) error {
		got, err := tx.APIKeyByHash(ctx, []byte("hash-2"))
		if err != nil || got.MerchantID != "m1" || len(got.Methods) != 1 || got.Methods[0] != "status" || got.CreatedBy != k2.CreatedBy {
			t.Errorf("APIKeyByHash = %+v, %v", got, err)
		}
		keys, err := tx.APIKeys(ctx, "m1")
		if err != nil || len(keys) != 2 {
			t.Fatalf("APIKeys = %+v, %v", keys, err)
		}
		for _, k := range keys {
			if want := map[string]omnicart.Actor{k1.Prefix: k1.CreatedBy, k2.Prefix: k2.CreatedBy}[k.Prefix]; k.CreatedBy != want {
				t.Errorf("APIKeys: %s created by %q, want %q", k.Prefix, k.CreatedBy, want)
			}
		}
		return nil
	})
	err := s.Tx(ctx, func(tx omnicart.Tx) error { return tx.RevokeAPIKey(ctx, "m1", "ock_test_AAAA", t0) })
	if !errors.Is(err, omnicart.ErrConflict) {
		t.Fatalf("ambiguous prefix: %v, want ErrConflict", err)
	}
	err = s.Tx(ctx, func(tx omnicart.Tx) error { return tx.RevokeAPIKey(ctx, "other", "ock_test_AAAAB", t0) })
	if !errors.Is(err, omnicart.ErrNotFound) {
		t.Fatalf("other merchant's key: %v, want ErrNotFound", err)
	}
	tx(t, s, func(tx omnicart.Tx) error { return tx.RevokeAPIKey(ctx, "m1", "ock_test_AAAAB", t0) })
	_ = s.View(ctx, func(tx omnicart.Tx) error {
		if _, err := tx.APIKeyByHash(ctx, []byte("hash-2")); !errors.Is(err, omnicart.ErrNotFound) {
			t.Errorf("revoked key found: %v", err)
		}
		if _, err := tx.APIKeyByHash(ctx, []byte("hash-1")); err != nil {
			t.Errorf("other key lost: %v", err)
		}
		keys, err := tx.APIKeys(ctx, "m1")
		if err != nil || len(keys) != 2 || (keys[0].RevokedAt == nil) == (keys[1].RevokedAt == nil) {
			t.Errorf("APIKeys = %+v, %v", keys, err)
		}
		for _, k := range keys {
			if k.LastUsedAt != nil {
				t.Errorf("key %s never used has LastUsedAt %v", k.Prefix, k.LastUsedAt)
			}
		}
		return nil
	})

	// TouchAPIKey records the last use; an earlier time never replaces a
	// later one (touches from several nodes may arrive out of order), and
	// an unknown hash is no error.
	used := t0.Add(90 * time.Second)
	tx(t, s, func(tx omnicart.Tx) error { return tx.TouchAPIKey(ctx, []byte("hash-1"), used) })
	tx(t, s, func(tx omnicart.Tx) error { return tx.TouchAPIKey(ctx, []byte("hash-1"), used.Add(-time.Minute)) })
	tx(t, s, func(tx omnicart.Tx) error { return tx.TouchAPIKey(ctx, []byte("no such hash"), used) })
	_ = s.View(ctx, func(tx omnicart.Tx) error {
		k, err := tx.APIKeyByHash(ctx, []byte("hash-1"))
		if err != nil || k.LastUsedAt == nil || !k.LastUsedAt.Equal(used) {
			t.Errorf("APIKeyByHash after touch = %+v, %v; want LastUsedAt %v", k, err, used)
		}
		keys, err := tx.APIKeys(ctx, "m1")
		if err != nil || len(keys) != 2 {
			t.Fatalf("APIKeys = %+v, %v", keys, err)
		}
		for _, k := range keys {
			switch {
			case k.Prefix == k1.Prefix && (k.LastUsedAt == nil || !k.LastUsedAt.Equal(used)):
				t.Errorf("APIKeys: %s LastUsedAt = %v, want %v", k.Prefix, k.LastUsedAt, used)
			case k.Prefix == k2.Prefix && k.LastUsedAt != nil:
				t.Errorf("APIKeys: untouched %s LastUsedAt = %v", k.Prefix, k.LastUsedAt)
			}
		}
		return nil
	})
	later := used.Add(time.Hour)
	tx(t, s, func(tx omnicart.Tx) error { return tx.TouchAPIKey(ctx, []byte("hash-1"), later) })
	_ = s.View(ctx, func(tx omnicart.Tx) error {
		k, err := tx.APIKeyByHash(ctx, []byte("hash-1"))
		if err != nil || k.LastUsedAt == nil || !k.LastUsedAt.Equal(later) {
			t.Errorf("APIKeyByHash after a later touch = %+v, %v; want LastUsedAt %v", k, err, later)
		}
		return nil
	})
}

func testCatalog(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	merchant(t, s, "m1")
	merchant(t, s, "m2")
	tx(t, s, func(tx omnicart.Tx) error {
		if err := tx.PutCatalogItems(ctx, "m1", []omnicart.CatalogItem{{ItemID: "pegasus", DisplayName: "Pegasus"}, {ItemID: "naga", DisplayName: "naga"}}); err != nil {
			return err
		}
		return tx.PutCatalogItems(ctx, "m1", []omnicart.CatalogItem{{ItemID: "naga", DisplayName: "Naga Queen"}})
	})
	_ = s.View(ctx, func(tx omnicart.Tx) error {
		got, err := tx.CatalogItems(ctx, "m1", []string{"naga", "lich", "pegasus"})
		names := map[string]string{}
		for _, it := range got {
			names[it.ItemID] = it.DisplayName
		}
		if err != nil || len(got) != 2 || names["naga"] != "Naga Queen" || names["pegasus"] != "Pegasus" {
			t.Errorf("CatalogItems = %+v, %v", got, err)
		}
		if got, _ := tx.CatalogItems(ctx, "m2", []string{"naga"}); len(got) != 0 {
			t.Errorf("catalog leaked to another merchant: %+v", got)
		}
		return nil
	})
}
