package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/omnicart/omnicart/internal/e2e"
)

// pnSession is a Panel user's browser without a browser: a cookie jar and
// the session's CSRF token, over plain HTTP to the real server.
type pnSession struct {
	t    *testing.T
	srv  *e2e.Server
	http *http.Client
	csrf string
}

var pnCSRFField = regexp.MustCompile(`<input type="hidden" name="csrf" value="([^"]+)">`)

// pnSignIn signs a Panel user in through the sign-in form.
func pnSignIn(t *testing.T, srv *e2e.Server, email, password string) *pnSession {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &pnSession{t: t, srv: srv, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	_, page := s.get("/panel/signin")
	s.csrfFrom(page)
	status, page := s.post("/panel/signin", url.Values{"email": {email}, "password": {password}})
	if status != http.StatusOK || !strings.Contains(page, `aria-label="Main"`) {
		t.Fatalf("sign-in as %s answered %d:\n%s", email, status, page)
	}
	s.csrfFrom(page)
	return s
}

// csrfFrom keeps the CSRF token of a page's forms.
func (s *pnSession) csrfFrom(page string) {
	s.t.Helper()
	m := pnCSRFField.FindStringSubmatch(page)
	if m == nil {
		s.t.Fatalf("no CSRF token on the page:\n%s", page)
	}
	s.csrf = html.UnescapeString(m[1])
}

// get fetches a Panel page and returns its status and body.
func (s *pnSession) get(path string) (int, string) {
	s.t.Helper()
	res, err := s.http.Get(s.srv.URL + path)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	return s.read(res)
}

// post sends a form with the session's CSRF token (following the
// redirect after it).
func (s *pnSession) post(path string, form url.Values) (int, string) {
	s.t.Helper()
	form.Set("csrf", s.csrf)
	res, err := s.http.PostForm(s.srv.URL+path, form)
	if err != nil {
		s.t.Fatalf("POST %s: %v", path, err)
	}
	return s.read(res)
}

func (s *pnSession) read(res *http.Response) (int, string) {
	s.t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatalf("%s: %v", res.Request.URL, err)
	}
	return res.StatusCode, string(b)
}

// pnMerchantKey creates a merchant with the CLI and returns its id and
// API key.
func pnMerchantKey(t *testing.T, srv *e2e.Server, items string) (merchantID, key string) {
	t.Helper()
	out := srv.Admin("merchant", "create", "--name", "Key Shop", "--items", items, "--json")
	var res struct {
		MerchantID string `json:"merchantId"`
		APIKey     string `json:"apiKey"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.APIKey == "" {
		t.Fatalf("merchant create printed %q: %v", out, err)
	}
	return res.MerchantID, res.APIKey
}

// TestPanelTimelineNamesTheAPIKey: a capture made through the Merchant API
// shows on the cart page's timeline with the prefix of the key that made
// it (the one the keys page lists), the customer's payment as the
// customer's; the callback payload the receiver gets carries no actor.
func TestPanelTimelineNamesTheAPIKey(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t, "--allow-private-callbacks", "--callback-retry-schedule", cbSchedule)
	m, key := pnMerchantKey(t, srv, "pegasus,naga")
	c := srv.Client(key)
	pw := pnUser(t, srv, m, "owner@keys.example", "owner")
	hooks := cbNewReceiver(t)
	_, secret := cbAddEndpoint(t, srv, m, hooks.URL())
	hooks.setSecrets(secret)
	const cartID = "timeline-key-0001"
	cbInitAndPay(t, c, `{"cartId":"`+cartID+`","currency":"EUR","items":[{"pegasus":{"amount":250}},{"naga":{"amount":1100}}]}`)
	res, err := c.Raw().Capture(context.Background(), map[string]any{"cartId": cartID, "filterBox": map[string]any{"itemIds": []string{"naga"}}})
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("capture: %v %s", err, cbRaw(res))
	}
	cbWaitUntil(t, "the capture's callback", hooks, func() bool { return pnEventWith(hooks, cartID, "naga:authorized>captured") != "" })
	pnNoFailures(t, hooks)
	hooks.mu.Lock()
	for _, e := range hooks.events {
		if strings.Contains(string(e.raw), "actor") || strings.Contains(string(e.raw), key[:16]) {
			t.Errorf("a callback payload carries the actor: %s", e.raw)
		}
	}
	hooks.mu.Unlock()

	s := pnSignIn(t, srv, "owner@keys.example", pw)
	prefix := key[:16]
	_, keys := s.get("/panel/keys")
	if !strings.Contains(keys, "<code>"+prefix+"…</code>") {
		t.Fatalf("the keys page does not list %s…:\n%s", prefix, keys)
	}
	_, page := s.get("/panel/carts/" + cartID)
	timeline := regexp.MustCompile(`(?s)<ol class="timeline">(.*?)</ol>`).FindStringSubmatch(page)
	if timeline == nil {
		t.Fatalf("no timeline on the cart page:\n%s", page)
	}
	var capture, payment string
	for _, li := range strings.Split(timeline[1], "</li>") {
		switch {
		case strings.Contains(li, "naga: authorized → captured"):
			capture = li
		case strings.Contains(li, "pegasus: initiated → authorized"):
			payment = li
		}
	}
	if !strings.Contains(capture, "by Merchant API request with key "+prefix+"…") {
		t.Errorf("the capture is shown as %q, want it by key %s…", capture, prefix)
	}
	if !strings.Contains(payment, "by Customer: payment authorized") {
		t.Errorf("the payment is shown as %q", payment)
	}
}

// TestPanelKeysShowWhoCreatedThem: a key created on the Panel's keys page
// is listed, there and by `omnicart key list` (table and --json), as
// created by the Panel user; the merchant's first key, made by `merchant
// create`, as created by the operator.
func TestPanelKeysShowWhoCreatedThem(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	m, first := pnMerchantKey(t, srv, "pegasus")
	pw := pnUser(t, srv, m, "keeper@keys.example", "operator")
	s := pnSignIn(t, srv, "keeper@keys.example", pw)
	status, page := s.post("/panel/keys", url.Values{"methods": {"status", "capture"}})
	nk := regexp.MustCompile(`<input id="key" readonly value="([^"]*)">`).FindStringSubmatch(page)
	if status != http.StatusOK || nk == nil {
		t.Fatalf("creating a key answered %d:\n%s", status, page)
	}
	created := nk[1][:16]

	_, page = s.get("/panel/keys")
	for prefix, by := range map[string]string{first[:16]: "operator (CLI)", created: "keeper@keys.example"} {
		row := regexp.MustCompile(`<code>` + regexp.QuoteMeta(prefix) + `…</code></td><td>[^<]*</td><td>[^<]*</td><td>` + regexp.QuoteMeta(by) + `</td>`)
		if !row.MatchString(page) {
			t.Errorf("the keys page does not show %s… created by %s:\n%s", prefix, by, page)
		}
	}
	var keys []struct {
		Prefix    string `json:"prefix"`
		CreatedBy string `json:"createdBy"`
	}
	if err := json.Unmarshal([]byte(srv.Admin("key", "list", "--merchant", m, "--json")), &keys); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, k := range keys {
		got[k.Prefix] = k.CreatedBy
	}
	if got[first[:16]] != "operator" || got[created] != "panel:keeper@keys.example" || len(got) != 2 {
		t.Errorf("key list --json: %+v", keys)
	}
	if table := srv.Admin("key", "list", "--merchant", m); !strings.Contains(table, "Panel user keeper@keys.example") || !strings.Contains(table, "operator (CLI)") {
		t.Errorf("key list:\n%s", table)
	}
}

// postFile sends a multipart form with the session's CSRF token and a file
// field "file" holding content.
func (s *pnSession) postFile(path, content string) (int, string) {
	s.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("csrf", s.csrf)
	fw, err := mw.CreateFormFile("file", "items.csv")
	if err != nil {
		s.t.Fatal(err)
	}
	_, _ = fw.Write([]byte(content))
	if err := mw.Close(); err != nil {
		s.t.Fatal(err)
	}
	res, err := s.http.Post(s.srv.URL+path, mw.FormDataContentType(), &b)
	if err != nil {
		s.t.Fatalf("POST %s: %v", path, err)
	}
	return s.read(res)
}

// TestPanelCatalogImportSizes: through the real server, a CSV file larger
// than the Panel's other forms (64 KiB) is previewed and imported, and one
// over the import's 1 MiB is answered 413 on the catalog page with what to
// do, not as a form without its security token.
func TestPanelCatalogImportSizes(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	m, _ := pnMerchantKey(t, srv, "pegasus")
	pw := pnUser(t, srv, m, "importer@shop.example", "operator")
	s := pnSignIn(t, srv, "importer@shop.example", pw)
	rows := func(n, pad int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "item-%05d,%s\n", i, strings.Repeat("x", pad))
		}
		return b.String()
	}
	status, page := s.postFile("/panel/catalog/import", rows(1500, 100)) // some 170 KB
	if status != http.StatusOK || !strings.Contains(page, "<strong>1500</strong> to add") {
		t.Fatalf("preview of a 170 KB file answered %d:\n%.2000s", status, page)
	}
	digest := regexp.MustCompile(`name="digest" value="([^"]+)"`).FindStringSubmatch(page)
	changes := regexp.MustCompile(`name="csv" value="([^"]*)"`).FindStringSubmatch(page)
	if digest == nil || changes == nil {
		t.Fatalf("no confirmation form:\n%.2000s", page)
	}
	status, page = s.post("/panel/catalog/import/apply", url.Values{"csv": {html.UnescapeString(changes[1])}, "digest": {digest[1]}})
	if status != http.StatusOK || !strings.Contains(page, "Imported: 1500 added, 0 renamed.") {
		t.Fatalf("applying answered %d:\n%.2000s", status, page)
	}
	status, page = s.postFile("/panel/catalog/import", rows(1900, 560)) // over 1 MiB
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(page, "Not imported: the form (the file and any pasted text) is larger than 1 MiB") ||
		strings.Contains(page, "Form refused") {
		t.Fatalf("a file over 1 MiB answered %d:\n%.2000s", status, page)
	}
	var items []struct {
		ItemID string `json:"itemId"`
	}
	if err := json.Unmarshal([]byte(srv.Admin("items", "list", "--merchant", m, "--json")), &items); err != nil {
		t.Fatal(err)
	}
	if len(items) != 1501 {
		t.Errorf("the catalog has %d items, want 1501 (pegasus and the 1500 imported)", len(items))
	}
}
