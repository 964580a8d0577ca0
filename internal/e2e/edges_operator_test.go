package e2e_test

// Operator edges (issue #12), through the real binary: live-mode merchants
// while no live payment provider exists, payment links that cannot be
// sent, the CLI's help, version, database and merchant checks, the demo
// banner, and the identifier rules in debug answers.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/omnicart/omnicart/internal/e2e"
)

// The identifier rules as the debug answer states them (docs/API.md).
const (
	eoRuleCartID     = "cartId: 9 to 36 characters, each a letter, a digit, _ or - ([A-Za-z0-9_-]{9,36})"
	eoRuleItemID     = "itemId: 1 to 64 characters, each a letter, a digit, _, . or - ([A-Za-z0-9_.-]{1,64})"
	eoRuleTag        = "tag: 1 to 64 characters, each a letter, a digit, _, . or - ([A-Za-z0-9_.-]{1,64})"
	eoRuleCustomerID = "customerId: 1 to 64 printable ASCII characters, no spaces ([!-~]{1,64})"
)

type eoEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Rule    string `json:"rule"`
}

// eoRes is an answer: its status, headers, body and, when it is JSON, the
// envelope (or payment answer) fields and which top-level keys it has.
type eoRes struct {
	status int
	header http.Header
	raw    []byte
	keys   map[string]json.RawMessage
	env    struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Rule    string          `json:"rule"`
		Debug   []eoEntry       `json:"debug"`
		Data    json.RawMessage `json:"data"`
		Result  string          `json:"result"`
		Reason  string          `json:"reason"`
	}
}

// eoDo sends a request (a JSON body when body is set) with an optional API
// key and extra header pairs.
func eoDo(tb testing.TB, method, url, key, body string, hdr ...string) eoRes {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Api-Access-Token", key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	res := eoRes{status: resp.StatusCode, header: resp.Header}
	if res.raw, err = io.ReadAll(resp.Body); err != nil {
		tb.Fatal(err)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(res.raw, &res.keys); err != nil {
			tb.Fatalf("%s %s: not a JSON object: %v\n%s", method, url, err, res.raw)
		}
		_ = json.Unmarshal(res.raw, &res.env)
	}
	return res
}

// eoExpect fails unless the answer has the HTTP status and code.
func eoExpect(tb testing.TB, what string, res eoRes, status int, code string) {
	tb.Helper()
	if res.status != status || res.env.Code != code {
		tb.Fatalf("%s: HTTP %d code %q, want %d %s\n%s", what, res.status, res.env.Code, status, code, res.raw)
	}
}

// eoCLI runs the binary with args in dir (the environment without
// OMNICART_* settings) and returns stdout, stderr and the exit code.
func eoCLI(tb testing.TB, dir string, args ...string) (string, string, int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e2e.Binary(tb), args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OMNICART_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		tb.Fatalf("omnicart %s: %v", strings.Join(args, " "), err)
	}
	return stdout.String(), stderr.String(), code
}

// eoMerchant creates a merchant on srv's database with the binary and
// returns its id, key and what the command wrote on stderr.
func eoMerchant(tb testing.TB, srv *e2e.Server, mode, items string) (id, key, stderr string) {
	tb.Helper()
	out, errOut, code := eoCLI(tb, tb.TempDir(), "merchant", "create", "--name", "Edge Shop", "--mode", mode, "--items", items,
		"--all-privileges", "--json", "--database", srv.Database)
	var res struct{ MerchantID, APIKey string }
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.APIKey == "" {
		tb.Fatalf("merchant create --mode %s: exit %d, stdout %q, stderr %q", mode, code, out, errOut)
	}
	return res.MerchantID, res.APIKey, errOut
}

const eoCard = `{"cardNumber":"4111 1111 1111 1111","expiry":"12/39","cvc":"123","cardholder":"Ada Lovelace"}`

// TestEdgesLiveMode: a live-mode merchant while this server has no live
// payment provider. Creating it warns; its /init is refused with 131000
// (nothing is created, with debug on the rest of the request is still
// checked); /readyz stays ready and says live payments are unavailable, and
// so does the log at start once live merchants exist. Test merchants are
// untouched.
func TestEdgesLiveMode(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	if !srv.WaitForLog("payment links: dispatcher started", 30*time.Second) {
		t.Fatalf("no start log:\n%s", srv.Logs())
	}
	if strings.Contains(srv.Logs(), "live payments are unavailable") {
		t.Errorf("warned about live payments with no live merchant:\n%s", srv.Logs())
	}

	// /readyz: ready, for test merchants; live payments unavailable.
	res := eoDo(t, http.MethodGet, srv.URL+"/readyz", "", "")
	var ready struct {
		Status   string            `json:"status"`
		Payments map[string]string `json:"payments"`
		Warnings []string          `json:"warnings"`
	}
	if err := json.Unmarshal(res.raw, &ready); err != nil || res.status != 200 || ready.Status != "ready" ||
		ready.Payments["test"] != "available" || ready.Payments["live"] != "unavailable" ||
		len(ready.Warnings) != 1 || !strings.Contains(ready.Warnings[0], "live payments are unavailable") {
		t.Fatalf("/readyz: HTTP %d %s (%v)", res.status, res.raw, err)
	}

	liveID, liveKey, warn := eoMerchant(t, srv, "live", "pegasus")
	for _, want := range []string{"warning", "live payments cannot be taken by this server yet", liveID, "131000"} {
		if !strings.Contains(warn, want) {
			t.Errorf("merchant create --mode live: stderr %q lacks %q", warn, want)
		}
	}
	_, testKey, warn := eoMerchant(t, srv, "test", "pegasus")
	if warn != "" {
		t.Errorf("merchant create --mode test warned: %q", warn)
	}

	const body = `{"cartId":"live-cart-00001","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`
	res = eoDo(t, http.MethodPost, srv.URL+"/init", liveKey, body)
	eoExpect(t, "live init", res, 405, "131000")
	if res.env.Message != "Not allowed to pass this method" || len(res.env.Debug) != 0 || res.keys["data"] != nil {
		t.Fatalf("live init: %s", res.raw)
	}
	// Nothing was created: the cart does not exist.
	eoExpect(t, "status of the refused cart", eoDo(t, http.MethodGet, srv.URL+"/status/live-cart-00001", liveKey, ""), 400, "123001")
	// With debug on the rest of the request is checked and listed.
	res = eoDo(t, http.MethodPost, srv.URL+"/init", liveKey,
		`{"cartId":"live-cart-00002","currency":"EUR","debug":true,"items":[{"pegasus":{"amount":0}}],"paymentForm":{"deliveryOption":"email","value":"ada@example.com"}}`)
	eoExpect(t, "live init with debug", res, 405, "131000")
	got := map[string]string{}
	for _, e := range res.env.Debug {
		got[e.Code] = e.Message
	}
	if got["123002"] != "amount has invalid value for item(s) [pegasus]" || got["123003"] != "paymentForm.deliveryOption has invalid value" || len(got) != 2 {
		t.Fatalf("live init with debug: %s", res.raw)
	}
	// The same request for a test merchant opens the cart: its email goes
	// to the sandbox outbox, as documented.
	res = eoDo(t, http.MethodPost, srv.URL+"/init", testKey,
		`{"cartId":"test-cart-00002","currency":"EUR","items":[{"pegasus":{"amount":250}}],"paymentForm":{"deliveryOption":"email","value":"ada@example.com"}}`)
	eoExpect(t, "test init with email", res, 201, "000000")

	// Idempotent replays answer the refusal the same way.
	first := eoDo(t, http.MethodPost, srv.URL+"/init", liveKey, body, "Idempotency-Key", "live-1")
	again := eoDo(t, http.MethodPost, srv.URL+"/init", liveKey, body, "Idempotency-Key", "live-1")
	if first.status != 405 || again.status != 405 || again.env.Code != "131000" {
		t.Fatalf("idempotent live init: %d %s / %d %s", first.status, first.raw, again.status, again.raw)
	}

	// At the next start the log says live payments are unavailable.
	srv.Restart()
	if !srv.WaitForLog("live payments are unavailable", 30*time.Second) {
		t.Fatalf("no start warning with a live merchant:\n%s", srv.Logs())
	}
	for _, line := range strings.Split(srv.Logs(), "\n") {
		if strings.Contains(line, "live payments are unavailable") && !strings.Contains(line, `"live_merchants":1`) {
			t.Errorf("start warning does not count the live merchant: %s", line)
		}
	}
	res = eoDo(t, http.MethodGet, srv.URL+"/readyz", "", "")
	if res.status != 200 || !bytes.Contains(res.raw, []byte(`"live":"unavailable"`)) {
		t.Fatalf("/readyz after restart: HTTP %d %s", res.status, res.raw)
	}
}

// TestEdgesLiveCartPage: a live-mode merchant's cart opened before /init
// refused them (made here by switching a test merchant to live mode in the
// stopped server's database). Its payment page and payments answer that
// payments are not available (503), never 500, and nothing moves.
func TestEdgesLiveCartPage(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	id, key, _ := eoMerchant(t, srv, "test", "pegasus")
	res := eoDo(t, http.MethodPost, srv.URL+"/init", key, `{"cartId":"old-live-cart-01","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`)
	eoExpect(t, "init", res, 201, "000000")
	var data struct {
		PaymentURL string `json:"paymentUrl"`
	}
	if err := json.Unmarshal(res.env.Data, &data); err != nil || data.PaymentURL == "" {
		t.Fatalf("init data: %s", res.raw)
	}

	srv.Stop()
	db := srv.SQL(t)
	var doc string
	if err := db.QueryRow(`SELECT doc FROM merchants WHERE id = $1`, id).Scan(&doc); err != nil {
		t.Fatal(err)
	}
	live := strings.Replace(doc, `"mode":"test"`, `"mode":"live"`, 1)
	if live == doc {
		t.Fatalf("merchant document has no test mode: %s", doc)
	}
	if _, err := db.Exec(`UPDATE merchants SET doc = $1 WHERE id = $2`, live, id); err != nil {
		t.Fatal(err)
	}
	db.Close()
	srv.Restart()
	// The server listens on a new port: the link's path on its new address.
	_, path, _ := strings.Cut(strings.TrimPrefix(data.PaymentURL, "http://"), "/")
	data.PaymentURL = srv.URL + "/" + path

	// The page: a message, no card form.
	res = eoDo(t, http.MethodGet, data.PaymentURL, "", "")
	if res.status != 503 || !bytes.Contains(res.raw, []byte("Payments are not available")) || bytes.Contains(res.raw, []byte("<form")) {
		t.Fatalf("payment page of a live cart: HTTP %d\n%s", res.status, res.raw)
	}
	res = eoDo(t, http.MethodGet, data.PaymentURL, "", "", "Accept", "application/json")
	if res.status != 503 || res.env.Result != "unavailable" {
		t.Fatalf("payment page as JSON: HTTP %d %s", res.status, res.raw)
	}
	// A payment (an app, or a page opened before the restart).
	for range 2 {
		res = eoDo(t, http.MethodPost, data.PaymentURL, "", eoCard)
		if res.status != 503 || res.env.Result != "unavailable" || !strings.Contains(res.env.Reason, "No money was taken") {
			t.Fatalf("payment of a live cart: HTTP %d %s", res.status, res.raw)
		}
	}
	// Nothing moved: the item waits, not ongoing.
	res = eoDo(t, http.MethodGet, srv.URL+"/status/old-live-cart-01", key, "")
	eoExpect(t, "status", res, 200, "000000")
	if !bytes.Contains(res.raw, []byte(`"paymentStatus":"initiated"`)) {
		t.Fatalf("status after refused payments: %s", res.raw)
	}
	if logs := srv.Logs(); strings.Contains(logs, `"status":500`) || strings.Contains(logs, "payment failed") {
		t.Fatalf("the server answered 500 or logged a failure:\n%s", logs)
	}
	// And new live carts are refused.
	eoExpect(t, "init after the switch", eoDo(t, http.MethodPost, srv.URL+"/init", key,
		`{"cartId":"old-live-cart-02","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`), 405, "131000")
}

// TestEdgesLinkChannels: a payment link on a channel with no sender is
// refused at /init for a merchant that cannot use the sandbox outbox (live
// mode: listed with debug on next to 131000), following the configured
// senders; test-mode merchants keep the sandbox outbox.
func TestEdgesLinkChannels(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t, "--smtp-host", "127.0.0.1", "--smtp-port", "1", "--smtp-from", "shop@example.com")
	_, liveKey, _ := eoMerchant(t, srv, "live", "pegasus")
	for _, tc := range []struct {
		channel, value string
		refused        bool
	}{
		{"email", "ada@example.com", false}, // --smtp-host
		{"sms", "+441234567890", true},
		{"push", "device-token-1", true},
		{"redirect", "https://shop.example/back", false},
	} {
		res := eoDo(t, http.MethodPost, srv.URL+"/init", liveKey,
			`{"cartId":"live-link-`+tc.channel+`","currency":"EUR","debug":true,"items":[{"pegasus":{"amount":250}}],"paymentForm":{"deliveryOption":"`+tc.channel+`","value":"`+tc.value+`"}}`)
		eoExpect(t, "live init with "+tc.channel, res, 405, "131000")
		if refused := len(res.env.Debug) == 1 && res.env.Debug[0].Code == "123003" &&
			res.env.Debug[0].Message == "paymentForm.deliveryOption has invalid value"; refused != tc.refused || (!tc.refused && len(res.env.Debug) != 0) {
			t.Errorf("live init with %s: %s", tc.channel, res.raw)
		}
	}
}

// TestEdgesCLI: --help and -h on every command print usage and succeed;
// version prints the version; every command but serve and migrate refuses
// a database that does not exist (creating nothing); an unknown --merchant
// is an error.
func TestEdgesCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	commands := [][]string{{"serve"}, {"migrate"}, {"version"}, {"merchant", "create"}, {"key", "create"}, {"key", "revoke"},
		{"items", "add"}, {"items", "import"}}
	for _, v := range []string{"add", "list", "remove", "rotate", "enable", "disable", "deliveries", "events", "resend"} {
		commands = append(commands, []string{"callbacks", v})
	}
	for _, c := range commands {
		for _, h := range []string{"--help", "-h"} {
			args := append(append([]string{}, c...), h)
			out, errOut, code := eoCLI(t, dir, args...)
			if code != 0 || !strings.HasPrefix(out, "usage: omnicart "+c[0]) || !strings.Contains(out, c[len(c)-1]) || errOut != "" {
				t.Errorf("omnicart %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errOut)
			}
		}
	}
	for _, args := range [][]string{{"--help"}, {"help"}, {"merchant", "--help"}, {"callbacks", "-h"}} {
		if out, _, code := eoCLI(t, dir, args...); code != 0 || !strings.HasPrefix(out, "usage:") {
			t.Errorf("omnicart %s: exit %d %q", strings.Join(args, " "), code, out)
		}
	}
	out, _, code := eoCLI(t, dir, "version")
	if code != 0 || !regexp.MustCompile(`^omnicart (dev|v\S+) \(go1\.\S+, \w+/\w+`).MatchString(out) {
		t.Errorf("omnicart version: exit %d %q", code, out)
	}

	// In a directory without a database: refused, nothing created.
	for _, args := range [][]string{
		{"callbacks", "list", "--merchant", "mer_x"},
		{"key", "create", "--merchant", "mer_x"},
		{"items", "add", "--merchant", "mer_x", "griffin"},
	} {
		_, errOut, code := eoCLI(t, dir, args...)
		if code != 1 || !strings.Contains(errOut, "database sqlite:./omnicart.db does not exist") || !strings.Contains(errOut, "--database") {
			t.Errorf("omnicart %s in an empty directory: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("refused commands created %v", entries)
	}
	for _, args := range [][]string{
		{"callbacks", "list", "--merchant", "mer_x", "--database", "sqlite:/missing/dir/x.db"},
		{"serve", "--listen", "127.0.0.1:0", "--database", "sqlite:/missing/dir/x.db"},
		{"migrate", "--database", "sqlite:/missing/dir/x.db"},
	} {
		_, errOut, code := eoCLI(t, dir, args...)
		if code != 1 || !strings.Contains(errOut, "database sqlite:/missing/dir/x.db: there is no directory /missing/dir") {
			t.Errorf("omnicart %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
		}
	}
	// migrate creates the database; then the other commands work on it.
	if out, _, code := eoCLI(t, dir, "migrate"); code != 0 || !strings.Contains(out, "created database sqlite:./omnicart.db") {
		t.Fatalf("migrate in an empty directory: exit %d %q", code, out)
	}
	if out, errOut, code := eoCLI(t, dir, "merchant", "create", "--name", "Shop"); code != 0 || !strings.Contains(out, "API key") {
		t.Fatalf("merchant create after migrate: exit %d %q %q", code, out, errOut)
	}

	// An unknown merchant is an error for every command taking --merchant.
	db := "sqlite:" + filepath.Join(dir, "omnicart.db")
	csv := filepath.Join(t.TempDir(), "items.csv")
	if err := os.WriteFile(csv, []byte("griffin,Griffin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"key", "create"}, {"key", "revoke", "ock_test_abcdefg"}, {"items", "add", "griffin"}, {"items", "import", "--csv", csv},
		{"callbacks", "add", "--url", "https://shop.example/hook"}, {"callbacks", "list"}, {"callbacks", "remove", "ep_x"},
		{"callbacks", "rotate", "ep_x"}, {"callbacks", "enable", "ep_x"}, {"callbacks", "disable", "ep_x"},
		{"callbacks", "deliveries", "ep_x"}, {"callbacks", "events"}, {"callbacks", "resend", "evt_x"},
	} {
		args = append(args, "--merchant", "mer_nobody", "--database", db)
		out, errOut, code := eoCLI(t, t.TempDir(), args...)
		if code != 1 || !strings.Contains(errOut, `merchant "mer_nobody" does not exist in database `+db) || out != "" {
			t.Errorf("omnicart %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errOut)
		}
	}
}

var (
	eoKeyRe  = regexp.MustCompile(`API key\s*:\s*(\S+)`)
	eoCurlRe = regexp.MustCompile(`curl -s -X POST (\S+) -H 'Content-Type: application/json' -H 'Api-Access-Token: (\S+)' \\\n\s+-d '([^']*)'`)
)

// eoBanner is the last demo banner the server printed: key, the curl
// command's URL, key and body, and whether it says the key was renewed.
type eoBanner struct {
	key, url, curlKey, body string
	renewed                 bool
}

func eoLastBanner(tb testing.TB, stdout string) eoBanner {
	tb.Helper()
	i := strings.LastIndex(stdout, "OmniCart demo merchant")
	if i < 0 {
		tb.Fatalf("no demo banner in:\n%s", stdout)
	}
	block := stdout[i:]
	k := eoKeyRe.FindStringSubmatch(block)
	c := eoCurlRe.FindStringSubmatch(block)
	if k == nil || c == nil {
		tb.Fatalf("cannot read the demo banner:\n%s", block)
	}
	head, _, _ := strings.Cut(block, "Try it")
	return eoBanner{key: k[1], url: c[1], curlKey: c[2], body: c[3], renewed: strings.Contains(head, "revoked")}
}

// TestEdgesDemo: the banner's curl works as printed on every start (a new
// cartId each time), and a revoked demo key is replaced (and the banner
// says so) instead of being printed dead.
func TestEdgesDemo(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t, "--demo")
	b1 := eoLastBanner(t, srv.Stdout())
	if b1.curlKey != b1.key || b1.renewed {
		t.Fatalf("first banner: %+v", b1)
	}
	curl := func(b eoBanner) string {
		t.Helper()
		res := eoDo(t, http.MethodPost, b.url, b.curlKey, b.body)
		eoExpect(t, "the banner's curl", res, 201, "000000")
		var cart struct {
			CartID string `json:"cartId"`
		}
		_ = json.Unmarshal(res.raw, &cart)
		return cart.CartID
	}
	cart1 := curl(b1)

	srv.Restart()
	b2 := eoLastBanner(t, srv.Stdout())
	if b2.key != b1.key || b2.body == b1.body || b2.renewed {
		t.Fatalf("second banner: %+v (first %+v)", b2, b1)
	}
	if cart2 := curl(b2); cart2 == cart1 {
		t.Fatalf("both starts printed cartId %s", cart1)
	}

	// Revoke the demo key: the next start makes a new one and says so.
	if out, err := srv.TryAdmin("key", "revoke", "--merchant", "demo", b1.key[:16]); err != nil {
		t.Fatalf("key revoke: %v %s", err, out)
	}
	eoExpect(t, "the revoked key", eoDo(t, http.MethodGet, srv.URL+"/status/"+cart1, b1.key, ""), 401, "111000")
	srv.Restart()
	b3 := eoLastBanner(t, srv.Stdout())
	if b3.key == b1.key || !b3.renewed || b3.curlKey != b3.key {
		t.Fatalf("banner after the revocation: %+v", b3)
	}
	eoExpect(t, "the new demo key", eoDo(t, http.MethodGet, srv.URL+"/status/"+cart1, b3.key, ""), 200, "000000")
	curl(b3)
	eoExpect(t, "the revoked key after restart", eoDo(t, http.MethodGet, srv.URL+"/status/"+cart1, b1.key, ""), 401, "111000")

	// The new key stays the demo key on later starts, without the note.
	srv.Restart()
	b4 := eoLastBanner(t, srv.Stdout())
	if b4.key != b3.key || b4.renewed {
		t.Fatalf("banner after a restart: %+v, want key %s", b4, b3.key)
	}
}

// TestEdgesIDRules: with debug on, an identifier that breaks its rule is
// answered with the message SPEC fixes and the rule beside it ("rule" of
// the answer for the main problem, of the debug entry for the others);
// with debug off the answer is unchanged. Problems that are not identifier
// rules carry no rule.
func TestEdgesIDRules(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, key, _ := eoMerchant(t, srv, "test", "pegasus,naga")
	ruleOf := func(res eoRes) map[string]string {
		out := map[string]string{}
		for _, e := range res.env.Debug {
			out[e.Message] = e.Rule
		}
		return out
	}

	// The main problem.
	const short = `{"cartId":"short","currency":"EUR","items":[{"pegasus":{"amount":250}}]`
	res := eoDo(t, http.MethodPost, srv.URL+"/init", key, short+`,"debug":true}`)
	eoExpect(t, "short cartId", res, 400, "122001")
	if res.env.Message != "cartId has invalid format" || res.env.Rule != eoRuleCartID || len(res.env.Debug) != 0 {
		t.Fatalf("short cartId, debug on: %s", res.raw)
	}
	res = eoDo(t, http.MethodPost, srv.URL+"/init", key, short+`}`)
	eoExpect(t, "short cartId, debug off", res, 400, "122001")
	if _, has := res.keys["rule"]; has || res.env.Message != "cartId has invalid format" {
		t.Fatalf("short cartId, debug off: %s", res.raw)
	}

	// Every identifier of /init, and problems that are not identifier rules.
	res = eoDo(t, http.MethodPost, srv.URL+"/init", key, `{"cartId":"rules-cart-0001","customerId":"ada lovelace","currency":"EUR","debug":true,
		"scope":{"tags":[{"bad tag":{}},{"good":{"capture":"yes"}}]},
		"items":[{"pega sus":{"amount":1}},{"pegasus":{"amount":250,"tag":"no/slash"}},{"naga":5}],"colour":"red"}`)
	eoExpect(t, "init with bad identifiers", res, 400, "122001")
	all := ruleOf(res)
	all[res.env.Message] = res.env.Rule
	want := map[string]string{
		"customerId has invalid format":                eoRuleCustomerID,
		"scope.tags.bad tag has invalid format":        eoRuleTag,
		"pega sus has invalid format":                  eoRuleItemID,
		"tag has invalid format for item(s) [pegasus]": eoRuleTag,
		"naga has invalid format":                      "",
		"colour has invalid format":                    "",
	}
	for msg, rule := range want {
		if r, ok := all[msg]; !ok || r != rule {
			t.Errorf("init: %q has rule %q (listed %v), want %q\n%s", msg, r, ok, rule, res.raw)
		}
	}
	for msg, r := range all {
		if _, ok := want[msg]; !ok && r != "" {
			t.Errorf("init: %q has rule %q", msg, r)
		}
	}

	// /status: the path's cartId, the filters.
	res = eoDo(t, http.MethodGet, srv.URL+"/status/short?debug=true&itemIds=pega%20sus&tags=a/b", key, "")
	eoExpect(t, "status", res, 400, "122001")
	if res.env.Rule != eoRuleCartID || ruleOf(res)["itemIds has invalid format"] != "a non-empty list of itemIds; "+eoRuleItemID ||
		ruleOf(res)["tags has invalid format"] != "a non-empty list of tags; "+eoRuleTag {
		t.Errorf("status: %s", res.raw)
	}

	// capture: the filter lists.
	eoExpect(t, "init", eoDo(t, http.MethodPost, srv.URL+"/init", key, `{"cartId":"rules-cart-0002","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`), 201, "000000")
	res = eoDo(t, http.MethodPost, srv.URL+"/capture", key, `{"cartId":"rules-cart-0002","debug":true,"filterBox":{"itemIds":[],"tags":["bad tag"]}}`)
	eoExpect(t, "capture", res, 400, "122001")
	all = ruleOf(res)
	all[res.env.Message] = res.env.Rule
	if all["filterBox.itemIds has invalid format"] != "a non-empty list of itemIds; "+eoRuleItemID ||
		all["filterBox.tags has invalid format"] != "a non-empty list of tags; "+eoRuleTag {
		t.Errorf("capture: %s", res.raw)
	}

	// modify: customerId, an item key, a tag key.
	res = eoDo(t, http.MethodPatch, srv.URL+"/modify", key, `{"cartId":"rules-cart-0002","debug":true,"modifyBox":{"customerId":"",
		"scope":{"tags":[{"t t":{}}]},"items":[{"pega sus":{}},{"pegasus":{"tag":"x y"}}]}}`)
	eoExpect(t, "modify", res, 400, "122001")
	all = ruleOf(res)
	all[res.env.Message] = res.env.Rule
	for msg, rule := range map[string]string{
		"modifyBox.customerId has invalid format":      eoRuleCustomerID,
		"modifyBox.scope.tags.t t has invalid format":  eoRuleTag,
		"pega sus has invalid format":                  eoRuleItemID,
		"tag has invalid format for item(s) [pegasus]": eoRuleTag,
	} {
		if all[msg] != rule {
			t.Errorf("modify: %q has rule %q, want %q\n%s", msg, all[msg], rule, res.raw)
		}
	}
}
