// Package postgres implements the storage ports of OmniCart on PostgreSQL
// (github.com/jackc/pgx/v5 and its pool, pgxpool): omnicart.Store (Store,
// with the sandbox ledger joined to its transactions), the standalone
// sandbox ledger omnicart.Ledger (Ledger), omnicart.NotificationQueue
// (NotifyQueue) and omnicart.CallbackStore (Callbacks: an outbox row per
// event written by a trigger, claimed per row with leases), all in one
// database that several nodes share.
//
// Open migrates the schema (embedded migrations/*.sql, recorded in
// schema_migrations) under a session-level advisory lock, so that nodes
// starting at once apply each migration once. Times are BIGINT
// milliseconds, as on SQLite. Nothing relies on an in-process lock or a
// single writer: carts are locked with SELECT ... FOR UPDATE, due carts and
// due messages are claimed with FOR UPDATE SKIP LOCKED, a merchant's test
// clock serializes with the changes of its carts through the merchant row,
// the active-timer check of /init through an advisory lock, and ledger
// balances are locked in a fixed order (see Store and Ledger).
//
// Unique violations where the SQLite engine reports omnicart.ErrConflict
// are reported as omnicart.ErrConflict here too; inserts that may conflict
// use ON CONFLICT DO NOTHING, so that a conflict does not abort the
// transaction.
package postgres
