package postgres_test

import (
	"testing"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/postgres"
	"github.com/omnicart/omnicart/storetest"
)

func TestPanelConformance(t *testing.T) {
	storetest.RunPanel(t, func(tb testing.TB) (omnicart.Store, omnicart.PanelStore) {
		tb.Helper()
		db := openDB(tb)
		return postgres.NewStore(db), postgres.NewPanel(db)
	})
}
