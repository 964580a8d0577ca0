package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// cliKeyPrefixLen is how many leading characters of a key name it for
// `key revoke`.
const cliKeyPrefixLen = 16

// cliKeyRe is the shape of an API key: URL-safe characters only.
var cliKeyRe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// cliCheckKey checks that key can carry at least 128 random bits: only
// URL-safe base64 characters (6 bits each), and at least 22 of them after a
// readable "ock_<mode>_" prefix, with the spread of characters a random
// string has.
func cliCheckKey(tb testing.TB, key string) {
	tb.Helper()
	if !cliKeyRe.MatchString(key) {
		tb.Fatalf("API key %q has characters outside [A-Za-z0-9_-]", key)
	}
	secret := key
	for _, p := range []string{"ock_test_", "ock_live_"} {
		secret = strings.TrimPrefix(secret, p)
	}
	if len(secret) < 22 {
		tb.Fatalf("API key %q has %d characters after its prefix: fewer than 128 bits", key, len(secret))
	}
	distinct := map[rune]bool{}
	for _, r := range secret {
		distinct[r] = true
	}
	if len(distinct) < len(secret)/3 {
		tb.Fatalf("API key %q does not look random (%d distinct characters)", key, len(distinct))
	}
	if len(key) < cliKeyPrefixLen+8 {
		tb.Fatalf("API key %q is too short to keep a secret part after its %d-character prefix", key, cliKeyPrefixLen)
	}
}

// cliCreateMerchant runs `merchant create --json` and returns its output.
func cliCreateMerchant(tb testing.TB, srv *e2e.Server, items string) (string, string) {
	tb.Helper()
	out := srv.Admin("merchant", "create", "--name", "CLI Shop", "--items", items, "--json")
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		tb.Fatalf("merchant create --json printed %q: %v", out, err)
	}
	id, _ := res["merchantId"].(string)
	key, _ := res["apiKey"].(string)
	if id == "" || key == "" {
		tb.Fatalf("merchant create --json printed %q: want merchantId and apiKey strings", out)
	}
	cliCheckKey(tb, key)
	return id, key
}

func TestCLIMerchantCreate(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	ctx := context.Background()
	id1, key1 := cliCreateMerchant(t, srv, "pegasus")
	id2, key2 := cliCreateMerchant(t, srv, "pegasus")
	if id1 == id2 {
		t.Errorf("two merchants got the same id %q", id1)
	}
	if key1 == key2 || key1[cliKeyPrefixLen:] == key2[cliKeyPrefixLen:] {
		t.Errorf("two merchants got related keys %q and %q", key1, key2)
	}
	// The printed key works against the running server.
	res, err := srv.Client(key1).Raw().Init(ctx, `{"cartId": "cli-cart-0001", "currency": "EUR", "items": [{"pegasus": {"amount": 10}}]}`)
	scExpect(t, "init with the new key", res, err, 201, "000000")
	// Without --json the key is printed too, once.
	out := srv.Admin("merchant", "create", "--name", "Plain Shop")
	if m := regexp.MustCompile(`ock_[A-Za-z0-9_-]+`).FindAllString(out, -1); len(m) != 1 {
		t.Errorf("merchant create printed %q: want the key once", out)
	}
	// A bad command fails.
	if out, err := srv.TryAdmin("merchant", "create", "--items", "pegasus"); err == nil {
		t.Errorf("merchant create without --name succeeded: %s", out)
	}
}

func TestCLIKeys(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	ctx := context.Background()
	id, main := srv.Merchant("pegasus,naga")
	res, err := main.Raw().Init(ctx, `{"cartId": "cli-keys-0001", "currency": "XAU", "items": [{"pegasus": {"amount": 250}}]}`)
	scExpect(t, "init", res, err, 201, "000000")

	out := srv.Admin("key", "create", "--merchant", id, "--methods", "status")
	statusKey := strings.TrimSpace(out)
	cliCheckKey(t, statusKey)
	if statusKey == main.APIKey {
		t.Fatal("key create returned the merchant's first key")
	}
	sc := srv.Client(statusKey)
	res, err = sc.Raw().Status(ctx, "cli-keys-0001", client.StatusQuery{})
	scExpect(t, "status with the status-only key", res, err, 200, "000000")
	res, err = sc.Do(ctx, http.MethodGet, "/status/:cli-keys-0001", nil)
	scExpect(t, "status (colon form) with the status-only key", res, err, 200, "000000")
	for _, call := range []struct {
		name, method, path, body string
	}{
		{"init", "POST", "/init", `{"cartId": "cli-keys-0002", "currency": "XAU", "items": [{"pegasus": {"amount": 250}}]}`},
		{"capture", "POST", "/capture", `{"cartId": "cli-keys-0001"}`},
		{"cancel", "POST", "/cancel", `{"cartId": "cli-keys-0001"}`},
		{"refund", "POST", "/refund", `{"cartId": "cli-keys-0001"}`},
		{"modify", "PATCH", "/modify", `{"cartId": "cli-keys-0001", "modifyBox": {"items": [{"pegasus": {"modifyAmount": {"amount": 100}}}]}}`},
	} {
		res, err := sc.Do(ctx, call.method, call.path, call.body)
		scExpect(t, call.name+" with the status-only key", res, err, 405, "131000")
		if res.Message != "Not allowed to pass this method" {
			t.Errorf("%s: message %q", call.name, res.Message)
		}
	}
	// The refused init opened nothing; the cart is as it was.
	res, err = main.Raw().Status(ctx, "cli-keys-0002", client.StatusQuery{})
	scExpect(t, "status of the refused init's cart", res, err, 400, "123001")
	res, err = main.Raw().Status(ctx, "cli-keys-0001", client.StatusQuery{})
	scExpect(t, "status after refused actions", res, err, 200, "000000")
	if !bytes.Contains(res.Data, []byte(`"paymentStatus":"initiated"`)) || !bytes.Contains(res.Data, []byte(`"current":250`)) {
		t.Errorf("cart changed by refused requests: %s", res.Data)
	}

	// Another merchant cannot revoke this merchant's key.
	otherID, _ := srv.Merchant("pegasus")
	prefix := statusKey[:cliKeyPrefixLen]
	if out, err := srv.TryAdmin("key", "revoke", "--merchant", otherID, prefix); err == nil {
		t.Errorf("revoking another merchant's key succeeded: %s", out)
	}
	res, err = sc.Raw().Status(ctx, "cli-keys-0001", client.StatusQuery{})
	scExpect(t, "status after a foreign revoke", res, err, 200, "000000")

	// Revocation by prefix takes effect on the running server at once.
	srv.Admin("key", "revoke", "--merchant", id, prefix)
	res, err = sc.Raw().Status(ctx, "cli-keys-0001", client.StatusQuery{})
	scExpect(t, "status with the revoked key", res, err, 401, "111000")
	res, err = sc.Raw().Init(ctx, `{"cartId": "cli-keys-0003", "currency": "XAU", "items": [{"pegasus": {"amount": 250}}]}`)
	scExpect(t, "init with the revoked key", res, err, 401, "111000")
	if out, err := srv.TryAdmin("key", "revoke", "--merchant", id, prefix); err == nil {
		t.Errorf("revoking a revoked key again succeeded: %s", out)
	}
	// The merchant's other key still works.
	res, err = main.Raw().Status(ctx, "cli-keys-0001", client.StatusQuery{})
	scExpect(t, "status with the first key after revoke", res, err, 200, "000000")
	// A restart does not bring the revoked key back.
	srv.Restart()
	res, err = srv.Client(statusKey).Raw().Status(ctx, "cli-keys-0001", client.StatusQuery{})
	scExpect(t, "revoked key after restart", res, err, 401, "111000")
	res, err = srv.Client(main.APIKey).Raw().Status(ctx, "cli-keys-0001", client.StatusQuery{})
	scExpect(t, "first key after restart", res, err, 200, "000000")

	// Unknown methods are refused by key create.
	if out, err := srv.TryAdmin("key", "create", "--merchant", id, "--methods", "status,teleport"); err == nil {
		t.Errorf("key create with an unknown method succeeded: %s", out)
	}
}

func TestCLIItems(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	ctx := context.Background()
	id, c := srv.Merchant("pegasus")
	initOne := func(cartID, item string) *client.Response {
		t.Helper()
		res, err := c.Raw().Init(ctx, fmt.Sprintf(`{"cartId": %q, "currency": "EUR", "items": [{%q: {"amount": 100}}]}`, cartID, item))
		if err != nil {
			t.Fatalf("init %s: %v", item, err)
		}
		return res
	}
	expectUnknown := func(cartID, item string) {
		t.Helper()
		res := initOne(cartID, item)
		scExpect(t, "init with "+item, res, nil, 409, "124103")
		if want := item + " does not exist"; res.Message != want {
			t.Errorf("message %q, want %q", res.Message, want)
		}
	}

	// Before: neither item exists.
	expectUnknown("cli-items-0001", "griffin")
	expectUnknown("cli-items-0002", "golden.dragon-2")

	srv.Admin("items", "add", "--merchant", id, "griffin,hydra")
	scExpect(t, "init with an added item", initOne("cli-items-0003", "griffin"), nil, 201, "000000")
	scExpect(t, "init with an added item", initOne("cli-items-0004", "hydra"), nil, 201, "000000")

	csvPath := filepath.Join(t.TempDir(), "items.csv")
	csv := "itemId,displayName\ngolden.dragon-2,Golden Dragon Statue\nsilver_wyvern,Silver Wyvern\n"
	if err := os.WriteFile(csvPath, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.Admin("items", "import", "--merchant", id, "--csv", csvPath)
	res := initOne("cli-items-0005", "golden.dragon-2")
	scExpect(t, "init with an imported item", res, nil, 201, "000000")
	scExpect(t, "init with an imported item", initOne("cli-items-0006", "silver_wyvern"), nil, 201, "000000")
	// The header row is not an item.
	expectUnknown("cli-items-0007", "itemId")
	// Unknown ones are still unknown, also next to known ones.
	expectUnknown("cli-items-0008", "phoenix")
	res, err := c.Raw().Init(ctx, `{"cartId": "cli-items-0009", "currency": "EUR", "items": [{"pegasus": {"amount": 1}}, {"wyvern": {"amount": 1}}]}`)
	scExpect(t, "init with one unknown item", res, err, 409, "124103")
	if res.Message != "wyvern does not exist" {
		t.Errorf("message %q, want %q", res.Message, "wyvern does not exist")
	}
	// Items are per merchant.
	_, other := srv.Merchant("pegasus")
	res, err = other.Raw().Init(ctx, `{"cartId": "cli-items-0010", "currency": "EUR", "items": [{"griffin": {"amount": 1}}]}`)
	scExpect(t, "other merchant with griffin", res, err, 409, "124103")

	// The imported display name is what the customer sees.
	var data struct {
		PaymentURL string `json:"paymentUrl"`
	}
	if err := res.Decode(&data); err == nil {
		t.Fatalf("failed init returned data: %s", res.Raw)
	}
	res = initOne("cli-items-0011", "golden.dragon-2")
	scExpect(t, "init", res, nil, 201, "000000")
	if err := res.Decode(&data); err != nil {
		t.Fatal(err)
	}
	page := cliGet(t, data.PaymentURL)
	if !strings.Contains(page, "Golden Dragon Statue") {
		t.Errorf("payment page does not show the imported display name:\n%s", page)
	}

	// Bad input is refused and changes nothing.
	if out, err := srv.TryAdmin("items", "add", "--merchant", id, "bad item"); err == nil {
		t.Errorf("items add with an invalid itemId succeeded: %s", out)
	}
	if out, err := srv.TryAdmin("items", "add", "--merchant", "mer_doesnotexist", "griffin"); err == nil {
		t.Errorf("items add for an unknown merchant succeeded: %s", out)
	}
	if out, err := srv.TryAdmin("items", "import", "--merchant", id, "--csv", filepath.Join(t.TempDir(), "missing.csv")); err == nil {
		t.Errorf("items import of a missing file succeeded: %s", out)
	}
}

func cliGet(tb testing.TB, url string) string {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("GET %s: HTTP %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// TestCLIConcurrentWithServer runs operator commands against the database
// of a running server while it serves API traffic; nothing may fail. It
// then checks that the database files hold no API key in clear.
func TestCLIConcurrentWithServer(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	ctx := context.Background()
	id, c := srv.Merchant("pegasus")

	var (
		mu       sync.Mutex
		failures []string
		keys     = []string{c.APIKey}
		added    []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}

	adminDone := make(chan struct{})
	var traffic sync.WaitGroup
	for g := 0; g < 2; g++ {
		traffic.Add(1)
		go func(g int) {
			defer traffic.Done()
			for n := 0; ; n++ {
				select {
				case <-adminDone:
					if n >= 3 {
						return
					}
				default:
				}
				cartID := fmt.Sprintf("conc-%d-%05d", g, n)
				res, err := c.Raw().Init(ctx, fmt.Sprintf(`{"cartId": %q, "currency": "EUR", "items": [{"pegasus": {"amount": 100}}]}`, cartID))
				if err != nil || res.Status != 201 {
					fail("init %s: %v %s", cartID, err, cliRaw(res))
					return
				}
				res, err = c.Raw().Status(ctx, cartID, client.StatusQuery{})
				if err != nil || res.Status != 200 || res.Code != "000000" {
					fail("status %s: %v %s", cartID, err, cliRaw(res))
					return
				}
				res, err = c.Raw().Modify(ctx, fmt.Sprintf(`{"cartId": %q, "modifyBox": {"items": [{"pegasus": {"modifyAmount": {"amount": 50}}}]}}`, cartID))
				if err != nil || res.Status != 200 {
					fail("modify %s: %v %s", cartID, err, cliRaw(res))
					return
				}
			}
		}(g)
	}

	var admin sync.WaitGroup
	for w := 0; w < 3; w++ {
		admin.Add(1)
		go func(w int) {
			defer admin.Done()
			for j := 0; j < 3; j++ {
				var args []string
				switch (w + j) % 3 {
				case 0:
					item := fmt.Sprintf("conc-item-%d-%d", w, j)
					args = []string{"items", "add", "--merchant", id, item}
					mu.Lock()
					added = append(added, item)
					mu.Unlock()
				case 1:
					args = []string{"key", "create", "--merchant", id, "--methods", "status,init"}
				case 2:
					args = []string{"merchant", "create", "--name", "Concurrent Shop", "--items", "pegasus", "--json"}
				}
				out, err := srv.TryAdmin(args...)
				if err != nil || strings.Contains(strings.ToLower(out), "locked") || strings.Contains(out, "SQLITE_BUSY") {
					fail("omnicart %s: %v\n%s", strings.Join(args, " "), err, out)
					continue
				}
				switch args[0] {
				case "key":
					mu.Lock()
					keys = append(keys, strings.TrimSpace(out))
					mu.Unlock()
				case "merchant":
					var m struct {
						APIKey string `json:"apiKey"`
					}
					if err := json.Unmarshal([]byte(out), &m); err != nil || m.APIKey == "" {
						fail("merchant create printed %q", out)
						continue
					}
					mu.Lock()
					keys = append(keys, m.APIKey)
					mu.Unlock()
				}
			}
		}(w)
	}
	admin.Wait()
	close(adminDone)
	traffic.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	if t.Failed() {
		t.FailNow()
	}

	// What the commands wrote is live on the server.
	for i, item := range added {
		res, err := c.Raw().Init(ctx, fmt.Sprintf(`{"cartId": "conc-added-%03d", "currency": "EUR", "items": [{%q: {"amount": 1}}]}`, i, item))
		scExpect(t, "init with "+item, res, err, 201, "000000")
	}
	for _, k := range keys {
		res, err := srv.Client(k).Raw().Status(ctx, "conc-0-00000", client.StatusQuery{})
		if err != nil || res.Status == 401 {
			t.Errorf("key %s… created during traffic does not authenticate: %v %s", k[:cliKeyPrefixLen], err, cliRaw(res))
		}
	}
	logs := srv.Logs()
	for _, bad := range []string{"database is locked", "SQLITE_BUSY", `"level":"ERROR"`} {
		if strings.Contains(logs, bad) {
			t.Errorf("server log contains %q:\n%s", bad, logs)
		}
	}

	// No key is stored in clear, neither whole nor its secret part (the
	// part after the prefix that names it), in the database or its WAL
	// (on PostgreSQL, its tables).
	// The cartId of the first cart is the control that the files read are
	// the live data.
	cliCheckNoKeys(t, srv, keys, "conc-0-00000")
	srv.Stop()
	cliCheckNoKeys(t, srv, keys, "conc-0-00000")
}

// cliCheckNoKeys fails when the server's database (its files, or its
// tables on PostgreSQL) holds a key or its secret part, or does not hold
// control.
func cliCheckNoKeys(tb testing.TB, srv *e2e.Server, keys []string, control string) {
	tb.Helper()
	controlSeen := false
	for name, b := range srv.Stored(tb) {
		controlSeen = controlSeen || bytes.Contains(b, []byte(control))
		for _, k := range keys {
			if bytes.Contains(b, []byte(k)) {
				tb.Errorf("%s contains the API key %s… in clear", name, k[:cliKeyPrefixLen])
			}
			if bytes.Contains(b, []byte(k[cliKeyPrefixLen:])) {
				tb.Errorf("%s contains the secret part of API key %s…", name, k[:cliKeyPrefixLen])
			}
		}
	}
	if !controlSeen {
		tb.Fatalf("database %s does not contain %q: not the live data", srv.Database, control)
	}
}

func cliRaw(res *client.Response) string {
	if res == nil {
		return "(no response)"
	}
	return fmt.Sprintf("HTTP %d %s", res.Status, res.Raw)
}
