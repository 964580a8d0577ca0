package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"database/sql/driver"

	"github.com/mattn/go-sqlite3"

	"github.com/omnicart/omnicart/internal/cartdoc"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an OmniCart database in one SQLite file.
//
// Writes go through one group-commit writer (see writer.go): every
// WriteTx of this process is a unit of work that the writer runs, with
// the units that queued meanwhile, in one transaction that is synced once
// (synchronous=FULL) before any of them is answered. Reads (Store.View, the
// ledger's reads) run on a separate read-only pool of WAL readers that
// never waits for the writer.
type DB struct {
	// db is the write pool: the writer's transactions, and the few reads
	// and statement preparations of the callback store.
	db *sql.DB
	// ro is the read-only pool.
	ro *sql.DB
	// raw runs the API key read outside database/sql (rawread.go).
	raw *rawReads
	w   *writer

	wstmts stmtCache // prepared on the write pool, synchronously
	rstmts stmtCache // prepared on the read pool, in the background

	closeOnce sync.Once
	closeErr  error

	// merchants caches decoded merchant documents by id (see
	// decodeMerchant).
	merchants sync.Map
	// carts decodes cart documents, keeping recently decoded ones.
	carts *cartdoc.Cache
}

// cartCacheBytes bounds the cart documents the engine keeps decoded
// (see cartdoc.Cache): 8 MiB, some 10,000 small carts.
const cartCacheBytes = 8 << 20

// stmtCache caches prepared statements of one pool by query text.
type stmtCache struct {
	db *sql.DB
	// background prepares on first use in another goroutine and lets the
	// caller run the query unprepared meanwhile: preparing needs a
	// connection of its own, and a transaction of a busy pool waiting for
	// one while holding its own could deadlock the pool.
	background bool

	mu        sync.Mutex
	stmts     map[string]*sql.Stmt
	closed    bool
	preparing sync.WaitGroup
}

// get returns the prepared statement of q, or nil when it is not (yet)
// prepared.
func (c *stmtCache) get(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[q]; ok || c.closed {
		return st // nil while being prepared, or once closed
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	if !c.background {
		st, err := c.db.Prepare(q)
		if err != nil {
			return nil // the query reports its own error
		}
		c.stmts[q] = st
		return st
	}
	c.stmts[q] = nil
	c.preparing.Add(1)
	go func() {
		defer c.preparing.Done()
		st, err := c.db.Prepare(q)
		c.mu.Lock()
		defer c.mu.Unlock()
		switch {
		case err != nil:
			delete(c.stmts, q) // tried again on next use
		case c.closed:
			st.Close()
		default:
			c.stmts[q] = st
		}
	}()
	return nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.preparing.Wait() // no statement is prepared, or a file touched, after close
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		if st != nil {
			st.Close()
		}
	}
	c.stmts = nil
}

// Options tune a database. The zero value is the default.
type Options struct {
	// MaxBatch bounds the units of work committed together (default 256).
	MaxBatch int
	// ReadConns is the size of the read pool, and of the connections
	// that run authentication's read beside it (rawReads): up to twice
	// as many read connections in all (default 8 each).
	ReadConns int
}

// Open opens (creating if needed) the SQLite database at path and applies
// pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, o Options) (*DB, error) {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.ReadConns <= 0 {
		o.ReadConns = 8
	}
	// temp_store=MEMORY keeps the savepoints' statement journals in
	// memory; checkpoints run from a connection of their own between the
	// writer's commits (checkpoint.go), not inside them
	// (wal_autocheckpoint=0).
	// synchronous=FULL: a commit returns only once the WAL is synced, so an
	// acknowledged change survives a power cut.
	wdb := openPool(path, "_txlock=immediate&_busy_timeout=30000&_journal_mode=WAL&_synchronous=FULL&_foreign_keys=1&_cache_size=-32768",
		true, "PRAGMA temp_store=MEMORY", "PRAGMA wal_autocheckpoint=0")
	wdb.SetMaxOpenConns(4)
	wdb.SetMaxIdleConns(4)
	ckpt, err := newCheckpointer(ctx, wdb, path+"-wal")
	if err != nil {
		wdb.Close()
		return nil, err
	}
	d := &DB{db: wdb, carts: cartdoc.NewCache(cartCacheBytes)}
	d.wstmts.db = wdb
	d.w = newWriter(wdb, &d.wstmts, ckpt, o.MaxBatch)
	if err := d.migrate(ctx); err != nil {
		d.w.stop()
		wdb.Close()
		return nil, err
	}
	const readOptions = "_busy_timeout=30000&_query_only=1&_foreign_keys=1"
	rdb := openPool(path, readOptions, false)
	rdb.SetMaxOpenConns(o.ReadConns)
	rdb.SetMaxIdleConns(o.ReadConns)
	d.ro = rdb
	rawDriver := &sqlite3.SQLiteDriver{}
	d.raw = newRawReads(func() (*sqlite3.SQLiteConn, error) {
		// mode=ro: never creates the file (it exists by now).
		c, err := rawDriver.Open("file:" + path + "?mode=ro&" + readOptions)
		if err != nil {
			return nil, err
		}
		return c.(*sqlite3.SQLiteConn), nil
	}, o.ReadConns)
	d.rstmts = stmtCache{db: rdb, background: true}
	return d, nil
}

// openPool returns a pool of connections to the database file at path,
// with the driver's DSN options and statements run on every new
// connection.
func openPool(path, options string, uncancellable bool, onConnect ...string) *sql.DB {
	d := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		for _, q := range onConnect {
			if _, err := c.Exec(q, nil); err != nil {
				return err
			}
		}
		return nil
	}}
	return sql.OpenDB(connector{driver: d, dsn: "file:" + path + "?" + options, uncancellable: uncancellable})
}

// connector opens connections with a driver value of our own (no global
// driver registration).
type connector struct {
	driver *sqlite3.SQLiteDriver
	dsn    string
	// uncancellable connections ignore the cancellation of the contexts
	// their statements run with (see uncancellableConn).
	uncancellable bool
}

func (c connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.driver.Open(c.dsn)
	if err != nil || !c.uncancellable {
		return conn, err
	}
	return uncancellableConn{conn.(*sqlite3.SQLiteConn)}, nil
}

func (c connector) Driver() driver.Driver { return c.driver }

// SQL returns the write pool, for adapters that keep their own tables in the
// same file.
func (d *DB) SQL() *sql.DB { return d.db }

// Close stops the writer (after the units already queued) and closes the
// database. Closing again returns the first Close's result.
func (d *DB) Close() error {
	d.closeOnce.Do(func() { d.closeErr = d.close() })
	return d.closeErr
}

func (d *DB) close() error {
	d.w.stop()
	d.wstmts.close()
	d.rstmts.close()
	d.raw.close()
	err := d.ro.Close()
	if werr := d.db.Close(); err == nil {
		err = werr
	}
	return err
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	return d.ro.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// WriteTx runs fn as one unit of work of the group-commit writer: in a
// write transaction shared with the units queued beside it, rolled back
// alone (to its savepoint) when fn returns an error. WriteTx returns once
// the transaction is committed and synced, with fn's error or the
// commit's. fn must not call WriteTx (the writer runs one unit at a time).
// A unit whose ctx ends before it starts is not run.
func (d *DB) WriteTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return d.w.do(ctx, fn)
}

// Stats returns the writer's counters.
func (d *DB) Stats() WriterStats { return d.w.snapshot() }

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
