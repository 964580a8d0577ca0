// Package gateway holds OmniCart's use cases: open a cart, pay it, capture,
// cancel, refund and modify it, read its status, and the operator's merchant
// and key management. Each use case loads what it needs in one storage
// transaction, runs the domain, and saves the new state with its events in
// the same transaction. Money operations follow a two-step protocol: the
// operation is recorded and the items marked ongoing (transaction 1), the
// provider is called outside any transaction, and the outcome is saved
// (transaction 2). Operations left unsettled by a crash are settled by
// Recover, relying on the provider's idempotency by operation id.
package gateway
