package omnicart

import "time"

// IdempotencyTTL is how long a stored response answers a repeated
// Idempotency-Key.
const IdempotencyTTL = 24 * time.Hour

// IdempotentRecord is what is stored under a merchant's Idempotency-Key: the
// request's fingerprint and the answer it got. It is written in the same
// transaction as the change the request made, so a record exists exactly
// when the change committed; there is no "running" state to go stale.
type IdempotentRecord struct {
	RequestHash []byte
	Method      string
	Path        string
	Status      int
	// Code is the OmniCart code of the answer.
	Code string
	// Body is the answer, sealed by the gateway (it may carry a payment
	// link's secret).
	Body      []byte
	CreatedAt time.Time
}

// Fresh reports whether the record still answers its key at now.
func (r IdempotentRecord) Fresh(now time.Time) bool {
	return now.Before(r.CreatedAt.Add(IdempotencyTTL))
}
