package hmacpool

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
)

// Pool keeps idle HMAC-SHA256 states. The zero Pool is ready for use and
// safe for concurrent use; it must not be copied after first use.
type Pool struct {
	idle sync.Pool // of *MAC
}

// MAC is an HMAC-SHA256 keyed with Key, taken from a Pool.
type MAC struct {
	hash.Hash
	key []byte
}

// Get returns an HMAC keyed with key, ready to write to: a reset idle one
// of the same key, or a new one.
func (p *Pool) Get(key []byte) *MAC {
	m, _ := p.idle.Get().(*MAC)
	if m == nil || !bytes.Equal(m.key, key) {
		return &MAC{Hash: hmac.New(sha256.New, key), key: bytes.Clone(key)}
	}
	m.Reset()
	return m
}

// Put gives m back for a later Get; the caller must not use it again.
func (p *Pool) Put(m *MAC) { p.idle.Put(m) }
