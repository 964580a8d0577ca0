package e2e_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/omnicart/omnicart/internal/e2e"
)

// pnBrowser is headless Chromium on one server's Panel; every step is
// bounded by pnStep and fails the test it is given.
type pnBrowser struct {
	ctx context.Context
	srv *e2e.Server
}

func (b pnBrowser) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, pnStep)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

func (b pnBrowser) text(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, pnStep)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b pnBrowser) value(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, pnStep)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("value of %s: %v", sel, err)
	}
	return s
}

// js evaluates an expression on the page as it is and decodes its value
// into v.
func (b pnBrowser) js(t *testing.T, expr string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, pnStep)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s gave %s: %v", expr, raw, err)
	}
}

// signIn signs in through the sign-in form and waits for the overview.
func (b pnBrowser) signIn(t *testing.T, email, password string) {
	t.Helper()
	b.do(t, chromedp.Navigate(b.srv.URL+"/panel/"), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), password+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Main"]`)))
	if h := b.text(t, "h1"); h != "Overview" {
		t.Fatalf("after sign-in: %q", h)
	}
}

// pnCatalog is the merchant's catalog as `omnicart items list` prints
// it: display name by itemId.
func pnCatalog(t *testing.T, srv *e2e.Server, merchantID string) map[string]string {
	t.Helper()
	var items []struct {
		ItemID      string `json:"itemId"`
		DisplayName string `json:"displayName"`
	}
	if err := json.Unmarshal([]byte(srv.Admin("items", "list", "--merchant", merchantID, "--json")), &items); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, it := range items {
		out[it.ItemID] = it.DisplayName
	}
	return out
}

// pnFacts reads a definition list of the page (dt → dd text).
func (b pnBrowser) facts(t *testing.T, section string) map[string]string {
	t.Helper()
	var m map[string]string
	b.js(t, `Object.fromEntries([...document.querySelectorAll('section[aria-labelledby="`+section+`"] dt')].map(dt =>
		[dt.textContent, dt.nextElementSibling.textContent]))`, &m)
	return m
}

// TestPanelCatalogAndSettingsInBrowser drives the Catalog and Settings
// pages in headless Chromium against the real server:
//   - an item added with the add form, then renamed through its Rename
//     link (the form comes filled with its name), each shown on the page
//     and kept in the catalog (`omnicart items list`);
//   - a CSV file chosen in the import form: the preview says what would be
//     added, renamed and left unchanged, and changes nothing until it is
//     confirmed; confirming imports it;
//   - the settings shown read-only (the operator's values, no form to
//     change them), the test clock advanced by three days (the page and
//     the API's clock both move), and the sandbox outbox listing a cart's
//     payment link with the link the API gave.
func TestPanelCatalogAndSettingsInBrowser(t *testing.T) {
	t.Parallel()
	b := pnBrowser{ctx: bwBrowser(t), srv: e2e.Start(t)}
	srv := b.srv
	m, c := srv.Merchant("pegasus")
	pw := pnUser(t, srv, m, "owner@pages.example", "owner")
	// A payment link by email: test mode keeps it in the sandbox outbox.
	payURL := dlInit(t, c, "settings-outbox-1", "email", "ada@customer.example")
	dlWaitState(t, c, "settings-outbox-1", "sent", func(d dlDelivery) bool { return d.State == "sent" })
	b.signIn(t, "owner@pages.example", pw)

	t.Run("catalog: add an item, then rename it", func(t *testing.T) {
		b.do(t, chromedp.Navigate(srv.URL+"/panel/catalog"), chromedp.WaitVisible(chromedp.ID("add-id")),
			chromedp.SendKeys(chromedp.ID("add-id"), "griffin"), chromedp.SendKeys(chromedp.ID("add-name"), "Griffin"),
			chromedp.Click(chromedp.CSS(`form[action="/panel/catalog/add"] button`)), chromedp.WaitVisible(chromedp.CSS("[role=status]")))
		if n := b.text(t, "[role=status]"); !strings.Contains(n, "Added griffin to the catalog.") {
			t.Errorf("notice %q", n)
		}
		if found := b.text(t, `section[aria-labelledby="found"]`); !strings.Contains(found, "griffin") || !strings.Contains(found, "Griffin") {
			t.Errorf("the search result after adding: %q", found)
		}
		if got := pnCatalog(t, srv, m)["griffin"]; got != "Griffin" {
			t.Fatalf("griffin is named %q in the catalog", got)
		}
		b.do(t, chromedp.Click(chromedp.CSS(`a[href="/panel/catalog?rename=griffin#rename"]`)), chromedp.WaitVisible(chromedp.ID("rename-name")))
		if id, name := b.value(t, "#rename-id"), b.value(t, "#rename-name"); id != "griffin" || name != "Griffin" {
			t.Fatalf("the rename form comes with %q %q", id, name)
		}
		b.do(t, chromedp.Clear(chromedp.ID("rename-name")), chromedp.SendKeys(chromedp.ID("rename-name"), "Royal Griffin"),
			chromedp.Click(chromedp.CSS(`form[action="/panel/catalog/rename"] button`)), chromedp.WaitVisible(chromedp.CSS("[role=status]")))
		if n := b.text(t, "[role=status]"); !strings.Contains(n, "Renamed griffin.") {
			t.Errorf("notice %q", n)
		}
		if found := b.text(t, `section[aria-labelledby="found"]`); !strings.Contains(found, "Royal Griffin") {
			t.Errorf("the search result after renaming: %q", found)
		}
		if got := pnCatalog(t, srv, m)["griffin"]; got != "Royal Griffin" {
			t.Errorf("griffin is named %q in the catalog, want Royal Griffin", got)
		}
	})

	t.Run("catalog: import a CSV file after its preview", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "items.csv")
		csv := "itemId,displayName\nhydra,Hydra\ngriffin,Griffin Rex\npegasus\n"
		if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
			t.Fatal(err)
		}
		before := pnCatalog(t, srv, m)
		b.do(t, chromedp.Navigate(srv.URL+"/panel/catalog"), chromedp.WaitVisible(chromedp.ID("import-file")),
			chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{file}),
			chromedp.Click(chromedp.CSS(`form[action="/panel/catalog/import"] button`)), chromedp.WaitVisible(chromedp.ID("summary")))
		summary := b.text(t, `section[aria-labelledby="summary"]`)
		if !strings.Contains(summary, "1 to add, 1 to rename, 1 unchanged") {
			t.Errorf("preview summary %q", summary)
		}
		if added := b.text(t, `section[aria-labelledby="added"]`); !strings.Contains(added, "hydra") || !strings.Contains(added, "Hydra") {
			t.Errorf("preview of what is added: %q", added)
		}
		if renamed := b.text(t, `section[aria-labelledby="renamed"]`); !strings.Contains(renamed, "Royal Griffin") || !strings.Contains(renamed, "Griffin Rex") {
			t.Errorf("preview of what is renamed: %q", renamed)
		}
		// The preview changed nothing.
		if now := pnCatalog(t, srv, m); len(now) != len(before) || now["griffin"] != "Royal Griffin" {
			t.Fatalf("the catalog after the preview: %v, before %v", now, before)
		}
		button := `form[action="/panel/catalog/import/apply"] button`
		if label := b.text(t, button); label != "Apply: add 1, rename 1" {
			t.Errorf("apply button %q", label)
		}
		b.do(t, chromedp.Click(chromedp.CSS(button)), chromedp.WaitVisible(chromedp.CSS("[role=status]")))
		if n := b.text(t, "[role=status]"); !strings.Contains(n, "Imported: 1 added, 1 renamed.") {
			t.Errorf("notice %q", n)
		}
		got := pnCatalog(t, srv, m)
		if got["hydra"] != "Hydra" || got["griffin"] != "Griffin Rex" || got["pegasus"] != before["pegasus"] || len(got) != len(before)+1 {
			t.Errorf("the catalog after the import: %v", got)
		}
		if items := b.text(t, `section[aria-labelledby="items"]`); !strings.Contains(items, "Hydra") || !strings.Contains(items, "Griffin Rex") {
			t.Errorf("the items list after the import: %q", items)
		}
	})

	t.Run("settings: read-only values, the test clock, the sandbox outbox", func(t *testing.T) {
		b.do(t, chromedp.Navigate(srv.URL+"/panel/settings"), chromedp.WaitVisible(chromedp.ID("clock")))
		type merchantSettings struct {
			ID             string `json:"merchantId"`
			CartExpirySecs int64  `json:"cartExpirySecs"`
			MaxDeclines    int    `json:"maxDeclines"`
		}
		var ms []merchantSettings
		if err := json.Unmarshal([]byte(srv.Admin("merchant", "list", "--json")), &ms); err != nil {
			t.Fatal(err)
		}
		var want *merchantSettings
		for i := range ms {
			if ms[i].ID == m {
				want = &ms[i]
			}
		}
		if want == nil || want.CartExpirySecs == 0 || want.MaxDeclines == 0 {
			t.Fatalf("merchant list has %+v for %s", want, m)
		}
		if f := b.facts(t, "merchant"); f["merchantId"] != m || !strings.HasPrefix(f["Mode"], "test") {
			t.Errorf("merchant facts %q", f)
		}
		settings := b.facts(t, "settings")
		if !strings.Contains(settings["Cart expiry"], "("+strconv.FormatInt(want.CartExpirySecs, 10)+" s)") ||
			!strings.HasPrefix(settings["Maximum declines"], strconv.Itoa(want.MaxDeclines)) {
			t.Errorf("settings shown %q; the operator's are cart expiry %d s, max declines %d", settings, want.CartExpirySecs, want.MaxDeclines)
		}
		if p := b.facts(t, "privileges"); len(p) != 5 {
			t.Errorf("privileges shown %q", p)
		}
		// Read-only: the only forms in the page are the clock's and the
		// sign-out.
		var forms []string
		b.js(t, `[...document.querySelectorAll('form')].map(f => f.getAttribute('action'))`, &forms)
		if strings.Join(forms, " ") != "/panel/signout /panel/settings/clock" {
			t.Errorf("forms on the settings page: %q", forms)
		}
		if main := b.text(t, "main"); !strings.Contains(main, "read-only in the Panel") || !strings.Contains(main, "omnicart merchant update --merchant "+m) {
			t.Errorf("the page does not say the settings are read-only: %q", main)
		}

		clk := b.facts(t, "clock")
		if clk["Offset"] != "none: the clock shows real time" {
			t.Fatalf("clock before advancing %q", clk)
		}
		before := pnStamp(t, clk["Merchant time"])
		b.do(t, chromedp.SetValue(chromedp.ID("clock-unit"), "days"), chromedp.Clear(chromedp.ID("clock-amount")),
			chromedp.SendKeys(chromedp.ID("clock-amount"), "3"),
			chromedp.Click(chromedp.CSS(`form[action="/panel/settings/clock"] button`)), chromedp.WaitVisible(chromedp.CSS("[role=status]")))
		if n := b.text(t, "[role=status]"); !strings.Contains(n, "The test clock moved forward by 3 days") {
			t.Errorf("notice %q", n)
		}
		clk = b.facts(t, "clock")
		after := pnStamp(t, clk["Merchant time"])
		if moved := after.Sub(before); moved < 72*time.Hour || moved > 72*time.Hour+time.Minute || clk["Offset"] != "3 days ahead of real time" {
			t.Errorf("after advancing 3 days the clock moved %v: %q", moved, clk)
		}
		api, err := c.AdvanceClock(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if d := api.Now.Sub(after); d < 0 || d > time.Minute {
			t.Errorf("the API's clock says %v, the page %v", api.Now, after)
		}

		var outbox []struct{ Text, Link string }
		b.js(t, `[...document.querySelectorAll('section[aria-labelledby="outbox"] tbody tr')].map(r =>
			({Text: r.textContent, Link: (r.querySelector('a[rel=noreferrer]') || {}).href || ''}))`, &outbox)
		if len(outbox) != 1 {
			t.Fatalf("the sandbox outbox lists %d messages: %+v", len(outbox), outbox)
		}
		for _, w := range []string{"email", "ada@customer.example", "settings-outbox-1", "13.50 EUR"} {
			if !strings.Contains(outbox[0].Text, w) {
				t.Errorf("the outbox row lacks %q: %q", w, outbox[0].Text)
			}
		}
		if outbox[0].Link != payURL {
			t.Errorf("the outbox links to %q, the API gave %q", outbox[0].Link, payURL)
		}
	})
}

// pnStamp parses a time as the settings page writes it.
func pnStamp(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse("2006-01-02 15:04:05 UTC", s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return at
}
