package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/httpapi"
	"github.com/omnicart/omnicart/sqlite"
)

// engine is a storage engine opened by URL: every port the application
// needs. This file is the only place that knows which engines exist.
type engine struct {
	store     omnicart.Store
	ledger    omnicart.Ledger
	callbacks omnicart.CallbackStore
	notify    omnicart.NotificationQueue
	// secret returns a named server secret shared by every process on the
	// database, creating it the first time.
	secret func(ctx context.Context, name string) ([]byte, error)
	// stats reports the engine's writer figures for /metrics (nil: none).
	stats func() httpapi.StoreStats
	// keyPath is where the answer key lives unless configured.
	keyPath string
	close   func() error
}

// openEngine opens the database named by url: sqlite:PATH (or a bare
// path).
func openEngine(ctx context.Context, url string) (*engine, error) {
	path, ok := strings.CutPrefix(url, "sqlite:")
	if !ok {
		if strings.Contains(url, "://") {
			return nil, fmt.Errorf("database %q: unknown engine (sqlite:PATH)", url)
		}
		path = url
	}
	if path == "" {
		return nil, usageError{"--database: empty SQLite path"}
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	return &engine{
		store:     sqlite.NewStore(db),
		ledger:    sqlite.NewLedger(db),
		callbacks: sqlite.NewCallbacks(db),
		notify:    sqlite.NewNotifyQueue(db),
		secret:    db.Secret,
		stats:     func() httpapi.StoreStats { return httpapi.StoreStats(db.Stats()) },
		keyPath:   path + ".key",
		close:     db.Close,
	}, nil
}
