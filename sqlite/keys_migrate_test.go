package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// TestKeyCreatorsMigrationBackfills opens a database made before migration
// 0014_key_created_by with keys created in the Panel (their audit entries
// name the user) and by the operator, and checks who each key's creator
// is then: the Panel user of the key's own merchant's key.create entry,
// else the operator.
func TestKeyCreatorsMigrationBackfills(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, exec := databaseBefore(t, path, "0014_key_created_by")
	exec(`INSERT INTO merchants(id, name, doc, created_at) VALUES ('m1', 'M', '{}', 0), ('m2', 'N', '{}', 0)`)
	for i, k := range []struct{ merchant, prefix string }{
		{"m1", "ock_test_Panel01"}, {"m1", "ock_test_Cli0001"}, {"m2", "ock_test_Other01"}, {"m1", "ock_test_Revoked"},
	} {
		exec(`INSERT INTO api_keys(hash, prefix, merchant_id, methods, created_at) VALUES (?, ?, ?, '', 0)`, []byte{byte(i)}, k.prefix, k.merchant)
	}
	audit := func(merchant, actor, action, target string) {
		exec(`INSERT INTO panel_audit(merchant_id, actor, action, target, detail, remote_addr, at) VALUES (?, ?, ?, ?, '', '127.0.0.1', 0)`,
			merchant, actor, action, target)
	}
	audit("m1", "ada@shop.example", "key.create", "key ock_test_Panel01")
	audit("m1", "bob@shop.example", "key.create", "key ock_test_Other01") // another merchant's key
	audit("m1", "bob@shop.example", "key.revoke", "key ock_test_Revoked") // not its creation
	audit("m1", "eve@shop.example", "key.create", "key ock_test_Panel01") // a later entry
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.SQL().QueryContext(ctx, `SELECT prefix || ' ' || created_by FROM api_keys ORDER BY prefix`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"ock_test_Cli0001 operator", "ock_test_Other01 operator", "ock_test_Panel01 panel:ada@shop.example", "ock_test_Revoked operator"}
	if !slices.Equal(got, want) {
		t.Errorf("api_keys.created_by after the migration: %q, want %q", got, want)
	}
}
