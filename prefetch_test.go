package omnicart

import (
	"context"
	"errors"
	"testing"
)

// TestCartPrefetchTake checks that a kept cart is taken once, only for the
// merchant and cart it was read for.
func TestCartPrefetchTake(t *testing.T) {
	ctx := WithCartPrefetch(context.Background(), "cart-000001")
	p := CartPrefetchOf(ctx)
	if p == nil || p.CartID() != "cart-000001" {
		t.Fatalf("CartPrefetchOf = %+v", p)
	}
	if _, ok, _ := p.Take("m1", "cart-000001"); ok {
		t.Error("taken before anything was kept")
	}
	c := &Cart{ID: "cart-000001", MerchantID: "m1"}
	decoded := 0
	p.Keep("m1", func() (*Cart, error) { decoded++; return c, nil })
	if _, ok, _ := p.Take("m2", "cart-000001"); ok {
		t.Error("taken for another merchant")
	}
	if _, ok, _ := p.Take("m1", "cart-000002"); ok {
		t.Error("taken for another cart")
	}
	if decoded != 0 {
		t.Errorf("decoded %d times before it was taken", decoded)
	}
	if got, ok, err := p.Take("m1", "cart-000001"); !ok || got != c || err != nil {
		t.Errorf("Take = %v, %v, %v; want the kept cart", got, ok, err)
	}
	if _, ok, _ := p.Take("m1", "cart-000001"); ok {
		t.Error("taken twice")
	}
	p.Keep("m1", nil)
	if got, ok, err := p.Take("m1", "cart-000001"); !ok || got != nil || err != nil {
		t.Errorf("a kept not-found: %v, %v, %v", got, ok, err)
	}
	bad := errors.New("corrupt")
	p.Keep("m1", func() (*Cart, error) { return nil, bad })
	if _, ok, err := p.Take("m1", "cart-000001"); !ok || !errors.Is(err, bad) {
		t.Errorf("a kept cart that does not decode: %v, %v", ok, err)
	}
	if CartPrefetchOf(context.Background()) != nil {
		t.Error("a prefetch on a plain context")
	}
}

// TestCartPrefetchTakeCart checks that a kept "no such cart" is taken as
// ErrNotFound, and a kept cart as itself.
func TestCartPrefetchTakeCart(t *testing.T) {
	p := CartPrefetchOf(WithCartPrefetch(context.Background(), "cart-000001"))
	p.Keep("m1", nil)
	if c, ok, err := p.TakeCart("m1", "cart-000001"); !ok || c != nil || !errors.Is(err, ErrNotFound) {
		t.Errorf("kept none: %+v, %v, %v; want not found", c, ok, err)
	}
	want := &Cart{ID: "cart-000001", MerchantID: "m1"}
	p.Keep("m1", func() (*Cart, error) { return want, nil })
	if c, ok, err := p.TakeCart("m1", "cart-000001"); !ok || c != want || err != nil {
		t.Errorf("kept a cart: %+v, %v, %v", c, ok, err)
	}
}
