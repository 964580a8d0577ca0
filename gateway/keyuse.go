package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/omnicart/omnicart"
)

// Recording when a key was last used (APIKey.LastUsedAt, shown by the
// Panel's keys page and `omnicart key list`) must not add a database write
// to every Merchant API request. Each node therefore remembers when it last
// recorded each key and records a key again only once KeyUseInterval has
// passed; the write itself is done by one goroutine per Service from a
// bounded queue, and a use is dropped (not recorded) when the queue is
// full. The time shown is thus at most about KeyUseInterval behind, per
// node.
const (
	// KeyUseInterval is how often, at most, a node records a key's use.
	KeyUseInterval = time.Minute
	// keyUseQueue bounds the uses waiting to be written.
	keyUseQueue = 256
	// keyUseKeys bounds the keys whose last recording a node remembers.
	keyUseKeys = 10000
	// keyUseTimeout bounds one write.
	keyUseTimeout = 5 * time.Second
)

type keyTouch struct {
	hash []byte
	at   time.Time
}

// KeyUses is a node's throttle and queue of key uses. Create it with
// NewKeyUses, set it as Service.KeyUses and run Run for as long as the
// node serves; a Service without one records no use.
type KeyUses struct {
	mu    sync.Mutex
	last  map[string]time.Time // key hash → when last queued
	queue chan keyTouch
}

// NewKeyUses returns an empty throttle and queue.
func NewKeyUses() *KeyUses {
	return &KeyUses{last: map[string]time.Time{}, queue: make(chan keyTouch, keyUseQueue)}
}

// KeyUsed records that k authenticated a Merchant API request now: it
// queues a write of the key's LastUsedAt, unless this node queued one for
// the key less than KeyUseInterval before. It never blocks and never
// writes on the caller's path.
func (s *Service) KeyUsed(k *omnicart.APIKey) {
	if s.KeyUses == nil {
		return
	}
	s.KeyUses.note(s, k.Hash, s.Now())
}

func (u *KeyUses) note(s *Service, hash []byte, at time.Time) {
	if !u.due(string(hash), at) {
		return
	}
	select {
	case u.queue <- keyTouch{hash: hash, at: at}:
	default:
		s.debug("api key use not recorded: queue full")
	}
}

// due reports whether a use at at should be recorded, and if so remembers
// it as the key's last recording.
func (u *KeyUses) due(key string, at time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if last, ok := u.last[key]; ok && at.Sub(last) < KeyUseInterval && !at.Before(last) {
		return false
	}
	if len(u.last) >= keyUseKeys {
		// Forget the keys not recorded within the interval; if every one
		// was, forget them all (at worst a key is then recorded again
		// early).
		for k, t := range u.last {
			if at.Sub(t) >= KeyUseInterval || at.Before(t) {
				delete(u.last, k)
			}
		}
		if len(u.last) >= keyUseKeys {
			clear(u.last)
		}
	}
	u.last[key] = at
	return true
}

// RunKeyUses writes the queued uses of s.KeyUses, one at a time, until
// ctx is done. It returns at once when s has none.
func (s *Service) RunKeyUses(ctx context.Context) {
	if s.KeyUses == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case t := <-s.KeyUses.queue:
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keyUseTimeout)
			err := s.Store.Tx(wctx, func(tx omnicart.Tx) error { return tx.TouchAPIKey(wctx, t.hash, t.at) })
			cancel()
			if err != nil {
				s.debug("api key use not recorded", "err", err)
			}
		}
	}
}

func (s *Service) debug(msg string, args ...any) {
	if s.Log != nil {
		s.Log.Debug(msg, args...)
	}
}
