// Regression tests from the write-path review: each reproduced a bug that
// is now fixed.

package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/sandbox"
	"github.com/omnicart/omnicart/sqlite"
)

type rvClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *rvClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *rvClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// counters shared by the provider wrappers.
type knobs struct {
	refuseCapture, refuseRelease atomic.Bool
	captures, releases           atomic.Int64
}

func (k *knobs) capture() error {
	k.captures.Add(1)
	if k.refuseCapture.Load() {
		return fmt.Errorf("%w: acquirer said no", omnicart.ErrRefused)
	}
	return nil
}

func (k *knobs) release() error {
	k.releases.Add(1)
	if k.refuseRelease.Load() {
		return fmt.Errorf("%w: authorization expired at the acquirer", omnicart.ErrRefused)
	}
	return nil
}

// remote is the sandbox issuer seen across a network (no In).
type remote struct {
	p omnicart.Provider
	k *knobs
}

func (r *remote) Authorize(ctx context.Context, req omnicart.AuthorizeRequest) (omnicart.Authorization, error) {
	return r.p.Authorize(ctx, req)
}
func (r *remote) Capture(ctx context.Context, op omnicart.Operation) error {
	if err := r.k.capture(); err != nil {
		return err
	}
	return r.p.Capture(ctx, op)
}
func (r *remote) Release(ctx context.Context, op omnicart.Operation) error {
	if err := r.k.release(); err != nil {
		return err
	}
	return r.p.Release(ctx, op)
}
func (r *remote) Refund(ctx context.Context, op omnicart.Operation) error { return r.p.Refund(ctx, op) }
func (r *remote) Void(ctx context.Context, opID string) error             { return r.p.Void(ctx, opID) }

// local is the sandbox issuer as a LocalProvider whose in-transaction
// provider obeys the knobs.
type local struct {
	remote
	iss *sandbox.Issuer
}

func (l *local) In(tx omnicart.Tx) omnicart.Provider {
	return &remote{p: l.iss.In(tx), k: l.k}
}

type rigT struct {
	db    *sqlite.DB
	svc   *gateway.Service
	iss   *sandbox.Issuer
	k     *knobs
	clk   *rvClock
	m     *omnicart.Merchant
	key   string
	store *sqlite.Store
}

// newRig: kind is "sandbox" (the plain local issuer), "remote" or "local"
// (local with knobs).
func newRig(t *testing.T, kind string) *rigT {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	iss := sandbox.New(sqlite.NewLedger(db), []byte("k"))
	k := &knobs{}
	var p omnicart.Provider
	switch kind {
	case "sandbox":
		p = iss
	case "remote":
		p = &remote{p: iss, k: k}
	case "local":
		p = &local{remote: remote{p: iss, k: k}, iss: iss}
	}
	c := &rvClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	store := sqlite.NewStore(db)
	svc := &gateway.Service{Store: store,
		Provider:  func(*omnicart.Merchant) (omnicart.Provider, error) { return p, nil },
		Now:       c.Now,
		KeyPepper: []byte("p"),
		AnswerKey: make([]byte, 32),
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil))}
	priv := omnicart.AllPrivileges()
	priv.CaptureMinSecs = 1
	m, key, err := svc.CreateMerchant(ctx, gateway.NewMerchant{Name: "x", Mode: omnicart.ModeTest, Privileges: priv,
		Items: []omnicart.CatalogItem{{ItemID: "pegasus", DisplayName: "P"}, {ItemID: "naga", DisplayName: "N"}}})
	if err != nil {
		t.Fatal(err)
	}
	return &rigT{db: db, svc: svc, iss: iss, k: k, clk: c, m: m, key: key, store: store}
}

func twoStep(id string, amount, window int64, auto omnicart.AutoAction) omnicart.ItemSpec {
	two := true
	return omnicart.ItemSpec{ID: id, Amount: amount, Level: omnicart.Level{Capture: &two, AutoAction: &auto, WindowSecs: &window}}
}

func oneStep(id string, amount int64) omnicart.ItemSpec {
	f := false
	return omnicart.ItemSpec{ID: id, Amount: amount, Level: omnicart.Level{Capture: &f}}
}

func (r *rigT) initCart(t *testing.T, id string, items ...omnicart.ItemSpec) string {
	t.Helper()
	res, err := r.svc.Init(t.Context(), r.m, &omnicart.InitSpec{CartID: id, Currency: "EUR", Items: items}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.PayToken
}

func (r *rigT) load(t *testing.T, id string) *omnicart.Cart {
	t.Helper()
	var c *omnicart.Cart
	if err := r.store.View(context.Background(), func(tx omnicart.Tx) error {
		var err error
		c, err = tx.Cart(context.Background(), r.m.ID, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return c
}
