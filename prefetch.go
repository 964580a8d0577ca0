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
	// decode returns the cart read (the store's own decoding, done only
	// when it is taken: a request refused after authentication pays no
	// decoding); nil when the merchant has no such cart.
	decode func() (*Cart, error)
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

// Keep records what the store read with the key: merchantID's cart, to be
// decoded by decode when taken (nil when the merchant has none by that
// id).
func (p *CartPrefetch) Keep(merchantID string, decode func() (*Cart, error)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.kept, p.merchantID, p.decode = true, merchantID, decode
}

// Take returns the kept cart when it is merchantID's cartID, once: ok is
// false when nothing was kept for them (read it); c is nil, with ok, when
// the merchant has no such cart; err is the kept cart's decoding error.
func (p *CartPrefetch) Take(merchantID, cartID string) (c *Cart, ok bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.kept || p.merchantID != merchantID || p.cartID != cartID {
		return nil, false, nil
	}
	p.kept = false
	if p.decode == nil {
		return nil, true, nil
	}
	c, err = p.decode()
	return c, true, err
}

// TakeCart is Take as a store's Cart answers: a kept "no such cart" is
// ErrNotFound.
func (p *CartPrefetch) TakeCart(merchantID, cartID string) (*Cart, bool, error) {
	c, ok, err := p.Take(merchantID, cartID)
	if ok && err == nil && c == nil {
		err = ErrNotFound
	}
	return c, ok, err
}
