// Package sqlite implements omnicart.Store, omnicart.CallbackStore
// (Callbacks) and omnicart.NotificationQueue (NotifyQueue) on an embedded
// SQLite database (modernc.org/sqlite, pure Go). The database runs in WAL
// mode; writers take the write lock at BEGIN (BEGIN IMMEDIATE) and wait for
// it with a busy timeout, so concurrent requests and operator commands on
// the same file serialize instead of failing with "database is locked".
package sqlite
