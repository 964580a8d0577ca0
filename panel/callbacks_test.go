package panel

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/clock"
	"github.com/omnicart/omnicart/sqlite"
	"github.com/omnicart/omnicart/webhook"
)

// The Callbacks pages, through the real handler over HTTP (harness_test.go).

// secretOnPage finds a signing secret on a page (HTML-escaped there: the
// template writes + as &#43;).
var secretOnPage = regexp.MustCompile(`whsec_[A-Za-z0-9+/=&#;]+`)

// secretsOn returns the secrets a page shows, unescaped.
func secretsOn(body string) []string {
	var out []string
	for _, s := range secretOnPage.FindAllString(body, -1) {
		out = append(out, html.UnescapeString(s))
	}
	return out
}

// cbEndpointID reads the endpointId an endpoint page shows.
func cbEndpointID(tp *testPanel, res testResponse) string {
	tp.t.Helper()
	m := regexp.MustCompile(`<dt>endpointId</dt><dd>(ep_[0-9a-f]+)</dd>`).FindStringSubmatch(res.body)
	if m == nil {
		tp.t.Fatalf("%s: no endpointId on the page\n%s", res.url, res.body)
	}
	return m[1]
}

// cbAdd adds an endpoint through the Panel and returns its id and the
// secret the answer shows.
func cbAdd(tp *testPanel, rawURL string, events ...string) (string, string) {
	tp.t.Helper()
	res := tp.post("/panel/callbacks/endpoints", url.Values{"url": {rawURL}, "events": events})
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "shown only once", rawURL)
	secrets := secretsOn(res.body)
	if len(secrets) != 1 {
		tp.t.Fatalf("the answer shows %d secrets, want 1\n%s", len(secrets), res.body)
	}
	return cbEndpointID(tp, res), secrets[0]
}

// auditActions lists the audit log's actions, oldest first.
func auditActions(tp *testPanel) []string {
	tp.t.Helper()
	var out []string
	es := tp.audit()
	for i := len(es) - 1; i >= 0; i-- {
		out = append(out, es[i].Action)
	}
	return out
}

func wantAudit(tp *testPanel, actions ...string) {
	tp.t.Helper()
	got := auditActions(tp)
	for _, a := range actions {
		if !slices.Contains(got, a) {
			tp.t.Fatalf("the audit log lacks %s: %v", a, got)
		}
	}
}

// TestCallbacksEndpointLifecycle adds an endpoint (its secret shown in that
// answer only), rotates the secret with an overlap, disables and enables
// it, and removes it after a confirmation page; every change is in the
// audit log.
func TestCallbacksEndpointLifecycle(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOperator)
	ctx := context.Background()
	res := tp.get("/panel/callbacks")
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "No endpoint yet", `action="/panel/callbacks/endpoints"`, `aria-current="page">Callbacks`)

	id, secret := cbAdd(tp, "https://shop.example/hooks", omnicart.EventPaymentStatusChanged, omnicart.EventAutoActionPending)
	e, err := tp.handler.Callbacks.Endpoint(ctx, tp.merchant.ID, id)
	if err != nil || e.Secret != secret || !slices.Equal(e.Events, []string{omnicart.EventPaymentStatusChanged, omnicart.EventAutoActionPending}) {
		t.Fatalf("stored endpoint %+v %v; the page showed secret %s", e, err, secret)
	}
	res = tp.get("/panel/callbacks")
	tp.wantBody(res, "https://shop.example/hooks", id, omnicart.EventPaymentStatusChanged+", "+omnicart.EventAutoActionPending, `data-status="active"`, "One secret.")
	tp.wantNoBody(res, "whsec_")
	res = tp.get("/panel/callbacks/endpoints/" + id)
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "Delivery log", "No delivery attempt yet", "Rotate secret", "Disable endpoint")
	tp.wantNoBody(res, "whsec_")

	// Rotate with a one-hour overlap: the new secret once, the old one
	// still signs.
	res = tp.post("/panel/callbacks/endpoints/"+id+"/rotate", url.Values{"overlapSecs": {"3600"}})
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "The secret is rotated", "previous secret also signs until 2030-01-02 11:00:00 UTC")
	secrets := secretsOn(res.body)
	if len(secrets) != 1 || secrets[0] == secret {
		t.Fatalf("rotation shows %v (old %s)", secrets, secret)
	}
	e, _ = tp.handler.Callbacks.Endpoint(ctx, tp.merchant.ID, id)
	if e.Secret != secrets[0] || e.PreviousSecret != secret || !e.PreviousExpiresAt.Equal(testStart.Add(time.Hour)) {
		t.Fatalf("after rotation: %+v", e)
	}
	res = tp.get("/panel/callbacks/endpoints/" + id)
	tp.wantNoBody(res, "whsec_")
	tp.wantBody(res, "Rotated: the previous secret also signs until")
	// An overlap of none stops the old secret at once.
	tp.wantStatus(tp.post("/panel/callbacks/endpoints/"+id+"/rotate", url.Values{"overlapSecs": {"0"}}), http.StatusOK)
	if e, _ = tp.handler.Callbacks.Endpoint(ctx, tp.merchant.ID, id); e.PreviousSecret != "" || len(e.Secrets(testStart)) != 1 {
		t.Fatalf("after a rotation without overlap: %+v", e)
	}

	res = tp.post("/panel/callbacks/endpoints/"+id+"/disable", nil)
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "The endpoint is disabled", `data-status="disabled"`, "Disabled: disabled by the merchant", "Enable endpoint")
	if e, _ = tp.handler.Callbacks.Endpoint(ctx, tp.merchant.ID, id); e.Enabled {
		t.Fatal("the endpoint is still enabled")
	}
	res = tp.post("/panel/callbacks/endpoints/"+id+"/enable", nil)
	tp.wantBody(res, "The endpoint is enabled", `data-status="active"`, "Disable endpoint")
	if e, _ = tp.handler.Callbacks.Endpoint(ctx, tp.merchant.ID, id); !e.Enabled {
		t.Fatal("the endpoint is still disabled")
	}

	// Change the URL and events.
	res = tp.post("/panel/callbacks/endpoints/"+id, url.Values{"url": {"https://shop.example/v2/hooks"}, "events": {omnicart.EventTimerStatusChanged}})
	tp.wantBody(res, "The endpoint is changed", "https://shop.example/v2/hooks")
	if e, _ = tp.handler.Callbacks.Endpoint(ctx, tp.merchant.ID, id); e.URL != "https://shop.example/v2/hooks" || !slices.Equal(e.Events, []string{omnicart.EventTimerStatusChanged}) {
		t.Fatalf("after the change: %+v", e)
	}

	res = tp.get("/panel/callbacks/endpoints/" + id + "/remove")
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "Remove the endpoint", "https://shop.example/v2/hooks", "cannot be undone", `action="/panel/callbacks/endpoints/`+id+`/remove"`)
	res = tp.post("/panel/callbacks/endpoints/"+id+"/remove", nil)
	tp.wantStatus(res, http.StatusOK)
	if res.url.Path != "/panel/callbacks" {
		t.Fatalf("after removing: at %s", res.url)
	}
	tp.wantBody(res, "Endpoint "+id+" is removed", "No endpoint yet")
	if _, err := tp.handler.Callbacks.Endpoint(ctx, tp.merchant.ID, id); err == nil {
		t.Fatal("the endpoint is still there")
	}
	tp.wantStatus(tp.get("/panel/callbacks/endpoints/"+id), http.StatusNotFound)
	tp.wantStatus(tp.post("/panel/callbacks/endpoints/"+id+"/remove", nil), http.StatusNotFound)

	wantAudit(tp, "callback.endpoint.add", "callback.endpoint.rotate", "callback.endpoint.disable", "callback.endpoint.enable",
		"callback.endpoint.update", "callback.endpoint.remove")
	for _, en := range tp.audit() {
		if strings.Contains(en.Detail, "whsec_") {
			t.Fatalf("a secret in the audit log: %+v", en)
		}
		if en.Action == "callback.endpoint.rotate" && en.Detail == "overlap 1h0m0s" && (en.Actor != tp.user.Email || en.Target != "endpoint "+id) {
			t.Fatalf("rotation entry %+v", en)
		}
	}
}

// TestCallbacksRefusalsReadAsTheAPI checks that what the manager refuses is
// shown with the API's code and message (422), never a 500, and changes
// nothing.
func TestCallbacksRefusalsReadAsTheAPI(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	ctx := context.Background()
	for _, c := range []struct {
		url    string
		events []string
		want   omnicart.Problem
	}{
		{"not a url", []string{omnicart.EventPaymentStatusChanged}, omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: "url"}},
		{"ftp://shop.example/x", []string{omnicart.EventPaymentStatusChanged}, omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: "url"}},
		{"https://user:pw@shop.example/x", []string{omnicart.EventPaymentStatusChanged}, omnicart.Problem{Code: omnicart.CodeInvalidValue, Arg: "url"}},
		{"https://shop.example/x", nil, omnicart.Problem{Code: omnicart.CodeInvalidValue, Arg: "events"}},
		{"https://shop.example/x", []string{"cart.exploded"}, omnicart.Problem{Code: omnicart.CodeInvalidValue, Arg: "events"}},
	} {
		res := tp.post("/panel/callbacks/endpoints", url.Values{"url": {c.url}, "events": c.events})
		tp.wantStatus(res, http.StatusUnprocessableEntity)
		tp.wantBody(res, "Refused: "+string(c.want.Code)+" "+c.want.Message(), `role="alert"`)
		tp.wantNoBody(res, "whsec_")
	}
	if eps, _ := tp.handler.Callbacks.Endpoints(ctx, tp.merchant.ID); len(eps) != 0 {
		t.Fatalf("refused endpoints were added: %d", len(eps))
	}
	// The form keeps what was typed.
	res := tp.post("/panel/callbacks/endpoints", url.Values{"url": {"https://shop.example/kept"}})
	tp.wantBody(res, `value="https://shop.example/kept"`)

	id, _ := cbAdd(tp, "https://shop.example/hooks", omnicart.EventPaymentStatusChanged)
	for _, c := range []struct {
		overlap string
		want    omnicart.Problem
	}{
		{"604801", omnicart.Problem{Code: omnicart.CodeInvalidValue, Arg: "overlapSecs"}},
		{"-1", omnicart.Problem{Code: omnicart.CodeInvalidValue, Arg: "overlapSecs"}},
		{"a day", omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: "overlapSecs"}},
	} {
		res := tp.post("/panel/callbacks/endpoints/"+id+"/rotate", url.Values{"overlapSecs": {c.overlap}})
		tp.wantStatus(res, http.StatusUnprocessableEntity)
		tp.wantBody(res, "Refused: "+string(c.want.Code)+" "+c.want.Message())
		tp.wantNoBody(res, "whsec_")
	}
	res = tp.post("/panel/callbacks/endpoints/"+id, url.Values{"url": {"https://shop.example/x#frag"}, "events": {omnicart.EventPaymentStatusChanged}})
	tp.wantStatus(res, http.StatusUnprocessableEntity)
	tp.wantBody(res, "Refused: 123003 url has invalid value", `value="https://shop.example/x#frag"`)
	if e, _ := tp.handler.Callbacks.Endpoint(ctx, tp.merchant.ID, id); e.URL != "https://shop.example/hooks" || e.PreviousSecret != "" {
		t.Fatalf("a refused change changed the endpoint: %+v", e)
	}
	// Unknown ids (or another merchant's) are 404, as unknown events are.
	tp.wantStatus(tp.get("/panel/callbacks/endpoints/ep_000000000000000000000000"), http.StatusNotFound)
	tp.wantStatus(tp.post("/panel/callbacks/endpoints/ep_000000000000000000000000/rotate", url.Values{"overlapSecs": {"0"}}), http.StatusNotFound)
	tp.wantStatus(tp.get("/panel/callbacks/events/evt_nope"), http.StatusNotFound)
	tp.wantStatus(tp.post("/panel/callbacks/events/evt_nope/resend", nil), http.StatusNotFound)
	// A bad filter is the API's message too.
	res = tp.get("/panel/callbacks?type=cart.exploded")
	tp.wantStatus(res, http.StatusBadRequest)
	tp.wantBody(res, "Refused filter: 123003 type has invalid value")
	wantAudit(tp, "callback.endpoint.add.refused", "callback.endpoint.rotate.refused", "callback.endpoint.update.refused")
}

// TestCallbacksViewerReadOnly: a viewer sees endpoints and events without
// forms, and every change it posts is refused with 403.
func TestCallbacksViewerReadOnly(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	ctx := context.Background()
	id, _ := cbAdd(tp, "https://shop.example/hooks", omnicart.EventPaymentStatusChanged)
	v := tp.as(omnicart.RoleViewer)
	res := v.get("/panel/callbacks")
	v.wantStatus(res, http.StatusOK)
	v.wantBody(res, "https://shop.example/hooks", "can read callbacks but not change them")
	v.wantNoBody(res, `action="/panel/callbacks/endpoints"`, "Add an endpoint")
	res = v.get("/panel/callbacks/endpoints/" + id)
	v.wantStatus(res, http.StatusOK)
	v.wantBody(res, "Delivery log")
	v.wantNoBody(res, "/rotate", "/disable", "/remove", "Save changes")
	v.wantStatus(v.get("/panel/callbacks/endpoints/"+id+"/remove"), http.StatusForbidden)
	for _, p := range []struct {
		path string
		form url.Values
	}{
		{"/panel/callbacks/endpoints", url.Values{"url": {"https://evil.example/"}, "events": {omnicart.EventPaymentStatusChanged}}},
		{"/panel/callbacks/endpoints/" + id, url.Values{"url": {"https://evil.example/"}, "events": {omnicart.EventPaymentStatusChanged}}},
		{"/panel/callbacks/endpoints/" + id + "/rotate", url.Values{"overlapSecs": {"0"}}},
		{"/panel/callbacks/endpoints/" + id + "/disable", nil},
		{"/panel/callbacks/endpoints/" + id + "/remove", nil},
		{"/panel/callbacks/events/evt_x/resend", nil},
	} {
		res := v.post(p.path, p.form)
		v.wantStatus(res, http.StatusForbidden)
		v.wantBody(res, "Not allowed")
		v.wantNoBody(res, "whsec_")
	}
	eps, err := tp.handler.Callbacks.Endpoints(ctx, tp.merchant.ID)
	if err != nil || len(eps) != 1 || eps[0].URL != "https://shop.example/hooks" || !eps[0].Enabled || eps[0].PreviousSecret != "" {
		t.Fatalf("a viewer changed endpoints: %v %v", eps, err)
	}
	for _, en := range tp.audit() {
		if en.Actor == v.user.Email && strings.HasPrefix(en.Action, "callback.") {
			t.Fatalf("a refused viewer's change in the audit log: %+v", en)
		}
	}
}

// TestCallbacksFormWithoutCSRFRefused: a forged form (no token) changes
// nothing, even for an owner.
func TestCallbacksFormWithoutCSRFRefused(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	ctx := context.Background()
	res := tp.postNoCSRF("/panel/callbacks/endpoints", url.Values{"url": {"https://evil.example/"}, "events": {omnicart.EventPaymentStatusChanged}})
	tp.wantStatus(res, http.StatusForbidden)
	tp.wantBody(res, "Form refused")
	id, _ := cbAdd(tp, "https://shop.example/hooks", omnicart.EventPaymentStatusChanged)
	for _, path := range []string{"/remove", "/disable", "/rotate"} {
		res := tp.postNoCSRF("/panel/callbacks/endpoints/"+id+path, url.Values{"overlapSecs": {"0"}, "csrf": {"forged"}})
		tp.wantStatus(res, http.StatusForbidden)
		tp.wantNoBody(res, "whsec_")
	}
	eps, _ := tp.handler.Callbacks.Endpoints(ctx, tp.merchant.ID)
	if len(eps) != 1 || !eps[0].Enabled || eps[0].PreviousSecret != "" {
		t.Fatalf("a forged form changed endpoints: %+v", eps)
	}
}

// TestCallbacksNotConfigured: without a callback manager the pages say so.
func TestCallbacksNotConfigured(t *testing.T) {
	tp := cbServe(newTestPanel(t, omnicart.RoleOwner), nil)
	res := tp.get("/panel/callbacks")
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "Callbacks are not configured on this server")
	res = tp.post("/panel/callbacks/endpoints", url.Values{"url": {"https://shop.example/"}})
	tp.wantStatus(res, http.StatusNotFound)
	tp.wantBody(res, "Callbacks are not configured on this server")
	// The cart page still works, saying it has no timeline.
	tp.initCart("cart-nocb")
	tp.wantBody(tp.get("/panel/carts/cart-nocb"), "not available on this server")
}

// cbServe serves a second Handler on tp's database with the callback
// manager m (nil: none), and signs tp's user in to it with a new browser.
func cbServe(tp *testPanel, m *webhook.Manager) *testPanel {
	tp.t.Helper()
	h := &Handler{Service: tp.service, Store: tp.handler.Store, Accounts: tp.handler.Accounts, Callbacks: m, Log: tp.handler.Log}
	srv := httptest.NewUnstartedServer(h)
	h.PublicURL = "http://" + srv.Listener.Addr().String()
	srv.Start()
	tp.t.Cleanup(srv.Close)
	c := *tp
	c.srv, c.handler, c.client = srv, h, newTestBrowser(tp.t)
	if res := c.signIn(tp.user.Email, testPassword); res.status != http.StatusOK {
		tp.t.Fatalf("sign-in: %d\n%s", res.status, res.body)
	}
	c.csrf = c.token(c.get("/panel/overview"))
	return &c
}

// runningClock tells the fake clock's time moving on in real time (so that
// deliveries the manager makes due at the fake now are due for the
// dispatcher, and latencies are real); its timers are real.
type runningClock struct {
	fake  *clock.Fake
	start time.Time
}

func (c runningClock) Now() time.Time { return c.fake.Now().Add(time.Since(c.start)) }
func (c runningClock) NewTimer(d time.Duration) omnicart.ClockTimer {
	return clock.Real{}.NewTimer(d)
}

// receiver is an httptest callback receiver that counts the event ids it
// got.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string]int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{got: map[string]int{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		rc.mu.Lock()
		rc.got[r.Header.Get(webhook.HeaderID)]++
		rc.mu.Unlock()
		_, _ = io.WriteString(w, "thanks from the receiver")
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) count(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.got[id]
}

// waitFor polls cond for 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCallbacksDeliveryLogAndResend runs the dispatcher: a paid cart's event
// reaches an httptest receiver, the endpoint's delivery log shows the
// attempt (time, event, HTTP status, latency, response excerpt), the list
// and the event page show the delivery, and a confirmed resend queues a new
// delivery that reaches the receiver again.
func TestCallbacksDeliveryLogAndResend(t *testing.T) {
	base := newTestPanel(t, omnicart.RoleOwner)
	store := sqlite.NewCallbacks(base.db)
	d := &webhook.Dispatcher{Store: store, Client: webhook.NewClient(webhook.ClientOptions{AllowPrivate: true}),
		Log: base.handler.Log, Clock: runningClock{fake: base.clock, start: time.Now()}, Poll: 10 * time.Millisecond}
	mgr := &webhook.Manager{Store: store, Now: base.clock.Now, AllowPrivate: true, Notify: d.Poke}
	tp := cbServe(base, mgr)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-stopped })

	rc := newReceiver(t)
	id, _ := cbAdd(tp, rc.srv.URL+"/hooks", omnicart.EventPaymentStatusChanged)
	other, _ := cbAdd(tp, "https://shop.example/timers-only", omnicart.EventTimerStatusChanged)
	tp.pay(tp.initCart("cart-cb-1"))

	var attempts []omnicart.CallbackAttemptRecord
	waitFor(t, "a delivery attempt", func() bool {
		var err error
		attempts, err = mgr.Attempts(context.Background(), tp.merchant.ID, id, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(attempts) > 0
	})
	a := attempts[len(attempts)-1]
	if a.HTTPStatus != http.StatusOK || a.Status != omnicart.DeliverySucceeded || rc.count(a.EventID) != 1 {
		t.Fatalf("attempt %+v; the receiver got it %d times", a, rc.count(a.EventID))
	}
	res := tp.get("/panel/callbacks/endpoints/" + id)
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, a.EventID, a.At.UTC().Format(stampLayout), "<td>200</td>", " ms</td>", "thanks from the receiver",
		omnicart.EventPaymentStatusChanged+" · cart-cb-1", `data-status="succeeded"`)
	tp.wantNoBody(res, "No delivery attempt yet")
	res = tp.get("/panel/callbacks")
	tp.wantBody(res, a.EventID, "cart-cb-1", "<strong>succeeded</strong> to <code>"+rc.srv.URL+"/hooks</code>, 1 attempt, HTTP 200")
	res = tp.get("/panel/callbacks?cartId=cart-other")
	tp.wantBody(res, "No events match")
	tp.wantNoBody(res, a.EventID)

	// The event page: its delivery, and the resend form.
	res = tp.get("/panel/callbacks/events/" + a.EventID)
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "cart-cb-1", `&#34;type&#34;: &#34;payment.status_changed&#34;`, `data-status="succeeded"`, "Resend this event",
		"/panel/callbacks/events/"+a.EventID+"/resend?endpointId="+id)
	// Confirmation pages (all subscribed; one endpoint), then the resend.
	res = tp.get("/panel/callbacks/events/" + a.EventID + "/resend")
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "to every enabled endpoint subscribed to payment.status_changed", rc.srv.URL+"/hooks", "Confirm resend")
	tp.wantNoBody(res, "timers-only")
	res = tp.get("/panel/callbacks/events/" + a.EventID + "/resend?endpointId=" + id)
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "to the endpoint <code>"+rc.srv.URL+"/hooks</code>", `name="endpointId" value="`+id+`"`)
	res = tp.post("/panel/callbacks/events/"+a.EventID+"/resend", url.Values{"endpointId": {id}})
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "Re-sent: 1 new delivery queued")
	ev, err := mgr.Event(context.Background(), tp.merchant.ID, a.EventID)
	if err != nil || len(ev.Deliveries) != 2 {
		t.Fatalf("after the resend, the event has %v deliveries (%v)", ev, err)
	}
	waitFor(t, "the re-sent event at the receiver", func() bool { return rc.count(a.EventID) == 2 })
	waitFor(t, "the re-sent delivery's attempt in the log", func() bool {
		attempts, _ = mgr.Attempts(context.Background(), tp.merchant.ID, id, 10)
		n := 0
		for _, x := range attempts {
			if x.EventID == a.EventID && x.Status == omnicart.DeliverySucceeded {
				n++
			}
		}
		return n == 2
	})
	// Resend to every subscribed endpoint: the timers-only endpoint is not
	// one of them.
	res = tp.post("/panel/callbacks/events/"+a.EventID+"/resend", nil)
	tp.wantBody(res, "Re-sent: 1 new delivery queued")
	if ev, _ = mgr.Event(context.Background(), tp.merchant.ID, a.EventID); len(ev.Deliveries) != 3 || slices.ContainsFunc(ev.Deliveries, func(x omnicart.CallbackDeliveryRecord) bool { return x.EndpointID == other }) {
		t.Fatalf("deliveries after resending to all: %+v", ev.Deliveries)
	}
	// A disabled endpoint cannot be a resend's target: the API's 123003.
	tp.wantStatus(tp.post("/panel/callbacks/endpoints/"+other+"/disable", nil), http.StatusOK)
	res = tp.post("/panel/callbacks/events/"+a.EventID+"/resend", url.Values{"endpointId": {other}})
	tp.wantStatus(res, http.StatusUnprocessableEntity)
	tp.wantBody(res, "Refused: 123003 endpointId has invalid value")
	tp.wantStatus(tp.get("/panel/callbacks/events/"+a.EventID+"/resend?endpointId="+other), http.StatusUnprocessableEntity)
	// With its only subscriber disabled, resending to all sends nothing.
	tp.wantStatus(tp.post("/panel/callbacks/endpoints/"+id+"/disable", nil), http.StatusOK)
	res = tp.post("/panel/callbacks/events/"+a.EventID+"/resend", nil)
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "Nothing was re-sent")
	wantAudit(tp, "callback.event.resend", "callback.event.resend.refused")
	// The cart page's timeline shows the event too.
	tp.wantBody(tp.get("/panel/carts/cart-cb-1"), "payment.status_changed")
}

// TestCallbacksRefusedURLAudit: a refused endpoint URL is recorded in the
// audit log without its user information, query and fragment (which may
// hold secrets), and bounded.
func TestCallbacksRefusedURLAudit(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	for _, raw := range []string{
		"https://admin:s3cret-pass@hooks.example.com/omnicart?token=s3cret-token#s3cret-frag",
		"ftp://admin:s3cret-pass@hooks.example.com/x?token=s3cret-token",
		"https://hooks.example.com/" + strings.Repeat("p", 400) + "?token=s3cret-token#refused",
	} {
		res := tp.post("/panel/callbacks/endpoints", url.Values{"url": {raw}, "events": {"payment.status_changed"}})
		tp.wantStatus(res, http.StatusUnprocessableEntity)
		e := tp.lastAudit()
		if e.Action != "callback.endpoint.add.refused" || !strings.HasPrefix(e.Target, "url ") || !strings.Contains(e.Target, "hooks.example.com/") {
			t.Fatalf("audit entry %+v", e)
		}
		if strings.Contains(e.Target+e.Detail, "s3cret") || len([]rune(e.Target)) > maxAuditInput+10 {
			t.Errorf("the audit entry repeats a secret or is too long: %+v", e)
		}
	}
	if e := tp.lastAudit(); !strings.HasSuffix(e.Target, "…") {
		t.Errorf("a long URL is not truncated: %q", e.Target)
	}
}

func TestAuditURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.example.com/omnicart":                        "https://hooks.example.com/omnicart",
		"https://u:p@hooks.example.com/a?b=c#d":                     "https://hooks.example.com/a",
		"https://u:p@x@hooks.example.com:8443/a/b@c?x":              "https://hooks.example.com:8443/a/b@c",
		"https://u:p@hooks.example.com":                             "https://hooks.example.com",
		"u:p@hooks.example.com/x":                                   "hooks.example.com/x",
		"https://hooks.example.com/(events 1–5)?t=1":                "https://hooks.example.com/(events 1-5)",
		"http://[::1]:9/hooks?secret=1":                             "http://[::1]:9/hooks",
		"https://hooks.example.com/\xff?k=v":                        "https://hooks.example.com/\uFFFD",
		"https://u:p@hooks.example.com\\evil@example.org/?secret=1": "https://hooks.example.com\\evil@example.org/",
	} {
		if got := auditURL(in); got != want {
			t.Errorf("auditURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestResendRefusalsDoNotRepeatInput: a resend to an endpoint the
// merchant cannot send to (unknown, or disabled), asked by a link or a
// form, is refused with the API's code and a message that names no
// endpointId: the parameter is not repeated on the page.
func TestResendRefusalsDoNotRepeatInput(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	ctx := context.Background()
	cbAdd(tp, "https://shop.example/hooks", omnicart.EventPaymentStatusChanged)
	off, _ := cbAdd(tp, "https://shop.example/off", omnicart.EventPaymentStatusChanged)
	tp.wantStatus(tp.post("/panel/callbacks/endpoints/"+off+"/disable", nil), http.StatusOK)
	tp.pay(tp.initCart("cart-resend-input"))
	d := &webhook.Dispatcher{Store: tp.handler.Callbacks.Store, Clock: tp.clock, Log: tp.handler.Log}
	if _, err := d.FanOut(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := tp.handler.Callbacks.Events(ctx, tp.merchant.ID, omnicart.CallbackEventQuery{CartID: "cart-resend-input"})
	if err != nil || len(evs) == 0 {
		t.Fatalf("events: %v, %v", evs, err)
	}
	path := "/panel/callbacks/events/" + evs[0].ID + "/resend"
	const injected = "Call +1 555 0100 to claim your refund"
	for _, target := range []string{injected, "ep_000000000000000000000000", off} {
		res := tp.get(path + "?endpointId=" + url.QueryEscape(target))
		tp.wantStatus(res, http.StatusUnprocessableEntity)
		tp.wantBody(res, "Refused: 123003 endpointId has invalid value: the chosen endpoint is not an enabled endpoint of this merchant")
		tp.wantNoBody(res, injected, "ep_000000000000000000000000</", "the endpoint "+off)
	}
	res := tp.post(path, url.Values{"endpointId": {injected}})
	tp.wantStatus(res, http.StatusNotFound)
	tp.wantBody(res, "Not sent: the chosen endpoint is not an enabled endpoint of this merchant", "Resend this event")
	tp.wantNoBody(res, injected)
	res = tp.post(path, url.Values{"endpointId": {off}})
	tp.wantStatus(res, http.StatusUnprocessableEntity)
	tp.wantBody(res, "Refused: 123003 endpointId has invalid value")
	// An unknown event is still not found, without repeating its id.
	res = tp.post("/panel/callbacks/events/evt_"+url.PathEscape(injected)+"/resend", url.Values{"endpointId": {""}})
	tp.wantStatus(res, http.StatusNotFound)
	tp.wantBody(res, "This merchant has no callback event with this id.")
	tp.wantNoBody(res, injected)
}
