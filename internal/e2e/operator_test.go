package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

var (
	opBaseURLRe = regexp.MustCompile(`(?i)base url\s*:\s*(\S+)`)
	opAPIKeyRe  = regexp.MustCompile(`(?i)api key\s*:\s*(\S+)`)
	opCurlRe    = regexp.MustCompile(`curl [^\n]*`)
)

// opDemo is what `serve --demo` printed once.
type opDemo struct {
	baseURL, key, curl string
}

// opParseDemo returns every demo block printed so far.
func opParseDemo(tb testing.TB, stdout string) []opDemo {
	tb.Helper()
	joined := strings.ReplaceAll(stdout, "\\\n", " ") // curl's line continuations
	urls := opBaseURLRe.FindAllStringSubmatch(joined, -1)
	keys := opAPIKeyRe.FindAllStringSubmatch(joined, -1)
	curls := opCurlRe.FindAllString(joined, -1)
	if len(urls) == 0 || len(urls) != len(keys) || len(keys) != len(curls) {
		tb.Fatalf("serve --demo printed %d base URLs, %d keys, %d curl commands:\n%s", len(urls), len(keys), len(curls), stdout)
	}
	out := make([]opDemo, len(urls))
	for i := range urls {
		out[i] = opDemo{baseURL: urls[i][1], key: keys[i][1], curl: curls[i]}
	}
	return out
}

var (
	opCurlURLRe    = regexp.MustCompile(`-X POST (\S+)`)
	opCurlHeaderRe = regexp.MustCompile(`-H '([^']*)'`)
	opCurlDataRe   = regexp.MustCompile(`-d '([^']*)'`)
)

// opRunCurl performs the printed curl command (a POST with headers and a
// JSON body) with the Go HTTP client.
func opRunCurl(tb testing.TB, curl string) *client.Response {
	tb.Helper()
	u := opCurlURLRe.FindStringSubmatch(curl)
	d := opCurlDataRe.FindStringSubmatch(curl)
	if u == nil || d == nil {
		tb.Fatalf("cannot read the printed curl command: %s", curl)
	}
	req, err := http.NewRequest(http.MethodPost, u[1], strings.NewReader(d[1]))
	if err != nil {
		tb.Fatal(err)
	}
	for _, h := range opCurlHeaderRe.FindAllStringSubmatch(curl, -1) {
		name, value, ok := strings.Cut(h[1], ":")
		if !ok {
			tb.Fatalf("bad header %q in %s", h[1], curl)
		}
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	out := &client.Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if err := json.Unmarshal(raw, &out.Envelope); err != nil {
		tb.Fatalf("curl answer is not an envelope: %v\n%s", err, raw)
	}
	return out
}

func TestServeDemo(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t, "--demo")
	ctx := context.Background()
	first := opParseDemo(t, srv.Stdout())
	if len(first) != 1 {
		t.Fatalf("serve --demo printed %d demo blocks, want 1", len(first))
	}
	d := first[0]
	if d.baseURL != srv.URL {
		t.Errorf("printed base URL %q, server is at %q", d.baseURL, srv.URL)
	}
	cliCheckKey(t, d.key)
	if !strings.Contains(d.curl, d.baseURL+"/") || !strings.Contains(d.curl, d.key) {
		t.Errorf("curl command does not use the base URL and key: %s", d.curl)
	}
	// The printed command works as printed.
	res := opRunCurl(t, d.curl)
	if res.Status != 201 || res.Code != "000000" || res.CartID == "" {
		t.Fatalf("printed curl command: HTTP %d %s", res.Status, res.Raw)
	}
	demoCart := res.CartID
	// And the printed key works with the client.
	c := srv.Client(d.key)
	res, err := c.Raw().Status(ctx, demoCart, client.StatusQuery{})
	scExpect(t, "status with the demo key", res, err, 200, "000000")

	srv.Restart()
	both := opParseDemo(t, srv.Stdout())
	if len(both) != 2 {
		t.Fatalf("after restart: %d demo blocks printed in all, want 2", len(both))
	}
	again := both[1]
	if again.key != d.key {
		t.Errorf("restart printed key %q, first start printed %q", again.key, d.key)
	}
	if again.baseURL != srv.URL {
		t.Errorf("restart printed base URL %q, server is at %q", again.baseURL, srv.URL)
	}
	// Same merchant: its cart is there and its cartId is taken.
	c = srv.Client(again.key)
	res, err = c.Raw().Status(ctx, demoCart, client.StatusQuery{})
	scExpect(t, "status of the demo cart after restart", res, err, 200, "000000")
	// The printed command works as printed on every start: a new cartId.
	res = opRunCurl(t, again.curl)
	if res.Status != 201 || res.Code != "000000" || res.CartID == demoCart {
		t.Errorf("printed curl after restart: HTTP %d %s, want 201 with a cartId other than %s", res.Status, res.Raw, demoCart)
	}
	// Starting without --demo prints no key.
	srv.Stop()
	plain := e2e.Start(t)
	if strings.Contains(plain.Stdout(), "ock_") || opAPIKeyRe.MatchString(plain.Stdout()) {
		t.Errorf("serve without --demo printed a key:\n%s", plain.Stdout())
	}
}

// opGet sends a request with an optional Request-Id and returns the
// response with its body read.
func opDo(tb testing.TB, method, url, requestID, token, body string) (*http.Response, []byte) {
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
	if requestID != "" {
		req.Header.Set("Request-Id", requestID)
	}
	if token != "" {
		req.Header.Set("Api-Access-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, raw
}

func TestOperatorEndpointsAndRequestIDs(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus")

	for _, p := range []string{"/healthz", "/readyz"} {
		resp, raw := opDo(t, "GET", srv.URL+p, "", "", "")
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: HTTP %d %s", p, resp.StatusCode, raw)
		}
	}

	// Every response carries a Request-Id, each a new one.
	calls := []struct {
		name, method, path, token, body string
		status                          int
	}{
		{"healthz", "GET", "/healthz", "", "", 200},
		{"readyz", "GET", "/readyz", "", "", 200},
		{"codes", "GET", "/codes", "", "", 200},
		{"unknown path", "GET", "/nowhere", "", "", 404},
		{"unknown path with key", "POST", "/v1/init", c.APIKey, "{}", 404},
		{"no token", "POST", "/init", "", "{}", 401},
		{"bad token", "GET", "/status/op-cart-0001", "nope", "", 401},
		{"unknown cart", "GET", "/status/op-cart-0001", c.APIKey, "", 400},
		{"bad JSON", "POST", "/init", c.APIKey, "{", 400},
		{"wrong method", "PUT", "/init", c.APIKey, "{}", 405},
		{"init", "POST", "/init", c.APIKey, `{"cartId": "op-cart-0002", "currency": "EUR", "items": [{"pegasus": {"amount": 5}}]}`, 201},
		{"status", "GET", "/status/op-cart-0002", c.APIKey, "", 200},
		{"unknown payment page", "GET", "/pay/not-a-token", "", "", 0},
	}
	seen := map[string]string{}
	for _, call := range calls {
		resp, raw := opDo(t, call.method, srv.URL+call.path, "", call.token, call.body)
		if call.status != 0 && resp.StatusCode != call.status {
			t.Errorf("%s: HTTP %d, want %d: %s", call.name, resp.StatusCode, call.status, raw)
		}
		id := resp.Header.Get("Request-Id")
		if id == "" {
			t.Errorf("%s (HTTP %d): no Request-Id header", call.name, resp.StatusCode)
			continue
		}
		if prev, dup := seen[id]; dup {
			t.Errorf("%s and %s got the same Request-Id %q", prev, call.name, id)
		}
		seen[id] = call.name
	}

	// A sane incoming Request-Id is echoed on success and failure alike.
	echoed := map[string]int{
		"e2e-op-7f3a9c01":         200, // healthz
		"E2E_op.req-0002":         401,
		"e2e-op-0003-status-miss": 400,
	}
	resp, _ := opDo(t, "GET", srv.URL+"/healthz", "e2e-op-7f3a9c01", "", "")
	opExpectEcho(t, resp, "e2e-op-7f3a9c01")
	resp, _ = opDo(t, "POST", srv.URL+"/init", "E2E_op.req-0002", "bad-token", "{")
	opExpectEcho(t, resp, "E2E_op.req-0002")
	resp, _ = opDo(t, "GET", srv.URL+"/status/op-cart-0404", "e2e-op-0003-status-miss", c.APIKey, "")
	opExpectEcho(t, resp, "e2e-op-0003-status-miss")
	// An insane one is replaced, not echoed.
	for _, bad := range []string{"has spaces in it", strings.Repeat("x", 300), "quote\"d", "<script>"} {
		resp, _ := opDo(t, "GET", srv.URL+"/healthz", bad, "", "")
		if got := resp.Header.Get("Request-Id"); got == "" || got == bad {
			t.Errorf("Request-Id %q: response header %q, want a fresh id", bad, got)
		}
	}

	// SIGTERM: the server drains and stops; afterwards the log is complete.
	srv.Stop()
	lines := opLogLines(t, srv.Logs())
	for id, status := range echoed {
		found := false
		for _, l := range lines {
			if l["request_id"] == id {
				found = true
				if st, _ := l["status"].(float64); int(st) != status && l["msg"] == "request" {
					t.Errorf("log line of %s: status %v, want %d", id, l["status"], status)
				}
			}
		}
		if !found {
			t.Errorf("server log has no line with request_id %q", id)
		}
	}
	for id := range seen {
		found := false
		for _, l := range lines {
			if l["request_id"] == id {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("server log has no line for the generated request id %q", id)
		}
	}
	var stopped bool
	for _, l := range lines {
		if l["level"] == "ERROR" {
			t.Errorf("error in server log: %v", l)
		}
		if l["msg"] == "stopped" {
			stopped = true
		}
	}
	if !stopped {
		t.Errorf("server log does not end with a clean stop:\n%s", srv.Logs())
	}
	// The server is gone.
	if _, err := http.Get(srv.URL + "/healthz"); err == nil {
		t.Error("server still answers after SIGTERM")
	}
}

func opExpectEcho(tb testing.TB, resp *http.Response, id string) {
	tb.Helper()
	if got := resp.Header.Get("Request-Id"); got != id {
		tb.Errorf("HTTP %d: Request-Id %q, want the incoming %q", resp.StatusCode, got, id)
	}
}

// opLogLines parses the server's JSON log, one object per line.
func opLogLines(tb testing.TB, logs string) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			tb.Errorf("log line is not JSON: %q", line)
			continue
		}
		out = append(out, m)
	}
	return out
}

// TestServeSIGTERMExitCode runs the binary directly to see its exit status:
// SIGTERM must end it with status 0.
func TestServeSIGTERMExitCode(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(e2e.Binary(t), append([]string{"serve", "--listen", "127.0.0.1:0"}, e2e.DatabaseArgs(t)...)...)
	cmd.Env = append(cmd.Environ(), "OMNICART_DEMO=", "OMNICART_PUBLIC_URL=")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr opSyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "OmniCart listening on "); ok {
				a, _, _ := strings.Cut(rest, " ")
				addr <- a
			}
		}
		exited <- cmd.Wait()
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-exited:
		t.Fatalf("serve exited before listening: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second): // a hang guard, not a timing assertion
		_ = cmd.Process.Kill()
		t.Fatalf("serve did not start:\n%s", stderr.String())
	}
	resp, raw := opDo(t, "GET", base+"/readyz", "", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("readyz: HTTP %d %s", resp.StatusCode, raw)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("serve exited with %v after SIGTERM:\n%s", ee, stderr.String())
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second): // a hang guard, not a timing assertion
		_ = cmd.Process.Kill()
		t.Fatalf("serve did not exit after SIGTERM:\n%s", stderr.String())
	}
}

type opSyncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *opSyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *opSyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// opSpecCodes is SPEC's code table: code, HTTP status (0 where SPEC has
// none: only listed in debug) and message.
var opSpecCodes = []struct {
	code    string
	status  int
	message string
}{
	{"000000", 200, "Success"},
	{"001001", 200, "Tag(s) [...] defined but not used"},
	{"001002", 200, "Undefined tags in item(s): [...]"},
	{"001004", 200, "Requested cart does not contain tag(s) [...]"},
	{"001005", 200, "Requested cart does not contain itemId(s) [...]"},
	{"001006", 200, "Requested cart does not contain items with enabled timer"},
	{"001007", 200, "Requested cart does not contain items with disabled timer"},
	{"001008", 200, "Timer already started, item(s): [...]"},
	{"001009", 200, "Timer already stopped or expired, item(s): [...]"},
	{"001010", 200, "Timer already paused, items [...]"},
	{"101001", 0, "Tag(s) [...] defined but not used"},
	{"101002", 0, "Undefined tags in item(s): [...]"},
	{"101004", 0, "Requested cart does not contain tag(s) [...]"},
	{"101005", 0, "Requested cart does not contain itemId(s) [...]"},
	{"101006", 0, "Requested cart does not contain items with enabled timer"},
	{"101007", 0, "Requested cart does not contain items with disabled timer"},
	{"101008", 0, "Timer already started, item(s): [...]"},
	{"101009", 0, "Timer already stopped, item(s): [...]"},
	{"101010", 0, "Timer already paused, items [...]"},
	{"111000", 401, "Authentication error"},
	{"121101", 400, "cartId cannot be empty"},
	{"121102", 400, "customerId required as there are items with enabled timer: [...]"},
	{"121103", 400, "No itemIds matching the request"},
	{"122001", 400, "{0} has invalid format"},
	{"122002", 400, "{0} has invalid format for item(s) [...]"},
	{"123000", 400, "Unknown currency"},
	{"123001", 400, "cartId does not exist"},
	{"123002", 400, "{0} has invalid value for item(s) [...]"},
	{"123003", 400, "{0} has invalid value"},
	{"124004", 400, "Requested cart does not contain tag(s) [...]"},
	{"124005", 400, "Requested cart does not contain itemId(s) [...]"},
	{"124006", 400, "Requested cart does not contain items with enabled timer"},
	{"124007", 400, "Requested cart does not contain items with disabled timer"},
	{"124101", 409, "cartId already exists"},
	{"124102", 409, "customerId {0} is linked to itemId {1} in cartId {2} with an active timer"},
	// SPEC writes this placeholder as {itemId}; it is the {0} of the scheme.
	{"124103", 409, "{0} does not exist"},
	{"124104", 400, "Cannot pause a pending timer, item(s): [...]"},
	{"124105", 400, "Cannot pause an expired timer, item(s): [...]"},
	{"124106", 400, "Cannot pause a stopped timer, item(s): [...]"},
	{"124107", 400, "Cannot start a stopped timer, item(s): [...]"},
	{"124108", 400, "Cannot start an expired timer, item(s): [...]"},
	{"124109", 400, "Cannot stop a pending timer, item(s): [...]"},
	{"124110", 400, "Cannot stop an expired timer, item(s): [...]"},
	{"124111", 400, "Modified cart amount exceeds previous state"},
	{"124112", 400, "Modified item amount exceeds previous state for item(s): [...]"},
	{"124113", 400, "Modified quantity exceeds previous state for item(s): [...]"},
	{"124114", 400, "No items in the authorized status"},
	{"124115", 400, "No items in the completed status"},
	{"131000", 405, "Not allowed to pass this method"},
	{"132000", 400, "Insufficient permissions to pass {0}"},
	{"132001", 400, "Insufficient permissions to set or modify amount settings"},
	{"132002", 400, "Insufficient permissions to set or modify timer settings"},
	{"132003", 400, "Insufficient permissions to set or modify {0}"},
	{"133000", 400, "{0} value {1} is out of permitted range, item(s): [...]"},
	{"133004", 400, "Insufficient permissions to set or modify amount settings, items: [...]"},
	{"133005", 400, "Insufficient permissions to set or modify timer settings, items: [...]"},
	{"199000", 500, "General system error"},
	{"199001", 404, "Endpoint not found"},
	// Extension codes.
	{"124190", 409, "Idempotency-Key reused with a different request"},
	{"124191", 409, "A request with this Idempotency-Key is in progress"},
	{"199002", 429, "Too many requests"},
	{"199003", 413, "Request body too large"},
}

func TestCodesEndpoint(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	resp, raw := opDo(t, "GET", srv.URL+"/codes", "", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /codes: HTTP %d %s", resp.StatusCode, raw)
	}
	var body struct {
		Data struct {
			Codes []struct {
				Code       *string `json:"code"`
				HTTPStatus *int    `json:"httpStatus"`
				Message    *string `json:"message"`
				Meaning    string  `json:"meaning"`
			} `json:"codes"`
		} `json:"data"`
		Code string `json:"code"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("GET /codes: %v\n%s", err, raw)
	}
	type entry struct {
		status  int // 0: httpStatus is null
		message string
	}
	got := map[string]entry{}
	has503 := false
	for _, c := range body.Data.Codes {
		if c.Code == nil || c.Message == nil {
			t.Errorf("/codes entry without code or message: %+v", c)
			continue
		}
		// Only the 101xxx codes, listed in the debug of failed answers, have
		// no HTTP status of their own: null.
		if (c.HTTPStatus == nil) != strings.HasPrefix(*c.Code, "101") {
			t.Errorf("/codes %s: httpStatus %v", *c.Code, c.HTTPStatus)
			continue
		}
		if c.HTTPStatus == nil {
			c.HTTPStatus = new(int)
		}
		if _, dup := got[*c.Code]; dup {
			t.Errorf("/codes lists %s twice", *c.Code)
		}
		if c.Meaning == "" {
			t.Errorf("/codes: %s has no meaning", *c.Code)
		}
		got[*c.Code] = entry{*c.HTTPStatus, *c.Message}
		if *c.HTTPStatus == 503 {
			has503 = true
		}
	}
	for _, w := range opSpecCodes {
		g, ok := got[w.code]
		if !ok {
			t.Errorf("/codes does not list %s", w.code)
			continue
		}
		if g.message != w.message {
			t.Errorf("/codes %s: message %q, want %q", w.code, g.message, w.message)
		}
		if g.status != w.status {
			t.Errorf("/codes %s: httpStatus %d, want %d", w.code, g.status, w.status)
		}
	}
	if !has503 {
		t.Error("/codes lists no code for HTTP 503 (service unavailable)")
	}
	// The table's statuses are what the API really answers with.
	_, c := srv.Merchant("pegasus")
	res, err := c.Raw().Status(context.Background(), "codes-cart-0001", client.StatusQuery{})
	scExpect(t, "status of an unknown cart", res, err, got["123001"].status, "123001")
	if res.Message != got["123001"].message {
		t.Errorf("123001 message %q, /codes says %q", res.Message, got["123001"].message)
	}
	res, err = srv.Client("nope").Raw().Status(context.Background(), "codes-cart-0001", client.StatusQuery{})
	scExpect(t, "bad key", res, err, got["111000"].status, "111000")
	res, err = c.Do(context.Background(), "GET", "/nowhere", nil)
	scExpect(t, "unknown path", res, err, got["199001"].status, "199001")
}
