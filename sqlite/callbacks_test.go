package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/clock"
	"github.com/omnicart/omnicart/sqlite"
	"github.com/omnicart/omnicart/webhook"
)

// cbFixture is a database with a merchant, one cart with n outbox events
// fanned out to one endpoint.
type cbFixture struct {
	db    *sqlite.DB
	store *sqlite.Callbacks
	ep    *omnicart.CallbackEndpoint
	now   time.Time
}

const cbMerchantID = "mer_cb"

func newCBFixture(tb testing.TB, carts, perCart int) *cbFixture {
	tb.Helper()
	return newCBFixtureAt(tb, time.Now(), carts, perCart)
}

// newCBFixtureAt is newCBFixture with the clock at `at`.
func newCBFixtureAt(tb testing.TB, at time.Time, carts, perCart int) *cbFixture {
	tb.Helper()
	ctx := context.Background()
	db := openDB(tb, filepath.Join(tb.TempDir(), "cb.db"))
	f := &cbFixture{db: db, store: sqlite.NewCallbacks(db), now: time.UnixMilli(at.UnixMilli()).UTC()}
	st := sqlite.NewStore(db)
	if err := st.Tx(ctx, func(tx omnicart.Tx) error {
		return tx.CreateMerchant(ctx, &omnicart.Merchant{ID: cbMerchantID, Name: "CB", Mode: omnicart.ModeTest, CreatedAt: f.now})
	}); err != nil {
		tb.Fatal(err)
	}
	m := &webhook.Manager{Store: f.store, Now: func() time.Time { return f.now }, AllowPrivate: true}
	var err error
	if f.ep, _, err = m.AddEndpoint(ctx, cbMerchantID, webhook.NewEndpoint{URL: "http://127.0.0.1:9/hook"}); err != nil {
		tb.Fatal(err)
	}
	for i := range carts {
		id := fmt.Sprintf("cart-%04d", i)
		c := &omnicart.Cart{MerchantID: cbMerchantID, ID: id, Currency: "EUR", CreatedAt: f.now, ExpiresAt: f.now.Add(time.Hour)}
		if err := st.Tx(ctx, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, c, []byte(id), time.Time{}) }); err != nil {
			tb.Fatal(err)
		}
		for seq := 1; seq <= perCart; seq++ {
			body, _ := json.Marshal(omnicart.Event{Type: omnicart.EventPaymentStatusChanged, CartID: id, Sequence: int64(seq), At: f.now,
				Changes: []omnicart.Change{{ItemID: "pegasus", From: omnicart.StatusInitiated, To: omnicart.StatusAuthorized}}})
			if _, err := db.SQL().Exec(`INSERT INTO events(cart_pk, sequence, type, body, created_at)
				SELECT pk, ?, ?, ?, ? FROM carts WHERE cart_id = ?`, seq, omnicart.EventPaymentStatusChanged, string(body), f.now.UnixMilli(), id); err != nil {
				tb.Fatal(err)
			}
		}
	}
	d := &webhook.Dispatcher{Store: f.store, Clock: clock.NewFake(f.now)}
	n, err := d.FanOut(ctx)
	if err != nil || n != carts*perCart {
		tb.Fatalf("fan-out: %d %v", n, err)
	}
	return f
}

func (f *cbFixture) claim(tb testing.TB, owner string, at time.Time, per, limit int, held ...omnicart.CallbackClaim) []omnicart.CallbackClaim {
	tb.Helper()
	h := map[string][]int64{}
	for _, c := range held {
		h[c.Endpoint.ID] = append(h[c.Endpoint.ID], c.DeliveryID)
	}
	cs, err := f.store.Claim(context.Background(), owner, at, at.Add(5*time.Second), per, limit, h)
	if err != nil {
		tb.Fatal(err)
	}
	return cs
}

func (f *cbFixture) outcome(c omnicart.CallbackClaim, status string, at time.Time) omnicart.CallbackOutcome {
	o := omnicart.CallbackOutcome{DeliveryID: c.DeliveryID, EndpointID: c.Endpoint.ID, Attempt: c.Attempt, At: at, Status: status, HTTPStatus: 200}
	if status == omnicart.DeliveryPending {
		o.HTTPStatus, o.Error, o.NextAttemptAt = 500, "HTTP 500", at.Add(time.Second)
	}
	return o
}

// TestCallbackFanOutOnce checks that the fan-out publishes each outbox event
// once, with its payload and one delivery per subscribed endpoint.
func TestCallbackFanOutOnce(t *testing.T) {
	t.Parallel()
	f := newCBFixture(t, 2, 3)
	ctx := context.Background()
	d := &webhook.Dispatcher{Store: f.store, Clock: clock.NewFake(f.now)}
	if n, err := d.FanOut(ctx); n != 0 || err != nil {
		t.Fatalf("second fan-out: %d %v", n, err)
	}
	evs, err := f.store.Events(ctx, cbMerchantID, omnicart.CallbackEventQuery{Limit: 100})
	if err != nil || len(evs) != 6 {
		t.Fatalf("events: %d %v", len(evs), err)
	}
	for _, e := range evs {
		ds, err := f.store.Deliveries(ctx, cbMerchantID, e.ID)
		if err != nil || len(ds) != 1 || ds[0].EndpointID != f.ep.ID || ds[0].Status != omnicart.DeliveryPending {
			t.Fatalf("deliveries of %s: %+v %v", e.ID, ds, err)
		}
		var p webhook.Payload
		if err := json.Unmarshal(e.Payload, &p); err != nil || p.ID != e.ID || p.Sequence != e.Sequence {
			t.Fatalf("payload %s: %v", e.Payload, err)
		}
	}
	if _, err := f.store.Event(ctx, "mer_other", evs[0].ID); !errors.Is(err, omnicart.ErrNotFound) {
		t.Fatalf("another merchant's event: %v", err)
	}
}

// TestCallbackClaimBounds checks the claim rules: one owner at a time per
// endpoint, at most perEndpoint held, a cart's later events wait for the
// first attempt of its earlier ones, and an expired lease (a crashed
// process) lets another owner take the endpoint and its unrecorded
// deliveries, still on their first attempt.
func TestCallbackClaimBounds(t *testing.T) {
	t.Parallel()
	f := newCBFixture(t, 6, 2)
	ctx := context.Background()
	a := f.claim(t, "owner-a", f.now, 4, 100)
	if len(a) != 4 {
		t.Fatalf("owner a claimed %d, want 4", len(a))
	}
	for _, c := range a {
		var p webhook.Payload
		if err := json.Unmarshal(c.Payload, &p); err != nil || p.Sequence != 1 || c.Attempt != 1 || c.Endpoint.Secret == "" || c.EventID != p.ID {
			t.Fatalf("claimed %+v (%s): the first event of each cart goes first", c, c.Payload)
		}
	}
	if again := f.claim(t, "owner-a", f.now, 4, 100, a...); len(again) != 0 {
		t.Fatalf("owner a claimed %d more while holding 4", len(again))
	}
	if b := f.claim(t, "owner-b", f.now, 4, 100); len(b) != 0 {
		t.Fatalf("owner b claimed %d while owner a serves the endpoint", len(b))
	}
	// One outcome makes room for one more.
	if _, err := f.store.Record(ctx, "owner-a", []omnicart.CallbackOutcome{f.outcome(a[0], omnicart.DeliverySucceeded, f.now)}); err != nil {
		t.Fatal(err)
	}
	more := f.claim(t, "owner-a", f.now, 4, 100, a[1:]...)
	if len(more) != 1 {
		t.Fatalf("owner a claimed %d after one outcome, want 1", len(more))
	}
	// Owner a dies: once its lease expires, owner c takes the endpoint and
	// gets the deliveries owner a never recorded, on their first attempt.
	later := f.now.Add(6 * time.Second)
	c := f.claim(t, "owner-c", later, 10, 100)
	seen := map[int64]bool{}
	for _, x := range c {
		seen[x.DeliveryID] = true
		if x.Attempt != 1 {
			t.Fatalf("taken-over delivery %d is on attempt %d", x.DeliveryID, x.Attempt)
		}
	}
	for _, x := range append(a[1:], more...) {
		if !seen[x.DeliveryID] {
			t.Fatalf("delivery %d of the dead owner not taken over: %+v", x.DeliveryID, c)
		}
	}
	// The dead owner's late outcome is logged but does not change the
	// delivery, now owner c's.
	if _, err := f.store.Record(ctx, "owner-a", []omnicart.CallbackOutcome{f.outcome(a[1], omnicart.DeliverySucceeded, later)}); err != nil {
		t.Fatal(err)
	}
	ds, _ := f.store.Deliveries(ctx, cbMerchantID, mustEventOf(t, f, a[1]))
	if len(ds) != 1 || ds[0].Status != omnicart.DeliveryPending || ds[0].Attempts != 0 {
		t.Fatalf("a stale outcome changed the delivery: %+v", ds)
	}
	log, _ := f.store.Attempts(ctx, cbMerchantID, f.ep.ID, 100)
	if len(log) != 2 {
		t.Fatalf("attempt log has %d rows, want 2", len(log))
	}
	// Released leases are free at once.
	if err := f.store.Release(ctx, "owner-c"); err != nil {
		t.Fatal(err)
	}
	if d := f.claim(t, "owner-d", later, 2, 100); len(d) != 2 {
		t.Fatalf("owner d claimed %d after owner c released, want 2", len(d))
	}
}

func mustEventOf(tb testing.TB, f *cbFixture, c omnicart.CallbackClaim) string {
	tb.Helper()
	var p webhook.Payload
	if err := json.Unmarshal(c.Payload, &p); err != nil {
		tb.Fatal(err)
	}
	return p.ID
}

// TestCallbackRetryWaits checks that a failed attempt waits for its next
// attempt time, and counts as an attempt.
func TestCallbackRetryWaits(t *testing.T) {
	t.Parallel()
	f := newCBFixture(t, 1, 1)
	ctx := context.Background()
	c := f.claim(t, "owner", f.now, 4, 10)
	if len(c) != 1 || c[0].Attempt != 1 {
		t.Fatalf("claimed %+v", c)
	}
	if _, err := f.store.Record(ctx, "owner", []omnicart.CallbackOutcome{f.outcome(c[0], omnicart.DeliveryPending, f.now)}); err != nil {
		t.Fatal(err)
	}
	next, ok, err := f.store.NextDue(ctx)
	if err != nil || !ok || !next.Equal(f.now.Add(time.Second)) {
		t.Fatalf("next due %s %v %v", next, ok, err)
	}
	if c := f.claim(t, "owner", f.now.Add(999*time.Millisecond), 4, 10); len(c) != 0 {
		t.Fatalf("claimed before the retry time: %+v", c)
	}
	if c := f.claim(t, "owner", f.now.Add(time.Second), 4, 10); len(c) != 1 || c[0].Attempt != 2 {
		t.Fatalf("retry: %+v", c)
	}
}

// TestCallbackDisableCancelsPending checks that a 410 outcome disables the
// endpoint and cancels its other pending deliveries, and that the failing
// mark is set and cleared.
func TestCallbackDisableCancelsPending(t *testing.T) {
	t.Parallel()
	f := newCBFixture(t, 3, 1)
	ctx := context.Background()
	c := f.claim(t, "owner", f.now, 1, 10)
	failing := f.outcome(c[0], omnicart.DeliveryFailed, f.now)
	failing.HTTPStatus, failing.Failing = 500, true
	if _, err := f.store.Record(ctx, "owner", []omnicart.CallbackOutcome{failing}); err != nil {
		t.Fatal(err)
	}
	if e, _ := f.store.Endpoint(ctx, cbMerchantID, f.ep.ID); e.Status() != omnicart.EndpointFailing {
		t.Fatalf("after giving up: %+v", e)
	}
	c = f.claim(t, "owner", f.now, 1, 10)
	gone := f.outcome(c[0], omnicart.DeliveryFailed, f.now)
	gone.HTTPStatus, gone.DisableEndpoint, gone.DisabledReason = 410, true, "gone"
	if _, err := f.store.Record(ctx, "owner", []omnicart.CallbackOutcome{gone}); err != nil {
		t.Fatal(err)
	}
	e, _ := f.store.Endpoint(ctx, cbMerchantID, f.ep.ID)
	if e.Enabled || e.DisabledReason != "gone" || e.Status() != omnicart.EndpointDisabled {
		t.Fatalf("after 410: %+v", e)
	}
	evs, _ := f.store.Events(ctx, cbMerchantID, omnicart.CallbackEventQuery{Limit: 10})
	canceled := 0
	for _, ev := range evs {
		ds, _ := f.store.Deliveries(ctx, cbMerchantID, ev.ID)
		if ds[0].Status == omnicart.DeliveryCanceled {
			canceled++
		}
	}
	if canceled != 1 {
		t.Fatalf("%d deliveries canceled, want 1", canceled)
	}
	if _, ok, _ := f.store.NextDue(ctx); ok {
		t.Fatal("a disabled endpoint has due deliveries")
	}
	if c := f.claim(t, "owner", f.now, 4, 10); len(c) != 0 {
		t.Fatalf("claimed for a disabled endpoint: %+v", c)
	}
}

// TestCallbackPrune checks that the delivery log and finished deliveries
// older than the retention go, and pending deliveries and events stay.
func TestCallbackPrune(t *testing.T) {
	t.Parallel()
	old := time.Now().Add(-31 * 24 * time.Hour)
	f := newCBFixtureAt(t, old, 4, 1)
	ctx := context.Background()
	c := f.claim(t, "owner", old, 4, 10)
	if len(c) != 4 {
		t.Fatalf("claimed %d", len(c))
	}
	if _, err := f.store.Record(ctx, "owner", []omnicart.CallbackOutcome{
		f.outcome(c[0], omnicart.DeliverySucceeded, old),
		f.outcome(c[1], omnicart.DeliveryPending, old),
		f.outcome(c[3], omnicart.DeliverySucceeded, time.Now()),
	}); err != nil {
		t.Fatal(err)
	}
	f.now = time.Now()
	d := &webhook.Dispatcher{Store: f.store, Clock: clock.NewFake(f.now)}
	n, err := d.Prune(ctx)
	// Gone: the two old attempts and the delivery that finished long ago.
	if err != nil || n != 3 {
		t.Fatalf("pruned %d rows: %v", n, err)
	}
	log, _ := f.store.Attempts(ctx, cbMerchantID, f.ep.ID, 10)
	if len(log) != 1 || log[0].DeliveryID != c[3].DeliveryID {
		t.Fatalf("log after prune: %+v", log)
	}
	evs, _ := f.store.Events(ctx, cbMerchantID, omnicart.CallbackEventQuery{Limit: 10})
	if len(evs) != 4 {
		t.Fatalf("events after prune: %d", len(evs))
	}
	states := map[int64]string{}
	for _, ev := range evs {
		ds, _ := f.store.Deliveries(ctx, cbMerchantID, ev.ID)
		for _, x := range ds {
			states[x.ID] = x.Status
		}
	}
	if _, ok := states[c[0].DeliveryID]; ok || states[c[1].DeliveryID] != omnicart.DeliveryPending || states[c[2].DeliveryID] != omnicart.DeliveryPending {
		t.Fatalf("deliveries after prune: %v", states)
	}
}
