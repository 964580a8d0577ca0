package storetest

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
)

// testEventActors checks that the actor of each event (Event.Actor) is
// stored with it by CreateCart and SaveCart, in the transaction of the
// change (a rolled-back change leaves none), and that EventActors reads
// them back by sequence, for one merchant's cart only.
func testEventActors(t *testing.T, s omnicart.Store) {
	ctx := context.Background()
	m1, m2 := merchant(t, s, "m1"), merchant(t, s, "m2")
	key, user := omnicart.KeyActor("ock_test_AbCdEfGh"), omnicart.PanelActor("ada@shop.example")
	want := map[int64]omnicart.Actor{}

	// The events of the cart's creation (its timer starts), by an API key,
	// and another merchant's cart of the same id by another key.
	c := newCart(t, m1, "cart-actors", "cust-1", true, t0)
	if c.Sequence == 0 {
		t.Fatal("creating the cart produced no event")
	}
	c.AttributeEvents(key, 0)
	for q := int64(1); q <= c.Sequence; q++ {
		want[q] = key
	}
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, c, []byte("tok-actors-1"), due(c, m1)) })
	other := newCart(t, m2, "cart-actors", "cust-1", true, t0)
	other.AttributeEvents(omnicart.KeyActor("ock_test_Other000"), 0)
	tx(t, s, func(tx omnicart.Tx) error { return tx.CreateCart(ctx, other, []byte("tok-actors-2"), due(other, m2)) })

	lead := m1.AutoActionLead()
	tick := func(c *omnicart.Cart, at time.Time) {
		t.Helper()
		before := c.Sequence
		c.Tick(at, lead, func() string { return "op-" + at.Format("150405") })
		if c.Sequence == before {
			t.Fatalf("Tick at %s produced no event", at)
		}
	}
	// A change rolled back: its actor is not stored.
	err := s.Tx(ctx, func(tx omnicart.Tx) error {
		got, err := tx.LockCart(ctx, "m1", "cart-actors")
		if err != nil {
			return err
		}
		tick(got, t0.Add(600*time.Second))
		got.AttributeEvents(omnicart.KeyActor("ock_test_RolledBk"), 0)
		if err := tx.SaveCart(ctx, got, due(got, m1)); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("rolled-back change: %v", err)
	}
	// A change whose first events a deadline made (no actor), the rest a
	// Panel user's request.
	var request int64
	tx(t, s, func(tx omnicart.Tx) error {
		got, err := tx.LockCart(ctx, "m1", "cart-actors")
		if err != nil {
			return err
		}
		tick(got, t0.Add(600*time.Second))
		request = got.Sequence + 1
		tick(got, t0.Add(7200*time.Second))
		got.AttributeEvents(user, request-1)
		for q := request; q <= got.Sequence; q++ {
			want[q] = user
		}
		return tx.SaveCart(ctx, got, due(got, m1))
	})

	actors := func(merchantID, cartID string, from, to int64) map[int64]omnicart.Actor {
		t.Helper()
		var out map[int64]omnicart.Actor
		view(t, s, func(tx omnicart.Tx) error {
			var err error
			out, err = tx.EventActors(ctx, merchantID, cartID, from, to)
			return err
		})
		return out
	}
	if got := actors("m1", "cart-actors", 1, 1000); !maps.Equal(got, want) {
		t.Errorf("EventActors = %v, want %v", got, want)
	}
	if got := actors("m1", "cart-actors", request, request); !maps.Equal(got, map[int64]omnicart.Actor{request: user}) {
		t.Errorf("EventActors of sequence %d only = %v", request, got)
	}
	if got := actors("m1", "cart-actors", request-1, request-1); len(got) != 0 {
		t.Errorf("the deadline's event %d has actors %v, want none", request-1, got)
	}
	for q, a := range actors("m2", "cart-actors", 1, 1000) {
		if a != omnicart.KeyActor("ock_test_Other000") {
			t.Errorf("the other merchant's cart: event %d by %q", q, a)
		}
	}
	if got := actors("m1", "no-such-cart", 1, 1000); len(got) != 0 {
		t.Errorf("EventActors of an unknown cart = %v", got)
	}
}
