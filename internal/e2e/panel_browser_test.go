package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// pnUser creates a Panel user with the CLI and returns its password.
func pnUser(t *testing.T, srv *e2e.Server, merchant, email, role string) string {
	t.Helper()
	out := srv.Admin("user", "create", "--merchant", merchant, "--email", email, "--role", role, "--json")
	var u struct {
		Email    string `json:"email"`
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(out), &u); err != nil || u.Password == "" || u.Role != role {
		t.Fatalf("user create printed %q: %v", out, err)
	}
	return u.Password
}

// pnItemStatus is an item's paymentStatus as the API reports it.
func pnItemStatus(t *testing.T, c *client.Client, cartID, item string) string {
	t.Helper()
	res, err := c.Raw().Status(context.Background(), cartID, client.StatusQuery{})
	if err != nil || res.Status != 200 {
		t.Fatalf("status %s: %v", cartID, err)
	}
	var data struct {
		Items []map[string]struct {
			PaymentStatus string `json:"paymentStatus"`
		} `json:"items"`
	}
	if err := res.Decode(&data); err != nil {
		t.Fatal(err)
	}
	for _, it := range data.Items {
		if v, ok := it[item]; ok {
			return v.PaymentStatus
		}
	}
	t.Fatalf("cart %s has no item %s", cartID, item)
	return ""
}

// TestPanelInBrowser drives the Merchant Panel in headless Chromium against
// the real server: sign-in and lockout, search, capture of one item through
// a confirmation, API keys created and revoked (the API then refuses the
// key), a viewer who cannot act, a forged form refused, and another
// merchant's cart not found by URL.
func TestPanelInBrowser(t *testing.T) {
	t.Parallel()
	ctx := bwBrowser(t)
	srv := e2e.Start(t)
	m1, c1 := srv.Merchant("pegasus,naga")
	_, c2 := srv.Merchant("pegasus")
	ownerPW := pnUser(t, srv, m1, "owner@shop.example", "owner")
	viewerPW := pnUser(t, srv, m1, "viewer@shop.example", "viewer")
	lockedPW := pnUser(t, srv, m1, "locked@shop.example", "operator")

	const cartID, otherCart = "panel-cart-0001", "panel-other-0001"
	cbInitAndPay(t, c1, `{"cartId":"`+cartID+`","customerId":"cus-panel-7","currency":"EUR","items":[{"pegasus":{"amount":250}},{"naga":{"amount":1100}}]}`)
	ppInit(t, c2, `{"cartId":"`+otherCart+`","currency":"EUR","items":[{"pegasus":{"amount":999}}]}`)

	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	do := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatal(err)
		}
	}
	signIn := func(email, password string) {
		t.Helper()
		do(chromedp.Navigate(srv.URL+"/panel/"), chromedp.WaitVisible(chromedp.ID("email")),
			chromedp.Clear(chromedp.ID("email")), chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), password+kb.Enter),
			// The answer has arrived when the page shows an error (the
			// sign-in form again) or the signed-in navigation; the fresh
			// sign-in page has neither, so its own heading cannot satisfy
			// the wait.
			chromedp.WaitVisible(chromedp.CSS(`[role=alert], nav[aria-label="Main"]`)),
			chromedp.WaitVisible(chromedp.CSS("h1")))
	}
	h1 := func() string { return text("h1") }

	t.Run("wrong password ten times locks the account", func(t *testing.T) {
		for i := 1; i <= 10; i++ {
			signIn("locked@shop.example", "not-the-password")
			alert := text("[role=alert]")
			if i < 10 && !strings.Contains(alert, "Wrong email or password") {
				t.Fatalf("attempt %d: %q", i, alert)
			}
			if i == 10 && !strings.Contains(alert, "This account is locked: 10 failed sign-ins") {
				t.Fatalf("attempt 10: %q", alert)
			}
		}
		signIn("locked@shop.example", lockedPW) // the right password, while locked
		if alert := text("[role=alert]"); !strings.Contains(alert, "locked") {
			t.Fatalf("right password while locked: %q", alert)
		}
	})

	t.Run("owner finds a cart by customerId and captures one item", func(t *testing.T) {
		signIn("owner@shop.example", ownerPW)
		if got := h1(); got != "Overview" {
			t.Fatalf("after sign-in: %q", got)
		}
		if money := text("main"); !strings.Contains(money, "13.50 EUR") {
			t.Errorf("overview does not show the held 13.50 EUR: %q", money)
		}
		do(chromedp.Navigate(srv.URL+"/panel/carts"), chromedp.WaitVisible(chromedp.ID("q")),
			chromedp.SendKeys(chromedp.ID("q"), "cus-panel-7"+kb.Enter),
			chromedp.WaitVisible(chromedp.CSS("table.list")))
		if rows := text("table.list tbody"); !strings.Contains(rows, cartID) || strings.Contains(rows, otherCart) {
			t.Fatalf("search result: %q", rows)
		}
		do(chromedp.Click(chromedp.CSS(`table.list a[href="/panel/carts/`+cartID+`"]`)), chromedp.WaitVisible(chromedp.ID("items")))
		do(chromedp.Click(chromedp.CSS(`a[href*="action=capture&item=pegasus"]`)), chromedp.WaitVisible(chromedp.CSS(`form[action$="/act"] button`)))
		if c := text("main"); !strings.Contains(c, "Capture 2.50 EUR") || !strings.Contains(c, "pegasus") || strings.Contains(c, "naga") {
			t.Fatalf("confirmation says %q", c)
		}
		do(chromedp.Click(chromedp.CSS(`form[action$="/act"] button`)), chromedp.WaitVisible(chromedp.CSS("[role=status]")))
		want := pnItemStatus(t, c1, cartID, "pegasus")
		if want == "authorized" {
			t.Fatalf("the API still reports pegasus authorized")
		}
		if got := text(`tr:has(th[scope=row]) td[data-status]`); !strings.HasPrefix(got, want) {
			t.Errorf("pegasus shown as %q, API says %q", got, want)
		}
		if naga := pnItemStatus(t, c1, cartID, "naga"); naga != "authorized" {
			t.Errorf("naga is %s, want authorized", naga)
		}
		// Capturing it again is refused with the API's code and message.
		do(chromedp.Navigate(srv.URL+"/panel/carts/"+cartID+"/confirm?action=capture&item=pegasus"), chromedp.WaitVisible(chromedp.CSS(`form[action$="/act"] button`)),
			chromedp.Click(chromedp.CSS(`form[action$="/act"] button`)), chromedp.WaitVisible(chromedp.CSS("[role=alert]")))
		if alert := text("[role=alert]"); !strings.Contains(alert, "124114") || !strings.Contains(alert, "No items in the authorized status") {
			t.Errorf("refusal shown as %q", alert)
		}
	})

	t.Run("another merchant's cart is not found by URL", func(t *testing.T) {
		do(chromedp.Navigate(srv.URL+"/panel/carts/"+otherCart), chromedp.WaitVisible(chromedp.CSS("h1")))
		if got := h1(); got != "Cart not found" {
			t.Errorf("other merchant's cart: %q", got)
		}
	})

	t.Run("a key is created, shown once, and revoked", func(t *testing.T) {
		do(chromedp.Navigate(srv.URL+"/panel/keys"), chromedp.WaitVisible(chromedp.CSS(`form[action="/panel/keys"] button`)),
			chromedp.Click(chromedp.CSS(`form[action="/panel/keys"] button`)), chromedp.WaitVisible(chromedp.ID("key")))
		key, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("key")))
		if err != nil || !strings.HasPrefix(key, "ock_test_") {
			t.Fatalf("new key %q: %v", key, err)
		}
		kc := srv.Client(key)
		if res, err := kc.Raw().Status(context.Background(), cartID, client.StatusQuery{}); err != nil || res.Status != 200 {
			t.Fatalf("new key: %v %+v", err, res)
		}
		do(chromedp.Click(chromedp.CSS(`a[href="/panel/keys/revoke?prefix=`+key[:16]+`"]`)), chromedp.WaitVisible(chromedp.CSS("button.danger")),
			chromedp.Click(chromedp.CSS("button.danger")), chromedp.WaitVisible(chromedp.CSS("[role=status]")))
		res, err := kc.Raw().Status(context.Background(), cartID, client.StatusQuery{})
		if err != nil || res.Status != 401 || res.Code != "111000" {
			t.Errorf("revoked key: %v status %d code %s", err, res.Status, res.Code)
		}
	})

	t.Run("a forged form without the CSRF token is refused", func(t *testing.T) {
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<!doctype html><title>Win a prize</title><form method="post" action="`+srv.URL+`/panel/carts/`+cartID+`/act">`+
				`<input type="hidden" name="action" value="cancel"><input type="hidden" name="item" value="naga"><button id="go">Claim</button></form>`)
		}))
		defer evil.Close()
		do(chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.ID("go")), chromedp.Click(chromedp.ID("go")),
			chromedp.WaitVisible(chromedp.CSS("h1")))
		if got := h1(); got != "Form refused" && got != "Signed out" {
			t.Errorf("forged form answered %q", got)
		}
		if naga := pnItemStatus(t, c1, cartID, "naga"); naga != "authorized" {
			t.Errorf("after the forged form naga is %s", naga)
		}
	})

	t.Run("the owner reads the audit log, then signs out", func(t *testing.T) {
		do(chromedp.Navigate(srv.URL+"/panel/audit"), chromedp.WaitVisible(chromedp.CSS("table.list")))
		log := text("table.list")
		for _, w := range []string{"signin.failed", "owner@shop.example", "cart.capture", "cart.capture.refused", "key.create", "key.revoke"} {
			if !strings.Contains(log, w) {
				t.Errorf("audit log lacks %q: %s", w, log)
			}
		}
		do(chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.ID("email")))
		do(chromedp.Navigate(srv.URL+"/panel/carts"), chromedp.WaitVisible(chromedp.ID("email")))
	})

	t.Run("a viewer cannot act", func(t *testing.T) {
		signIn("viewer@shop.example", viewerPW)
		do(chromedp.Navigate(srv.URL+"/panel/carts/"+cartID), chromedp.WaitVisible(chromedp.ID("items")))
		if page := text("main"); strings.Contains(page, "Capture all") || strings.Contains(page, "Cancel") || !strings.Contains(page, "not act on them") {
			t.Errorf("viewer's cart page: %q", page)
		}
		do(chromedp.Navigate(srv.URL+"/panel/carts/"+cartID+"/confirm?action=cancel&item=naga"), chromedp.WaitVisible(chromedp.CSS("h1")))
		if got := h1(); got != "Not allowed" {
			t.Errorf("viewer's confirmation page: %q", got)
		}
		do(chromedp.Navigate(srv.URL+"/panel/audit"), chromedp.WaitVisible(chromedp.CSS("h1")))
		if got := h1(); got != "Not allowed" {
			t.Errorf("viewer's audit page: %q", got)
		}
	})
}

// TestCartsListAPI pages GET /carts with its filters.
func TestCartsListAPI(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	var created struct {
		APIKey string `json:"apiKey"`
	}
	if err := json.Unmarshal([]byte(srv.Admin("merchant", "create", "--name", "List Shop", "--items", "pegasus", "--json")), &created); err != nil {
		t.Fatal(err)
	}
	key := created.APIKey
	c := srv.Client(key)
	_, other := srv.Merchant("pegasus")
	for i, id := range []string{"list-cart-0001", "list-cart-0002", "list-cart-0003"} {
		cur := "EUR"
		if i == 1 {
			cur = "USD"
		}
		ppInit(t, c, `{"cartId":"`+id+`","customerId":"cus-list","currency":"`+cur+`","items":[{"pegasus":{"amount":250}}]}`)
	}
	ppInit(t, other, `{"cartId":"list-cart-9999","customerId":"cus-list","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`)
	get := func(query string) (int, string, []string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/carts"+query, nil)
		req.Header.Set("Api-Access-Token", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Code string `json:"code"`
			Data struct {
				Carts []struct {
					CartID string `json:"cartId"`
				} `json:"carts"`
				Next string `json:"next"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range body.Data.Carts {
			ids = append(ids, c.CartID)
		}
		return resp.StatusCode, body.Code, ids, body.Data.Next
	}
	_, _, ids, next := get("?limit=2")
	if strings.Join(ids, ",") != "list-cart-0003,list-cart-0002" || next == "" {
		t.Fatalf("page 1: %v next %q", ids, next)
	}
	if _, _, ids, next = get("?limit=2&after=" + next); strings.Join(ids, ",") != "list-cart-0001" || next != "" {
		t.Errorf("page 2: %v next %q", ids, next)
	}
	if _, _, ids, _ = get("?currency=USD"); strings.Join(ids, ",") != "list-cart-0002" {
		t.Errorf("currency filter: %v", ids)
	}
	if _, _, ids, _ = get("?customerId=cus-list&status=initiated"); len(ids) != 3 {
		t.Errorf("customer+status filter: %v", ids)
	}
	if st, code, _, _ := get("?status=bogus"); st != 400 || code != "122001" {
		t.Errorf("bad status: %d %s", st, code)
	}
}
