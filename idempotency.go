package omnicart

import "time"

// IdempotencyTTL is how long a stored response answers a repeated
// Idempotency-Key.
const IdempotencyTTL = 24 * time.Hour

// IdempotencyStale is how long a request may hold its key as running; after
// that (its process died) the key may be taken again.
const IdempotencyStale = 2 * time.Minute

// IdempotentRecord is what is stored under a merchant's Idempotency-Key.
type IdempotentRecord struct {
	RequestHash []byte
	// Done is false while the first request runs.
	Done   bool
	Status int
	Body   []byte
}
