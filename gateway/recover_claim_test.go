package gateway_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
)

// TestRecoverIsClaimed: several nodes (services on one database) running
// Recover at once re-send each unsettled operation once between them,
// and settle them all; an operation whose retry failed again is left
// alone until its lease ends, then retried.
func TestRecoverIsClaimed(t *testing.T) {
	svc, _, gp, clk, m := rig(t)
	ctx := t.Context()
	const carts = 10
	var mu sync.Mutex
	failing := true
	calls := map[string]int{}
	gp.capture = func(op omnicart.Operation) error {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return errors.New("acquirer: connection reset")
		}
		calls[op.OpID]++
		return nil
	}
	for i := range carts {
		id := fmt.Sprintf("cart-claim-%02d", i)
		tok := initCart(t, svc, m, id)
		if _, err := svc.Pay(ctx, tok, visa); err != nil {
			t.Fatal(err)
		}
		if ids, err := svc.Act(ctx, m, omnicart.ActionCapture, id, omnicart.Filter{}, nil); err != nil || len(ids) != 1 {
			t.Fatalf("%s: capture with a transient failure: %v, %v", id, ids, err)
		}
	}
	mu.Lock()
	failing = false
	mu.Unlock()
	clk.Add(gateway.RecoverAfter + time.Second)

	const nodes = 4
	settled := make([]int, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		node := &gateway.Service{Store: svc.Store, Provider: svc.Provider, Now: svc.Now, Clock: svc.Clock,
			KeyPepper: svc.KeyPepper, AnswerKey: svc.AnswerKey, LinkSenders: svc.LinkSenders, Log: svc.Log}
		wg.Go(func() {
			n, err := node.Recover(ctx, gateway.RecoverAfter)
			if err != nil {
				t.Errorf("node %d: Recover: %v", i, err)
			}
			settled[i] = n
		})
	}
	wg.Wait()
	total := 0
	for _, n := range settled {
		total += n
	}
	if total != carts {
		t.Errorf("nodes settled %v operations, %d in all; want %d", settled, total, carts)
	}
	mu.Lock()
	if len(calls) != carts {
		t.Errorf("%d operations re-sent, want %d", len(calls), carts)
	}
	for op, n := range calls {
		if n != 1 {
			t.Errorf("operation %s re-sent %d times", op, n)
		}
	}
	mu.Unlock()
	for i := range carts {
		if it := load(t, svc, m, fmt.Sprintf("cart-claim-%02d", i)).Items[0]; it.ReportedStatus() != omnicart.StatusCompleted {
			t.Errorf("cart %d: item %s after recovery, want completed", i, it.ReportedStatus())
		}
	}

	// A retry that fails again keeps its claim: the next passes leave the
	// operation alone until the lease ends.
	tok := initCart(t, svc, m, "cart-claim-again")
	if _, err := svc.Pay(ctx, tok, visa); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	failing = true
	mu.Unlock()
	if _, err := svc.Act(ctx, m, omnicart.ActionCapture, "cart-claim-again", omnicart.Filter{}, nil); err != nil {
		t.Fatal(err)
	}
	clk.Add(gateway.RecoverAfter + time.Second)
	if n, err := svc.Recover(ctx, gateway.RecoverAfter); n != 0 || err != nil {
		t.Fatalf("Recover with the acquirer down: %d, %v", n, err)
	}
	mu.Lock()
	failing = false
	mu.Unlock()
	clk.Add(gateway.RecoverEvery)
	if n, err := svc.Recover(ctx, gateway.RecoverAfter); n != 0 || err != nil {
		t.Fatalf("Recover under the failed retry's lease: %d, %v; want 0", n, err)
	}
	clk.Add(gateway.RecoverLease)
	if n, err := svc.Recover(ctx, gateway.RecoverAfter); n != 1 || err != nil {
		t.Fatalf("Recover once the lease ended: %d, %v; want 1", n, err)
	}
	if it := load(t, svc, m, "cart-claim-again").Items[0]; it.ReportedStatus() != omnicart.StatusCompleted {
		t.Fatalf("item %s after the second retry, want completed", it.ReportedStatus())
	}
}
