package omnicart

import (
	"context"
	"sync"
)

// CartPrefetch asks the store to read a cart with the API key that
// authenticates the request for it: where a round trip costs (a database
// across a socket), GET /status then takes one instead of two. The
// Merchant API puts one on a status request's context before
// authenticating; a store that reads the key may read the cart of the
// key's merchant in the same statement and Keep it, and a later read-only
// Cart of that merchant and cart in the same request Takes it instead of
// reading again. A store that ignores it is correct too.
type CartPrefetch struct {
	cartID string

	mu         sync.Mutex
	kept       bool
	merchantID string
	cart       *Cart // nil: the merchant has no such cart
}

type cartPrefetchKey struct{}

// WithCartPrefetch returns a context asking for cartID to be read with
// the request's API key.
func WithCartPrefetch(ctx context.Context, cartID string) context.Context {
	return context.WithValue(ctx, cartPrefetchKey{}, &CartPrefetch{cartID: cartID})
}

// CartPrefetchOf returns the prefetch ctx asks for, or nil.
func CartPrefetchOf(ctx context.Context) *CartPrefetch {
	p, _ := ctx.Value(cartPrefetchKey{}).(*CartPrefetch)
	return p
}

// CartID is the cart to read with the key.
func (p *CartPrefetch) CartID() string { return p.cartID }

// Keep records what the store read with the key: merchantID's cart (nil
// when it has none by that id).
func (p *CartPrefetch) Keep(merchantID string, c *Cart) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.kept, p.merchantID, p.cart = true, merchantID, c
}

// Take returns the kept cart when it is merchantID's cartID, once: ok is
// false when nothing was kept for them (read it), c nil when the merchant
// has no such cart.
func (p *CartPrefetch) Take(merchantID, cartID string) (c *Cart, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.kept || p.merchantID != merchantID || p.cartID != cartID {
		return nil, false
	}
	p.kept = false
	return p.cart, true
}
