package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/httpapi"
	"github.com/omnicart/omnicart/postgres"
	"github.com/omnicart/omnicart/sqlite"
)

// engine is a storage engine opened by URL: every port the application
// needs. This file is the only place that knows which engines exist.
type engine struct {
	store     omnicart.Store
	ledger    omnicart.Ledger
	callbacks omnicart.CallbackStore
	notify    omnicart.NotificationQueue
	panel     omnicart.PanelStore
	// secret returns a named server secret shared by every process on the
	// database, creating it the first time.
	secret func(ctx context.Context, name string) ([]byte, error)
	// stats reports the engine's writer figures for /metrics (nil: none).
	stats func() httpapi.StoreStats
	// pool reports the connection pool's figures for /metrics (nil: none).
	pool func() httpapi.PoolStats
	// setLog gives the engine the log of its background work (nil: it
	// has none).
	setLog func(*slog.Logger)
	// keyPath is where the answer key lives unless configured.
	keyPath string
	close   func() error
}

// openMode says whether opening a database may create it.
type openMode int

const (
	// openExisting refuses a database that does not exist: every command
	// but serve, migrate and merchant create, so that a command run in the wrong directory
	// (or with a mistyped --database) says so instead of working on a new,
	// empty database.
	openExisting openMode = iota
	// openOrCreate creates the database when it does not exist (serve,
	// migrate, merchant create).
	openOrCreate
)

// sqlitePath returns the file of a sqlite:PATH URL (or a bare path).
func sqlitePath(url string) (string, error) {
	path, ok := strings.CutPrefix(url, "sqlite:")
	if !ok {
		if strings.Contains(url, "://") {
			return "", fmt.Errorf("database %q: unknown engine (sqlite:PATH or postgres://...)", url)
		}
		path = url
	}
	if path == "" {
		return "", usageError{"--database: empty SQLite path"}
	}
	return path, nil
}

// databaseExists reports whether the database named by url exists. Its
// error is one a person understands: the directory that is missing, or a
// directory where the file should be.
func databaseExists(url string) (bool, error) {
	path, err := sqlitePath(url)
	if err != nil {
		return false, err
	}
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return false, fmt.Errorf("database %s: %s is a directory, not an SQLite database file", url, path)
	case err == nil:
		return true, nil
	case !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("database %s: %w", url, err)
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return false, fmt.Errorf("database %s: there is no directory %s", url, dir)
	}
	return false, nil
}

// openEngine opens the database named by url: sqlite:PATH (or a bare
// path). With openExisting a database that does not exist is an error
// that says where it was looked for and how to name the right one.
func openEngine(ctx context.Context, url string, mode openMode) (*engine, error) {
	if isPostgresURL(url) {
		return openPostgres(ctx, url)
	}
	path, err := sqlitePath(url)
	if err != nil {
		return nil, err
	}
	exists, err := databaseExists(url)
	if err != nil {
		if mode == openOrCreate {
			return nil, fmt.Errorf("cannot create the database: %w", err)
		}
		return nil, fmt.Errorf("%w; give the server's database with --database sqlite:PATH (or OMNICART_DATABASE)", err)
	}
	if !exists && mode == openExisting {
		abs, aerr := filepath.Abs(path)
		if aerr != nil {
			abs = path
		}
		return nil, fmt.Errorf("database %s does not exist (no file %s); give the server's database with --database sqlite:PATH (or OMNICART_DATABASE), or create one with \"omnicart migrate\" or \"omnicart serve\"", url, abs)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", url, err)
	}
	return &engine{
		store:     sqlite.NewStore(db),
		ledger:    sqlite.NewLedger(db),
		callbacks: sqlite.NewCallbacks(db),
		notify:    sqlite.NewNotifyQueue(db),
		panel:     sqlite.NewPanel(db),
		secret:    db.Secret,
		stats:     func() httpapi.StoreStats { return httpapi.StoreStats(db.Stats()) },
		keyPath:   path + ".key",
		close:     db.Close,
	}, nil
}

// isPostgresURL reports whether url names a PostgreSQL database.
func isPostgresURL(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// openPostgres opens a PostgreSQL database (postgres://user@host:port/db?...)
// and applies its migrations; the database itself must exist (it is the
// operator's, with its own backups and replication).
func openPostgres(ctx context.Context, url string) (*engine, error) {
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", redactURL(url), err)
	}
	return &engine{
		store:     postgres.NewStore(db),
		ledger:    postgres.NewLedger(db),
		callbacks: postgres.NewCallbacks(db),
		notify:    postgres.NewNotifyQueue(db),
		panel:     postgres.NewPanel(db),
		secret:    db.Secret,
		pool:      func() httpapi.PoolStats { return httpapi.PoolStats(db.Stats()) },
		setLog:    db.SetLog,
		keyPath:   "",
		close:     db.Close,
	}, nil
}

// redactURL hides a password in a database URL.
func redactURL(s string) string {
	u, err := neturl.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
