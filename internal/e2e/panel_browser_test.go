package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

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

// pnItem is an item's paymentStatus and itemAmounts as the API's /status
// reports them.
func pnItem(t *testing.T, c *client.Client, cartID, item string) (string, cbAmounts) {
	t.Helper()
	res, err := c.Raw().Status(context.Background(), cartID, client.StatusQuery{})
	if err != nil || res.Status != 200 {
		t.Fatalf("status %s: %v", cartID, err)
	}
	var data struct {
		Items []map[string]struct {
			PaymentStatus string    `json:"paymentStatus"`
			ItemAmounts   cbAmounts `json:"itemAmounts"`
		} `json:"items"`
	}
	if err := res.Decode(&data); err != nil {
		t.Fatal(err)
	}
	for _, it := range data.Items {
		if v, ok := it[item]; ok {
			return v.PaymentStatus, v.ItemAmounts
		}
	}
	t.Fatalf("cart %s has no item %s", cartID, item)
	return "", cbAmounts{}
}

// pnItemStatus is an item's paymentStatus as the API reports it.
func pnItemStatus(t *testing.T, c *client.Client, cartID, item string) string {
	t.Helper()
	st, _ := pnItem(t, c, cartID, item)
	return st
}

// pnEventWith returns the id of the cart's event, as the receiver got it,
// whose changes include change (itemId:from>to), or "" if none arrived.
func pnEventWith(r *cbReceiver, cartID, change string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.CartID != cartID {
			continue
		}
		for _, c := range e.Changes {
			if c.ItemID+":"+c.From+">"+c.To == change {
				return e.ID
			}
		}
	}
	return ""
}

// pnDelivered counts the verified requests the receiver got with the
// webhook-id id.
func pnDelivered(r *cbReceiver, id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.header.Get("webhook-id") == id {
			n++
		}
	}
	return n
}

// pnNoFailures fails t if the receiver refused a request (a signature that
// did not verify, a malformed body).
func pnNoFailures(t *testing.T, r *cbReceiver) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.failures) > 0 {
		t.Errorf("the receiver refused requests: %q", r.failures)
	}
}

// pnStep bounds every browser step (a navigation or a click and the wait
// for its answer page): they take well under a second, so hitting it means
// the page never showed what the step waits for.
const pnStep = 45 * time.Second

// TestPanelInBrowser drives the Merchant Panel in headless Chromium against
// the real server (started with --allow-private-callbacks, a callback
// endpoint registered with the CLI before the cart is paid):
//   - sign-in, and the lockout after 10 wrong passwords;
//   - a cart found by customerId, one item of the paid cart captured
//     through a confirmation: its status changes on the cart page and in
//     the API, and the sandbox ledger's hold drops by the captured amount
//     (moved to the merchant's balance); capturing it again shows the API's
//     refusal;
//   - part of the captured item refunded with "Change amount" (the
//     confirmation states from, to and what is refunded): the API's /status
//     then shows the refunded amount, and the ledger the refund;
//   - the cart page's timeline with each status change's cause (the
//     customer's payment, the Panel user's capture) and its "Callbacks sent"
//     with the cart's events delivered (succeeded, HTTP 200) to the
//     receiver;
//   - a callback endpoint added on the Callbacks page (its signing secret
//     shown once, and the receiver verifies with it), then an event resent
//     from its page through the confirmation: both receivers get it (one
//     more request with its webhook-id each);
//   - API keys created and revoked (the API then refuses the key, 111000);
//   - a forged form without the CSRF token refused;
//   - the audit log, a viewer who cannot act, and another merchant's cart
//     not found by URL.
func TestPanelInBrowser(t *testing.T) {
	t.Parallel()
	ctx := bwBrowser(t)
	srv := e2e.Start(t, "--allow-private-callbacks", "--callback-retry-schedule", cbSchedule)
	m1, c1 := srv.Merchant("pegasus,naga")
	_, c2 := srv.Merchant("pegasus")
	ownerPW := pnUser(t, srv, m1, "owner@shop.example", "owner")
	viewerPW := pnUser(t, srv, m1, "viewer@shop.example", "viewer")
	lockedPW := pnUser(t, srv, m1, "locked@shop.example", "operator")
	// The merchant's callback receiver, registered before the cart's first
	// event.
	hooks := cbNewReceiver(t)
	ep1, secret1 := cbAddEndpoint(t, srv, m1, hooks.URL())
	hooks.setSecrets(secret1)

	const cartID, otherCart = "panel-cart-0001", "panel-other-0001"
	cbInitAndPay(t, c1, `{"cartId":"`+cartID+`","customerId":"cus-panel-7","currency":"EUR","items":[{"pegasus":{"amount":250}},{"naga":{"amount":1100}}]}`)
	ppInit(t, c2, `{"cartId":"`+otherCart+`","currency":"EUR","items":[{"pegasus":{"amount":999}}]}`)

	// The helpers take the running (sub)test's t: FailNow belongs to the
	// goroutine of the test that calls it.
	run := func(t *testing.T, a chromedp.Action[string]) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, pnStep)
		defer cancel()
		s, err := chromedp.Run(sctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	text := func(t *testing.T, sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, pnStep)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	do := func(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, pnStep)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatal(err)
		}
	}
	// js evaluates an expression on the page (no waiting: for what the
	// page shows once loaded, or does not show).
	js := func(t *testing.T, expr string, v any) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, pnStep)
		defer cancel()
		raw, err := chromedp.Run(sctx, chromedp.Evaluate[[]byte](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s gave %s: %v", expr, raw, err)
		}
	}
	signIn := func(t *testing.T, email, password string) {
		t.Helper()
		do(t, chromedp.Navigate(srv.URL+"/panel/"), chromedp.WaitVisible(chromedp.ID("email")),
			chromedp.Clear(chromedp.ID("email")), chromedp.SendKeys(chromedp.ID("email"), email),
			chromedp.SendKeys(chromedp.ID("password"), password+kb.Enter),
			// The answer has arrived when the page shows an error (the
			// sign-in form again) or the signed-in navigation; the fresh
			// sign-in page has neither, so its own heading cannot satisfy
			// the wait.
			chromedp.WaitVisible(chromedp.CSS(`[role=alert], nav[aria-label="Main"]`)),
			chromedp.WaitVisible(chromedp.CSS("h1")))
	}
	h1 := func(t *testing.T) string { return text(t, "h1") }
	// cartPage opens the cart page.
	cartPage := func(t *testing.T) {
		t.Helper()
		do(t, chromedp.Navigate(srv.URL+"/panel/carts/"+cartID), chromedp.WaitVisible(chromedp.ID("items")))
	}
	// shown is what the cart page's items table shows per item: the status
	// (data-status) and the Refunded column.
	type shownItem struct{ Status, Refunded string }
	shown := func(t *testing.T) map[string]shownItem {
		t.Helper()
		var m map[string]shownItem
		js(t, `Object.fromEntries([...document.querySelectorAll('section[aria-labelledby="items"] tbody tr')].map(r =>
			[r.querySelector('th').textContent, {Status: r.querySelector('td[data-status]').dataset.status, Refunded: r.querySelectorAll('td.amt')[2].textContent}]))`, &m)
		return m
	}
	ledger := func(t *testing.T) (held, merchant int64) {
		t.Helper()
		return ccLedger(t, srv, m1, "EUR")
	}

	t.Run("wrong password ten times locks the account", func(t *testing.T) {
		for i := 1; i <= 10; i++ {
			signIn(t, "locked@shop.example", "not-the-password")
			alert := text(t, "[role=alert]")
			if i < 10 && !strings.Contains(alert, "Wrong email or password") {
				t.Fatalf("attempt %d: %q", i, alert)
			}
			if i == 10 && !strings.Contains(alert, "This account is locked: 10 failed sign-ins") {
				t.Fatalf("attempt 10: %q", alert)
			}
		}
		signIn(t, "locked@shop.example", lockedPW) // the right password, while locked
		if alert := text(t, "[role=alert]"); !strings.Contains(alert, "locked") {
			t.Fatalf("right password while locked: %q", alert)
		}
	})

	t.Run("owner finds a cart by customerId and captures one item: its status and the ledger hold change", func(t *testing.T) {
		signIn(t, "owner@shop.example", ownerPW)
		if got := h1(t); got != "Overview" {
			t.Fatalf("after sign-in: %q", got)
		}
		// The money table: 13.50 EUR authorized today, nothing captured.
		if money := text(t, "#money ~ div table tbody tr"); !strings.Contains(money, "Today") || !strings.Contains(money, "13.50 EUR") || !strings.Contains(money, "0.00 EUR") {
			t.Errorf("the overview's first money row does not show 13.50 EUR authorized today: %q", money)
		}
		do(t, chromedp.Navigate(srv.URL+"/panel/carts"), chromedp.WaitVisible(chromedp.ID("q")),
			chromedp.SendKeys(chromedp.ID("q"), "cus-panel-7"+kb.Enter),
			chromedp.WaitVisible(chromedp.CSS("table.list")))
		if rows := text(t, "table.list tbody"); !strings.Contains(rows, cartID) || strings.Contains(rows, otherCart) {
			t.Fatalf("search result: %q", rows)
		}
		do(t, chromedp.Click(chromedp.CSS(`table.list a[href="/panel/carts/`+cartID+`"]`)), chromedp.WaitVisible(chromedp.ID("items")))
		if s := shown(t); s["pegasus"].Status != "authorized" || s["naga"].Status != "authorized" {
			t.Fatalf("before the capture the page shows %+v", s)
		}
		heldBefore, merchantBefore := ledger(t)
		if heldBefore != 1350 || merchantBefore != 0 {
			t.Fatalf("before the capture the ledger holds %d and the merchant has %d, want 1350 and 0", heldBefore, merchantBefore)
		}
		do(t, chromedp.Click(chromedp.CSS(`a[href*="action=capture&item=pegasus"]`)), chromedp.WaitVisible(chromedp.CSS(`form[action$="/act"] button`)))
		if c := text(t, "main"); !strings.Contains(c, "Capture 2.50 EUR") || !strings.Contains(c, "pegasus") || strings.Contains(c, "naga") {
			t.Fatalf("confirmation says %q", c)
		}
		do(t, chromedp.Click(chromedp.CSS(`form[action$="/act"] button`)), chromedp.WaitVisible(chromedp.CSS("[role=status]")))
		want, amounts := pnItem(t, c1, cartID, "pegasus")
		if want == "authorized" || amounts.Captured != 250 {
			t.Fatalf("the API reports pegasus %s with %+v", want, amounts)
		}
		if s := shown(t); s["pegasus"].Status != want || s["naga"].Status != "authorized" {
			t.Errorf("after the capture the page shows %+v, the API says pegasus is %s", s, want)
		}
		if naga := pnItemStatus(t, c1, cartID, "naga"); naga != "authorized" {
			t.Errorf("naga is %s, want authorized", naga)
		}
		// The capture moved the captured amount out of the hold, to the
		// merchant.
		heldAfter, merchantAfter := ledger(t)
		if heldBefore-heldAfter != amounts.Captured || merchantAfter-merchantBefore != amounts.Captured {
			t.Errorf("after capturing %d the ledger holds %d (was %d) and the merchant has %d (was %d)",
				amounts.Captured, heldAfter, heldBefore, merchantAfter, merchantBefore)
		}
		// Capturing it again is refused with the API's code and message.
		do(t, chromedp.Navigate(srv.URL+"/panel/carts/"+cartID+"/confirm?action=capture&item=pegasus"), chromedp.WaitVisible(chromedp.CSS(`form[action$="/act"] button`)),
			chromedp.Click(chromedp.CSS(`form[action$="/act"] button`)), chromedp.WaitVisible(chromedp.CSS("[role=alert]")))
		if alert := text(t, "[role=alert]"); !strings.Contains(alert, "124114") || !strings.Contains(alert, "No items in the authorized status") {
			t.Errorf("refusal shown as %q", alert)
		}
	})

	t.Run("owner refunds part of the captured item by changing its amount", func(t *testing.T) {
		heldBefore, merchantBefore := ledger(t)
		cartPage(t)
		do(t, chromedp.Click(chromedp.CSS(`a[href*="action=amount&item=pegasus"]`)), chromedp.WaitVisible(chromedp.ID("amount")),
			chromedp.Clear(chromedp.ID("amount")), chromedp.SendKeys(chromedp.ID("amount"), "1.75"+kb.Enter),
			chromedp.WaitVisible(chromedp.CSS(`form[action$="/act"] button`)))
		c := text(t, "main")
		for _, w := range []string{"Change the amount of pegasus on cart " + cartID + " from 2.50 EUR to 1.75 EUR.",
			"0.75 EUR is refunded to the customer (a partial refund)"} {
			if !strings.Contains(c, w) {
				t.Fatalf("confirmation lacks %q: %q", w, c)
			}
		}
		if b := text(t, `form[action$="/act"] button`); b != "Confirm amount change" {
			t.Errorf("confirmation button %q", b)
		}
		do(t, chromedp.Click(chromedp.CSS(`form[action$="/act"] button`)), chromedp.WaitVisible(chromedp.CSS("[role=status]")))
		if n := text(t, "[role=status]"); !strings.Contains(n, "the current amount of pegasus is now 1.75 EUR") {
			t.Errorf("notice %q", n)
		}
		st, amounts := pnItem(t, c1, cartID, "pegasus")
		if amounts.Refunded != 75 || amounts.Captured != 250 || amounts.Current != 175 {
			t.Errorf("the API's /status shows pegasus %s with %+v, want 75 refunded of 250 captured", st, amounts)
		}
		if s := shown(t); s["pegasus"].Refunded != "0.75 EUR" || s["pegasus"].Status != st {
			t.Errorf("the cart page shows pegasus %+v, the API says %s", s["pegasus"], st)
		}
		if held, merchant := ledger(t); held != heldBefore || merchantBefore-merchant != 75 {
			t.Errorf("after the refund the ledger holds %d (was %d) and the merchant has %d (was %d)", held, heldBefore, merchant, merchantBefore)
		}
	})

	// The events of the payment and of the capture, as the receiver got
	// them (set by the next step).
	var authEvent, captureEvent string
	t.Run("the cart page shows the timeline with causes and the callbacks sent", func(t *testing.T) {
		cbWaitUntil(t, "the payment's and the capture's callbacks", hooks, func() bool {
			authEvent = pnEventWith(hooks, cartID, "pegasus:initiated>authorized")
			captureEvent = pnEventWith(hooks, cartID, "pegasus:authorized>captured")
			return authEvent != "" && captureEvent != ""
		})
		// The receiver answered; the server records the delivery's result
		// just after.
		cbWaitUntil(t, "both deliveries recorded as succeeded", hooks, func() bool {
			ok := map[string]bool{}
			for _, a := range cbEndpointLog(t, c1, ep1) {
				ok[a.EventID] = ok[a.EventID] || a.DeliveryStatus == "succeeded"
			}
			return ok[authEvent] && ok[captureEvent]
		})
		pnNoFailures(t, hooks)
		cartPage(t)
		var timeline []string
		js(t, `[...document.querySelectorAll('section[aria-labelledby="timeline"] ol.timeline li')].map(li => li.textContent)`, &timeline)
		find := func(what string) string {
			for _, li := range timeline {
				if strings.Contains(li, what) {
					return li
				}
			}
			t.Errorf("the timeline has no %q: %q", what, timeline)
			return ""
		}
		if li := find("pegasus: initiated → authorized"); li != "" && !strings.Contains(li, "by Customer: payment authorized") {
			t.Errorf("payment shown as %q", li)
		}
		if li := find("pegasus: authorized → captured"); li != "" && !strings.Contains(li, "by Panel: owner@shop.example") {
			t.Errorf("capture shown as %q", li)
		}
		for name, id := range map[string]string{"payment": authEvent, "capture": captureEvent} {
			var rows []string
			js(t, `[...document.querySelectorAll('section[aria-labelledby="callbacks"] tbody tr')].filter(r =>
				r.querySelector('a[href="/panel/callbacks/events/`+id+`"]') && r.querySelector('td[data-delivery="succeeded"]')).map(r => r.textContent)`, &rows)
			if len(rows) != 1 || !strings.Contains(rows[0], hooks.URL()) || !strings.Contains(rows[0], "HTTP 200") {
				t.Errorf("Callbacks sent: the %s event %s delivered as %q", name, id, rows)
			}
		}
	})

	t.Run("a callback endpoint added in the Panel, an event resent from its page", func(t *testing.T) {
		if captureEvent == "" {
			t.Skip("the capture's event was not delivered")
		}
		added := cbNewReceiver(t)
		do(t, chromedp.Navigate(srv.URL+"/panel/callbacks"), chromedp.WaitVisible(chromedp.ID("url")),
			chromedp.SendKeys(chromedp.ID("url"), added.URL()),
			chromedp.Click(chromedp.CSS(`form[action="/panel/callbacks/endpoints"] button`)), chromedp.WaitVisible(chromedp.ID("secret")))
		secret := run(t, chromedp.Value(chromedp.ID("secret")))
		if !strings.HasPrefix(secret, "whsec_") {
			t.Fatalf("signing secret %q", secret)
		}
		added.setSecrets(secret)
		if n := text(t, "[role=status]"); !strings.Contains(n, "shown only once") {
			t.Errorf("notice %q", n)
		}
		var facts map[string]string
		js(t, `Object.fromEntries([...document.querySelectorAll('section[aria-labelledby="facts"] dt')].map(dt => [dt.textContent, dt.nextElementSibling.textContent]))`, &facts)
		ep2 := facts["endpointId"]
		if facts["URL"] != added.URL() || !strings.Contains(facts["Events"], "payment.status_changed") || ep2 == "" || ep2 == ep1 {
			t.Fatalf("the new endpoint's page shows %q", facts)
		}
		// Shown once: the endpoint's page no longer has it.
		do(t, chromedp.Navigate(srv.URL+"/panel/callbacks/endpoints/"+ep2), chromedp.WaitVisible(chromedp.ID("log")))
		var again bool
		js(t, `document.getElementById('secret') !== null || document.body.textContent.includes(`+strconv.Quote(secret)+`)`, &again)
		if again {
			t.Errorf("the endpoint's page shows the signing secret again")
		}

		// Resend the capture's event, from its page (linked from the cart
		// page), to every subscribed endpoint.
		before := pnDelivered(hooks, captureEvent)
		if before < 1 {
			t.Fatalf("the receiver has %d deliveries of %s", before, captureEvent)
		}
		cartPage(t)
		do(t, chromedp.Click(chromedp.CSS(`section[aria-labelledby="callbacks"] a[href="/panel/callbacks/events/`+captureEvent+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`form[method="get"][action$="/resend"] button`)))
		if got := h1(t); got != "Event "+captureEvent {
			t.Fatalf("event page %q", got)
		}
		do(t, chromedp.Click(chromedp.CSS(`form[method="get"][action$="/resend"] button`)),
			chromedp.WaitVisible(chromedp.CSS(`form[method="post"][action$="/resend"] button`)))
		if c := text(t, "main"); !strings.Contains(c, captureEvent) || !strings.Contains(c, hooks.URL()) || !strings.Contains(c, added.URL()) {
			t.Fatalf("resend confirmation says %q", c)
		}
		do(t, chromedp.Click(chromedp.CSS(`form[method="post"][action$="/resend"] button`)), chromedp.WaitVisible(chromedp.CSS("[role=status]")))
		if n := text(t, "[role=status]"); !strings.Contains(n, "Re-sent: 2 new deliveries queued") {
			t.Errorf("notice %q", n)
		}
		cbWaitUntil(t, "the resent event at both receivers", hooks, func() bool {
			return pnDelivered(hooks, captureEvent) > before && pnDelivered(added, captureEvent) > 0
		})
		if n, m := pnDelivered(hooks, captureEvent), pnDelivered(added, captureEvent); n != before+1 || m != 1 {
			t.Errorf("webhook-id %s: the first receiver got it %d times (had %d), the added one %d times", captureEvent, n, before, m)
		}
		if _, n := added.count(); n != 1 {
			t.Errorf("the added endpoint got %d events, want the resent one only", n)
		}
		pnNoFailures(t, hooks)
		pnNoFailures(t, added)
	})

	t.Run("another merchant's cart is not found by URL", func(t *testing.T) {
		do(t, chromedp.Navigate(srv.URL+"/panel/carts/"+otherCart), chromedp.WaitVisible(chromedp.CSS("h1")))
		if got := h1(t); got != "Cart not found" {
			t.Errorf("other merchant's cart: %q", got)
		}
	})

	t.Run("a key is created, shown once, and revoked", func(t *testing.T) {
		do(t, chromedp.Navigate(srv.URL+"/panel/keys"), chromedp.WaitVisible(chromedp.CSS(`form[action="/panel/keys"] button`)),
			chromedp.Click(chromedp.CSS(`form[action="/panel/keys"] button`)), chromedp.WaitVisible(chromedp.ID("key")))
		key := run(t, chromedp.Value(chromedp.ID("key")))
		if !strings.HasPrefix(key, "ock_test_") {
			t.Fatalf("new key %q", key)
		}
		// The copy button's script runs under the CSP (it adds the
		// button); copying or, where the clipboard is refused, selecting
		// the key says so.
		do(t, chromedp.WaitVisible(chromedp.ID("copy-key")), chromedp.Click(chromedp.ID("copy-key")),
			chromedp.WaitVisible(chromedp.CSS("#copy-status:not(:empty)")))
		if said := run(t, chromedp.Text(chromedp.ID("copy-status"))); said != "Copied." && !strings.HasPrefix(said, "Select the key") {
			t.Errorf("copy button said %q", said)
		}
		kc := srv.Client(key)
		if res, err := kc.Raw().Status(context.Background(), cartID, client.StatusQuery{}); err != nil || res.Status != 200 {
			t.Fatalf("new key: %v %+v", err, res)
		}
		do(t, chromedp.Click(chromedp.CSS(`a[href="/panel/keys/revoke?prefix=`+key[:16]+`"]`)), chromedp.WaitVisible(chromedp.CSS("button.danger")),
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
		do(t, chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.ID("go")), chromedp.Click(chromedp.ID("go")),
			chromedp.WaitVisible(chromedp.CSS("h1")))
		if got := h1(t); got != "Form refused" && got != "Signed out" {
			t.Errorf("forged form answered %q", got)
		}
		if naga := pnItemStatus(t, c1, cartID, "naga"); naga != "authorized" {
			t.Errorf("after the forged form naga is %s", naga)
		}
	})

	t.Run("the owner reads the audit log, then signs out", func(t *testing.T) {
		do(t, chromedp.Navigate(srv.URL+"/panel/audit"), chromedp.WaitVisible(chromedp.CSS("table.list")))
		log := text(t, "table.list")
		for _, w := range []string{"signin.failed", "owner@shop.example", "cart.capture", "cart.capture.refused", "cart.amount",
			"callback.endpoint.add", "callback.event.resend", "key.create", "key.revoke"} {
			if !strings.Contains(log, w) {
				t.Errorf("audit log lacks %q: %s", w, log)
			}
		}
		do(t, chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.ID("email")))
		do(t, chromedp.Navigate(srv.URL+"/panel/carts"), chromedp.WaitVisible(chromedp.ID("email")))
	})

	t.Run("a viewer cannot act", func(t *testing.T) {
		signIn(t, "viewer@shop.example", viewerPW)
		cartPage(t)
		if page := text(t, "main"); strings.Contains(page, "Capture all") || strings.Contains(page, "Cancel") || !strings.Contains(page, "not act on them") {
			t.Errorf("viewer's cart page: %q", page)
		}
		do(t, chromedp.Navigate(srv.URL+"/panel/carts/"+cartID+"/confirm?action=cancel&item=naga"), chromedp.WaitVisible(chromedp.CSS("h1")))
		if got := h1(t); got != "Not allowed" {
			t.Errorf("viewer's confirmation page: %q", got)
		}
		do(t, chromedp.Navigate(srv.URL+"/panel/audit"), chromedp.WaitVisible(chromedp.CSS("h1")))
		if got := h1(t); got != "Not allowed" {
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
