package omnicart

import (
	"context"
	"time"
)

// NotificationQueue is the durable queue of payment-link messages as the
// notify dispatcher works it off. Storage engines implement it
// (sqlite.NotifyQueue); the messages are written by the /init transaction
// (Tx.EnqueueNotification). Every method is safe with several processes
// sharing the queue. Errors are the engine's.
type NotificationQueue interface {
	// Claim leases up to limit queued messages due at now for lease,
	// incrementing their attempt counts.
	Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Notification, error)
	// Sent marks a message delivered; the payment token is forgotten
	// unless keepToken.
	Sent(ctx context.Context, id int64, via string, at time.Time, keepToken bool) error
	// Retry records a failed attempt and the time of the next one.
	Retry(ctx context.Context, id int64, reason string, next, at time.Time) error
	// Fail marks a message failed for good.
	Fail(ctx context.Context, id int64, reason string, at time.Time) error
}
