package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/sqlite"
	"github.com/omnicart/omnicart/storetest"
)

func TestPanelConformance(t *testing.T) {
	storetest.RunPanel(t, func(tb testing.TB) (omnicart.Store, omnicart.PanelStore) {
		tb.Helper()
		db, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "panel.db"))
		if err != nil {
			tb.Fatalf("open: %v", err)
		}
		tb.Cleanup(func() { db.Close() })
		return sqlite.NewStore(db), sqlite.NewPanel(db)
	})
}
