package postgres_test

import (
	"testing"

	"github.com/omnicart/omnicart/postgres"
	"github.com/omnicart/omnicart/postgres/pgtest"
	"github.com/omnicart/omnicart/storetest"
)

// openDB opens a new database, closed when the test ends (before
// pgtest drops it).
func openDB(tb testing.TB) *postgres.DB {
	tb.Helper()
	url := pgtest.URL(tb)
	db, err := postgres.Open(tb.Context(), url)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// openEngine opens an engine on a new database.
func openEngine(tb testing.TB) storetest.Engine {
	tb.Helper()
	db := openDB(tb)
	return storetest.Engine{Store: postgres.NewStore(db), Notifications: postgres.NewNotifyQueue(db)}
}

func TestStoreConformance(t *testing.T) { storetest.Run(t, openEngine) }
