package omnicart

import (
	"context"
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
	if _, ok := p.Take("m1", "cart-000001"); ok {
		t.Error("taken before anything was kept")
	}
	c := &Cart{ID: "cart-000001", MerchantID: "m1"}
	p.Keep("m1", c)
	if _, ok := p.Take("m2", "cart-000001"); ok {
		t.Error("taken for another merchant")
	}
	if _, ok := p.Take("m1", "cart-000002"); ok {
		t.Error("taken for another cart")
	}
	if got, ok := p.Take("m1", "cart-000001"); !ok || got != c {
		t.Errorf("Take = %v, %v; want the kept cart", got, ok)
	}
	if _, ok := p.Take("m1", "cart-000001"); ok {
		t.Error("taken twice")
	}
	p.Keep("m1", nil)
	if got, ok := p.Take("m1", "cart-000001"); !ok || got != nil {
		t.Errorf("a kept not-found: %v, %v", got, ok)
	}
	if CartPrefetchOf(context.Background()) != nil {
		t.Error("a prefetch on a plain context")
	}
}
