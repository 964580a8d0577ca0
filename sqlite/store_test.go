package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/sqlite"
	"github.com/omnicart/omnicart/storetest"
)

func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) omnicart.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "store.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return sqlite.NewStore(db)
	})
}
