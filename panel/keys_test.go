package panel

import (
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
)

// TestKeysPageShowsLastUse: the keys page has a Last used column, "never"
// until the key authenticates an API request, then the time it did (UTC),
// recorded asynchronously.
func TestKeysPageShowsLastUse(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleViewer)
	res := tp.get("/panel/keys")
	tp.wantStatus(res, 200)
	tp.wantBody(res, `<th scope="col">Last used</th>`, "<td>never</td>")

	used := tp.clock.Now()
	_, k, err := tp.service.Authenticate(t.Context(), tp.apiKey)
	if err != nil {
		t.Fatal(err)
	}
	tp.service.KeyUsed(k)
	// The key's row shows the time.
	row := regexp.MustCompile(`<code>` + regexp.QuoteMeta(k.Prefix) + `…</code></td><td>all</td><td>[^<]*</td><td>[^<]*</td><td>` +
		regexp.QuoteMeta(used.UTC().Format("2006-01-02 15:04 UTC")) + `</td>`)
	want := row.String()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res = tp.get("/panel/keys")
		if row.MatchString(res.body) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("keys page lacks the last use %q:\n%s", want, res.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	tp.wantNoBody(res, "<td>never</td>")
}

// TestNewKeyCopyButton: the key shown once stays in a read-only field (it
// can be selected and copied without JavaScript), and the copy button's
// script is the one script the Content-Security-Policy allows, by its
// hash (no 'unsafe-inline').
func TestNewKeyCopyButton(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	res := tp.get("/panel/keys")
	if strings.Contains(res.body, "<script") {
		t.Errorf("keys page without a new key has a script:\n%s", res.body)
	}
	res = tp.post("/panel/keys", url.Values{"methods": {"status"}})
	tp.wantStatus(res, 200)
	m := regexp.MustCompile(`<input id="key" readonly value="([^"]*)">`).FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("no read-only key field:\n%s", res.body)
	}
	key := m[1]
	if !strings.HasPrefix(key, "ock_") {
		t.Fatalf("new key field = %q:\n%s", key, res.body)
	}
	tp.wantBody(res, `id="copy-status"`, `<label for="key">`)
	scripts := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(res.body, -1)
	if len(scripts) != 1 {
		t.Fatalf("want one script, got %d:\n%s", len(scripts), res.body)
	}
	sum := sha256.Sum256([]byte(scripts[0][1]))
	csp := res.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"';") {
		t.Errorf("CSP %q does not allow the page's script by its hash", csp)
	}
	if strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
}

// TestKeysPageShowsWhoCreatedThem: the keys page names who created each
// key: the merchant's first key the operator (created with the merchant by
// the CLI), a key created in the Panel its user.
func TestKeysPageShowsWhoCreatedThem(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	res := tp.get("/panel/keys")
	tp.wantStatus(res, 200)
	tp.wantBody(res, `<th scope="col">Created by</th>`, "<td>operator (CLI)</td>")
	res = tp.post("/panel/keys", url.Values{"methods": {"status"}})
	tp.wantStatus(res, 200)
	m := regexp.MustCompile(`<input id="key" readonly value="([^"]*)">`).FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("no new key:\n%s", res.body)
	}
	row := regexp.MustCompile(`<code>` + regexp.QuoteMeta(m[1][:16]) + `…</code></td><td>status</td><td>[^<]*</td><td>` +
		regexp.QuoteMeta(tp.user.Email) + `</td>`)
	if !row.MatchString(res.body) {
		t.Errorf("the new key's row does not name %s as its creator:\n%s", tp.user.Email, res.body)
	}
	if !row.MatchString(tp.get("/panel/keys").body) {
		t.Errorf("the keys page does not name %s as the new key's creator", tp.user.Email)
	}
}
