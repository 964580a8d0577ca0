package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
)

// testOperations checks the record of money operations: what
// UnfinishedOperations lists (unsettled, created strictly before the cut,
// oldest first, up to the limit) and that it gives back what was stored.
func testOperations(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m := merchant(t, s, "m1")
	c := newCart(t, m, "cart-ops-1", "", false, t0)
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, c, []byte("tok"), time.Time{}) })
	op := func(id string, kind omnicart.OpKind, amount int64, items ...string) omnicart.Operation {
		return omnicart.Operation{OpID: id, Kind: kind, MerchantID: "m1", CartID: "cart-ops-1", ItemIDs: items,
			Currency: "EUR", Amount: amount, AuthRef: "auth"}
	}
	a := op("op-a", omnicart.OpCapture, 250, "pegasus")
	b := op("op-b", omnicart.OpRelease, 1100, "naga")
	cc := op("op-c", omnicart.OpRefund, 1350, "pegasus", "naga")
	d := op("op-d", omnicart.OpAuthorize, 1350, "pegasus", "naga")
	d.AuthRef = ""
	e := op("op-e", omnicart.OpCapture, 1100, "naga")
	// Created out of order, in separate transactions and together.
	tx(t, s, func(tx omnicart.Tx) error {
		return tx.CreateOperations(ctx, []omnicart.Operation{a}, t0.Add(2*time.Second))
	})
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateOperations(ctx, []omnicart.Operation{b, d}, t0) })
	tx(t, s, func(tx omnicart.Tx) error {
		return tx.CreateOperations(ctx, []omnicart.Operation{cc, e}, t0.Add(time.Second))
	})
	tx(t, s, func(tx omnicart.Tx) error { return tx.FinishOperation(ctx, "op-d", "succeeded", t0.Add(time.Second)) })
	tx(t, s, func(tx omnicart.Tx) error { return tx.FinishOperation(ctx, "op-e", "failed", t0.Add(time.Second)) })
	list := func(before time.Time, limit int) []omnicart.Operation {
		t.Helper()
		var ops []omnicart.Operation
		view(t, s, func(tx omnicart.Tx) error {
			var err error
			ops, err = tx.UnfinishedOperations(ctx, before, limit)
			return err
		})
		return ops
	}
	ids := func(ops []omnicart.Operation) string {
		var out []string
		for _, op := range ops {
			out = append(out, op.OpID)
		}
		return fmt.Sprint(out)
	}
	got := list(t0.Add(time.Hour), 10)
	if want := []omnicart.Operation{b, cc, a}; !reflect.DeepEqual(got, want) {
		t.Errorf("UnfinishedOperations =\n%+v\nwant\n%+v", got, want)
	}
	for _, c := range []struct {
		before time.Time
		limit  int
		want   string
	}{
		{t0, 10, "[]"},
		{t0.Add(time.Millisecond), 10, "[op-b]"},
		{t0.Add(time.Second), 10, "[op-b]"}, // op-c was created at the cut: not before it
		{t0.Add(time.Second + time.Millisecond), 10, "[op-b op-c]"},
		{t0.Add(time.Hour), 2, "[op-b op-c]"},
		{t0.Add(time.Hour), 1, "[op-b]"},
	} {
		if got := ids(list(c.before, c.limit)); got != c.want {
			t.Errorf("UnfinishedOperations(before +%v, limit %d) = %s, want %s", c.before.Sub(t0), c.limit, got, c.want)
		}
	}
	// Settling takes an operation off the list, for good.
	tx(t, s, func(tx omnicart.Tx) error { return tx.FinishOperation(ctx, "op-c", "succeeded", t0.Add(time.Minute)) })
	tx(t, s, func(tx omnicart.Tx) error { return tx.FinishOperation(ctx, "op-c", "failed", t0.Add(2*time.Minute)) })
	if got := ids(list(t0.Add(time.Hour), 10)); got != "[op-b op-a]" {
		t.Errorf("after settling op-c: %s", got)
	}
	// Read and Tx list the same.
	for name, run := range map[string]func(context.Context, func(omnicart.Tx) error) error{"Read": s.Read, "Tx": s.Tx} {
		err := run(ctx, func(tx omnicart.Tx) error {
			ops, err := tx.UnfinishedOperations(ctx, t0.Add(time.Hour), 10)
			if err == nil && ids(ops) != "[op-b op-a]" {
				t.Errorf("UnfinishedOperations in %s = %s", name, ids(ops))
			}
			return err
		})
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// answer is an idempotency record of a request with hash, answered at
// `at`.
func answer(hash string, at time.Time) omnicart.IdempotentRecord {
	return omnicart.IdempotentRecord{RequestHash: []byte(hash), Method: "POST", Path: "/init", Status: 201, Code: "000000",
		Body: []byte("sealed answer to " + hash), CreatedAt: at}
}

func testIdempotency(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	merchant(t, s, "m1")
	merchant(t, s, "m2")
	put := func(key, hash string, at time.Time) error {
		t.Helper()
		return s.Tx(ctx, func(tx omnicart.Tx) error {
			return tx.PutIdempotencyRecord(ctx, "m1", key, omnicart.IdempotentRecord{
				RequestHash: []byte(hash), Method: "POST", Path: "/capture", Status: 200, Code: "000000",
				Body: []byte("body-" + hash), CreatedAt: at,
			}, at.Add(-omnicart.IdempotencyTTL))
		})
	}
	get := func(key string) (omnicart.IdempotentRecord, error) {
		var rec omnicart.IdempotentRecord
		err := s.View(ctx, func(tx omnicart.Tx) error {
			var err error
			rec, err = tx.IdempotencyRecord(ctx, "m1", key)
			return err
		})
		return rec, err
	}
	if _, err := get("k1"); !errors.Is(err, omnicart.ErrNotFound) {
		t.Fatalf("record of an unused key: %v", err)
	}
	if err := put("k1", "h1", t0); err != nil {
		t.Fatalf("first record: %v", err)
	}
	if err := put("k1", "h2", t0.Add(time.Hour)); !errors.Is(err, omnicart.ErrConflict) {
		t.Fatalf("second record under a live key: %v, want ErrConflict", err)
	}
	rec, err := get("k1")
	if err != nil || string(rec.RequestHash) != "h1" || rec.Status != 200 || rec.Code != "000000" ||
		string(rec.Body) != "body-h1" || rec.Method != "POST" || rec.Path != "/capture" || !rec.CreatedAt.Equal(t0) {
		t.Fatalf("stored record: %+v, %v", rec, err)
	}
	if err := put("k1", "h3", t0.Add(omnicart.IdempotencyTTL+time.Second)); err != nil {
		t.Fatalf("a record older than the TTL must be replaceable: %v", err)
	}
	if rec, _ := get("k1"); string(rec.RequestHash) != "h3" {
		t.Fatalf("replaced record: %+v", rec)
	}
	// Racing writers: exactly one wins a key.
	const racers = 8
	errs := make(chan error, racers)
	for i := range racers {
		go func() { errs <- put("race", fmt.Sprintf("h%d", i), t0) }()
	}
	won := 0
	for range racers {
		switch err := <-errs; {
		case err == nil:
			won++
		case !errors.Is(err, omnicart.ErrConflict):
			t.Errorf("racing record: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d racing writers stored a record under one key, want 1", won)
	}
	// Pruning removes what expired, and only that.
	if err := put("old", "h1", t0.Add(-2*omnicart.IdempotencyTTL)); err != nil {
		t.Fatal(err)
	}
	var n int
	tx(t, s, func(tx omnicart.Tx) error {
		var err error
		n, err = tx.PruneIdempotencyRecords(ctx, t0.Add(-omnicart.IdempotencyTTL), 100)
		return err
	})
	if _, err := get("old"); n != 1 || !errors.Is(err, omnicart.ErrNotFound) {
		t.Errorf("prune: %d deleted, old record: %v", n, err)
	}
	if _, err := get("race"); err != nil {
		t.Errorf("prune deleted a live record: %v", err)
	}

	// Keys are per merchant.
	tx(t, s, func(tx omnicart.Tx) error {
		return tx.PutIdempotencyRecord(ctx, "m2", "k1", answer("m2", t0), t0.Add(-omnicart.IdempotencyTTL))
	})
	view(t, s, func(tx omnicart.Tx) error {
		if rec, err := tx.IdempotencyRecord(ctx, "m2", "k1"); err != nil || string(rec.RequestHash) != "m2" {
			t.Errorf("m2's record: %+v, %v", rec, err)
		}
		if rec, err := tx.IdempotencyRecord(ctx, "m1", "k1"); err != nil || string(rec.RequestHash) != "h3" {
			t.Errorf("m1's record after m2 used the key: %+v, %v", rec, err)
		}
		if _, err := tx.IdempotencyRecord(ctx, "m2", "race"); !errors.Is(err, omnicart.ErrNotFound) {
			t.Errorf("m1's key found for m2: %v", err)
		}
		return nil
	})

	// Pruning stops at the limit.
	for i := range 3 {
		if err := put(fmt.Sprint("old-", i), "h", t0.Add(-2*omnicart.IdempotencyTTL+time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []int{2, 1, 0} {
		tx(t, s, func(tx omnicart.Tx) error {
			n, err := tx.PruneIdempotencyRecords(ctx, t0.Add(-omnicart.IdempotencyTTL), 2)
			if err == nil && n != want {
				t.Errorf("PruneIdempotencyRecords(limit 2) = %d, want %d", n, want)
			}
			return err
		})
	}
}
