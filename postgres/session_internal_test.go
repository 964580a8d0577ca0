package postgres

import (
	"strings"
	"testing"

	"github.com/omnicart/omnicart/postgres/pgtest"
)

// TestSessionSettings checks the settings OmniCart gives its sessions
// when nothing else sets them, and that values set in the URL or for the
// database are kept.
func TestSessionSettings(t *testing.T) {
	show := func(db *DB, name string) string {
		t.Helper()
		var v string
		if err := db.pool.QueryRow(t.Context(), "SELECT current_setting($1)", name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	open := func(url string) *DB {
		t.Helper()
		db, err := Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	url := pgtest.URL(t)
	db := open(url)
	for name, want := range map[string]string{"random_page_cost": "1.1", "idle_in_transaction_session_timeout": "1min", "application_name": "omnicart"} {
		if got := show(db, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	for _, set := range []string{"random_page_cost=4", "options=-c%20random_page_cost%3D4"} {
		if got := show(open(url+sep+set), "random_page_cost"); got != "4" {
			t.Errorf("URL with %s: the session has random_page_cost %q, want 4", set, got)
		}
	}
	if _, err := db.pool.Exec(t.Context(), `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET random_page_cost = 2', current_database()); END $$`); err != nil {
		t.Fatal(err)
	}
	if got := show(open(url), "random_page_cost"); got != "2" {
		t.Errorf("random_page_cost set for the database to 2: a new session has %q", got)
	}
}
