package webhook_test

import (
	"context"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/clock"
	"github.com/omnicart/omnicart/webhook"
)

func TestInOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		c    omnicart.CallbackCandidate
		want bool
	}{
		{"first of its cart", omnicart.CallbackCandidate{DeliveryID: 5, Sequence: 1, FirstID: 5, FirstSequence: 1}, true},
		{"an earlier event had no attempt", omnicart.CallbackCandidate{DeliveryID: 6, Sequence: 2, FirstID: 5, FirstSequence: 1}, false},
		{"an earlier event published later had no attempt", omnicart.CallbackCandidate{DeliveryID: 6, Sequence: 2, FirstID: 9, FirstSequence: 1}, false},
		{"an earlier re-send of the same event had no attempt", omnicart.CallbackCandidate{DeliveryID: 6, Sequence: 2, Attempts: 1, FirstID: 4, FirstSequence: 2}, false},
		{"a later re-send of the same event had no attempt", omnicart.CallbackCandidate{DeliveryID: 6, Sequence: 2, Attempts: 1, FirstID: 8, FirstSequence: 2}, true},
		{"a retry before a later event", omnicart.CallbackCandidate{DeliveryID: 5, Sequence: 1, Attempts: 2, FirstID: 6, FirstSequence: 2}, true},
		{"a retry, nothing unattempted", omnicart.CallbackCandidate{DeliveryID: 5, Sequence: 3, Attempts: 2}, true},
		{"an earlier event not fanned out", omnicart.CallbackCandidate{DeliveryID: 6, Sequence: 2, FirstID: 6, FirstSequence: 2, Unpublished: 1}, false},
		{"a later event not fanned out", omnicart.CallbackCandidate{DeliveryID: 6, Sequence: 2, FirstID: 6, FirstSequence: 2, Unpublished: 3}, true},
		{"a retry behind an event not fanned out", omnicart.CallbackCandidate{DeliveryID: 6, Sequence: 2, Attempts: 1, Unpublished: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := webhook.InOrder(tc.c); got != tc.want {
				t.Fatalf("InOrder(%+v) = %v, want %v", tc.c, got, tc.want)
			}
		})
	}
}

// TestLaterEventWaitsForEarlierFanOut has another process's fan-out hold
// a cart's first event while the dispatcher fans out the second: the
// second is not sent before the first, which follows once the other
// process lets it go.
func TestLaterEventWaitsForEarlierFanOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSink(t)
	f.endpoint(t, s.srv.URL+"/hook")
	pk := f.cart(t, "cart-held")
	f.events(t, pk, "cart-held", 1, 2, omnicart.EventPaymentStatusChanged)
	ctx := context.Background()
	held, err := f.store.ClaimOutbox(ctx, "dsp_other", time.Now(), time.Now().Add(time.Hour), 1)
	if err != nil || len(held) != 1 || held[0].Sequence != 1 {
		t.Fatalf("the other process claimed %+v, %v", held, err)
	}
	ws := watch(f.store)
	d := newDispatcher(ws, clock.Real{})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(runCtx)
	}()
	defer func() { cancel(); <-done }()
	second := webhook.EventID(f.merchant, "cart-held", 2)
	looks := 0
	ws.wait(t, "the second event fanned out and looked at", func() bool {
		ds, err := f.store.Deliveries(ctx, f.merchant, second)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 1 && looks == 0 {
			looks = ws.Looks()
		}
		return looks > 0 && ws.Looks() >= looks+3
	})
	s.mu.Lock()
	n := s.calls["/hook"]
	s.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d callbacks sent while the cart's first event was not fanned out", n)
	}
	if err := f.store.Release(ctx, "dsp_other"); err != nil {
		t.Fatal(err)
	}
	s.wait(t, "both events", func() bool { return len(s.got["/hook"]) >= 2 })
	s.mu.Lock()
	defer s.mu.Unlock()
	if got := s.got["/hook"]; got[0].Sequence != 1 || got[1].Sequence != 2 {
		t.Fatalf("arrived in order %d, %d", got[0].Sequence, got[1].Sequence)
	}
}
