package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// cbSchedule is the retry schedule of the callback tests: the production
// shape, in milliseconds instead of hours.
const cbSchedule = "50ms,100ms,150ms,200ms,250ms,300ms,300ms,300ms,300ms"

// cbTwoItems is the cart of the seed's manual, tag and partial scenarios:
// two items, two tags, two-step payment.
const cbTwoItems = `{"cartId":"%s","currency":"XAU","items":[` +
	`{"pegasus":{"amount":250,"tag":"rampart","capture":true}},` +
	`{"naga":{"amount":1100,"tag":"tower","capture":true}}]}`

// TestCallbacks runs the callback scenarios on one server (each with its
// own merchant and receiver): every status change of the seed scenarios
// and of the timers arrives, signed, with the right from/to, data and
// per-cart sequence; retries, 410, re-send, rotation, isolation of slow
// endpoints and the management API.
func TestCallbacks(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t, "--allow-private-callbacks", "--callback-retry-schedule", cbSchedule)

	t.Run("seed manual cancel", func(t *testing.T) {
		t.Parallel()
		_, c, r, _ := cbMerchant(t, srv, "pegasus,naga")
		cart := "cb-manual-0001"
		cbInitAndPay(t, c, fmt.Sprintf(cbTwoItems, cart))
		cbCall(t, c, http.MethodPost, "/cancel", `{"cartId":"`+cart+`"}`, http.StatusOK, "000000")
		evs := r.waitPayment(cart, "pegasus:initiated>authorized", "naga:initiated>authorized",
			"pegasus:authorized>canceled", "naga:authorized>canceled")
		cbWantChanges(t, evs[0], "payment.status_changed", "pegasus:initiated>authorized", "naga:initiated>authorized")
		if last := evs[len(evs)-1]; last.Data.TotalAmounts.Current != 0 {
			t.Fatalf("after cancel: %s", last.raw)
		}
	})

	t.Run("seed cancel by tags then capture", func(t *testing.T) {
		t.Parallel()
		_, c, r, _ := cbMerchant(t, srv, "pegasus,naga")
		cart := "cb-tags-0001"
		cbInitAndPay(t, c, fmt.Sprintf(cbTwoItems, cart))
		cbCall(t, c, http.MethodPost, "/cancel", `{"cartId":"`+cart+`","filterBox":{"tags":["rampart"]}}`, http.StatusOK, "000000")
		cbCall(t, c, http.MethodPost, "/capture", `{"cartId":"`+cart+`"}`, http.StatusOK, "000000")
		evs := r.waitPayment(cart, "pegasus:initiated>authorized", "naga:initiated>authorized",
			"pegasus:authorized>canceled", "naga:authorized>captured", "naga:captured>completed")
		if len(evs) != 3 {
			t.Fatalf("want 3 events (payment, cancel, capture), got %d", len(evs))
		}
	})

	t.Run("seed partial cancellation", func(t *testing.T) {
		t.Parallel()
		_, c, r, _ := cbMerchant(t, srv, "pegasus,naga")
		cart := "cb-partial-0001"
		cbInitAndPay(t, c, fmt.Sprintf(cbTwoItems, cart))
		cbCall(t, c, http.MethodPatch, "/modify", `{"cartId":"`+cart+`","modifyBox":{"items":[{"pegasus":{"modifyAmount":{"amount":150,"amountMode":"declared"}}}]}}`, http.StatusOK, "000000")
		cbCall(t, c, http.MethodPost, "/capture", `{"cartId":"`+cart+`"}`, http.StatusOK, "000000")
		evs := r.waitPayment(cart, "pegasus:initiated>authorized", "naga:initiated>authorized",
			"pegasus:authorized>captured", "pegasus:captured>completed", "naga:authorized>captured", "naga:captured>completed")
		var a cbAmounts
		if err := json.Unmarshal(evs[1].Changes[1].ItemAmounts, &a); err != nil || evs[1].Changes[1].ItemID != "pegasus" ||
			a != (cbAmounts{Initiated: 250, Captured: 150, Current: 150}) {
			t.Fatalf("pegasus amounts in the capture event: %+v %v: %s", a, err, evs[1].raw)
		}
	})

	t.Run("seed auto cancel with warning", func(t *testing.T) {
		t.Parallel()
		_, c, r, _ := cbMerchant(t, srv, "pegasus")
		cart := "cb-auto-0001"
		cbInitAndPay(t, c, `{"cartId":"`+cart+`","currency":"XAU","items":[{"pegasus":{"amount":250,"capture":true,"captureSettings":{"autoAction":"cancel","value":172800}}}]}`)
		cbAdvance(t, c, 172800)
		r.waitFor("3 events", cbHasCartEvents(cart, 3))
		evs := r.cart(cart)
		cbCheckSequence(t, evs, 3)
		cbWantChanges(t, evs[0], "payment.status_changed", "pegasus:initiated>authorized")
		cbWantChanges(t, evs[1], "payment.auto_action_pending", "pegasus:cancel")
		cbWantChanges(t, evs[2], "payment.status_changed", "pegasus:authorized>canceled")
		warned, _ := time.Parse("2006-01-02T15:04:05.000Z", evs[1].CreatedAt)
		due, err := time.Parse("2006-01-02T15:04:05.000Z", evs[1].Changes[0].DueAt)
		if err != nil || due.Sub(warned) != time.Hour {
			t.Fatalf("warning at %s for an auto action due %s (%v): want one hour ahead", evs[1].CreatedAt, evs[1].Changes[0].DueAt, err)
		}
	})

	t.Run("cart expiry", func(t *testing.T) {
		t.Parallel()
		_, c, r, _ := cbMerchant(t, srv, "pegasus")
		cart := "cb-expiry-0001"
		cbInitCart(t, c, `{"cartId":"`+cart+`","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`)
		cbAdvance(t, c, 7200)
		r.waitFor("1 event", cbHasCartEvents(cart, 1))
		evs := r.cart(cart)
		cbCheckSequence(t, evs, 1)
		cbWantChanges(t, evs[0], "payment.status_changed", "pegasus:initiated>expired")
	})

	t.Run("timers and event type filter", func(t *testing.T) {
		t.Parallel()
		id, c, all, _ := cbMerchant(t, srv, "pegasus")
		timersOnly := cbNewReceiver(t)
		_, secret := cbAddEndpoint(t, srv, id, timersOnly.URL(), "--events", "timer.status_changed")
		timersOnly.setSecrets(secret)
		cart := "cb-timer-0001"
		cbInitAndPay(t, c, `{"cartId":"`+cart+`","customerId":"cust-1","currency":"EUR","items":[{"pegasus":{"amount":250,"enableTimer":true,"timer":{"triggerEvent":"authorized","value":600}}}]}`)
		cbAdvance(t, c, 600)
		all.waitFor("3 events", cbHasCartEvents(cart, 3))
		evs := all.cart(cart)
		cbCheckSequence(t, evs, 3)
		cbWantChanges(t, evs[0], "payment.status_changed", "pegasus:initiated>authorized")
		cbWantChanges(t, evs[1], "timer.status_changed", "pegasus:pending>started")
		cbWantChanges(t, evs[2], "timer.status_changed", "pegasus:started>elapsed")
		if r := evs[1].Changes[0].RemainingSecs; r == nil || *r != 600 {
			t.Fatalf("started timer remainingSecs: %s", evs[1].raw)
		}
		if r := evs[2].Changes[0].RemainingSecs; r == nil || *r != 0 {
			t.Fatalf("elapsed timer remainingSecs: %s", evs[2].raw)
		}
		timersOnly.waitFor("2 timer events", cbHasCartEvents(cart, 2))
		tev := timersOnly.cart(cart)
		if len(tev) != 2 || tev[0].Sequence != 2 || tev[1].Sequence != 3 || tev[0].Type != "timer.status_changed" || tev[1].Type != "timer.status_changed" {
			t.Fatalf("timer-only endpoint got %d events: %+v", len(tev), tev)
		}
	})

	t.Run("failing receiver gets everything after it recovers", func(t *testing.T) {
		t.Parallel()
		_, c, r, ep := cbMerchant(t, srv, "pegasus,naga")
		down := make(chan struct{})
		r.setAnswer(func(int) int {
			select {
			case <-down:
				return http.StatusOK
			default:
				return http.StatusServiceUnavailable
			}
		})
		for _, cart := range []string{"cb-down-0001", "cb-down-0002"} {
			cbInitAndPay(t, c, fmt.Sprintf(cbTwoItems, cart))
			cbCall(t, c, http.MethodPost, "/capture", `{"cartId":"`+cart+`"}`, http.StatusOK, "000000")
		}
		// Two events per cart: the authorization, and the capture of both
		// items (one request, one event).
		r.waitFor("failed attempts while down", func(r *cbReceiver) bool { return r.requests >= 4 })
		close(down)
		for _, cart := range []string{"cb-down-0001", "cb-down-0002"} {
			r.waitPayment(cart, "pegasus:initiated>authorized", "naga:initiated>authorized",
				"pegasus:authorized>captured", "pegasus:captured>completed", "naga:authorized>captured", "naga:captured>completed")
		}
		// The delivery log shows the failures and then the successes (each
		// event once; it is written just after the receiver answers).
		var failed, succeeded int
		cbWaitUntil(t, "the delivery log", r, func() bool {
			failed, succeeded = 0, 0
			for _, a := range cbEndpointLog(t, c, ep) {
				switch {
				case a.HTTPStatus != nil && *a.HTTPStatus == 503 && a.Error == "HTTP 503" && a.LatencyMs != nil:
					failed++
				case a.HTTPStatus != nil && *a.HTTPStatus == 200 && a.DeliveryStatus == "succeeded":
					succeeded++
				}
			}
			return succeeded == 4
		})
		if failed < 4 {
			t.Fatalf("delivery log: %d failed and %d succeeded attempts: %+v", failed, succeeded, cbEndpointLog(t, c, ep))
		}
	})

	t.Run("retries exhausted mark the endpoint failing", func(t *testing.T) {
		t.Parallel()
		_, c, r, ep := cbMerchant(t, srv, "pegasus")
		up := make(chan struct{})
		r.setAnswer(func(int) int {
			select {
			case <-up:
				return http.StatusOK
			default:
				return http.StatusInternalServerError
			}
		})
		cart := "cb-exhaust-0001"
		cbInitAndPay(t, c, `{"cartId":"`+cart+`","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`)
		cbWaitUntil(t, "the endpoint to be marked failing", r, func() bool { return cbGetEndpoint(t, c, ep).Status == "failing" })
		if n, _ := r.count(); n != 10 {
			t.Fatalf("got %d attempts, want 10 (1 + 9 retries)", n)
		}
		// The log line follows the commit that marks the endpoint: wait for it.
		if !srv.WaitForLog("endpoint marked failing", cbWait) {
			t.Fatalf("the operator was not told in the log:\n%s", srv.Logs())
		}
		// The given-up event is re-sent by hand once the receiver is back,
		// and a success clears the failing mark.
		close(up)
		evID := cbEventIDs(t, c, cart)[0]
		res := cbCall(t, c, http.MethodPost, "/callbacks/events/"+evID+"/resend", nil, http.StatusOK, "000000")
		if !strings.Contains(string(res.Raw), ep) {
			t.Fatalf("resend: %s", res.Raw)
		}
		r.waitFor("the re-sent event", cbHasCartEvents(cart, 1))
		cbWaitUntil(t, "the endpoint to be active again", r, func() bool { return cbGetEndpoint(t, c, ep).Status == "active" })
	})

	t.Run("410 disables the endpoint", func(t *testing.T) {
		t.Parallel()
		id, c, gone, ep := cbMerchant(t, srv, "pegasus")
		gone.setAnswer(func(int) int { return http.StatusGone })
		cart := "cb-gone-0001"
		cbInitAndPay(t, c, `{"cartId":"`+cart+`","currency":"EUR","items":[{"pegasus":{"amount":250,"capture":true}}]}`)
		cbWaitUntil(t, "the endpoint to be disabled", gone, func() bool { return !cbGetEndpoint(t, c, ep).Enabled })
		e := cbGetEndpoint(t, c, ep)
		if e.Status != "disabled" || !strings.Contains(e.DisabledReason, "410") {
			t.Fatalf("after 410: %+v", e)
		}
		// A later event goes to a healthy endpoint and not to the disabled
		// one.
		healthy := cbNewReceiver(t)
		hep, secret := cbAddEndpoint(t, srv, id, healthy.URL())
		healthy.setSecrets(secret)
		cbCall(t, c, http.MethodPost, "/cancel", `{"cartId":"`+cart+`"}`, http.StatusOK, "000000")
		healthy.waitFor("the cancel event", cbHasCartEvents(cart, 1))
		if n, _ := gone.count(); n != 1 {
			t.Fatalf("the disabled endpoint got %d requests, want 1", n)
		}
		ids := cbEventIDs(t, c, cart)
		detail := cbCall(t, c, http.MethodGet, "/callbacks/events/"+ids[len(ids)-1], nil, http.StatusOK, "000000")
		if !strings.Contains(string(detail.Raw), hep) || strings.Contains(string(detail.Raw), ep) {
			t.Fatalf("deliveries of the cancel event: %s", detail.Raw)
		}
		// The merchant can enable it again.
		res := cbCall(t, c, http.MethodPatch, "/callbacks/endpoints/"+ep, `{"enabled":true}`, http.StatusOK, "000000")
		if e := cbData[cbEndpointData](t, res); !e.Enabled || e.Status != "active" || e.DisabledReason != "" {
			t.Fatalf("re-enabled: %s", res.Raw)
		}
	})

	t.Run("resend", func(t *testing.T) {
		t.Parallel()
		id, c, r, ep := cbMerchant(t, srv, "pegasus")
		cart := "cb-resend-0001"
		cbInitAndPay(t, c, `{"cartId":"`+cart+`","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`)
		r.waitFor("the event", cbHasCartEvents(cart, 1))
		evID := cbEventIDs(t, c, cart)[0]
		res := cbCall(t, c, http.MethodPost, "/callbacks/events/"+evID+"/resend", `{"endpointId":"`+ep+`"}`, http.StatusOK, "000000")
		if !strings.Contains(string(res.Raw), ep) {
			t.Fatalf("resend: %s", res.Raw)
		}
		r.waitFor("the event twice", func(r *cbReceiver) bool { return len(r.events) >= 2 })
		srv.Admin("callbacks", "resend", "--merchant", id, evID)
		r.waitFor("the event three times", func(r *cbReceiver) bool { return len(r.events) >= 3 })
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, e := range r.events[1:] {
			if e.ID != evID || string(e.raw) != string(r.events[0].raw) || e.header.Get("webhook-id") != evID {
				t.Fatalf("re-sent event differs:\n%s\n%s", r.events[0].raw, e.raw)
			}
		}
	})

	t.Run("secret rotation overlap", func(t *testing.T) {
		t.Parallel()
		id, c, r, ep := cbMerchant(t, srv, "pegasus,naga")
		r.mu.Lock()
		oldSecret := r.secrets[0]
		r.mu.Unlock()
		res := cbCall(t, c, http.MethodPost, "/callbacks/endpoints/"+ep+"/rotate", `{"overlapSecs":3600}`, http.StatusOK, "000000")
		rot := cbData[cbEndpointData](t, res)
		if !strings.HasPrefix(rot.Secret, "whsec_") || rot.Secret == oldSecret || rot.PreviousSecretExpiresAt == "" {
			t.Fatalf("rotate: %s", res.Raw)
		}
		// During the overlap every delivery verifies with both secrets.
		r.setSecrets(oldSecret, rot.Secret)
		cbInitAndPay(t, c, fmt.Sprintf(cbTwoItems, "cb-rotate-0001"))
		r.waitFor("the event", cbHasCartEvents("cb-rotate-0001", 1))
		if sig := r.cart("cb-rotate-0001")[0].header.Get("webhook-signature"); len(strings.Fields(sig)) != 2 {
			t.Fatalf("signature during overlap: %q", sig)
		}
		// A rotation without overlap: only the newest secret signs.
		out := srv.Admin("callbacks", "rotate", "--merchant", id, ep, "--overlap", "0", "--json")
		var cli struct {
			EndpointID string `json:"endpointId"`
			Secret     string `json:"secret"`
		}
		if err := json.Unmarshal([]byte(out), &cli); err != nil || cli.EndpointID != ep || cli.Secret == rot.Secret {
			t.Fatalf("callbacks rotate printed %q: %v", out, err)
		}
		r.setSecrets(cli.Secret)
		cbCall(t, c, http.MethodPost, "/cancel", `{"cartId":"cb-rotate-0001"}`, http.StatusOK, "000000")
		r.waitFor("the second event", cbHasCartEvents("cb-rotate-0001", 2))
		if sig := r.cart("cb-rotate-0001")[1].header.Get("webhook-signature"); len(strings.Fields(sig)) != 1 {
			t.Fatalf("signature after a rotation without overlap: %q", sig)
		}
	})

	t.Run("slow endpoint does not delay others", func(t *testing.T) {
		t.Parallel()
		id, c, fast, _ := cbMerchant(t, srv, "pegasus")
		slow := cbNewReceiver(t)
		slow.hold = make(chan struct{})
		_, secret := cbAddEndpoint(t, srv, id, slow.URL())
		slow.setSecrets(secret)
		var carts []string
		for i := range 6 {
			cart := fmt.Sprintf("cb-slow-%04d", i)
			carts = append(carts, cart)
			cbInitAndPay(t, c, `{"cartId":"`+cart+`","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`)
		}
		for _, cart := range carts {
			fast.waitFor("the event of "+cart, cbHasCartEvents(cart, 1))
		}
		slow.waitFor("4 requests held", func(r *cbReceiver) bool { return r.inFlight == 4 })
		slow.mu.Lock()
		held, maxIn, got := slow.inFlight, slow.maxIn, len(slow.events)
		close(slow.hold)
		slow.mu.Unlock()
		if held != 4 || maxIn != 4 || got != 0 {
			t.Fatalf("slow endpoint: %d in flight, at most %d, %d answered; want 4, 4, 0", held, maxIn, got)
		}
		for _, cart := range carts {
			slow.waitFor("the event of "+cart, cbHasCartEvents(cart, 1))
		}
		if slow.maxIn > 4 {
			t.Fatalf("slow endpoint had %d requests in flight", slow.maxIn)
		}
	})

	t.Run("management API", func(t *testing.T) {
		t.Parallel()
		testCallbackManagementAPI(t, srv)
	})

	t.Run("CLI", func(t *testing.T) {
		t.Parallel()
		testCallbackCLI(t, srv)
	})
}

// cbEventIDs lists a cart's event ids through the management API, oldest
// first.
func cbEventIDs(tb testing.TB, c *client.Client, cartID string) []string {
	tb.Helper()
	res := cbCall(tb, c, http.MethodGet, "/callbacks/events?cartId="+cartID, nil, http.StatusOK, "000000")
	evs := cbData[struct {
		Events []struct {
			ID       string `json:"id"`
			Sequence int64  `json:"sequence"`
		} `json:"events"`
	}](tb, res).Events
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[len(evs)-1-i] = e.ID
		if e.Sequence != int64(len(evs)-i) {
			tb.Fatalf("events of %s are not newest first: %s", cartID, res.Raw)
		}
	}
	if len(ids) == 0 {
		tb.Fatalf("no events for %s: %s", cartID, res.Raw)
	}
	return ids
}
