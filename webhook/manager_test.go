package webhook_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart/webhook"
)

// TestRotationsAtOnceFollowEachOther: secret rotations of one endpoint
// made at the same time are one after the other, each in one transaction:
// every rotation keeps the secret the one before it made as its previous
// secret, so the rotations form one chain from the endpoint's first
// secret and no secret handed out is lost (read before another rotation
// wrote, it would be overwritten without ever signing).
func TestRotationsAtOnceFollowEachOther(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	e, first, err := f.mgr.AddEndpoint(ctx, f.merchant, webhook.NewEndpoint{URL: "https://hooks.example/rotate"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	type rotation struct{ previous, secret string }
	rotations := make(chan rotation, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, secret, err := f.mgr.RotateSecret(ctx, f.merchant, e.ID, time.Hour)
			if err != nil {
				t.Error(err)
				return
			}
			rotations <- rotation{got.PreviousSecret, secret}
		}()
	}
	wg.Wait()
	close(rotations)
	next := map[string]string{} // previous secret → the secret that followed it
	for r := range rotations {
		if other, dup := next[r.previous]; dup {
			t.Errorf("two rotations followed the same secret: %s and %s", other, r.secret)
		}
		next[r.previous] = r.secret
	}
	// Walk the chain from the first secret: every rotation is on it.
	s, steps := first, 0
	for next[s] != "" && steps <= n {
		s, steps = next[s], steps+1
	}
	if steps != n {
		t.Fatalf("the chain from the first secret has %d rotations, want %d", steps, n)
	}
	now, err := f.mgr.Endpoint(ctx, f.merchant, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if now.Secret != s {
		t.Errorf("the endpoint signs with %s, not the last rotation's secret %s", now.Secret, s)
	}
}

// TestEndpointChangesAtOnceKeepEachOther: an update of an endpoint's URL
// and its disabling made at the same time both stay (an update does not
// write back the enabled flag it read before the disabling).
func TestEndpointChangesAtOnceKeepEachOther(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for i := range 5 {
		e, _, err := f.mgr.AddEndpoint(ctx, f.merchant, webhook.NewEndpoint{URL: "https://hooks.example/a"})
		if err != nil {
			t.Fatal(err)
		}
		url, off := "https://hooks.example/b", false
		var wg sync.WaitGroup
		for _, p := range []webhook.EndpointPatch{{URL: &url}, {Enabled: &off}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.mgr.UpdateEndpoint(ctx, f.merchant, e.ID, p); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, err := f.mgr.Endpoint(ctx, f.merchant, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.URL != url || got.Enabled || got.DisabledReason != "disabled by the merchant" {
			t.Errorf("round %d: after an update and a disabling at once: url %s, enabled %v (%q)", i, got.URL, got.Enabled, got.DisabledReason)
		}
		if err := f.mgr.RemoveEndpoint(ctx, f.merchant, e.ID); err != nil {
			t.Fatal(err)
		}
	}
}
