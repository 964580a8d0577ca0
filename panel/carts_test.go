package panel

import (
	"context"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/sqlite"
	"github.com/omnicart/omnicart/webhook"
)

// The cart page's actions and content, and the overview's coming
// auto-actions, through the real handler over HTTP on SQLite (harness_test.go).

func cartI64(n int64) *int64 { return &n }

// cartItems returns the cart's items by itemId, as the API's status reads them.
func (tp *testPanel) cartItems(cartID string) map[string]*omnicart.Item {
	tp.t.Helper()
	m, err := tp.service.Merchant(context.Background(), tp.merchant.ID)
	if err != nil {
		tp.t.Fatal(err)
	}
	res, err := tp.service.Status(context.Background(), m, cartID, omnicart.Filter{}, omnicart.StagedProblems{})
	if err != nil {
		tp.t.Fatalf("status %s: %v", cartID, err)
	}
	out := map[string]*omnicart.Item{}
	for i := range res.Cart.Items {
		out[res.Cart.Items[i].ID] = &res.Cart.Items[i]
	}
	return out
}

// initCartSpec opens a cart through the service and returns its payment token.
func (tp *testPanel) initCartSpec(spec *omnicart.InitSpec) string {
	tp.t.Helper()
	if spec.Currency == "" {
		spec.Currency = "EUR"
	}
	res, err := tp.service.Init(context.Background(), tp.merchant, spec, nil)
	if err != nil {
		tp.t.Fatalf("init %s: %v", spec.CartID, err)
	}
	return res.PayToken
}

// cartAudit is the newest audit entry with the action.
func (tp *testPanel) cartAudit(action string) *omnicart.AuditEntry {
	tp.t.Helper()
	for _, e := range tp.audit() {
		if e.Action == action {
			return &e
		}
	}
	tp.t.Fatalf("no audit entry %s in %+v", action, tp.audit())
	return nil
}

func TestCartCaptureByTag(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOperator)
	tp.pay(tp.initCartSpec(&omnicart.InitSpec{CartID: "cart-tag-0001", Items: []omnicart.ItemSpec{
		{ID: "pegasus", Tag: "rampart", Amount: 1000}, {ID: "naga", Tag: "tower", Amount: 550}}}))

	page := tp.get("/panel/carts/cart-tag-0001")
	tp.wantStatus(page, http.StatusOK)
	tp.wantBody(page, `<form method="get" action="/panel/carts/cart-tag-0001/confirm" class="bytag">`, `<option value="rampart">rampart</option>`,
		`<option value="tower">tower</option>`)

	conf := tp.get("/panel/carts/cart-tag-0001/confirm?tag=rampart&action=capture")
	tp.wantStatus(conf, http.StatusOK)
	tp.wantBody(conf, "Capture <strong>10.00 EUR</strong>", "the items tagged <strong>rampart</strong>", "<li>pegasus</li>",
		`name="tag" value="rampart"`, "Confirm capture")
	tp.wantNoBody(conf, "<li>naga</li>")

	tp.wantBody(conf, `name="itemIds" value="pegasus"`, `name="total" value="1000"`)
	done := tp.submitConfirm(conf)
	tp.wantStatus(done, http.StatusOK)
	tp.wantBody(done, "Done: capture of pegasus.")
	items := tp.cartItems("cart-tag-0001")
	if items["pegasus"].Status != omnicart.StatusCompleted || items["pegasus"].Captured != 1000 {
		t.Errorf("pegasus after capture by tag: %+v", items["pegasus"])
	}
	if items["naga"].Status != omnicart.StatusAuthorized {
		t.Errorf("naga is %s, want authorized", items["naga"].Status)
	}
	if e := tp.cartAudit("cart.capture"); e.Target != "cart cart-tag-0001" || !strings.HasPrefix(e.Detail, "tag rampart: items pegasus") {
		t.Errorf("audit entry %+v", e)
	}

	// A tag the cart does not carry: the API's 124004.
	ref := tp.post("/panel/carts/cart-tag-0001/act", url.Values{"action": {"cancel"}, "tag": {"naga-tag"}})
	tp.wantStatus(ref, http.StatusUnprocessableEntity)
	tp.wantBody(ref, "<strong>124004</strong> Requested cart does not contain tag(s) [naga-tag]")
}

func TestCartModifyAmount(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	tp.pay(tp.initCartSpec(&omnicart.InitSpec{CartID: "cart-amount-01", Items: []omnicart.ItemSpec{{ID: "pegasus", Amount: 1000}, {ID: "naga", Amount: 300}}}))

	tp.wantBody(tp.get("/panel/carts/cart-amount-01"), `href="/panel/carts/cart-amount-01/confirm?action=amount&amp;item=pegasus"`)
	form := tp.get("/panel/carts/cart-amount-01/confirm?action=amount&item=pegasus")
	tp.wantStatus(form, http.StatusOK)
	tp.wantBody(form, `<label for="amount">New amount in EUR</label>`, `name="amount"`, `value="10.00"`, "now <strong>10.00 EUR</strong>")

	bad := tp.get("/panel/carts/cart-amount-01/confirm?action=amount&item=pegasus&amount=7.505")
	tp.wantBody(bad, `aria-invalid="true"`, "at most 2 decimals")

	conf := tp.get("/panel/carts/cart-amount-01/confirm?action=amount&item=pegasus&amount=7.50")
	tp.wantStatus(conf, http.StatusOK)
	tp.wantBody(conf, "from <strong>10.00 EUR</strong> to <strong>7.50 EUR</strong>", "2.50 EUR is released from the customer&#39;s hold",
		`name="amount" value="750"`, "Confirm amount change")

	tp.wantBody(conf, `name="from" value="1000"`, `name="to" value="750"`)
	done := tp.submitConfirm(conf)
	tp.wantStatus(done, http.StatusOK)
	tp.wantBody(done, "Done: the current amount of pegasus is now 7.50 EUR.")
	it := tp.cartItems("cart-amount-01")["pegasus"]
	if it.Status != omnicart.StatusAuthorized || it.Amounts().Current != 750 || it.Initiated != 1000 {
		t.Errorf("pegasus after partial cancellation: %+v", it)
	}
	if e := tp.cartAudit("cart.amount"); e.Detail != "item pegasus: current amount 10.00 EUR → 7.50 EUR" {
		t.Errorf("audit detail %q", e.Detail)
	}

	// Captured, then partly refunded.
	tp.wantStatus(tp.submitConfirm(tp.get("/panel/carts/cart-amount-01/confirm?action=capture&item=pegasus")), http.StatusOK)
	conf = tp.get("/panel/carts/cart-amount-01/confirm?action=amount&item=pegasus&amount=5")
	tp.wantBody(conf, "to <strong>5.00 EUR</strong>", "2.50 EUR is refunded to the customer")
	tp.wantStatus(tp.submitConfirm(conf), http.StatusOK)
	it = tp.cartItems("cart-amount-01")["pegasus"]
	if it.Status != omnicart.StatusCompleted || it.Captured != 750 || it.Refunded != 250 || it.Amounts().Current != 500 {
		t.Errorf("pegasus after partial refund: %+v", it)
	}

	// A raise is what the API refuses: its code and message.
	conf = tp.get("/panel/carts/cart-amount-01/confirm?action=amount&item=naga&amount=4")
	tp.wantBody(conf, "more than the current amount")
	ref := tp.submitConfirm(conf)
	tp.wantStatus(ref, http.StatusUnprocessableEntity)
	tp.wantBody(ref, "The amount change was refused: <strong>124112</strong> Modified item amount exceeds previous state for item(s): [naga]")
	// A value the API's decoder refuses, with its code.
	ref = tp.post("/panel/carts/cart-amount-01/act", url.Values{"action": {"amount"}, "item": {"naga"}, "amount": {"2.5"}, "from": {"300"}})
	tp.wantBody(ref, "<strong>122002</strong> modifyAmount.amount has invalid format for item(s) [naga]")
	if n := tp.cartItems("cart-amount-01")["naga"].Amounts().Current; n != 300 {
		t.Errorf("naga is %d after refusals", n)
	}
	if e := tp.cartAudit("cart.amount.refused"); !strings.Contains(e.Detail, "122002") {
		t.Errorf("refusal audit %+v", e)
	}
}

func TestCartTimerStartPause(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOperator)
	manual := omnicart.TriggerManual
	on := true
	tp.initCartSpec(&omnicart.InitSpec{CartID: "cart-timer-01", CustomerID: "cus-timer", Items: []omnicart.ItemSpec{
		{ID: "pegasus", Amount: 1000, Level: omnicart.Level{EnableTimer: &on, Trigger: &manual, TimerValue: cartI64(3600)}}, {ID: "naga", Amount: 100}}})

	page := tp.get("/panel/carts/cart-timer-01")
	tp.wantBody(page, "pending (starts by hand): 1h 00m once started", `href="/panel/carts/cart-timer-01/confirm?action=start&amp;item=pegasus"`)
	tp.wantNoBody(page, "action=pause&amp;item=pegasus", "action=start&amp;item=naga")

	conf := tp.get("/panel/carts/cart-timer-01/confirm?action=start&item=pegasus")
	tp.wantStatus(conf, http.StatusOK)
	tp.wantBody(conf, "Start the timer of <strong>pegasus</strong>", "Its timer is pending", "Confirm timer start")

	done := tp.post("/panel/carts/cart-timer-01/act", url.Values{"action": {"start"}, "item": {"pegasus"}})
	tp.wantStatus(done, http.StatusOK)
	tp.wantBody(done, "Done: start of the timer of pegasus.", "started: 1h 00m left, elapses 2030-01-02 11:00:00 UTC")
	if st := tp.cartItems("cart-timer-01")["pegasus"].Timer.Status; st != omnicart.TimerStarted {
		t.Fatalf("timer %s after start", st)
	}

	tp.clock.Advance(10 * time.Minute)
	tp.wantBody(tp.get("/panel/carts/cart-timer-01"), "started: 50m 00s left", "action=pause&amp;item=pegasus")

	tp.wantStatus(tp.post("/panel/carts/cart-timer-01/act", url.Values{"action": {"pause"}, "item": {"pegasus"}}), http.StatusOK)
	tm := tp.cartItems("cart-timer-01")["pegasus"].Timer
	if tm.Status != omnicart.TimerPaused || tm.Left != 50*time.Minute {
		t.Fatalf("timer after pause: %+v", tm)
	}
	tp.wantBody(tp.get("/panel/carts/cart-timer-01"), "paused: 50m 00s left")

	// Pausing a paused timer changes nothing: the API's info code.
	again := tp.post("/panel/carts/cart-timer-01/act", url.Values{"action": {"pause"}, "item": {"pegasus"}})
	tp.wantBody(again, "Nothing changed: 001010 Timer already paused, items [pegasus]")

	// Test clock: the merchant's time moves, the paused timer keeps its time.
	if _, err := tp.service.AdvanceClock(context.Background(), tp.merchant, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	tp.wantBody(tp.get("/panel/carts/cart-timer-01"), "paused: 50m 00s left", "test clock 2h 00m ahead of real time")

	tp.wantStatus(tp.post("/panel/carts/cart-timer-01/act", url.Values{"action": {"stop"}, "item": {"pegasus"}}), http.StatusOK)
	ref := tp.post("/panel/carts/cart-timer-01/act", url.Values{"action": {"start"}, "item": {"pegasus"}})
	tp.wantStatus(ref, http.StatusUnprocessableEntity)
	tp.wantBody(ref, "The timer start was refused: <strong>124107</strong> Cannot start a stopped timer, item(s): [pegasus]")
	// An item without a timer, as the API answers it.
	ref = tp.post("/panel/carts/cart-timer-01/act", url.Values{"action": {"pause"}, "item": {"naga"}})
	tp.wantBody(ref, "<strong>123002</strong> modifyTimer has invalid value for item(s) [naga]")

	for _, a := range []string{"cart.timer.start", "cart.timer.pause", "cart.timer.stop", "cart.timer.start.refused"} {
		tp.cartAudit(a)
	}
}

func TestCartRefusalShowsAPICode(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	tp.initCart("cart-unpaid-01") // nothing authorized

	conf := tp.get("/panel/carts/cart-unpaid-01/confirm?action=capture")
	tp.wantBody(conf, "As the cart stands, no item can be captured")
	ref := tp.post("/panel/carts/cart-unpaid-01/act", url.Values{"action": {"capture"}})
	tp.wantStatus(ref, http.StatusUnprocessableEntity)
	tp.wantBody(ref, `role="alert"`, "The capture was refused: <strong>124114</strong> No items in the authorized status",
		"the Merchant API answers for the same request")

	// The same request through the use case gives the same code and message.
	_, err := tp.service.Act(context.Background(), tp.merchant, omnicart.ActionCapture, "cart-unpaid-01", omnicart.Filter{}, omnicart.StagedProblems{})
	var de *omnicart.Error
	if !cartAsError(err, &de) || string(de.Problems[0].Code) != "124114" ||
		!strings.Contains(ref.body, html.EscapeString(de.Problems[0].Message())) {
		t.Errorf("the API answers %v", err)
	}

	ref = tp.post("/panel/carts/cart-unpaid-01/act", url.Values{"action": {"refund"}, "item": {"unicorn"}})
	tp.wantBody(ref, "<strong>124005</strong> Requested cart does not contain itemId(s) [unicorn]")
	if e := tp.cartAudit("cart.refund.refused"); !strings.Contains(e.Detail, "124005") {
		t.Errorf("audit %+v", e)
	}
}

func cartAsError(err error, de **omnicart.Error) bool {
	e, ok := err.(*omnicart.Error)
	if ok && len(e.Problems) > 0 {
		*de = e
	}
	return ok && len(e.Problems) > 0
}

func TestCartViewerRefused(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	manual := omnicart.TriggerManual
	on := true
	tp.pay(tp.initCartSpec(&omnicart.InitSpec{CartID: "cart-viewer-01", CustomerID: "cus-viewer", Items: []omnicart.ItemSpec{
		{ID: "pegasus", Tag: "rampart", Amount: 1000, Level: omnicart.Level{EnableTimer: &on, Trigger: &manual, TimerValue: cartI64(600)}}}}))
	v := tp.as(omnicart.RoleViewer)

	page := v.get("/panel/carts/cart-viewer-01")
	tp.wantStatus(page, http.StatusOK)
	tp.wantBody(page, "not act on them", "pending (starts by hand)")
	tp.wantNoBody(page, "/confirm", "Cancel", "Change amount", "Start timer", `class="bytag"`)

	for _, path := range []string{"/panel/carts/cart-viewer-01/confirm?action=amount&item=pegasus",
		"/panel/carts/cart-viewer-01/confirm?action=start&item=pegasus",
		"/panel/carts/cart-viewer-01/confirm?action=capture&tag=rampart"} {
		res := v.get(path)
		tp.wantStatus(res, http.StatusForbidden)
		tp.wantBody(res, "Not allowed")
	}
	for _, form := range []url.Values{
		{"action": {"amount"}, "item": {"pegasus"}, "amount": {"500"}},
		{"action": {"start"}, "item": {"pegasus"}},
		{"action": {"capture"}, "tag": {"rampart"}},
	} {
		res := v.post("/panel/carts/cart-viewer-01/act", form)
		tp.wantStatus(res, http.StatusForbidden)
	}
	it := tp.cartItems("cart-viewer-01")["pegasus"]
	if it.Status != omnicart.StatusAuthorized || it.Full != 1000 || it.Timer.Status != omnicart.TimerPending {
		t.Errorf("the viewer changed pegasus: %+v", it)
	}
}

func TestOverviewDueWithin24h(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleViewer)
	two := true
	tp.pay(tp.initCartSpec(&omnicart.InitSpec{CartID: "cart-due-soon", Items: []omnicart.ItemSpec{
		{ID: "pegasus", Amount: 1234, Level: omnicart.Level{Capture: &two, WindowSecs: cartI64(3 * 3600)}}}}))
	tp.pay(tp.initCartSpec(&omnicart.InitSpec{CartID: "cart-due-later", Items: []omnicart.ItemSpec{
		{ID: "pegasus", Amount: 500, Level: omnicart.Level{Capture: &two, WindowSecs: cartI64(3 * 24 * 3600)}}}}))
	other := tp.initCartSpec(&omnicart.InitSpec{CartID: "cart-unpaid-02", Items: []omnicart.ItemSpec{{ID: "naga", Amount: 700}}})
	_ = other

	res := tp.get("/panel/overview")
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, "Auto-actions in the next 24 hours", `<tr class="due-soon"><td>in 3h 00m`, "Capture window ends: auto-cancel",
		`<a href="/panel/carts/cart-due-soon">cart-due-soon</a>`, "12.34 EUR",
		"Cart expires unpaid", `<a href="/panel/carts/cart-unpaid-02">cart-unpaid-02</a>`, "7.00 EUR")
	tp.wantNoBody(res, "cart-due-later")
	if strings.Index(res.body, "cart-unpaid-02") > strings.Index(res.body, "cart-due-soon") {
		t.Errorf("the cart expiring first (in 2h) is not listed first")
	}

	// The merchant's test clock moves the deadlines closer.
	if _, err := tp.service.AdvanceClock(context.Background(), tp.merchant, 2*time.Hour+30*time.Minute); err != nil {
		t.Fatal(err)
	}
	res = tp.get("/panel/overview")
	tp.wantBody(res, "in 30m 00s", "cart-due-soon", "test clock 2h 30m ahead")
	tp.wantNoBody(res, "cart-unpaid-02") // expired meanwhile
	tp.wantBody(tp.get("/panel/carts/cart-due-soon"), "capture window: auto-cancel in 30m 00s")
}

func TestCartTimelineCausesAndCallbacks(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	ctx := context.Background()
	ep, _, err := tp.handler.Callbacks.AddEndpoint(ctx, tp.merchant.ID, webhook.NewEndpoint{URL: "http://127.0.0.1:9/hooks/omnicart"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.service.AddItems(ctx, tp.merchant.ID, []omnicart.CatalogItem{{ItemID: "lich", DisplayName: "Lich"}}); err != nil {
		t.Fatal(err)
	}
	two := true
	tp.pay(tp.initCartSpec(&omnicart.InitSpec{CartID: "cart-events-01", Items: []omnicart.ItemSpec{
		{ID: "pegasus", Amount: 1000}, {ID: "naga", Amount: 200}, {ID: "lich", Amount: 300}},
		Cart: omnicart.Level{Capture: &two, WindowSecs: cartI64(3600)}}))
	// The Panel captures pegasus, the API cancels naga, the capture
	// window ends lich's hold.
	tp.wantStatus(tp.submitConfirm(tp.get("/panel/carts/cart-events-01/confirm?action=capture&item=pegasus")), http.StatusOK)
	if _, err := tp.service.Act(ctx, tp.merchant, omnicart.ActionCancel, "cart-events-01", omnicart.Filter{ItemIDs: []string{"naga"}}, omnicart.StagedProblems{}); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.service.AdvanceClock(ctx, tp.merchant, time.Hour); err != nil {
		t.Fatal(err)
	}
	d := &webhook.Dispatcher{Store: sqlite.NewCallbacks(tp.db), Clock: tp.clock, Log: slog.New(slog.DiscardHandler)}
	if _, err := d.FanOut(ctx); err != nil {
		t.Fatal(err)
	}

	page := tp.get("/panel/carts/cart-events-01")
	tp.wantStatus(page, http.StatusOK)
	tp.wantBody(page,
		"pegasus: initiated → authorized; naga: initiated → authorized; lich: initiated → authorized", "by Customer: payment authorized",
		"pegasus: authorized → captured → completed", "by Panel: "+tp.user.Email,
		"naga: authorized → canceled", "by Merchant API request",
		"lich: auto-cancel at 2030-01-02 11:00:00 UTC", "by Timer: capture window warning",
		"lich: authorized → canceled", "by Timer: capture window ended (auto-cancel)",
		"Authorized at 2030-01-02 10:00:00 UTC on", "ending 1111",
		"http://127.0.0.1:9/hooks/omnicart", `data-delivery="pending"`, "not sent yet",
		`href="/panel/callbacks/endpoints/`+ep.ID+`"`,
		"Panel actions on this cart", "cart.capture</strong> by "+tp.user.Email)
	if n := strings.Count(page.body, `data-delivery="pending"`); n != 5 {
		t.Errorf("%d callbacks listed, want 5 (authorized, capture, cancel, warning, auto-cancel)", n)
	}
}

var (
	actForm     = regexp.MustCompile(`(?s)<form method="post" action="([^"]+/act)">(.*?)</form>`)
	hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// submitConfirm presses the confirm button of a confirmation page: it
// posts the page's action form with its hidden fields, as a browser does.
func (tp *testPanel) submitConfirm(conf testResponse) testResponse {
	tp.t.Helper()
	m := actForm.FindStringSubmatch(conf.body)
	if m == nil {
		tp.t.Fatalf("%s: no action form on the page\n%s", conf.url, conf.body)
	}
	form := url.Values{}
	for _, f := range hiddenField.FindAllStringSubmatch(m[2], -1) {
		if f[1] != "csrf" {
			form.Add(f[1], html.UnescapeString(f[2]))
		}
	}
	return tp.post(html.UnescapeString(m[1]), form)
}

// TestCartActOnlyConfirmedItems: a capture, cancel or refund acts on the
// items its confirmation page listed, never on items that reached the
// right status since; when the cart changed, nothing is done and a fresh
// confirmation is shown.
func TestCartActOnlyConfirmedItems(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOperator)
	ctx := context.Background()
	tp.pay(tp.initCartSpec(&omnicart.InitSpec{CartID: "cart-confirm-01", Items: []omnicart.ItemSpec{
		{ID: "pegasus", Amount: 1000}, {ID: "naga", Amount: 550}}}))
	if _, err := tp.service.Act(ctx, tp.merchant, omnicart.ActionCapture, "cart-confirm-01", omnicart.Filter{ItemIDs: []string{"pegasus"}}, omnicart.StagedProblems{}); err != nil {
		t.Fatal(err)
	}

	// The reviewer's case: "Refund 10.00 EUR, items: pegasus"; the API
	// then captures naga; the confirmed refund must not refund naga.
	conf := tp.get("/panel/carts/cart-confirm-01/confirm?action=refund")
	tp.wantBody(conf, "Refund <strong>10.00 EUR</strong>", "<li>pegasus</li>", `name="itemIds" value="pegasus"`)
	tp.wantNoBody(conf, "<li>naga</li>")
	if _, err := tp.service.Act(ctx, tp.merchant, omnicart.ActionCapture, "cart-confirm-01", omnicart.Filter{ItemIDs: []string{"naga"}}, omnicart.StagedProblems{}); err != nil {
		t.Fatal(err)
	}
	again := tp.submitConfirm(conf)
	tp.wantStatus(again, http.StatusConflict)
	tp.wantBody(again, "The cart changed since the confirmation page was shown", "would now cover pegasus, naga for 15.50 EUR",
		"not the confirmed pegasus", "Nothing was done", "Refund <strong>15.50 EUR</strong>", "<li>naga</li>", `name="itemIds" value="naga"`)
	items := tp.cartItems("cart-confirm-01")
	if items["pegasus"].Refunded != 0 || items["naga"].Refunded != 0 || items["naga"].Status != omnicart.StatusCompleted {
		t.Fatalf("a refund was done on a changed cart: pegasus %+v, naga %+v", items["pegasus"], items["naga"])
	}
	// The fresh confirmation, confirmed, refunds what it lists.
	done := tp.submitConfirm(again)
	tp.wantStatus(done, http.StatusOK)
	tp.wantBody(done, "Done: refund of pegasus, naga.")
	items = tp.cartItems("cart-confirm-01")
	if items["pegasus"].Refunded != 1000 || items["naga"].Refunded != 550 {
		t.Errorf("after the refund: pegasus %+v, naga %+v", items["pegasus"], items["naga"])
	}

	// A confirmed item that left the status: nothing is done (no partial
	// action either), the fresh confirmation shows what is left.
	tp.pay(tp.initCartSpec(&omnicart.InitSpec{CartID: "cart-confirm-02", Items: []omnicart.ItemSpec{
		{ID: "pegasus", Tag: "rampart", Amount: 1000}, {ID: "naga", Tag: "rampart", Amount: 550}}}))
	conf = tp.get("/panel/carts/cart-confirm-02/confirm?action=cancel&tag=rampart")
	tp.wantBody(conf, "Cancel <strong>15.50 EUR</strong>", "<li>pegasus</li>", "<li>naga</li>")
	if _, err := tp.service.Act(ctx, tp.merchant, omnicart.ActionCapture, "cart-confirm-02", omnicart.Filter{ItemIDs: []string{"naga"}}, omnicart.StagedProblems{}); err != nil {
		t.Fatal(err)
	}
	again = tp.submitConfirm(conf)
	tp.wantStatus(again, http.StatusConflict)
	tp.wantBody(again, "would now cover pegasus for 10.00 EUR", `name="tag" value="rampart"`)
	if it := tp.cartItems("cart-confirm-02")["pegasus"]; it.Status != omnicart.StatusAuthorized {
		t.Fatalf("pegasus is %s after a refused confirmation", it.Status)
	}

	// A form without the confirmed items (or with other ones) is never
	// widened to the whole cart or the tag.
	for _, form := range []url.Values{
		{"action": {"cancel"}},
		{"action": {"cancel"}, "tag": {"rampart"}},
		{"action": {"cancel"}, "itemIds": {"naga"}, "total": {"550"}},
	} {
		tp.wantStatus(tp.post("/panel/carts/cart-confirm-02/act", form), http.StatusConflict)
	}
	if it := tp.cartItems("cart-confirm-02")["pegasus"]; it.Status != omnicart.StatusAuthorized {
		t.Fatalf("pegasus is %s after unconfirmed forms", it.Status)
	}
	// The confirmed total is checked too.
	tp.wantStatus(tp.post("/panel/carts/cart-confirm-02/act", url.Values{"action": {"cancel"}, "itemIds": {"pegasus"}, "total": {"999"}}), http.StatusConflict)
	done = tp.submitConfirm(again)
	tp.wantBody(done, "Done: cancel of pegasus.")
	if e := tp.cartAudit("cart.cancel"); !strings.HasPrefix(e.Detail, "tag rampart: items pegasus (events") {
		t.Errorf("audit %+v", e)
	}
}

// TestCartAmountChangedSinceConfirm: an amount change is done only if the
// item's amount is still the one its confirmation showed.
func TestCartAmountChangedSinceConfirm(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	tp.pay(tp.initCartSpec(&omnicart.InitSpec{CartID: "cart-amount-02", Items: []omnicart.ItemSpec{{ID: "pegasus", Amount: 1000}}}))
	conf := tp.get("/panel/carts/cart-amount-02/confirm?action=amount&item=pegasus&amount=7.50")
	tp.wantBody(conf, "from <strong>10.00 EUR</strong> to <strong>7.50 EUR</strong>", `name="from" value="1000"`)
	// The API lowers it meanwhile.
	n := int64(900)
	if _, err := tp.service.Modify(context.Background(), tp.merchant, "cart-amount-02",
		&omnicart.ModifySpec{Items: []omnicart.ModifyItem{{ID: "pegasus", Amount: &omnicart.AmountChange{Amount: &n}}}}, omnicart.StagedProblems{}); err != nil {
		t.Fatal(err)
	}
	again := tp.submitConfirm(conf)
	tp.wantStatus(again, http.StatusConflict)
	tp.wantBody(again, "The amount of pegasus changed since the confirmation page was shown: it is now 9.00 EUR.",
		"from <strong>9.00 EUR</strong> to <strong>7.50 EUR</strong>", `name="from" value="900"`, "1.50 EUR is released")
	if cur := tp.cartItems("cart-amount-02")["pegasus"].Amounts().Current; cur != 900 {
		t.Fatalf("pegasus is %d after a refused confirmation", cur)
	}
	// A form without the confirmed amount is not done either.
	tp.wantStatus(tp.post("/panel/carts/cart-amount-02/act", url.Values{"action": {"amount"}, "item": {"pegasus"}, "amount": {"500"}}), http.StatusConflict)
	tp.wantStatus(tp.submitConfirm(again), http.StatusOK)
	if cur := tp.cartItems("cart-amount-02")["pegasus"].Amounts().Current; cur != 750 {
		t.Fatalf("pegasus is %d, want 750", cur)
	}

	// A calculated item: the quantity is always posted, with the one
	// confirmed; a quantity changed meanwhile is not overwritten.
	calc, two := omnicart.AmountCalculated, omnicart.DecimalFromMicros(2_000_000)
	tp.pay(tp.initCartSpec(&omnicart.InitSpec{CartID: "cart-amount-03", Items: []omnicart.ItemSpec{
		{ID: "naga", Amount: 300, Quantity: &two, Level: omnicart.Level{AmountMode: &calc}}}}))
	conf = tp.get("/panel/carts/cart-amount-03/confirm?action=amount&item=naga&amount=2.50")
	tp.wantBody(conf, "from <strong>6.00 EUR</strong> to <strong>5.00 EUR</strong>", `name="quantity" value="2"`, `name="fromQuantity" value="2"`, `name="to" value="500"`)
	one := omnicart.DecimalFromMicros(1_000_000)
	if _, err := tp.service.Modify(context.Background(), tp.merchant, "cart-amount-03",
		&omnicart.ModifySpec{Items: []omnicart.ModifyItem{{ID: "naga", Amount: &omnicart.AmountChange{Quantity: &one}}}}, omnicart.StagedProblems{}); err != nil {
		t.Fatal(err)
	}
	again = tp.submitConfirm(conf)
	tp.wantStatus(again, http.StatusConflict)
	tp.wantBody(again, "The amount of naga changed since the confirmation page was shown: it is now 3.00 EUR.")
	if it := tp.cartItems("cart-amount-03")["naga"]; it.Amounts().Current != 300 || it.Payment.Quantity != one {
		t.Fatalf("naga after a refused confirmation: %+v", it)
	}
	// The confirmed quantity is checked even when the amount is the same.
	form := url.Values{"action": {"amount"}, "item": {"naga"}, "amount": {"250"}, "quantity": {"1"}, "from": {"300"}, "fromQuantity": {"2"}, "to": {"250"}}
	tp.wantBody(tp.post("/panel/carts/cart-amount-03/act", form), "The quantity of naga changed since the confirmation page was shown: it is now 1.")
	form.Set("fromQuantity", "1")
	form.Del("quantity")
	tp.wantStatus(tp.post("/panel/carts/cart-amount-03/act", form), http.StatusConflict)
	// The fresh confirmation states the confirmed values against the
	// item as it is now (2.50 × 2 is now a raise).
	tp.wantBody(again, "from <strong>3.00 EUR</strong> to <strong>5.00 EUR</strong>", "more than the current amount")
	tp.wantStatus(tp.submitConfirm(tp.get("/panel/carts/cart-amount-03/confirm?action=amount&item=naga&amount=2.50&quantity=1")), http.StatusOK)
	if it := tp.cartItems("cart-amount-03")["naga"]; it.Amounts().Current != 250 || it.Payment.Quantity != one {
		t.Fatalf("naga after the change: %+v", it)
	}
}

// TestCartAuditMarkerNotFromInput: the timeline names a Panel user as the
// cause of the events of that user's actions only, as the Panel recorded
// them; input written into a refused action's audit entry (a tag that
// looks like the events marker) cannot claim API events for the Panel.
func TestCartAuditMarkerNotFromInput(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOperator)
	ctx := context.Background()
	if _, _, err := tp.handler.Callbacks.AddEndpoint(ctx, tp.merchant.ID, webhook.NewEndpoint{URL: "http://127.0.0.1:9/hooks/omnicart"}); err != nil {
		t.Fatal(err)
	}
	tp.pay(tp.initCartSpec(&omnicart.InitSpec{CartID: "cart-marker-01", Items: []omnicart.ItemSpec{{ID: "pegasus", Amount: 1000}, {ID: "naga", Amount: 200}}}))
	if _, err := tp.service.Act(ctx, tp.merchant, omnicart.ActionCapture, "cart-marker-01", omnicart.Filter{ItemIDs: []string{"pegasus"}}, omnicart.StagedProblems{}); err != nil {
		t.Fatal(err)
	}
	// Refused forms whose input carries the marker, short and long.
	for _, form := range []url.Values{
		{"action": {"cancel"}, "tag": {"(events 1–50)"}},
		{"action": {"refund"}, "item": {"(events 1–50)"}},
		{"action": {"cancel"}, "tag": {strings.Repeat("x", 500) + " (events 1–50)"}},
	} {
		tp.wantStatus(tp.post("/panel/carts/cart-marker-01/act", form), http.StatusUnprocessableEntity)
	}
	for _, e := range tp.audit() {
		if strings.Contains(e.Detail, "(events") && strings.Contains(e.Detail, "–") {
			t.Errorf("audit entry %s holds the events marker: %q", e.Action, e.Detail)
		}
		if n := len([]rune(e.Detail)); n > 2*maxAuditInput+100 {
			t.Errorf("audit entry %s is %d characters long", e.Action, n)
		}
	}
	d := &webhook.Dispatcher{Store: sqlite.NewCallbacks(tp.db), Clock: tp.clock, Log: slog.New(slog.DiscardHandler)}
	if _, err := d.FanOut(ctx); err != nil {
		t.Fatal(err)
	}
	page := tp.get("/panel/carts/cart-marker-01")
	tp.wantBody(page, "pegasus: authorized → captured → completed", "by Merchant API request", "cart.cancel.refused</strong> by "+tp.user.Email)
	tp.wantNoBody(page, "by Panel: ")

	// An action the Panel did is still its user's.
	tp.wantStatus(tp.submitConfirm(tp.get("/panel/carts/cart-marker-01/confirm?action=cancel&item=naga")), http.StatusOK)
	if _, err := d.FanOut(ctx); err != nil {
		t.Fatal(err)
	}
	tp.wantBody(tp.get("/panel/carts/cart-marker-01"), "naga: authorized → canceled", "by Panel: "+tp.user.Email)
}

func TestAuditInput(t *testing.T) {
	for in, want := range map[string]string{
		"rampart":                "rampart",
		"(events 1–50)":          "(events 1-50)",
		"bad \xff byte":          "bad \uFFFD byte",
		strings.Repeat("é", 300): strings.Repeat("é", maxAuditInput) + "…",
	} {
		if got := auditInput(in); got != want {
			t.Errorf("auditInput(%q) = %q, want %q", in, got, want)
		}
	}
}
