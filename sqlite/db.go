package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strings"
	"sync"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an OmniCart database in one SQLite file.
type DB struct {
	db *sql.DB
	// writeMu serializes this process's writers before they ask SQLite for
	// the write lock, so they queue in Go rather than spin on busy retries.
	writeMu sync.Mutex

	stmtMu    sync.Mutex
	stmts     map[string]*sql.Stmt
	closed    bool
	preparing sync.WaitGroup
}

// stmt returns the prepared statement for q, or nil while it is not
// prepared yet: the first use starts preparing it in the background and the
// caller runs q unprepared. Preparing needs a connection of its own, and a
// transaction that waited for one while holding its own could deadlock the
// pool.
func (d *DB) stmt(q string) *sql.Stmt {
	d.stmtMu.Lock()
	defer d.stmtMu.Unlock()
	if st, ok := d.stmts[q]; ok || d.closed {
		return st // nil while being prepared, or once closed
	}
	if d.stmts == nil {
		d.stmts = map[string]*sql.Stmt{}
	}
	d.stmts[q] = nil
	d.preparing.Add(1)
	go func() {
		defer d.preparing.Done()
		st, err := d.db.Prepare(q)
		d.stmtMu.Lock()
		defer d.stmtMu.Unlock()
		switch {
		case err != nil:
			delete(d.stmts, q) // tried again on next use; the query reports its own error
		case d.closed:
			st.Close()
		default:
			d.stmts[q] = st
		}
	}()
	return nil
}

// Open opens (creating if needed) the SQLite database at path and applies
// pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(30000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	sdb.SetMaxOpenConns(8)
	sdb.SetMaxIdleConns(8)
	d := &DB{db: sdb}
	if err := d.migrate(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return d, nil
}

// SQL returns the underlying handle, for adapters that keep their own tables
// in the same file (the sandbox ledger).
func (d *DB) SQL() *sql.DB { return d.db }

// Close closes the database.
func (d *DB) Close() error {
	d.stmtMu.Lock()
	d.closed = true
	d.stmtMu.Unlock()
	d.preparing.Wait() // no statement is prepared, or a file touched, after Close
	d.stmtMu.Lock()
	for _, st := range d.stmts {
		if st != nil {
			st.Close()
		}
	}
	d.stmts = nil
	d.stmtMu.Unlock()
	return d.db.Close()
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	return d.db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// WriteTx runs fn in a write transaction (BEGIN IMMEDIATE), committing when
// fn returns nil.
func (d *DB) WriteTx(ctx context.Context, fn func(*sql.Tx) error) error {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (d *DB) migrate(ctx context.Context) error {
	return d.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY) STRICT`); err != nil {
			return fmt.Errorf("migrations table: %w", err)
		}
		names, err := fs.Glob(migrations, "migrations/*.sql")
		if err != nil {
			return err
		}
		sort.Strings(names)
		for _, name := range names {
			version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
			var seen string
			err := tx.QueryRowContext(ctx, `SELECT version FROM schema_migrations WHERE version = ?`, version).Scan(&seen)
			if err == nil {
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("migration %s: %w", version, err)
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", version, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version) VALUES (?)`, version); err != nil {
				return fmt.Errorf("migration %s: %w", version, err)
			}
		}
		return nil
	})
}

// Secret returns the named server secret, creating 32 random bytes the
// first time. Secrets key the API-key hash and card fingerprints, so every
// process on the same database shares them.
func (d *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := d.WriteTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		v = make([]byte, 32)
		if _, err := rand.Read(v); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO settings(name, value) VALUES (?, ?)`, name, v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return v, nil
}
