package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
)

// testRecoveryClaims checks Tx.ClaimUnfinishedOperations, recovery's claim:
// what it takes (unsettled, created strictly before the cut, not under a
// live lease, oldest first, up to the limit), that it gives back what was
// stored, that its lease keeps the next claims off until it ends, that a
// settled operation never comes back, that UnfinishedOperations still
// lists leased operations, and that it is refused outside a write
// transaction.
func testRecoveryClaims(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m := merchant(t, s, "m1")
	c := newCart(t, m, "cart-claims-1", "", false, t0)
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, c, []byte("tok"), time.Time{}) })
	op := func(id string, kind omnicart.OpKind, amount int64, items ...string) omnicart.Operation {
		return omnicart.Operation{OpID: id, Kind: kind, MerchantID: "m1", CartID: "cart-claims-1", ItemIDs: items,
			Currency: "EUR", Amount: amount, AuthRef: "auth"}
	}
	a := op("op-a", omnicart.OpCapture, 250, "pegasus")
	b := op("op-b", omnicart.OpRelease, 1100, "naga")
	cc := op("op-c", omnicart.OpRefund, 1350, "pegasus", "naga")
	d := op("op-d", omnicart.OpAuthorize, 1350, "pegasus", "naga")
	d.AuthRef = ""
	e := op("op-e", omnicart.OpCapture, 1100, "naga")
	// op-b and op-d at t0, op-c and op-e at +1 s, op-a at +2 s; op-e is
	// settled.
	tx(t, s, func(tx omnicart.Tx) error {
		return tx.CreateOperations(ctx, []omnicart.Operation{a}, t0.Add(2*time.Second))
	})
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateOperations(ctx, []omnicart.Operation{b, d}, t0) })
	tx(t, s, func(tx omnicart.Tx) error {
		return tx.CreateOperations(ctx, []omnicart.Operation{cc, e}, t0.Add(time.Second))
	})
	tx(t, s, func(tx omnicart.Tx) error { return tx.FinishOperation(ctx, "op-e", "failed", t0.Add(time.Second)) })

	claim := func(now, before, until time.Time, limit int) []omnicart.Operation {
		t.Helper()
		var ops []omnicart.Operation
		tx(t, s, func(tx omnicart.Tx) error {
			var err error
			ops, err = tx.ClaimUnfinishedOperations(ctx, now, before, until, limit)
			return err
		})
		return ops
	}
	ids := func(ops []omnicart.Operation) string {
		out := []string{}
		for _, op := range ops {
			out = append(out, op.OpID)
		}
		return fmt.Sprint(out)
	}
	now := t0.Add(time.Hour)
	lease := now.Add(time.Minute)

	// The cut is strict, the limit holds, the oldest go first (ties by
	// id), and what comes back is what was stored.
	if got := ids(claim(now, t0, lease, 10)); got != "[]" {
		t.Errorf("claim before t0 = %s, want none", got)
	}
	if got := claim(now, t0.Add(time.Second), lease, 1); !reflect.DeepEqual(got, []omnicart.Operation{b}) {
		t.Errorf("claim(before +1s, limit 1) =\n%+v\nwant\n%+v", got, []omnicart.Operation{b})
	}
	if got := claim(now, t0.Add(time.Second), lease, 10); !reflect.DeepEqual(got, []omnicart.Operation{d}) {
		t.Errorf("claim(before +1s) after op-b's claim =\n%+v\nwant op-d alone", got)
	}
	if got := claim(now, now, lease, 10); !reflect.DeepEqual(got, []omnicart.Operation{cc, a}) {
		t.Errorf("claim of the rest =\n%+v\nwant\n%+v", got, []omnicart.Operation{cc, a})
	}
	// Every unsettled operation is leased now: nothing until the leases
	// end, however often one asks.
	for _, at := range []time.Time{now, now.Add(30 * time.Second), lease.Add(-time.Millisecond)} {
		if got := ids(claim(at, at, at.Add(time.Minute), 10)); got != "[]" {
			t.Errorf("claim at +%v, under live leases = %s, want none", at.Sub(now), got)
		}
	}
	// UnfinishedOperations lists them all the same.
	view(t, s, func(tx omnicart.Tx) error {
		ops, err := tx.UnfinishedOperations(ctx, now, 10)
		if err == nil && ids(ops) != "[op-b op-d op-c op-a]" {
			t.Errorf("UnfinishedOperations under leases = %s", ids(ops))
		}
		return err
	})

	// A lease ends at its moment: the operation may be claimed again.
	// Settling takes an operation off for good, leased or not.
	tx(t, s, func(tx omnicart.Tx) error { return tx.FinishOperation(ctx, "op-d", "succeeded", now) })
	later := lease.Add(time.Hour)
	if got := ids(claim(lease, lease, later, 2)); got != "[op-b op-c]" {
		t.Errorf("claim when the leases end = %s, want [op-b op-c]", got)
	}
	if got := ids(claim(lease, lease, later, 10)); got != "[op-a]" {
		t.Errorf("second claim when the leases end = %s, want [op-a]", got)
	}
	tx(t, s, func(tx omnicart.Tx) error { return tx.FinishOperation(ctx, "op-c", "succeeded", lease) })
	if got := ids(claim(later, later, later.Add(time.Minute), 10)); got != "[op-b op-a]" {
		t.Errorf("claim after op-c settled = %s, want [op-b op-a]", got)
	}

	// A claim rolled back leases nothing.
	err := s.Tx(ctx, func(tx omnicart.Tx) error {
		ops, err := tx.ClaimUnfinishedOperations(ctx, later.Add(time.Hour), later.Add(time.Hour), later.Add(2*time.Hour), 10)
		if err == nil && ids(ops) != "[op-b op-a]" {
			t.Errorf("claim in the rolled-back transaction = %s", ids(ops))
		}
		if err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("rolled-back claim: %v", err)
	}
	if got := ids(claim(later.Add(time.Hour), later.Add(time.Hour), later.Add(2*time.Hour), 10)); got != "[op-b op-a]" {
		t.Errorf("claim after a rolled-back claim = %s, want [op-b op-a]", got)
	}

	// Outside a write transaction the claim is refused.
	for name, run := range map[string]func(context.Context, func(omnicart.Tx) error) error{"View": s.View, "Read": s.Read} {
		err := run(ctx, func(tx omnicart.Tx) error {
			_, err := tx.ClaimUnfinishedOperations(ctx, later.Add(5*time.Hour), later.Add(5*time.Hour), later.Add(6*time.Hour), 10)
			return err
		})
		if err == nil {
			t.Errorf("ClaimUnfinishedOperations in a %s succeeded, want an error", name)
		}
	}
}

// testRecoveryClaimsRace has workers (nodes) claim the same unsettled
// operations at once, settling what they claim: each operation is claimed
// by exactly one of them, and all of them are.
func testRecoveryClaimsRace(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m := merchant(t, s, "m1")
	const carts, perCart = 6, 5
	want := map[string]bool{}
	tx(t, s, func(tx omnicart.Tx) error {
		for i := range carts {
			c := newCart(t, m, fmt.Sprintf("cart-race-%02d", i), "", false, t0)
			if err := tx.CreateCart(ctx, c, []byte(c.ID), time.Time{}); err != nil {
				return err
			}
			var ops []omnicart.Operation
			for j := range perCart {
				id := fmt.Sprintf("op-%02d-%d", i, j)
				want[id] = true
				ops = append(ops, omnicart.Operation{OpID: id, Kind: omnicart.OpCapture, MerchantID: "m1", CartID: c.ID,
					ItemIDs: []string{"pegasus"}, Currency: "EUR", Amount: 250, AuthRef: "auth"})
			}
			if err := tx.CreateOperations(ctx, ops, t0.Add(time.Duration(i)*time.Millisecond)); err != nil {
				return err
			}
		}
		return nil
	})
	now := t0.Add(time.Hour)
	const workers = 6
	var mu sync.Mutex
	claimedBy := map[string][]int{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for round := 0; round <= carts*perCart; round++ {
				var ops []omnicart.Operation
				err := s.Tx(ctx, func(tx omnicart.Tx) error {
					var err error
					ops, err = tx.ClaimUnfinishedOperations(ctx, now, now, now.Add(time.Hour), 3)
					return err
				})
				if err != nil {
					errs <- fmt.Errorf("worker %d: %w", w, err)
					return
				}
				if len(ops) == 0 {
					return
				}
				mu.Lock()
				for _, op := range ops {
					claimedBy[op.OpID] = append(claimedBy[op.OpID], w)
				}
				mu.Unlock()
				for _, op := range ops {
					if err := s.Tx(ctx, func(tx omnicart.Tx) error { return tx.FinishOperation(ctx, op.OpID, "succeeded", now) }); err != nil {
						errs <- fmt.Errorf("worker %d: settle %s: %w", w, op.OpID, err)
						return
					}
				}
			}
			errs <- fmt.Errorf("worker %d: still claiming after %d rounds", w, carts*perCart)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var twice []string
	for id, ws := range claimedBy {
		if len(ws) > 1 {
			twice = append(twice, fmt.Sprintf("%s by workers %v", id, ws))
		}
		if !want[id] {
			t.Errorf("claimed %s, which was never created", id)
		}
	}
	sort.Strings(twice)
	if len(twice) > 0 {
		t.Errorf("operations claimed twice under live leases: %v", twice)
	}
	if len(claimedBy) != len(want) {
		t.Errorf("%d operations claimed, want %d", len(claimedBy), len(want))
	}
	view(t, s, func(tx omnicart.Tx) error {
		ops, err := tx.UnfinishedOperations(ctx, now, 100)
		if err == nil && len(ops) != 0 {
			t.Errorf("%d operations left unsettled", len(ops))
		}
		return err
	})
}
