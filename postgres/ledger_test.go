package postgres_test

import (
	"testing"

	"github.com/omnicart/omnicart/postgres"
	"github.com/omnicart/omnicart/sandbox"
	"github.com/omnicart/omnicart/sandbox/sandboxtest"
)

// openLedger returns the standalone ledger of a new database.
func openLedger(tb testing.TB) sandbox.Ledger { tb.Helper(); return postgres.NewLedger(openDB(tb)) }

func TestLedger(t *testing.T) { sandboxtest.RunLedger(t, openLedger) }

func TestLedgerIssuer(t *testing.T) { sandboxtest.RunIssuer(t, openLedger) }
