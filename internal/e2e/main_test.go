package e2e_test

import (
	"testing"

	"github.com/omnicart/omnicart/internal/e2e"
)

func TestMain(m *testing.M) { e2e.Main(m) }
