package postgres

import (
	"strings"
	"testing"

	"github.com/omnicart/omnicart/postgres/pgtest"
)

// TestSessionSettings checks the settings OmniCart gives its sessions
// when the URL sets none, and that the URL's own win.
func TestSessionSettings(t *testing.T) {
	show := func(db *DB, name string) string {
		t.Helper()
		var v string
		if err := db.pool.QueryRow(t.Context(), "SELECT current_setting($1)", name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	db := openInternal(t)
	for name, want := range map[string]string{"random_page_cost": "1.1", "idle_in_transaction_session_timeout": "1min", "application_name": "omnicart"} {
		if got := show(db, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	url := pgtest.URL(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	own, err := Open(t.Context(), url+sep+"random_page_cost=4")
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if got := show(own, "random_page_cost"); got != "4" {
		t.Errorf("random_page_cost set in the URL to 4: the session has %q", got)
	}
}
