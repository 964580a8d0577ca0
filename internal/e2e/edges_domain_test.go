package e2e_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// Integrator edges of the domain (issue #12), through the real server: the
// default capture window fits the merchant, a timer that starts at /init
// is announced, event times never run backwards, a repeated payment of a
// paid cart answers the payment that succeeded, and the paid page says
// whether the money is held or charged.

// edStatus reads a cart's status data.
func edStatus(tb testing.TB, c *client.Client, cartID string) map[string]omnicart.ItemView {
	tb.Helper()
	res := cbCall(tb, c, http.MethodGet, "/status/"+cartID, nil, http.StatusOK, "000000")
	var v omnicart.StatusView
	if err := res.Decode(&v); err != nil {
		tb.Fatalf("status %s: %v", res.Raw, err)
	}
	items := map[string]omnicart.ItemView{}
	for _, m := range v.Items {
		for id, iv := range m {
			items[id] = iv
		}
	}
	return items
}

// edInit opens a cart and returns its payment URL.
func edInit(tb testing.TB, c *client.Client, body string) string {
	tb.Helper()
	res := cbCall(tb, c, http.MethodPost, "/init", body, http.StatusCreated, "000000")
	var d struct {
		PaymentURL string `json:"paymentUrl"`
	}
	if err := res.Decode(&d); err != nil || d.PaymentURL == "" {
		tb.Fatalf("init %s: %v", res.Raw, err)
	}
	return d.PaymentURL
}

// edPay pays with a card as JSON and checks the answer.
func edPay(t *testing.T, payURL, card string, status int, result string) string {
	t.Helper()
	body := `{"cardNumber":"` + card + `","expiry":"12/39","cvc":"123","cardholder":"Ada Lovelace"}`
	st, ans := ppJSON(t, payURL, body)
	if st != status || ans.Result != result {
		t.Fatalf("pay %s with %s: HTTP %d %+v, want %d %s", payURL, card, st, ans, status, result)
	}
	return ans.RedirectURL
}

func edStamp(tb testing.TB, s string) time.Time {
	tb.Helper()
	at, err := time.Parse("2006-01-02T15:04:05.000Z", s)
	if err != nil {
		tb.Fatalf("time %q: %v", s, err)
	}
	return at
}

// edNonDecreasing checks that a cart's event times never run backwards.
func edNonDecreasing(tb testing.TB, evs []cbEvent) {
	tb.Helper()
	for i := 1; i < len(evs); i++ {
		if edStamp(tb, evs[i].CreatedAt).Before(edStamp(tb, evs[i-1].CreatedAt)) {
			tb.Fatalf("event #%d (%s) is dated %s, before #%d (%s) at %s", evs[i].Sequence, evs[i].Type, evs[i].CreatedAt,
				evs[i-1].Sequence, evs[i-1].Type, evs[i-1].CreatedAt)
		}
	}
}

// TestEdgeCaptureWindowDefaultFitsMerchant: a merchant whose capture
// window range excludes 172800 s opens carts without captureSettings; the
// window is 172800 s clamped into its range, and an error names a window
// only when the request sent one.
func TestEdgeCaptureWindowDefaultFitsMerchant(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)

	t.Run("range below the default", func(t *testing.T) {
		t.Parallel()
		_, c := srv.Merchant("pegasus,naga", "--capture-window", "3600-7200")
		url := edInit(t, c, `{"cartId":"edge-window-0001","currency":"EUR","items":[{"pegasus":{"amount":250}},`+
			`{"naga":{"amount":100,"capture":true,"captureSettings":{"autoAction":"cancel"}}}]}`)
		// Debug mode has nothing to report either.
		res := cbCall(t, c, http.MethodPost, "/init", `{"cartId":"edge-window-0002","currency":"EUR","debug":true,"items":[{"pegasus":{"amount":250}}]}`,
			http.StatusCreated, "000000")
		if len(res.Debug) != 0 {
			t.Fatalf("debug of a plain init: %s", res.Raw)
		}
		edPay(t, url, "4111 1111 1111 1111", http.StatusOK, "authorized")
		for id, it := range edStatus(t, c, "edge-window-0001") {
			if it.PaymentStatus != omnicart.StatusAuthorized || it.CaptureSnapshot == nil ||
				it.CaptureSnapshot.RemainingSecs != 7200 || it.CaptureSnapshot.AutoAction != omnicart.AutoCancel {
				t.Fatalf("%s after payment: %+v %+v", id, it, it.CaptureSnapshot)
			}
		}
		cbAdvance(t, c, 7199)
		if it := edStatus(t, c, "edge-window-0001")["pegasus"]; it.PaymentStatus != omnicart.StatusAuthorized {
			t.Fatalf("fired before the window's end: %+v", it)
		}
		cbAdvance(t, c, 1)
		for id, it := range edStatus(t, c, "edge-window-0001") {
			if it.PaymentStatus != omnicart.StatusCanceled {
				t.Fatalf("%s after the merchant's window: %+v", id, it)
			}
		}
		// A window the merchant sent is still checked, and named.
		res = cbCall(t, c, http.MethodPost, "/init", `{"cartId":"edge-window-0003","currency":"EUR","items":[{"pegasus":{"amount":250,"captureSettings":{"value":172800}}}]}`,
			http.StatusBadRequest, "133000")
		if res.Message != "captureSettings.value value 172800 is out of permitted range, item(s): [pegasus]" {
			t.Fatalf("sent window: %s", res.Raw)
		}
		// One-step items have no window at all.
		edInit(t, c, `{"cartId":"edge-window-0004","currency":"EUR","items":[{"pegasus":{"amount":250,"capture":false}}]}`)
	})

	t.Run("range above the default", func(t *testing.T) {
		t.Parallel()
		_, c := srv.Merchant("pegasus", "--capture-window", "259200-604800")
		url := edInit(t, c, `{"cartId":"edge-window-0101","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`)
		edPay(t, url, "4111 1111 1111 1111", http.StatusOK, "authorized")
		if it := edStatus(t, c, "edge-window-0101")["pegasus"]; it.CaptureSnapshot == nil || it.CaptureSnapshot.RemainingSecs != 259200 {
			t.Fatalf("capture window: %+v", it.CaptureSnapshot)
		}
	})
}

// TestEdgeTimerStartedAtInitAnnounced: a timer whose trigger is reached at
// /init starts at once and its start is the cart's first callback; every
// timer status the status shows later was announced by an event.
func TestEdgeTimerStartedAtInitAnnounced(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t, "--allow-private-callbacks", "--callback-retry-schedule", cbSchedule)
	_, c, r, _ := cbMerchant(t, srv, "pegasus,naga,lich")
	const cart = "edge-timer-0001"
	url := cbInitCart(t, c, `{"cartId":"`+cart+`","customerId":"cust-edge-1","currency":"EUR","items":[`+
		`{"pegasus":{"amount":250,"enableTimer":true,"timer":{"triggerEvent":"initiated","value":600}}},`+
		`{"naga":{"amount":100,"enableTimer":true,"timer":{"triggerEvent":"authorized","value":60}}},`+
		`{"lich":{"amount":50,"enableTimer":true,"timer":{"triggerEvent":"initiated","value":0}}}]}`)
	r.waitFor("the timer start at init", cbHasCartEvents(cart, 1))
	evs := r.cart(cart)
	cbCheckSequence(t, evs, 1)
	cbWantChanges(t, evs[0], "timer.status_changed", "pegasus:pending>started", "lich:pending>started")
	if rs := evs[0].Changes[0].RemainingSecs; rs == nil || *rs != 600 {
		t.Fatalf("pegasus remainingSecs: %s", evs[0].raw)
	}
	if rs := evs[0].Changes[1].RemainingSecs; rs != nil {
		t.Fatalf("infinite timer remainingSecs: %s", evs[0].raw)
	}
	if !strings.Contains(string(evs[0].raw), `"timerStatus":"started"`) || evs[0].Data.itemStatus("pegasus") != "initiated" {
		t.Fatalf("event data: %s", evs[0].raw)
	}

	tmPay(t, c, url)
	cbAdvance(t, c, 600)
	r.waitFor("5 events", cbHasCartEvents(cart, 5))
	evs = r.cart(cart)
	cbCheckSequence(t, evs, 5)
	cbWantChanges(t, evs[1], "payment.status_changed", "pegasus:initiated>authorized", "naga:initiated>authorized", "lich:initiated>authorized")
	cbWantChanges(t, evs[2], "timer.status_changed", "naga:pending>started")
	cbWantChanges(t, evs[3], "timer.status_changed", "naga:started>elapsed")
	cbWantChanges(t, evs[4], "timer.status_changed", "pegasus:started>elapsed")
	edNonDecreasing(t, evs)

	// What the status shows is what the events said last.
	last := map[string]string{}
	for _, e := range evs {
		if e.Type == "timer.status_changed" {
			for _, ch := range e.Changes {
				last[ch.ItemID] = ch.To
			}
		}
	}
	for id, it := range edStatus(t, c, cart) {
		if it.TimerSnapshot == nil || string(it.TimerSnapshot.TimerStatus) != last[id] {
			t.Errorf("%s: status shows timer %+v, the last event said %q", id, it.TimerSnapshot, last[id])
		}
	}
}

// TestEdgeAutoActionWarningTimes: a capture window shorter than the
// warning's lead is announced when the payment opens it (never dated
// before the payment), with the right dueAt; event times never run
// backwards.
func TestEdgeAutoActionWarningTimes(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t, "--allow-private-callbacks", "--callback-retry-schedule", cbSchedule)
	for _, window := range []int64{600, 3600} {
		_, c, r, _ := cbMerchant(t, srv, "pegasus")
		cart := "edge-warn-" + map[int64]string{600: "00600", 3600: "03600"}[window]
		cbInitAndPay(t, c, `{"cartId":"`+cart+`","currency":"EUR","items":[{"pegasus":{"amount":250,"capture":true,`+
			`"captureSettings":{"autoAction":"cancel","value":`+map[int64]string{600: "600", 3600: "3600"}[window]+`}}}]}`)
		r.waitFor("the payment and its warning", cbHasCartEvents(cart, 2))
		evs := r.cart(cart)
		cbCheckSequence(t, evs, 2)
		cbWantChanges(t, evs[0], "payment.status_changed", "pegasus:initiated>authorized")
		cbWantChanges(t, evs[1], "payment.auto_action_pending", "pegasus:cancel")
		paidAt, warnedAt := edStamp(t, evs[0].CreatedAt), edStamp(t, evs[1].CreatedAt)
		due := edStamp(t, evs[1].Changes[0].DueAt)
		if warnedAt.Before(paidAt) {
			t.Fatalf("window %d: warning dated %s, before the payment at %s", window, evs[1].CreatedAt, evs[0].CreatedAt)
		}
		if due.Sub(paidAt) != time.Duration(window)*time.Second {
			t.Fatalf("window %d: dueAt %s for a payment at %s", window, evs[1].Changes[0].DueAt, evs[0].CreatedAt)
		}
		cbAdvance(t, c, window)
		r.waitFor("the auto cancel", cbHasCartEvents(cart, 3))
		evs = r.cart(cart)
		cbCheckSequence(t, evs, 3)
		cbWantChanges(t, evs[2], "payment.status_changed", "pegasus:authorized>canceled")
		if at := edStamp(t, evs[2].CreatedAt); !at.Equal(due) {
			t.Fatalf("window %d: auto cancel dated %s, want its due time %s", window, evs[2].CreatedAt, evs[1].Changes[0].DueAt)
		}
		edNonDecreasing(t, evs)
	}
}

// TestEdgeRepeatedPayment: paying a paid cart again (a double click, an app
// retrying after a lost answer) answers the payment that succeeded
// (authorized, 200) and moves no money, whatever became of the items
// since and also after the payment window; the hosted page says it was
// paid. Carts never paid keep answering expired (410).
func TestEdgeRepeatedPayment(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	merchantID, c := srv.Merchant("pegasus,naga", "--all-privileges")
	const shop = "https://shop.example/back"
	ledger := func() [2]int64 {
		held, merchant := ccLedger(t, srv, merchantID, "EUR")
		return [2]int64{held, merchant}
	}
	events := func(cart string) int { return len(tmEvents(t, srv, cart)) }

	paidURL := edInit(t, c, `{"cartId":"edge-repay-0001","currency":"EUR","items":[{"pegasus":{"amount":250}},{"naga":{"amount":100}}],`+
		`"paymentForm":{"deliveryOption":"redirect","value":"`+shop+`"}}`)
	oneStepURL := edInit(t, c, `{"cartId":"edge-repay-0002","currency":"EUR","items":[{"pegasus":{"amount":300,"capture":false}}]}`)
	challengeURL := edInit(t, c, `{"cartId":"edge-repay-0003","currency":"EUR","items":[{"pegasus":{"amount":400}}]}`)
	unpaidURL := edInit(t, c, `{"cartId":"edge-repay-0004","currency":"EUR","cartExpiry":60,"items":[{"pegasus":{"amount":500}}],`+
		`"paymentForm":{"deliveryOption":"redirect","value":"`+shop+`"}}`)
	rejectedURL := edInit(t, c, `{"cartId":"edge-repay-0005","currency":"EUR","items":[{"pegasus":{"amount":600}}]}`)
	const good, funds = "4111 1111 1111 1111", "4000 0000 0000 0069"

	// A browser tab opened before the payment keeps its form.
	b := ppNewBrowser(t)
	csrf := b.csrf(mustPage(t, b, paidURL))

	// The first payment, then its repeats: same answer, no money, no event.
	first := edPay(t, paidURL, good, http.StatusOK, "authorized")
	if first != shop+"?cartId=edge-repay-0001&result=authorized" {
		t.Fatalf("redirectUrl %q", first)
	}
	money, n := ledger(), events("edge-repay-0001")
	if money != [2]int64{350, 0} {
		t.Fatalf("ledger after the payment: %v", money)
	}
	for _, card := range []string{good, "5500 0000 0000 0004", funds} {
		if again := edPay(t, paidURL, card, http.StatusOK, "authorized"); again != first {
			t.Fatalf("repeat with %s: redirectUrl %q, want %q", card, again, first)
		}
	}
	if got := ledger(); got != money || events("edge-repay-0001") != n {
		t.Fatalf("a repeated payment moved money (%v → %v) or made events (%d → %d)", money, got, n, events("edge-repay-0001"))
	}
	ppWantStatuses(t, c, "edge-repay-0001", "authorized", "authorized")

	// The hosted page: a form post on the paid cart (from that tab) is
	// sent to the shop with result=authorized, and the page says it was
	// paid.
	resp, _ := b.post(paidURL, ppCard(good, csrf))
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != first {
		t.Fatalf("form repeat: %d %q, want 303 to %q", resp.StatusCode, loc, first)
	}
	resp, page := b.get(paidURL)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Payment received") ||
		!strings.Contains(page, "3.50 EUR is held on your Visa ending 1111") || strings.Contains(page, "expired") {
		t.Fatalf("paid page %d:\n%s", resp.StatusCode, page)
	}
	if got := ledger(); got != money || events("edge-repay-0001") != n {
		t.Fatalf("a repeated form payment moved money (%v → %v) or made events", money, got)
	}

	// Captured, canceled, refunded since: the payment still succeeded.
	cbCall(t, c, http.MethodPost, "/capture", `{"cartId":"edge-repay-0001","filterBox":{"itemIds":["pegasus"]}}`, http.StatusOK, "000000")
	cbCall(t, c, http.MethodPost, "/cancel", `{"cartId":"edge-repay-0001"}`, http.StatusOK, "000000")
	edPay(t, paidURL, good, http.StatusOK, "authorized")
	cbCall(t, c, http.MethodPost, "/refund", `{"cartId":"edge-repay-0001"}`, http.StatusOK, "000000")
	money = ledger()
	edPay(t, paidURL, good, http.StatusOK, "authorized")
	if got := ledger(); got != money {
		t.Fatalf("repeat after refund moved money: %v → %v", money, got)
	}
	ppWantStatuses(t, c, "edge-repay-0001", "refunded", "canceled")
	if _, page := b.get(paidURL); !strings.Contains(page, "Payment received") || !strings.Contains(page, "Nothing is held on or charged to your Visa ending 1111") {
		t.Fatalf("page after refund:\n%s", page)
	}

	// One-step (completed at once) and a 3-D Secure answer repeated.
	edPay(t, oneStepURL, good, http.StatusOK, "authorized")
	edPay(t, oneStepURL, good, http.StatusOK, "authorized")
	ppWantStatuses(t, c, "edge-repay-0002", "completed")
	edPay(t, challengeURL, "4000 0000 0000 3220", http.StatusOK, "challenge")
	for range 2 {
		if st, ans := ppJSON(t, challengeURL+"/challenge", `{"code":"123456"}`); st != http.StatusOK || ans.Result != "authorized" {
			t.Fatalf("challenge answer: %d %+v", st, ans)
		}
	}
	ppWantStatuses(t, c, "edge-repay-0003", "authorized")

	// Rejected after three declines: never paid, nothing to pay.
	for _, want := range []string{"declined", "declined", "rejected"} {
		edPay(t, rejectedURL, funds, http.StatusPaymentRequired, want)
	}
	edPay(t, rejectedURL, good, http.StatusGone, "expired")

	// Past the payment window: the paid carts still answer authorized, the
	// unpaid one is expired.
	money = ledger()
	cbAdvance(t, c, 7300)
	edPay(t, paidURL, good, http.StatusOK, "authorized")
	edPay(t, oneStepURL, good, http.StatusOK, "authorized")
	edPay(t, challengeURL, good, http.StatusOK, "authorized")
	if got := ledger(); got != money {
		t.Fatalf("repeats after the window moved money: %v → %v", money, got)
	}
	if redirect := edPay(t, unpaidURL, good, http.StatusGone, "expired"); redirect != shop+"?cartId=edge-repay-0004&result=expired" {
		t.Fatalf("expired redirectUrl %q", redirect)
	}
	ppWantStatuses(t, c, "edge-repay-0004", "expired")
	if resp, page := b.get(challengeURL); resp.StatusCode != http.StatusOK || !strings.Contains(page, "Payment received") {
		t.Fatalf("paid page after the window: %d\n%s", resp.StatusCode, page)
	}
	if resp, page := b.get(unpaidURL); resp.StatusCode != http.StatusGone || !strings.Contains(page, "This payment link has expired") {
		t.Fatalf("expired page: %d\n%s", resp.StatusCode, page)
	}
}

// mustPage loads a payment page and returns its HTML.
func mustPage(t *testing.T, b *ppBrowser, u string) string {
	t.Helper()
	resp, page := b.get(u)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	return page
}

// TestEdgePaidPageSaysHeldOrCharged: the paid page says what the payment
// did: held for two-step items, charged for one-step ones, both for a mix.
func TestEdgePaidPageSaysHeldOrCharged(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus,naga")
	urls := map[string]string{}
	for _, tc := range []struct {
		cart, items, want string
	}{
		{"edge-page-0001", `{"pegasus":{"amount":250}}`,
			"Thank you. 2.50 EUR is held on your Visa ending 1111 until Test Shop confirms the order; you have not been charged yet."},
		{"edge-page-0002", `{"pegasus":{"amount":250,"capture":false}},{"naga":{"amount":100,"capture":false}}`,
			"Thank you. Your Visa ending 1111 was charged 3.50 EUR."},
		{"edge-page-0003", `{"pegasus":{"amount":250}},{"naga":{"amount":100,"capture":false}}`,
			"Thank you. Your Visa ending 1111 was charged 1.00 EUR, and 2.50 EUR is held on it until Test Shop confirms the rest of the order."},
	} {
		url := edInit(t, c, `{"cartId":"`+tc.cart+`","currency":"EUR","items":[`+tc.items+`]}`)
		urls[tc.cart] = url
		edPay(t, url, "4111 1111 1111 1111", http.StatusOK, "authorized")
		page := mustPage(t, ppNewBrowser(t), url)
		if !strings.Contains(page, tc.want) || strings.Contains(page, "was charged;") {
			t.Errorf("%s: the paid page does not say %q:\n%s", tc.cart, tc.want, page)
		}
	}
	// Once the merchant captures, the held amount was charged too.
	cbCall(t, c, http.MethodPost, "/capture", `{"cartId":"edge-page-0003"}`, http.StatusOK, "000000")
	if page := mustPage(t, ppNewBrowser(t), urls["edge-page-0003"]); !strings.Contains(page, "Your Visa ending 1111 was charged 3.50 EUR.") {
		t.Errorf("after capture the page says:\n%s", page)
	}
}
