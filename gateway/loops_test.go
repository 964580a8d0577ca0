package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	omniclock "github.com/omnicart/omnicart/clock"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/sandbox"
)

// loopRig is rig with the shared fake clock as the service's Now and Clock
// (and an answer key, for idempotency records).
func loopRig(t *testing.T) (*gateway.Service, *sandbox.Issuer, *gatedProvider, *omniclock.Fake, *omnicart.Merchant) {
	t.Helper()
	svc, iss, gp, clk, m := rig(t)
	f := omniclock.NewFake(clk.Now())
	svc.Now, svc.Clock = f.Now, f
	svc.AnswerKey = make([]byte, 32)
	return svc, iss, gp, f, m
}

// startLoop runs loop in a goroutine until the returned stop is called (or
// the test ends). stop fails the test unless the loop returns, and leaves
// no timer armed.
func startLoop(t *testing.T, f *omniclock.Fake, loop func(ctx context.Context)) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		loop(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done }) // before rig closes the database
	return func() {
		t.Helper()
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("the loop did not stop when its context ended")
		}
		if n := f.Timers(); n != 0 {
			t.Fatalf("%d timers still armed after the loop stopped", n)
		}
	}
}

// waitLoop waits until the loop under test has finished its pass and
// waits on the clock.
func waitLoop(t *testing.T, f *omniclock.Fake) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := f.WaitTimers(ctx, 1); err != nil {
		t.Fatalf("the loop did not come back to wait on the clock: %v", err)
	}
}

// TestRunSchedulerOnTheClock: the scheduler fires due capture-window auto
// cancels when the clock passes its poll interval and the deadline, not
// before; it fires every due cart at once though each look takes only one
// (batch 1); the releases run on the remote provider after the commit and
// settle; and the loop stops when its context ends.
func TestRunSchedulerOnTheClock(t *testing.T) {
	t.Parallel()
	svc, iss, _, f, m := loopRig(t)
	ctx := t.Context()
	two, cancel, window := true, omnicart.AutoCancel, int64(600)
	var ids, refs []string
	for i := range 3 {
		id := fmt.Sprintf("cart-sched-%d", i)
		tok := initCart(t, svc, m, id, omnicart.ItemSpec{ID: "pegasus", Amount: 700,
			Level: omnicart.Level{Capture: &two, AutoAction: &cancel, WindowSecs: &window}})
		if r, err := svc.Pay(ctx, tok, visa); err != nil || r.Result != gateway.ResultAuthorized {
			t.Fatalf("pay %s: %+v, %v", id, r, err)
		}
		ids, refs = append(ids, id), append(refs, load(t, svc, m, id).AuthRef)
	}
	check := func(when string, want omnicart.Status, wantHeld int64) {
		t.Helper()
		for i, id := range ids {
			c := load(t, svc, m, id)
			held, err := iss.Held(ctx, refs[i])
			if err != nil {
				t.Fatal(err)
			}
			if st := c.Items[0].Status; st != want || c.Items[0].Pending != nil || held != wantHeld {
				t.Fatalf("%s: %s is %s (pending %+v), hold %d; want %s, settled, hold %d",
					when, id, st, c.Items[0].Pending, held, want, wantHeld)
			}
		}
	}

	stop := startLoop(t, f, func(ctx context.Context) { svc.RunScheduler(ctx, time.Second, 1) })
	waitLoop(t, f) // the first look, at once: nothing due
	check("at start", omnicart.StatusAuthorized, 700)

	f.Advance(time.Duration(window-1) * time.Second) // polls, but the windows still run
	waitLoop(t, f)
	check("a second before the windows end", omnicart.StatusAuthorized, 700)

	f.Advance(2 * time.Second) // the windows are over: the next poll fires them
	waitLoop(t, f)
	check("after the windows ended", omnicart.StatusCanceled, 0)
	if err := iss.CheckInvariants(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	if n, err := svc.FireDue(ctx, 100); n != 0 || err != nil {
		t.Fatalf("left for the next scheduler pass: %d carts (%v); want none", n, err)
	}
}

// TestRunRecoveryOnTheClock: the recovery loop settles an operation that a
// remote provider left unsettled once it is older than RecoverAfter (on the
// clock), and deletes an idempotency record once it expires; it does
// neither before, and stops when its context ends.
func TestRunRecoveryOnTheClock(t *testing.T) {
	t.Parallel()
	svc, iss, gp, f, m := loopRig(t)
	ctx := t.Context()
	tok := initCart(t, svc, m, "cart-recover-1")
	if r, err := svc.Pay(ctx, tok, visa); err != nil || r.Result != gateway.ResultAuthorized {
		t.Fatalf("pay: %+v, %v", r, err)
	}
	gp.capture = func(omnicart.Operation) error { return errors.New("acquirer: connection reset") }
	if ids, err := svc.Act(ctx, m, omnicart.ActionCapture, "cart-recover-1", omnicart.Filter{}, nil); err != nil || len(ids) != 1 {
		t.Fatalf("capture with a transient failure: %v, %v", ids, err)
	}
	gp.capture = nil // the acquirer is back; set before the loop starts
	if err := svc.StoreAnswerAlone(ctx, m, "idem-1", omnicart.IdempotentRecord{RequestHash: []byte("h"),
		Method: "POST", Path: "/capture", Status: 200, Code: "0", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	item := func() *omnicart.Item { return &load(t, svc, m, "cart-recover-1").Items[0] }
	stored := func() bool {
		t.Helper()
		err := svc.Store.View(ctx, func(tx omnicart.Tx) error {
			_, err := tx.IdempotencyRecord(ctx, m.ID, "idem-1")
			return err
		})
		if err != nil && !errors.Is(err, omnicart.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}

	stop := startLoop(t, f, func(ctx context.Context) { svc.RunRecovery(ctx, gateway.RecoverEvery) })
	waitLoop(t, f) // the first pass, at once: the operation is too young
	if st := item().ReportedStatus(); st != omnicart.StatusOngoing || !stored() {
		t.Fatalf("after the first pass: item %s, record stored %v; want ongoing, stored", st, stored())
	}

	f.Advance(gateway.RecoverAfter + time.Second)
	waitLoop(t, f)
	if it := item(); it.ReportedStatus() != omnicart.StatusCompleted || it.Captured != 1000 || it.Pending != nil {
		t.Fatalf("after RecoverAfter: item %s captured %d (pending %+v); want completed 1000", it.ReportedStatus(), it.Captured, it.Pending)
	}
	if !stored() {
		t.Fatal("an unexpired idempotency record was pruned")
	}
	if mb, _ := iss.MerchantBalance(ctx, m.ID, "EUR"); mb != 1000 {
		t.Fatalf("merchant balance %d after recovery, want 1000", mb)
	}

	f.Advance(omnicart.IdempotencyTTL)
	waitLoop(t, f)
	if stored() {
		t.Fatal("the expired idempotency record was not pruned")
	}
	stop()
	if err := iss.CheckInvariants(ctx); err != nil {
		t.Fatal(err)
	}
}
