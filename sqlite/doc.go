// Package sqlite implements omnicart.Store, omnicart.CallbackStore
// (Callbacks) and omnicart.NotificationQueue (NotifyQueue) on an embedded
// SQLite database (github.com/mattn/go-sqlite3). The database runs in WAL
// mode with synchronous=FULL. A process writes through one group-commit
// writer (writer.go): the units of work queued during a commit share the
// next transaction (a savepoint each) and its single sync. Writers take the
// write lock at BEGIN (BEGIN IMMEDIATE) and wait for it with a busy timeout,
// so operator commands on the same file serialize instead of failing with
// "database is locked". Reads run on a separate read-only pool.
package sqlite
