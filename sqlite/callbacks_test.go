package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/sqlite"
	"github.com/omnicart/omnicart/storetest"
)

// openCallbacks opens a new database with the given options and returns
// its store and callback store.
func openCallbacks(o sqlite.Options) func(t *testing.T) (omnicart.Store, omnicart.CallbackStore) {
	return func(t *testing.T) (omnicart.Store, omnicart.CallbackStore) {
		db, err := sqlite.OpenWith(context.Background(), filepath.Join(t.TempDir(), "cb.db"), o)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return sqlite.NewStore(db), sqlite.NewCallbacks(db)
	}
}

// TestCallbackStoreConformance runs the callback store suite on SQLite.
func TestCallbackStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.RunCallbacks(t, openCallbacks(sqlite.Options{}))
}

// TestCallbackStoreConformanceUnbatched runs the suite with a writer that
// commits every unit of work on its own (no group commit).
func TestCallbackStoreConformanceUnbatched(t *testing.T) {
	t.Parallel()
	storetest.RunCallbacks(t, openCallbacks(sqlite.Options{MaxBatch: 1}))
}
