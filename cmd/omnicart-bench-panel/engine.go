package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/postgres"
	"github.com/omnicart/omnicart/postgres/pgtest"
	"github.com/omnicart/omnicart/sqlite"
)

// engineDB is the benchmark's database, opened in process for the load.
type engineDB struct {
	name      string // "SQLite" or "PostgreSQL"
	url       string // what the server gets as --database
	store     omnicart.Store
	panel     omnicart.PanelStore
	callbacks omnicart.CallbackStore
	secret    func(ctx context.Context, name string) ([]byte, error)
	// settle makes the loaded database what a server that ran for a while
	// would find: SQLite's WAL checkpointed; PostgreSQL's tables vacuumed
	// and analyzed (autovacuum does the same soon after a bulk load).
	settle func(ctx context.Context) error
	// size is the database's size on disk in bytes.
	size  func(ctx context.Context) (int64, error)
	close func() error // closes the in-process connections
	drop  func() error // removes the database (nil: keep it)
}

// openDB opens (and creates) the benchmark's database. dbFlag is empty (a
// new SQLite file in dir), sqlite:PATH (a new file there), or the URL of a
// PostgreSQL server on which a new database is created, and dropped at the
// end unless keep.
func openDB(ctx context.Context, dbFlag, dir string, keep bool) (*engineDB, error) {
	if strings.HasPrefix(dbFlag, "postgres://") || strings.HasPrefix(dbFlag, "postgresql://") {
		return openPostgres(ctx, dbFlag, keep)
	}
	path := strings.TrimPrefix(dbFlag, "sqlite:")
	if path == "" {
		path = filepath.Join(dir, "panel-bench.db")
	}
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("%s exists: the benchmark loads a new database (remove it or name another file)", path)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	return &engineDB{
		name: "SQLite", url: "sqlite:" + path,
		store: sqlite.NewStore(db), panel: sqlite.NewPanel(db), callbacks: sqlite.NewCallbacks(db), secret: db.Secret,
		settle: func(ctx context.Context) error {
			_, err := db.SQL().ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
			return err
		},
		size: func(context.Context) (int64, error) {
			var n int64
			for _, p := range []string{path, path + "-wal"} {
				if st, err := os.Stat(p); err == nil {
					n += st.Size()
				}
			}
			return n, nil
		},
		close: db.Close,
		drop: func() error {
			if keep {
				return nil
			}
			for _, p := range []string{path, path + "-wal", path + "-shm", path + ".key"} {
				if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
			return nil
		},
	}, nil
}

func openPostgres(ctx context.Context, admin string, keep bool) (*engineDB, error) {
	dbURL, dropDB, err := pgtest.Create(admin, "omnicart_bench_")
	if err != nil {
		return nil, fmt.Errorf("--database: %w", err)
	}
	drop := func() error {
		if keep {
			return nil
		}
		return dropDB()
	}
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		_ = drop()
		return nil, err
	}
	return &engineDB{
		name: "PostgreSQL", url: dbURL,
		store: postgres.NewStore(db), panel: postgres.NewPanel(db), callbacks: postgres.NewCallbacks(db), secret: db.Secret,
		settle: func(ctx context.Context) error {
			_, err := db.Pool().Exec(ctx, `VACUUM ANALYZE`)
			return err
		},
		size: func(ctx context.Context) (int64, error) {
			var n int64
			err := db.Pool().QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
			return n, err
		},
		close: db.Close,
		drop:  drop,
	}, nil
}
