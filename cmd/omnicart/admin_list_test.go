package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/postgres/pgtest"
)

// cliEngines runs fn on a new, migrated database of each engine: SQLite
// always, PostgreSQL when OMNICART_TEST_POSTGRES names a server.
func cliEngines(t *testing.T, fn func(t *testing.T, db string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, cliDB(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		db := pgtest.URL(t)
		if _, _, err := cliRun(t, "migrate", "--database", db); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		fn(t, db)
	})
}

// cliJSON runs a command that must succeed and decodes its JSON output.
func cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out, errOut, err := cliRun(t, args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s printed %q: %v", strings.Join(args, " "), out, err)
	}
}

// cliUsageErr runs a command that must fail with a usage error (exit
// status 2) whose message holds want.
func cliUsageErr(t *testing.T, want string, args ...string) {
	t.Helper()
	out, _, err := cliRun(t, args...)
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: %v (stdout %q), want a usage error with %q", strings.Join(args, " "), err, out, want)
	}
}

// listedMerchant is an element of merchant list --json.
type listedMerchant struct {
	MerchantID         string              `json:"merchantId"`
	Name               string              `json:"name"`
	Mode               omnicart.Mode       `json:"mode"`
	CartExpirySecs     int64               `json:"cartExpirySecs"`
	MaxDeclines        int                 `json:"maxDeclines"`
	Privileges         omnicart.Privileges `json:"privileges"`
	AutoActionLeadSecs int64               `json:"autoActionLeadSecs"`
	CreatedAt          time.Time           `json:"createdAt"`
	ClockOffsetSecs    int64               `json:"clockOffsetSecs"`
}

func TestMerchantListCLI(t *testing.T) {
	t.Parallel()
	cliEngines(t, func(t *testing.T, db string) {
		var empty []listedMerchant
		cliJSON(t, &empty, "merchant", "list", "--json", "--database", db)
		if empty == nil || len(empty) != 0 {
			t.Fatalf("no merchants: %#v (want [])", empty)
		}
		a, _ := cliMerchant(t, db)
		b, _ := cliMerchant(t, db, "--mode", "live", "--all-privileges", "--deny", "timers", "--capture-window", "60-3600",
			"--cart-expiry", "900", "--max-declines", "5", "--auto-action-lead", "120")
		var got []listedMerchant
		cliJSON(t, &got, "merchant", "list", "--json", "--database", db)
		if len(got) != 2 || got[0].MerchantID != a || got[1].MerchantID != b {
			t.Fatalf("merchant list: %+v, want %s then %s", got, a, b)
		}
		want := omnicart.Privileges{CartExpiry: true, AutoComplete: true, CaptureMinSecs: 60, CaptureMaxSecs: 3600, AmountSettings: true, OneStep: true}
		if m := got[1]; m.Name != "Unit Shop" || m.Mode != omnicart.ModeLive || m.CartExpirySecs != 900 || m.MaxDeclines != 5 ||
			m.AutoActionLeadSecs != 120 || m.Privileges != want || m.CreatedAt.IsZero() {
			t.Errorf("second merchant: %+v", m)
		}
		if m := got[0]; m.Mode != omnicart.ModeTest || m.Privileges != omnicart.DefaultPrivileges() || m.CartExpirySecs != omnicart.DefaultCartExpirySecs {
			t.Errorf("first merchant: %+v", m)
		}
		out, _, err := cliRun(t, "merchant", "list", "--database", db)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"MERCHANT", "PRIVILEGES", a, b, "live", "60-3600 s", "amount-settings,one-step,auto-complete,cart-expiry"} {
			if !strings.Contains(out, s) {
				t.Errorf("table lacks %q:\n%s", s, out)
			}
		}
		cliUsageErr(t, "takes no arguments", "merchant", "list", "extra", "--database", db)
	})
}

func TestMerchantUpdateCLI(t *testing.T) {
	t.Parallel()
	cliEngines(t, func(t *testing.T, db string) {
		id, _ := cliMerchant(t, db)
		other, _ := cliMerchant(t, db)
		var m listedMerchant
		cliJSON(t, &m, "merchant", "update", "--merchant", id, "--name", "Renamed Shop", "--deny", "one-step,auto-complete",
			"--grant", "cart-expiry", "--capture-window-min", "60", "--capture-window-max", "3600", "--cart-expiry", "900",
			"--max-declines", "5", "--lead-time", "120", "--json", "--database", db)
		want := omnicart.Privileges{CartExpiry: true, Timers: true, AmountSettings: true, CaptureMinSecs: 60, CaptureMaxSecs: 3600}
		if m.MerchantID != id || m.Name != "Renamed Shop" || m.Privileges != want || m.CartExpirySecs != 900 || m.MaxDeclines != 5 ||
			m.AutoActionLeadSecs != 120 || m.Mode != omnicart.ModeTest {
			t.Fatalf("update --json: %+v", m)
		}
		// Stored: merchant list shows it, the other merchant is untouched.
		var list []listedMerchant
		cliJSON(t, &list, "merchant", "list", "--json", "--database", db)
		if len(list) != 2 || list[0].Name != "Renamed Shop" || list[0].Privileges != want || !list[0].CreatedAt.Equal(m.CreatedAt) ||
			list[1].MerchantID != other || list[1].Name != "Unit Shop" || list[1].Privileges != omnicart.DefaultPrivileges() {
			t.Fatalf("after update: %+v", list)
		}

		// The readable answer says what changed; --privileges sets the
		// whole list; the same values again change nothing.
		out, _, err := cliRun(t, "merchant", "update", "--merchant", id, "--privileges", "timers,one-step", "--capture-window", "600-7200",
			"--auto-action-lead", "60", "--database", db)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"merchant " + id + " updated", "privileges: timers,amount-settings,cart-expiry → timers,one-step",
			"capture window: 60-3600 s → 600-7200 s", "auto-action lead: 120 s → 60 s"} {
			if !strings.Contains(out, s) {
				t.Errorf("update output lacks %q:\n%s", s, out)
			}
		}
		if strings.Contains(out, "name:") || strings.Contains(out, "cart expiry:") {
			t.Errorf("update output names settings that did not change:\n%s", out)
		}
		out, _, err = cliRun(t, "merchant", "update", "--merchant", id, "--name", "Renamed Shop", "--database", db)
		if err != nil || !strings.Contains(out, "unchanged") {
			t.Errorf("same name again: %v %q", err, out)
		}
		cliJSON(t, &m, "merchant", "update", "--merchant", id, "--privileges", "none", "--json", "--database", db)
		if got := grantedPrivileges(m.Privileges); len(got) != 0 {
			t.Errorf("--privileges none left %v", got)
		}
		cliJSON(t, &m, "merchant", "update", "--merchant", id, "--privileges", "all", "--json", "--database", db)
		if got := grantedPrivileges(m.Privileges); len(got) != len(privilegeNames) {
			t.Errorf("--privileges all granted %v", got)
		}

		// The service uses the new settings at once: a capture window
		// outside the new range is refused.
		a, err := openApp(t.Context(), db, &bytes.Buffer{}, openExisting)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		sm, err := a.service.Merchant(t.Context(), id)
		if err != nil || sm.Privileges.CaptureMaxSecs != 7200 || sm.AutoActionLeadSecs != 60 {
			t.Fatalf("service sees %+v, %v", sm, err)
		}
		win := int64(10000)
		spec := &omnicart.InitSpec{CartID: "cli-update-0001", Currency: "EUR",
			Items: []omnicart.ItemSpec{{ID: "pegasus", Amount: 250, Level: omnicart.Level{WindowSecs: &win}}}}
		if _, err := a.service.Init(t.Context(), sm, spec, omnicart.StagedProblems{}); omnicart.CodeOf(err) != omnicart.CodeOutOfRange {
			t.Errorf("init with a window above the new maximum: %v, want %s", err, omnicart.CodeOutOfRange)
		}

		// Bad input: a usage error naming the flag, and nothing changes.
		cliJSON(t, &list, "merchant", "list", "--json", "--database", db)
		before := list[0]
		for _, c := range []struct {
			want string
			args []string
		}{
			{"give at least one setting", nil},
			{"give at least one setting", []string{"--json"}},
			{"--name: the merchant name must not be empty", []string{"--name", "  "}},
			{"control characters", []string{"--name", "Shop\nB"}},
			{"at most 200 characters", []string{"--name", strings.Repeat("x", 201)}},
			{"--cart-expiry 59: want 60 to 2592000", []string{"--cart-expiry", "59"}},
			{"--cart-expiry 2592001", []string{"--cart-expiry", "2592001"}},
			{"--max-declines 0: want 1 to 1000", []string{"--max-declines", "0"}},
			{"--max-declines -3", []string{"--max-declines", "-3"}},
			{"--auto-action-lead 0: want 1 to 31536000", []string{"--lead-time", "0"}},
			{"--capture-window 900-800", []string{"--capture-window", "900-800"}},
			{"--capture-window 900-800", []string{"--capture-window-min", "900", "--capture-window-max", "800"}},
			{"--capture-window 8000-7200", []string{"--capture-window-min", "8000"}},
			{"--capture-window -1-7200", []string{"--capture-window-min", "-1"}},
			{`--capture-window "-5-0": want MIN-MAX`, []string{"--capture-window", "-5-0"}},
			{"0 ≤ MIN ≤ MAX ≤ 31536000, or MAX 0 for no maximum", []string{"--capture-window-max", "-1"}},
			{"0 ≤ MIN ≤ MAX ≤ 31536000", []string{"--capture-window-max", "31536001"}},
			{"--capture-window 0-31536001", []string{"--capture-window", "0-31536001"}},
			{`--capture-window "10": want MIN-MAX`, []string{"--capture-window", "10"}},
			{"give one form", []string{"--capture-window", "60-600", "--capture-window-max", "600"}},
			{`--privileges: unknown privilege "refunds"`, []string{"--privileges", "timers,refunds"}},
			{`--grant: unknown privilege "all"`, []string{"--grant", "all"}},
			{`--deny: unknown privilege "x"`, []string{"--deny", "x"}},
			{`--grant and --deny both name "timers"`, []string{"--grant", "timers", "--deny", "timers"}},
			{"--lead-time and --auto-action-lead differ", []string{"--lead-time", "60", "--auto-action-lead", "61"}},
			{`invalid value "soon" for flag -cart-expiry`, []string{"--cart-expiry", "soon"}},
			{"flag provided but not defined: -mode", []string{"--mode", "live"}},
			{"takes no arguments", []string{"--name", "X", "extra"}},
			// Several problems are all named.
			{"--cart-expiry 5: want 60 to 2592000 seconds\n--max-declines 0", []string{"--cart-expiry", "5", "--max-declines", "0"}},
		} {
			cliUsageErr(t, c.want, append([]string{"merchant", "update", "--merchant", id, "--database", db}, c.args...)...)
		}
		cliUsageErr(t, "--merchant is required", "merchant", "update", "--name", "X", "--database", db)
		if _, _, err := cliRun(t, "merchant", "update", "--merchant", "mer_nobody", "--name", "X", "--database", db); err == nil ||
			!strings.Contains(err.Error(), `merchant "mer_nobody" does not exist`) {
			t.Errorf("unknown merchant: %v", err)
		}
		cliJSON(t, &list, "merchant", "list", "--json", "--database", db)
		if list[0] != before {
			t.Errorf("a refused update changed the merchant: %+v, was %+v", list[0], before)
		}

		// merchant create checks the same rules.
		cliUsageErr(t, "--cart-expiry 59: want 60 to 2592000", "merchant", "create", "--name", "X", "--cart-expiry", "59", "--database", db)
		cliUsageErr(t, "--auto-action-lead -1: want 1", "merchant", "create", "--name", "X", "--auto-action-lead", "-1", "--database", db)
		cliUsageErr(t, "MAX ≤ 31536000", "merchant", "create", "--name", "X", "--capture-window", "0-99999999", "--database", db)
		cliUsageErr(t, "--capture-window 900-800", "merchant", "create", "--name", "X", "--capture-window", "900-800", "--database", db)
		cliJSON(t, &list, "merchant", "list", "--json", "--database", db)
		if len(list) != 2 {
			t.Errorf("a refused merchant create created a merchant: %d merchants", len(list))
		}
	})
}

// TestMerchantUpdateOnlyGivenSettings: merchant update checks the settings
// it is given, not the others: a merchant stored with a capture window
// without maximum (0) and a cart expiry above 30 days can be renamed; a
// capture window maximum of 0 is accepted as no maximum; nonsense in the
// settings given is still refused.
func TestMerchantUpdateOnlyGivenSettings(t *testing.T) {
	t.Parallel()
	cliEngines(t, func(t *testing.T, db string) {
		a, err := openApp(t.Context(), db, &bytes.Buffer{}, openExisting)
		if err != nil {
			t.Fatal(err)
		}
		p := omnicart.DefaultPrivileges()
		p.CaptureMaxSecs = 0
		m, _, err := a.service.CreateMerchant(t.Context(), gateway.NewMerchant{Name: "Old Shop", Mode: omnicart.ModeTest, Privileges: p,
			CartExpirySecs: 40 * 24 * 3600})
		a.Close()
		if err != nil {
			t.Fatal(err)
		}
		var got listedMerchant
		cliJSON(t, &got, "merchant", "update", "--merchant", m.ID, "--name", "Renamed Old Shop", "--json", "--database", db)
		if got.Name != "Renamed Old Shop" || got.Privileges.CaptureMaxSecs != 0 || got.CartExpirySecs != 40*24*3600 {
			t.Fatalf("rename: %+v", got)
		}
		cliJSON(t, &got, "merchant", "update", "--merchant", m.ID, "--max-declines", "5", "--grant", "cart-expiry", "--json", "--database", db)
		if got.MaxDeclines != 5 || !got.Privileges.CartExpiry || got.CartExpirySecs != 40*24*3600 {
			t.Fatalf("max declines: %+v", got)
		}
		// MIN against no maximum; then MIN-0.
		cliJSON(t, &got, "merchant", "update", "--merchant", m.ID, "--capture-window-min", "60", "--json", "--database", db)
		if got.Privileges.CaptureMinSecs != 60 || got.Privileges.CaptureMaxSecs != 0 {
			t.Fatalf("capture window min: %+v", got.Privileges)
		}
		cliJSON(t, &got, "merchant", "update", "--merchant", m.ID, "--capture-window", "300-7200", "--json", "--database", db)
		out, _, err := cliRun(t, "merchant", "update", "--merchant", m.ID, "--capture-window", "900-0", "--database", db)
		if err != nil || !strings.Contains(out, "capture window: 300-7200 s → 900-0 s (no maximum)") {
			t.Fatalf("--capture-window 900-0: %v\n%s", err, out)
		}
		for _, c := range []struct {
			want string
			args []string
		}{
			{"--capture-window -1-0", []string{"--capture-window-min", "-1"}},
			{"--capture-window 900-800", []string{"--capture-window-max", "800"}},
			{"--capture-window 900--2", []string{"--capture-window-max", "-2"}},
			{"--cart-expiry 2592001", []string{"--cart-expiry", "2592001"}},
			{"--auto-action-lead 0: want 1", []string{"--lead-time", "0"}},
			{"--name: the merchant name must not be empty", []string{"--name", ""}},
		} {
			cliUsageErr(t, c.want, append([]string{"merchant", "update", "--merchant", m.ID, "--database", db}, c.args...)...)
		}
		var list []listedMerchant
		cliJSON(t, &list, "merchant", "list", "--json", "--database", db)
		if len(list) != 1 || list[0].Privileges.CaptureMinSecs != 900 || list[0].Privileges.CaptureMaxSecs != 0 || list[0].CartExpirySecs != 40*24*3600 {
			t.Fatalf("after refused updates: %+v", list)
		}
	})
}

// TestMerchantCreateLeadZeroIsDefault: merchant create --auto-action-lead 0
// is the default lead, as it was before the settings were checked.
func TestMerchantCreateLeadZeroIsDefault(t *testing.T) {
	t.Parallel()
	db := cliDB(t)
	id, _ := cliMerchant(t, db, "--auto-action-lead", "0", "--capture-window", "600-0")
	var list []listedMerchant
	cliJSON(t, &list, "merchant", "list", "--json", "--database", db)
	if len(list) != 1 || list[0].MerchantID != id || list[0].AutoActionLeadSecs != omnicart.DefaultAutoActionLeadSecs ||
		list[0].Privileges.CaptureMinSecs != 600 || list[0].Privileges.CaptureMaxSecs != 0 {
		t.Fatalf("merchant create --auto-action-lead 0 --capture-window 600-0: %+v", list)
	}
	if out, errOut, _ := cliRun(t, "merchant", "create", "--help"); !strings.Contains(out+errOut, "0 means the default, 3600") {
		t.Errorf("merchant create --help does not document --auto-action-lead 0:\n%s%s", out, errOut)
	}
}

// listedKey is an element of key list --json.
type listedKey struct {
	Prefix     string     `json:"prefix"`
	Methods    []string   `json:"methods"`
	AllMethods bool       `json:"allMethods"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"createdAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	CreatedBy  string     `json:"createdBy"`
}

func TestKeyListCLI(t *testing.T) {
	t.Parallel()
	cliEngines(t, func(t *testing.T, db string) {
		id, first := cliMerchant(t, db)
		other, _ := cliMerchant(t, db)
		out, _, err := cliRun(t, "key", "create", "--merchant", id, "--methods", "status,refund", "--database", db)
		if err != nil {
			t.Fatal(err)
		}
		second := strings.TrimSpace(out)
		if _, _, err := cliRun(t, "key", "revoke", "--merchant", id, first[:16], "--database", db); err != nil {
			t.Fatal(err)
		}
		var keys []listedKey
		cliJSON(t, &keys, "key", "list", "--merchant", id, "--json", "--database", db)
		if len(keys) != 2 {
			t.Fatalf("key list: %+v", keys)
		}
		k0, k1 := keys[0], keys[1]
		if k0.Prefix != first[:16] || k0.Status != "revoked" || k0.RevokedAt == nil || k0.RevokedAt.Before(k0.CreatedAt) ||
			!k0.AllMethods || strings.Join(k0.Methods, ",") != "init,status,capture,cancel,modify,refund" {
			t.Errorf("first key: %+v", k0)
		}
		if k1.Prefix != second[:16] || k1.Status != "active" || k1.RevokedAt != nil || k1.AllMethods ||
			strings.Join(k1.Methods, ",") != "status,refund" || k1.CreatedAt.IsZero() {
			t.Errorf("second key: %+v", k1)
		}
		for _, k := range keys {
			if strings.Contains(first, k.Prefix) && len(k.Prefix) != 16 {
				t.Errorf("prefix %q", k.Prefix)
			}
			if k.LastUsedAt != nil {
				t.Errorf("key %s never used: lastUsedAt %v", k.Prefix, k.LastUsedAt)
			}
			if k.CreatedBy != "operator" {
				t.Errorf("key %s created with the CLI: createdBy %q, want operator", k.Prefix, k.CreatedBy)
			}
		}
		out, _, err = cliRun(t, "key", "list", "--merchant", id, "--database", db)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"PREFIX", first[:16], second[:16], "revoked", "active", "status,refund", "all", "LAST USED", "never", "CREATED BY", "operator (CLI)"} {
			if !strings.Contains(out, s) {
				t.Errorf("table lacks %q:\n%s", s, out)
			}
		}
		if strings.Contains(out, first) || strings.Contains(out, second) {
			t.Errorf("key list printed a whole key:\n%s", out)
		}
		// Another merchant's keys are its own.
		cliJSON(t, &keys, "key", "list", "--merchant", other, "--json", "--database", db)
		if len(keys) != 1 || keys[0].Prefix == first[:16] || keys[0].Prefix == second[:16] {
			t.Errorf("other merchant's keys: %+v", keys)
		}
		cliUsageErr(t, "--merchant is required", "key", "list", "--database", db)
		cliUsageErr(t, "takes no arguments", "key", "list", "--merchant", id, "x", "--database", db)
	})
}

func TestItemsListRemoveCLI(t *testing.T) {
	t.Parallel()
	cliEngines(t, func(t *testing.T, db string) {
		id, _ := cliMerchant(t, db)
		other, _ := cliMerchant(t, db)
		if _, _, err := cliRun(t, "items", "add", "--merchant", id, "naga,lich,griffin", "--database", db); err != nil {
			t.Fatal(err)
		}
		var items []omnicart.CatalogItem
		cliJSON(t, &items, "items", "list", "--merchant", id, "--json", "--database", db)
		if got := catalogIDs(items); got != "griffin,lich,naga,pegasus" {
			t.Fatalf("items list: %s", got)
		}
		out, _, err := cliRun(t, "items", "list", "--merchant", id, "--database", db)
		if err != nil || !strings.Contains(out, "ITEM") || !strings.Contains(out, "DISPLAY NAME") || !strings.Contains(out, "griffin") {
			t.Errorf("items list table: %v\n%s", err, out)
		}

		// Carts: naga awaited in one, lich paid (authorized) in another.
		a, err := openApp(t.Context(), db, &bytes.Buffer{}, openExisting)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		m, err := a.service.Merchant(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		open := func(cartID, item string, paid bool) {
			t.Helper()
			var sp omnicart.StagedProblems
			c := omnicart.NewCart(&omnicart.InitSpec{CartID: cartID, Currency: "EUR", Items: []omnicart.ItemSpec{{ID: "pegasus", Amount: 100}, {ID: item, Amount: 250}}},
				m, time.Now(), &sp)
			if c == nil {
				t.Fatalf("NewCart: %+v", sp)
			}
			if paid {
				for i := range c.Items {
					c.Items[i].Status = omnicart.StatusAuthorized
				}
			}
			if err := a.service.Store.Tx(t.Context(), func(tx omnicart.Tx) error {
				return tx.CreateCart(t.Context(), c, []byte("tok-"+cartID), time.Time{})
			}); err != nil {
				t.Fatal(err)
			}
		}
		open("cli-items-awaits", "naga", false)
		open("cli-items-paid01", "lich", true)

		// naga: refused while a cart awaits payment, then forced.
		_, _, err = cliRun(t, "items", "remove", "--merchant", id, "--item", "naga", "--database", db)
		var ue usageError
		if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "cli-items-awaits") || !strings.Contains(err.Error(), "--force") {
			t.Errorf("remove an item awaited in a cart: %v", err)
		}
		var res map[string]string
		cliJSON(t, &res, "items", "remove", "--merchant", id, "--item", "naga", "--force", "--json", "--database", db)
		if res["removed"] != "naga" || res["merchantId"] != id {
			t.Errorf("remove --force --json: %v", res)
		}
		// lich: only in a paid cart, removed at once (the argument form).
		out, _, err = cliRun(t, "items", "remove", "--merchant", id, "lich", "--database", db)
		if err != nil || !strings.Contains(out, "removed lich") {
			t.Errorf("remove an item of a paid cart: %v %q", err, out)
		}
		cliJSON(t, &items, "items", "list", "--merchant", id, "--json", "--database", db)
		if got := catalogIDs(items); got != "griffin,pegasus" {
			t.Errorf("after removals: %s", got)
		}
		// The carts keep their items; a new cart cannot name them.
		var kept *omnicart.Cart
		if err := a.service.Store.View(t.Context(), func(tx omnicart.Tx) error {
			var err error
			kept, err = tx.Cart(t.Context(), id, "cli-items-paid01")
			return err
		}); err != nil || len(kept.Items) != 2 || kept.Items[1].ID != "lich" || kept.Items[1].Status != omnicart.StatusAuthorized {
			t.Errorf("the paid cart after its item was removed: %+v %v", kept, err)
		}
		spec := &omnicart.InitSpec{CartID: "cli-items-new01", Currency: "EUR", Items: []omnicart.ItemSpec{{ID: "naga", Amount: 250}}}
		if _, err := a.service.Init(t.Context(), m, spec, omnicart.StagedProblems{}); omnicart.CodeOf(err) != omnicart.CodeItemNotInCatalog {
			t.Errorf("init with a removed item: %v, want %s", err, omnicart.CodeItemNotInCatalog)
		}
		// Added again, it is back.
		if _, _, err := cliRun(t, "items", "add", "--merchant", id, "naga", "--database", db); err != nil {
			t.Fatal(err)
		}
		cliJSON(t, &items, "items", "list", "--merchant", id, "--json", "--database", db)
		if got := catalogIDs(items); got != "griffin,naga,pegasus" {
			t.Errorf("after adding naga again: %s", got)
		}

		// Errors: not in the catalog (exit 1), another merchant's item, bad
		// input (usage errors).
		for _, args := range [][]string{{"--merchant", id, "--item", "lich"}, {"--merchant", other, "--item", "griffin"}} {
			_, _, err := cliRun(t, append([]string{"items", "remove", "--database", db}, args...)...)
			if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "is not in the catalog of merchant") {
				t.Errorf("items remove %v: %v", args, err)
			}
		}
		cliJSON(t, &items, "items", "list", "--merchant", other, "--json", "--database", db)
		if got := catalogIDs(items); got != "pegasus" {
			t.Errorf("other merchant's catalog: %s", got)
		}
		cliUsageErr(t, "items remove takes one itemId", "items", "remove", "--merchant", id, "--database", db)
		cliUsageErr(t, "items remove takes one itemId", "items", "remove", "--merchant", id, "--item", "naga", "lich", "--database", db)
		cliUsageErr(t, `invalid itemId "bad id"`, "items", "remove", "--merchant", id, "--item", "bad id", "--database", db)
		cliUsageErr(t, "--merchant is required", "items", "list", "--database", db)
		var none []omnicart.CatalogItem
		id3, _ := cliMerchant(t, db)
		if _, _, err := cliRun(t, "items", "remove", "--merchant", id3, "--item", "pegasus", "--database", db); err != nil {
			t.Fatal(err)
		}
		cliJSON(t, &none, "items", "list", "--merchant", id3, "--json", "--database", db)
		if none == nil || len(none) != 0 {
			t.Errorf("empty catalog: %#v (want [])", none)
		}
	})
}

func catalogIDs(items []omnicart.CatalogItem) string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ItemID
	}
	return strings.Join(ids, ",")
}

func TestUserListRemoveCLI(t *testing.T) {
	t.Parallel()
	cliEngines(t, func(t *testing.T, db string) {
		id, _ := cliMerchant(t, db)
		other, _ := cliMerchant(t, db)
		var made struct {
			omnicart.User
			Password string `json:"password"`
		}
		for _, u := range [][3]string{{id, "ada@shop.example", "owner"}, {id, "bob@shop.example", "viewer"}, {other, "eve@other.example", "operator"}} {
			out, _, err := cliRun(t, "user", "create", "--merchant", u[0], "--email", u[1], "--role", u[2], "--json", "--database", db)
			if err != nil || json.Unmarshal([]byte(out), &made) != nil || made.Password == "" {
				t.Fatalf("user create %v: %v %q", u, err, out)
			}
		}
		var users []omnicart.User
		cliJSON(t, &users, "user", "list", "--merchant", id, "--json", "--database", db)
		if len(users) != 2 || users[0].Email != "ada@shop.example" || users[0].Role != omnicart.RoleOwner ||
			users[1].Email != "bob@shop.example" || users[1].MerchantID != id || users[1].ID == "" {
			t.Fatalf("user list: %+v", users)
		}
		out, _, err := cliRun(t, "user", "list", "--merchant", id, "--database", db)
		if err != nil || !strings.Contains(out, "EMAIL") || !strings.Contains(out, "bob@shop.example") || strings.Contains(out, "eve@") {
			t.Errorf("user list table: %v\n%s", err, out)
		}
		bob := users[1]

		// Another merchant's user is not removed through this merchant.
		if _, _, err := cliRun(t, "user", "remove", "--merchant", id, "--email", "eve@other.example", "--database", db); err == nil ||
			!strings.Contains(err.Error(), "no user eve@other.example of merchant "+id) {
			t.Errorf("remove another merchant's user: %v", err)
		}
		var res map[string]string
		cliJSON(t, &res, "user", "remove", "--merchant", id, "--email", "Ada@Shop.example", "--json", "--database", db)
		if res["email"] != "ada@shop.example" || res["userId"] != users[0].ID || res["role"] != "owner" || res["merchantId"] != id {
			t.Errorf("user remove --json: %v", res)
		}
		out, _, err = cliRun(t, "user", "remove", "--merchant", id, bob.ID, "--database", db)
		if err != nil || !strings.Contains(out, "removed user "+bob.ID) {
			t.Errorf("user remove USERID: %v %q", err, out)
		}
		cliJSON(t, &users, "user", "list", "--merchant", id, "--json", "--database", db)
		if len(users) != 0 {
			t.Errorf("after removals: %+v", users)
		}
		cliJSON(t, &users, "user", "list", "--json", "--database", db)
		if len(users) != 1 || users[0].Email != "eve@other.example" {
			t.Errorf("every merchant's users: %+v", users)
		}
		if _, _, err := cliRun(t, "user", "remove", "--merchant", id, "--email", "ada@shop.example", "--database", db); err == nil {
			t.Error("removing a removed user succeeded")
		}
		cliUsageErr(t, "user remove takes one user", "user", "remove", "--merchant", id, "--database", db)
		cliUsageErr(t, "user remove takes one user", "user", "remove", "--merchant", id, "--email", "a@b.example", bob.ID, "--database", db)
		cliUsageErr(t, "is not an email address", "user", "remove", "--merchant", id, "--email", "nobody", "--database", db)
		cliUsageErr(t, "--merchant is required", "user", "remove", "--email", "a@b.example", "--database", db)
	})
}
