package postgres

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/internal/cartdoc"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an OmniCart database on a PostgreSQL server, shared by every node
// that opens it: a pgx connection pool, with the schema migrated.
type DB struct {
	pool *pgxpool.Pool

	closeOnce sync.Once

	// merchants caches decoded merchant documents by id (see
	// decodeMerchant).
	merchants sync.Map
	// carts decodes cart documents, keeping recently decoded ones.
	carts *cartdoc.Cache
	// log receives what the background loops cannot return (SetLog);
	// nil until set.
	log atomic.Pointer[slog.Logger]

	trips *roundTrips

	// stopRollup ends runRollup, which closes rollupDone.
	stopRollup context.CancelFunc
	rollupDone chan struct{}
}

// cartCacheBytes bounds the cart documents the engine keeps decoded
// (see cartdoc.Cache): 8 MiB, some 10,000 small carts.
const cartCacheBytes = 8 << 20

// defaultMaxConns is the pool size when the URL sets none
// (pool_max_conns): a write transaction holds a connection for as long as
// it runs, waits for row locks included, and may read through a second one
// (Store.View, Store.Read) meanwhile.
const defaultMaxConns = 16

// Open connects to the PostgreSQL database at url (a postgres:// URL or a
// key=value connection string, with pgxpool's pool_* parameters) and
// applies the pending migrations, one node at a time (see migrate). Errors
// are the URL's, the server's or a migration's.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if !setsParam(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	for name, v := range map[string]string{
		"application_name": "omnicart",
		// A node that hangs (rather than dies) inside a transaction would
		// keep its carts, claims and balances locked: the server ends such
		// a session after a minute of silence.
		"idle_in_transaction_session_timeout": "60s",
	} {
		if _, ok := cfg.ConnConfig.RuntimeParams[name]; !ok && !setsParam(url, name) {
			cfg.ConnConfig.RuntimeParams[name] = v
		}
	}
	// The planner's default random_page_cost (4) prices a random page
	// read as on a spinning disk. With it, a statement that joins a short
	// list of keys (unnest of the ledger's accounts) to a table of a few
	// thousand rows, all in memory, is planned as a hash join over a
	// sequential scan of the whole table, per post: a fresh database under
	// lifecycle load spent about a fifth of PostgreSQL's CPU reading ledger
	// tables that way. A new session sets 1.1, the usual value for SSD or
	// cached data, only while it still has the built-in default: a value
	// set in postgresql.conf, for the database or the role, or in the URL
	// (as a parameter or in options) is kept.
	after := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		if after != nil {
			if err := after(ctx, c); err != nil {
				return err
			}
		}
		_, err := c.Exec(ctx, `SELECT set_config('random_page_cost', '1.1', false)
			WHERE (SELECT source FROM pg_settings WHERE name = 'random_page_cost') = 'default'`)
		return err
	}
	trips := &roundTrips{}
	if cfg.ConnConfig.Tracer == nil {
		cfg.ConnConfig.Tracer = trips
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	d := &DB{pool: pool, trips: trips, carts: cartdoc.NewCache(cartCacheBytes)}
	if err := d.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	rctx, stop := context.WithCancel(context.Background())
	d.stopRollup, d.rollupDone = stop, make(chan struct{})
	go func() {
		defer close(d.rollupDone)
		d.runRollup(rctx)
	}()
	return d, nil
}

// setsParam reports whether the connection string s sets parameter name.
func setsParam(s, name string) bool {
	if u, err := url.Parse(s); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return u.Query().Has(name)
	}
	return strings.Contains(s, name+"=")
}

// SetLog sets where the engine's background work (the overview's fold,
// see runRollup) reports failures; until it is set they are only
// retried.
func (d *DB) SetLog(l *slog.Logger) { d.log.Store(l) }

// Close closes the pool, waiting for the connections in use to be
// released. Closing again does nothing.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		d.stopRollup()
		<-d.rollupDone
		d.pool.Close()
	})
	return nil
}

// Ping checks that the server answers.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	if err := d.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Pool returns the connection pool, for adapters that keep their own
// tables in the same database.
func (d *DB) Pool() *pgxpool.Pool { return d.pool }

// PoolStats are the figures of the connection pool, for metrics.
type PoolStats struct {
	MaxConns      int32 // the pool's size
	TotalConns    int32 // open connections
	AcquiredConns int32 // connections in use
	IdleConns     int32 // open connections not in use
	// AcquireCount counts the connections handed out, EmptyAcquireCount
	// those that had to wait for one (none idle), and AcquireWait is the
	// total time spent waiting.
	AcquireCount      int64
	EmptyAcquireCount int64
	AcquireWait       time.Duration
	NewConns          int64 // connections opened since the start
	// RoundTrips counts statements and batches sent (see roundTrips).
	RoundTrips int64
}

// Stats returns the pool's figures.
func (d *DB) Stats() PoolStats {
	s := d.pool.Stat()
	return PoolStats{MaxConns: s.MaxConns(), TotalConns: s.TotalConns(), AcquiredConns: s.AcquiredConns(),
		IdleConns: s.IdleConns(), AcquireCount: s.AcquireCount(), EmptyAcquireCount: s.EmptyAcquireCount(),
		AcquireWait: s.EmptyAcquireWaitTime(), NewConns: s.NewConnsCount(), RoundTrips: d.trips.n.Load()}
}

// migrationLock is the key of the session-level advisory lock that
// migrations run under ("omnicart" in ASCII), so that nodes starting at
// once apply them one at a time.
const migrationLock int64 = 0x6f6d6e6963617274

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, in name order, each in a transaction of its own with
// its record. It runs under a session-level advisory lock on a connection
// of its own: a second node starting meanwhile waits, then finds the
// migrations recorded; a node that dies mid-way releases the lock with its
// connection, and its unfinished migration rolled back.
func (d *DB) migrate(ctx context.Context) error {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock); err != nil {
			conn.Conn().Close(context.Background()) // closing the session releases the lock
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    TEXT PRIMARY KEY,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("postgres: migrations table: %w", err)
	}
	applied := map[string]bool{}
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	for _, v := range versions {
		applied[v] = true
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		if applied[version] {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// No arguments: the simple protocol, which runs every
			// statement of the file.
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations(version) VALUES ($1)`, version)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", version, err)
		}
	}
	return nil
}

// Secret returns the named server secret, creating 32 random bytes the
// first time. Secrets key the API-key hash and card fingerprints, so every
// node on the database shares them: when two nodes create the same secret
// at once, the first insert wins (ON CONFLICT DO NOTHING waits for it) and
// both return its value. Errors are the server's.
func (d *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	v, err := d.secret(ctx, name)
	if errors.Is(err, pgx.ErrNoRows) {
		fresh := make([]byte, 32)
		if _, err := rand.Read(fresh); err != nil {
			return nil, fmt.Errorf("secret %s: %w", name, err)
		}
		if _, err := d.pool.Exec(ctx, `INSERT INTO settings(name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
			return nil, fmt.Errorf("secret %s: %w", name, err)
		}
		v, err = d.secret(ctx, name)
	}
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return v, nil
}

func (d *DB) secret(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := d.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	return v, err
}

// isUnique reports whether err is a unique violation (SQLSTATE 23505) of
// the statement that returned it.
func isUnique(err error) bool { return ownCode(err, "23505") }

// ownCode is hasCode for an error that the statement returning it caused,
// not a write deferred in front of it (see pipeTx).
func ownCode(err error, codes ...string) bool {
	var d *deferredFailure
	return !errors.As(err, &d) && hasCode(err, codes...)
}

// hasCode reports whether err is a server error with one of codes.
func hasCode(err error, codes ...string) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	for _, c := range codes {
		if pe.Code == c {
			return true
		}
	}
	return false
}

// wrap names what failed; an outage is marked omnicart.ErrUnavailable
// (see unavailable), so that every path reaching the API answers it with
// 503, not 500.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return unavailable(fmt.Errorf("%s: %w", what, err))
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

// msOrNil is t in milliseconds, or NULL for the zero time.
func msOrNil(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	v := ms(t)
	return &v
}

// unavailable marks err with omnicart.ErrUnavailable when it says the
// server cannot be reached or is not taking work (a connection refused,
// lost or timed out; the server shutting down, starting or out of
// connections), rather than anything about the statement.
func unavailable(err error) error {
	if err == nil || errors.Is(err, omnicart.ErrUnavailable) {
		return err
	}
	var pe *pgconn.PgError
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &pe):
		// Connection exceptions; the server shutting down, starting, out
		// of connections, memory or disk; a primary turned read-only by a
		// failover. Not a refused login or a missing database (a
		// configuration error, which waiting does not cure).
		if !strings.HasPrefix(pe.Code, "08") && !hasCode(err, "57P01", "57P02", "57P03", "53300", "53100", "53200", "25006") {
			return err
		}
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed):
	default:
		// A connection the server closed under a statement, and a pool
		// closed while the node shuts down, surface as plain errors.
		if msg := err.Error(); !strings.HasSuffix(msg, "conn closed") && !strings.HasSuffix(msg, "closed pool") {
			return err
		}
	}
	return fmt.Errorf("%w: %w", omnicart.ErrUnavailable, err)
}
