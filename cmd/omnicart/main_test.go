package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/omnicart/omnicart"
)

// cliRun runs one command line in-process with an empty environment and
// returns its stdout, stderr and error.
func cliRun(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), args, &stdout, &stderr, func(string) string { return "" })
	return stdout.String(), stderr.String(), err
}

// cliDB returns the URL of a new, migrated database.
func cliDB(t *testing.T) string {
	t.Helper()
	db := "sqlite:" + filepath.Join(t.TempDir(), "omnicart.db")
	out, _, err := cliRun(t, "migrate", "--database", db)
	if err != nil || !strings.Contains(out, "created database "+db) {
		t.Fatalf("migrate a new database: %v %q", err, out)
	}
	return db
}

// cliMerchant creates a merchant and returns its id and key.
func cliMerchant(t *testing.T, db string, extra ...string) (string, string) {
	t.Helper()
	out, _, err := cliRun(t, append([]string{"merchant", "create", "--name", "Unit Shop", "--items", "pegasus", "--json", "--database", db}, extra...)...)
	if err != nil {
		t.Fatalf("merchant create: %v", err)
	}
	var res struct{ MerchantID, APIKey string }
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.MerchantID == "" {
		t.Fatalf("merchant create printed %q: %v", out, err)
	}
	return res.MerchantID, res.APIKey
}

// cliCommands is every command line form, with the arguments it needs
// besides --database (MERCHANT is replaced by a merchant id).
var cliCommands = [][]string{
	{"merchant", "create", "--name", "Shop"},
	{"key", "create", "--merchant", "MERCHANT"},
	{"key", "revoke", "--merchant", "MERCHANT", "ock_test_abcdefg"},
	{"items", "add", "--merchant", "MERCHANT", "griffin"},
	{"items", "import", "--merchant", "MERCHANT", "--csv", "CSV"},
	{"merchant", "list"},
	{"merchant", "update", "--merchant", "MERCHANT", "--name", "Renamed"},
	{"key", "list", "--merchant", "MERCHANT"},
	{"items", "list", "--merchant", "MERCHANT"},
	{"items", "remove", "--merchant", "MERCHANT", "--item", "pegasus"},
	{"user", "create", "--merchant", "MERCHANT", "--email", "ada@shop.example", "--role", "viewer"},
	{"user", "list", "--merchant", "MERCHANT"},
	{"user", "remove", "--merchant", "MERCHANT", "--email", "ada@shop.example"},
	{"callbacks", "add", "--merchant", "MERCHANT", "--url", "https://shop.example/hook"},
	{"callbacks", "list", "--merchant", "MERCHANT"},
	{"callbacks", "remove", "--merchant", "MERCHANT", "ep_x"},
	{"callbacks", "rotate", "--merchant", "MERCHANT", "ep_x"},
	{"callbacks", "enable", "--merchant", "MERCHANT", "ep_x"},
	{"callbacks", "disable", "--merchant", "MERCHANT", "ep_x"},
	{"callbacks", "deliveries", "--merchant", "MERCHANT", "ep_x"},
	{"callbacks", "events", "--merchant", "MERCHANT"},
	{"callbacks", "resend", "--merchant", "MERCHANT", "evt_x"},
}

func cliFill(args []string, merchant, csv string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		switch a {
		case "MERCHANT":
			a = merchant
		case "CSV":
			a = csv
		}
		out[i] = a
	}
	return out
}

// TestHelp checks that --help and -h on every command, and the help forms
// of the command groups, print usage on stdout and succeed.
func TestHelp(t *testing.T) {
	t.Parallel()
	lines := [][]string{{"serve"}, {"migrate"}, {"version"}}
	for _, c := range cliCommands {
		lines = append(lines, c[:2])
	}
	for _, l := range lines {
		for _, h := range []string{"--help", "-h"} {
			args := append(append([]string{}, l...), h)
			out, errOut, err := cliRun(t, args...)
			name := strings.Join(l, " ")
			if err != nil {
				t.Errorf("%s: %v", strings.Join(args, " "), err)
				continue
			}
			first, _, _ := strings.Cut(out, "\n")
			if !strings.HasPrefix(first, "usage: omnicart "+l[0]) || !strings.Contains(first, l[len(l)-1]) || errOut != "" {
				t.Errorf("%s printed stdout %q, stderr %q", strings.Join(args, " "), out, errOut)
			}
			if name != "version" && !strings.Contains(out, "-database") {
				t.Errorf("%s does not list --database:\n%s", strings.Join(args, " "), out)
			}
		}
		// Flags may come before --help, as in any command line.
		if l[0] == "version" {
			continue
		}
		if out, _, err := cliRun(t, append(append([]string{}, l...), "--database", "sqlite:/nowhere/x.db", "--help")...); err != nil || !strings.HasPrefix(out, "usage:") {
			t.Errorf("%s --database ... --help: %v %q", strings.Join(l, " "), err, out)
		}
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"merchant", "--help"}, {"key", "-h"}, {"items", "help"},
		{"callbacks", "--help"}, {"user", "--help"}, {"help", "items", "add"}, {"help", "merchant", "update"}} {
		out, _, err := cliRun(t, args...)
		if err != nil || !strings.HasPrefix(out, "usage:") {
			t.Errorf("%s: %v %q", strings.Join(args, " "), err, out)
		}
	}
	// Help of a specific command says what it does.
	out, _, _ := cliRun(t, "items", "import", "--help")
	if !strings.Contains(out, "itemId,displayName") || !strings.Contains(out, "-csv") || !strings.Contains(out, "-merchant") {
		t.Errorf("items import --help:\n%s", out)
	}
	// The top-level usage and each group's usage name every verb.
	top, _, _ := cliRun(t, "--help")
	for _, c := range cliCommands {
		if !strings.Contains(top, "omnicart "+c[0]+" ") || !strings.Contains(top, c[1]) {
			t.Errorf("omnicart --help does not show %s %s:\n%s", c[0], c[1], top)
		}
		if c[0] == "user" || c[0] == "callbacks" {
			continue // one usage text for the group, checked above
		}
		if out, _, _ := cliRun(t, c[0], "--help"); !strings.Contains(out, "omnicart "+c[0]+" "+c[1]) {
			t.Errorf("omnicart %s --help does not show %s:\n%s", c[0], c[1], out)
		}
	}
	out, _, _ = cliRun(t, "merchant", "update", "--help")
	for _, f := range []string{"-name", "-privileges", "-grant", "-deny", "-capture-window-min", "-capture-window-max", "-cart-expiry", "-max-declines", "-lead-time", "-json"} {
		if !strings.Contains(out, f) {
			t.Errorf("merchant update --help lacks %s:\n%s", f, out)
		}
	}
	if out, _, _ = cliRun(t, "items", "remove", "--help"); !strings.Contains(out, "124103") || !strings.Contains(out, "-force") {
		t.Errorf("items remove --help does not say what removal does:\n%s", out)
	}
	// A bad flag is still a usage error that names the command.
	_, _, err := cliRun(t, "key", "create", "--nope")
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "omnicart key create --merchant ID") {
		t.Errorf("bad flag: %v", err)
	}
	if _, _, err := cliRun(t); !errors.As(err, &ue) {
		t.Errorf("no command: %v", err)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	out, _, err := cliRun(t, "version")
	if err != nil || !regexp.MustCompile(`^omnicart \S+ \(go1\.[^,]+, \w+/\w+`).MatchString(out) {
		t.Fatalf("version: %v %q", err, out)
	}
	if out2, _, _ := cliRun(t, "--version"); out2 != out {
		t.Errorf("--version printed %q, version %q", out2, out)
	}
	if _, _, err := cliRun(t, "version", "extra-flag-less", "--x"); err == nil {
		t.Error("version with a bad flag succeeded")
	}
	for _, tc := range []struct {
		set  string
		bi   *debug.BuildInfo
		want string
	}{
		{"", nil, "dev"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"", &debug.BuildInfo{}, "dev"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0"},
		{"v2.0.0", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v2.0.0"},
	} {
		if got := buildVersion(tc.set, tc.bi); got != tc.want {
			t.Errorf("buildVersion(%q, %+v) = %q, want %q", tc.set, tc.bi, got, tc.want)
		}
	}
	bi := &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}}
	if got := formatVersion("dev", bi); !strings.HasPrefix(got, "omnicart dev (") || !strings.Contains(got, "commit abc123 (modified)") {
		t.Errorf("formatVersion: %q", got)
	}
}

// TestMerchantCreateCreatesDatabase: creating a merchant is how a database
// is set up (the load harness in ../shared/perf starts that way), so it
// creates a missing database file; a missing directory is still an error.
func TestMerchantCreateCreatesDatabase(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "new.db")
	if _, _, err := cliRun(t, "merchant", "create", "--name", "Shop", "--json", "--database", "sqlite:"+db); err != nil {
		t.Fatalf("merchant create on a new database: %v", err)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("the database was not created: %v", err)
	}
	if _, _, err := cliRun(t, "merchant", "create", "--name", "Shop", "--database", "sqlite:/missing/dir/x.db"); err == nil ||
		!strings.Contains(err.Error(), "there is no directory /missing/dir") {
		t.Fatalf("merchant create in a missing directory: %v", err)
	}
}

// TestDatabaseMustExist checks that every command but serve, migrate and
// merchant create refuses a database that does not exist, creating nothing, with a message
// that names it, and that migrate creates one.
func TestDatabaseMustExist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	csv := filepath.Join(dir, "items.csv")
	if err := os.WriteFile(csv, []byte("griffin,Griffin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missingFile := filepath.Join(dir, "nothing-here.db")
	for _, c := range cliCommands {
		if c[0] == "merchant" && c[1] == "create" {
			continue // creates the database (see TestMerchantCreateCreatesDatabase)
		}
		for _, db := range []string{"sqlite:" + missingFile, "sqlite:/missing/dir/x.db", missingFile} {
			args := append(cliFill(c, "mer_x", csv), "--database", db)
			_, _, err := cliRun(t, args...)
			if err == nil {
				t.Errorf("%s succeeded", strings.Join(args, " "))
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, db) {
				t.Errorf("%s: %q does not name the database", strings.Join(args, " "), msg)
			}
			if strings.Contains(db, "/missing/dir") {
				if !strings.Contains(msg, "there is no directory /missing/dir") {
					t.Errorf("%s: %q does not name the missing directory", strings.Join(args, " "), msg)
				}
			} else if !strings.Contains(msg, "does not exist") || !strings.Contains(msg, "--database") {
				t.Errorf("%s: %q", strings.Join(args, " "), msg)
			}
		}
	}
	if _, err := os.Stat(missingFile); !os.IsNotExist(err) {
		t.Fatalf("a refused command created %s: %v", missingFile, err)
	}
	// The default database is ./omnicart.db, refused when absent.
	if _, _, err := cliRun(t, "callbacks", "list", "--merchant", "mer_x"); err == nil || !strings.Contains(err.Error(), "sqlite:./omnicart.db does not exist") {
		t.Errorf("callbacks list in a directory without a database: %v", err)
	}
	if _, err := os.Stat("omnicart.db"); !os.IsNotExist(err) {
		t.Errorf("callbacks list created ./omnicart.db")
	}
	// A directory is not a database.
	if _, _, err := cliRun(t, "callbacks", "list", "--merchant", "mer_x", "--database", "sqlite:"+dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a directory as database: %v", err)
	}
	// migrate creates the database (but not its directory), then finds it up to date.
	db := "sqlite:" + missingFile
	if out, _, err := cliRun(t, "migrate", "--database", db); err != nil || !strings.Contains(out, "created database") {
		t.Fatalf("migrate: %v %q", err, out)
	}
	if out, _, err := cliRun(t, "migrate", "--database", db); err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate again: %v %q", err, out)
	}
	if _, _, err := cliRun(t, "migrate", "--database", "sqlite:/missing/dir/x.db"); err == nil || !strings.Contains(err.Error(), "there is no directory /missing/dir") {
		t.Errorf("migrate into a missing directory: %v", err)
	}
	// Now every command works on it.
	if _, _, err := cliRun(t, "merchant", "create", "--name", "Shop", "--database", db); err != nil {
		t.Fatalf("merchant create on the migrated database: %v", err)
	}
}

// TestUnknownMerchant checks that every command taking --merchant refuses
// an unknown merchant with a message naming it, instead of an empty answer.
func TestUnknownMerchant(t *testing.T) {
	t.Parallel()
	db := cliDB(t)
	id, _ := cliMerchant(t, db)
	csv := filepath.Join(t.TempDir(), "items.csv")
	if err := os.WriteFile(csv, []byte("griffin,Griffin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range cliCommands[1:] {
		if !slices.Contains(c, "MERCHANT") {
			continue // merchant list
		}
		args := append(cliFill(c, "mer_nobody", csv), "--database", db)
		out, _, err := cliRun(t, args...)
		if err == nil || !strings.Contains(err.Error(), `merchant "mer_nobody" does not exist in database `+db) {
			t.Errorf("%s: %v %q", strings.Join(args, " "), err, out)
		}
	}
	// The known merchant's listings answer (empty is then a real answer).
	for _, c := range [][]string{{"callbacks", "list"}, {"callbacks", "events"}, {"key", "list"}, {"items", "list"}, {"user", "list"}} {
		if _, _, err := cliRun(t, append(c, "--merchant", id, "--database", db)...); err != nil {
			t.Errorf("%s for a known merchant: %v", strings.Join(c, " "), err)
		}
	}
	// --merchant is still required.
	var ue usageError
	if _, _, err := cliRun(t, "items", "add", "griffin", "--database", db); !errors.As(err, &ue) {
		t.Errorf("items add without --merchant: %v", err)
	}
}

// TestLiveMerchantWarning checks that creating a live merchant warns, on
// stderr, that this server cannot take its payments, and that a test
// merchant gets no warning.
func TestLiveMerchantWarning(t *testing.T) {
	t.Parallel()
	db := cliDB(t)
	out, errOut, err := cliRun(t, "merchant", "create", "--name", "Live Shop", "--mode", "live", "--json", "--database", db)
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ MerchantID, APIKey string }
	if err := json.Unmarshal([]byte(out), &res); err != nil || !strings.HasPrefix(res.APIKey, "ock_live_") {
		t.Fatalf("stdout %q (must stay JSON): %v", out, err)
	}
	for _, want := range []string{"warning", "live payments cannot be taken by this server yet", res.MerchantID, "131000", "--mode test"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q lacks %q", errOut, want)
		}
	}
	if _, errOut, _ := cliRun(t, "merchant", "create", "--name", "Test Shop", "--database", db); errOut != "" {
		t.Errorf("test merchant: stderr %q", errOut)
	}
	if _, _, err := cliRun(t, "merchant", "create", "--name", "Odd Shop", "--mode", "sandbox", "--database", db); err == nil {
		t.Error("--mode sandbox accepted")
	}
}

// TestDemoKeyRenewed checks that a revoked demo key is replaced by the next
// one of its series, said once, and that this one is printed on later
// starts.
func TestDemoKeyRenewed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := cliDB(t)
	a, err := openApp(ctx, db, &bytes.Buffer{}, openExisting)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	key, renewed, err := ensureDemo(ctx, a)
	if err != nil || renewed {
		t.Fatalf("first start: %q %v %v", key, renewed, err)
	}
	again, renewed, err := ensureDemo(ctx, a)
	if err != nil || renewed || again != key {
		t.Fatalf("second start: %q %v %v, want %q", again, renewed, err, key)
	}
	if err := a.service.RevokeKey(ctx, DemoMerchantID, key[:16]); err != nil {
		t.Fatal(err)
	}
	fresh, renewed, err := ensureDemo(ctx, a)
	if err != nil || !renewed || fresh == key {
		t.Fatalf("after revoke: %q %v %v", fresh, renewed, err)
	}
	if m, _, err := a.service.Authenticate(ctx, fresh); err != nil || m.ID != DemoMerchantID {
		t.Fatalf("the new demo key does not work: %v", err)
	}
	if _, _, err := a.service.Authenticate(ctx, key); omnicart.CodeOf(err) != omnicart.CodeAuth {
		t.Fatalf("the revoked key works again: %v", err)
	}
	later, renewed, err := ensureDemo(ctx, a)
	if err != nil || renewed || later != fresh {
		t.Fatalf("start after the renewal: %q %v %v, want %q", later, renewed, err, fresh)
	}
	var b bytes.Buffer
	printDemo(&b, "http://x", fresh, demoCartID(), true)
	if !strings.Contains(b.String(), "revoked") || !strings.Contains(b.String(), fresh) {
		t.Errorf("banner:\n%s", b.String())
	}
}

func TestDemoCartID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 50 {
		id := demoCartID()
		if !omnicart.ValidCartID(id) || seen[id] {
			t.Fatalf("demo cartId %q (valid %v, repeated %v)", id, omnicart.ValidCartID(id), seen[id])
		}
		seen[id] = true
	}
}
