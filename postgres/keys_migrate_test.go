package postgres

import (
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestKeyCreatorsMigrationBackfills opens a database made before migration
// 0010_key_created_by with keys created in the Panel (their audit entries
// name the user) and by the operator, and checks who each key's creator
// is then: the Panel user of the key's own merchant's key.create entry,
// else the operator.
func TestKeyCreatorsMigrationBackfills(t *testing.T) {
	ctx := t.Context()
	url, conn, exec := databaseBefore(t, "0010_key_created_by")
	exec(`INSERT INTO merchants(id, name, doc, created_at) VALUES ('m1', 'M', '{}', 0), ('m2', 'N', '{}', 0)`)
	for i, k := range []struct{ merchant, prefix string }{
		{"m1", "ock_test_Panel01"}, {"m1", "ock_test_Cli0001"}, {"m2", "ock_test_Other01"}, {"m1", "ock_test_Revoked"},
	} {
		exec(`INSERT INTO api_keys(hash, prefix, merchant_id, methods, created_at) VALUES ($1, $2, $3, '', 0)`, []byte{byte(i)}, k.prefix, k.merchant)
	}
	audit := func(merchant, actor, action, target string) {
		exec(`INSERT INTO panel_audit(merchant_id, actor, action, target, detail, remote_addr, at) VALUES ($1, $2, $3, $4, '', '127.0.0.1', 0)`,
			merchant, actor, action, target)
	}
	audit("m1", "ada@shop.example", "key.create", "key ock_test_Panel01")
	audit("m1", "bob@shop.example", "key.create", "key ock_test_Other01") // another merchant's key
	audit("m1", "bob@shop.example", "key.revoke", "key ock_test_Revoked") // not its creation
	audit("m1", "eve@shop.example", "key.create", "key ock_test_Panel01") // a later entry

	db, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := conn.Query(ctx, `SELECT prefix || ' ' || created_by FROM api_keys ORDER BY prefix COLLATE "C"`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ock_test_Cli0001 operator", "ock_test_Other01 operator", "ock_test_Panel01 panel:ada@shop.example", "ock_test_Revoked operator"}
	if !slices.Equal(got, want) {
		t.Errorf("api_keys.created_by after the migration: %q, want %q", got, want)
	}
}
