package postgres_test

import (
	"testing"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/postgres"
	"github.com/omnicart/omnicart/storetest"
)

// TestCallbackStoreConformance runs the callback store suite on
// PostgreSQL, out-of-order commits included (postgres.Store is a
// storetest.ConcurrentWriter).
func TestCallbackStoreConformance(t *testing.T) {
	storetest.RunCallbacks(t, func(t *testing.T) (omnicart.Store, omnicart.CallbackStore) {
		db := openDB(t)
		return postgres.NewStore(db), postgres.NewCallbacks(db)
	})
}
