package cartdoc

import (
	"bytes"
	"hash/maphash"
	"sync"

	"github.com/omnicart/omnicart"
)

// Cache decodes cart documents, keeping the carts decoded from recent
// documents: a document read again unchanged (a status polled while the
// customer pays, the capture after a status) is answered with a copy of
// the cart decoded last time instead of being decoded again. Entries
// are found by the document's bytes, so a changed cart is a new entry
// and a cached cart is never stale; the cache holds at most maxBytes of
// documents (about as much again in decoded carts) and forgets an
// arbitrary entry to make room. It is safe for concurrent use.
type Cache struct {
	seed     maphash.Seed
	maxBytes int

	mu      sync.Mutex
	entries map[uint64]*entry
	bytes   int
}

type entry struct {
	doc  []byte
	cart *omnicart.Cart // never handed out: callers get clones
}

// NewCache returns a cache holding at most maxBytes of documents.
func NewCache(maxBytes int) *Cache {
	return &Cache{seed: maphash.MakeSeed(), maxBytes: maxBytes, entries: map[uint64]*entry{}}
}

// Decode returns the cart doc holds, as Decode does; the cart is the
// caller's to change. The cache keeps doc: the caller must not change it
// afterwards.
func (c *Cache) Decode(doc []byte) (*omnicart.Cart, error) {
	h := maphash.Bytes(c.seed, doc)
	c.mu.Lock()
	e := c.entries[h]
	c.mu.Unlock()
	if e != nil && bytes.Equal(e.doc, doc) {
		return e.cart.Clone(), nil
	}
	cart := new(omnicart.Cart)
	if err := Decode(doc, cart); err != nil {
		return nil, err
	}
	if len(doc) > c.maxBytes/16 {
		return cart, nil // too large to be worth the room
	}
	c.keep(h, doc, cart.Clone())
	return cart, nil
}

// keep enters kept, decoded from doc whose hash is h, making room.
func (c *Cache) keep(h uint64, doc []byte, kept *omnicart.Cart) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[h]; old != nil { // the same document decoded meanwhile, or another with its hash
		delete(c.entries, h)
		c.bytes -= len(old.doc)
	}
	for k, old := range c.entries {
		if c.bytes+len(doc) <= c.maxBytes {
			break
		}
		delete(c.entries, k)
		c.bytes -= len(old.doc)
	}
	c.entries[h] = &entry{doc: doc, cart: kept}
	c.bytes += len(doc)
}
