// Package notify delivers payment links to customers: by email over SMTP
// (with STARTTLS), by SMS and by push through HTTP provider endpoints (a JSON
// POST with a bearer token), or, for test-mode merchants on a channel with no
// provider configured, to the local sandbox outbox (the /sandbox/outbox page
// and the log).
//
// Messages come from a durable queue (omnicart.NotificationQueue,
// implemented by sqlite.NotifyQueue) that /init writes in the transaction
// creating the cart. A Dispatcher claims due messages with a lease, sends them, and marks
// them sent, retries them with exponential backoff and jitter, or marks them
// failed (a permanent refusal, too many attempts, or a link that expired
// before it could be delivered). Delivery is at least once.
package notify
