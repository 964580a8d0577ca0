package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/omnicart/omnicart/sqlite"
	"github.com/omnicart/omnicart/storetest"
)

// openEngine opens an engine on a new database file with options o.
func openEngine(o sqlite.Options) func(tb testing.TB) storetest.Engine {
	return func(tb testing.TB) storetest.Engine {
		tb.Helper()
		db, err := sqlite.OpenWith(tb.Context(), filepath.Join(tb.TempDir(), "store.db"), o)
		if err != nil {
			tb.Fatalf("open: %v", err)
		}
		tb.Cleanup(func() { db.Close() })
		return storetest.Engine{Store: sqlite.NewStore(db), Notifications: sqlite.NewNotifyQueue(db)}
	}
}

func TestStoreConformance(t *testing.T) { storetest.Run(t, openEngine(sqlite.Options{})) }

// TestStoreConformanceUnbatched runs the suite with the group-commit writer
// committing every unit of work alone, the path a unit takes when nothing
// queued beside it (no savepoints).
func TestStoreConformanceUnbatched(t *testing.T) {
	storetest.Run(t, openEngine(sqlite.Options{MaxBatch: 1}))
}
