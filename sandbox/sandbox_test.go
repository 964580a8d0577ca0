package sandbox_test

import (
	"testing"

	"github.com/omnicart/omnicart/sandbox"
	"github.com/omnicart/omnicart/sandbox/sandboxtest"
)

func openMem(testing.TB) sandbox.Ledger { return sandboxtest.NewMemLedger() }

func TestMemLedger(t *testing.T) { sandboxtest.RunLedger(t, openMem) }

func TestIssuer(t *testing.T) { sandboxtest.RunIssuer(t, openMem) }
