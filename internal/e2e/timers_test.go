package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

func tmInit(tb testing.TB, c *client.Client, body string) string {
	tb.Helper()
	res, err := c.Raw().Init(context.Background(), body)
	if err != nil || res.Status != 201 {
		tb.Fatalf("init: %v HTTP %d %s", err, res.Status, res.Raw)
	}
	var d struct {
		PaymentURL string `json:"paymentUrl"`
	}
	if err := res.Decode(&d); err != nil {
		tb.Fatal(err)
	}
	return d.PaymentURL
}

func tmPay(tb testing.TB, c *client.Client, url string) {
	tb.Helper()
	r, err := c.Pay(context.Background(), url, client.Card{CardNumber: "4111 1111 1111 1111", Expiry: "12/39", CVC: "123", Cardholder: "Ada"})
	if err != nil || r.Result != "authorized" {
		tb.Fatalf("pay: %v %+v", err, r)
	}
}

func tmAdvance(tb testing.TB, c *client.Client, secs int64) *client.Response {
	tb.Helper()
	res, err := c.Do(context.Background(), "POST", "/sandbox/clock", fmt.Sprintf(`{"advanceSecs": %d}`, secs))
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

func tmStatus(tb testing.TB, c *client.Client, cartID string) (omnicart.StatusView, map[string]omnicart.ItemView) {
	tb.Helper()
	res, err := c.Raw().Status(context.Background(), cartID, client.StatusQuery{})
	if err != nil || res.Status != 200 {
		tb.Fatalf("status: %v %s", err, res.Raw)
	}
	var v omnicart.StatusView
	if err := res.Decode(&v); err != nil {
		tb.Fatal(err)
	}
	items := map[string]omnicart.ItemView{}
	for _, m := range v.Items {
		for k, iv := range m {
			items[k] = iv
		}
	}
	return v, items
}

func tmModify(tb testing.TB, c *client.Client, body string) *client.Response {
	tb.Helper()
	res, err := c.Raw().Modify(context.Background(), body)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// tmEvents reads a cart's events from the server's database.
func tmEvents(tb testing.TB, srv *e2e.Server, cartID string) []omnicart.Event {
	tb.Helper()
	db := srv.SQL(tb)
	defer db.Close()
	rows, err := db.Query(`SELECT e.body FROM events e JOIN carts c ON c.pk = e.cart_pk WHERE c.cart_id = $1 ORDER BY e.sequence`, cartID)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []omnicart.Event
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			tb.Fatal(err)
		}
		var e omnicart.Event
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			tb.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func tmCountChanges(events []omnicart.Event, item string, from, to omnicart.Status) int {
	n := 0
	for _, e := range events {
		for _, ch := range e.Changes {
			if ch.ItemID == item && ch.From == from && ch.To == to {
				n++
			}
		}
	}
	return n
}

const tmSeedAutoInit = `{
"cartId": "6f891edb-1e1f-48bb-b042-2cb790a0f402",
"currency": "XAU",
"items": [
{
"pegasus": {
"amount": 250,
"capture": true,
"captureSettings": {
"autoAction": "cancel",
"value": 172800
}
}
}
]
}`

// TestSeedCancelEntireCartAuto runs the seed's auto-cancel scenario to its
// end with the test clock: the hold is released after 172800 seconds.
func TestSeedCancelEntireCartAuto(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus")
	tmPay(t, c, tmInit(t, c, tmSeedAutoInit))
	const cart = "6f891edb-1e1f-48bb-b042-2cb790a0f402"

	if res := tmAdvance(t, c, 172800-3600-1); res.Status != 200 || res.Code != "000000" {
		t.Fatalf("advance: %s", res.Raw)
	}
	_, items := tmStatus(t, c, cart)
	if got := items["pegasus"]; got.PaymentStatus != omnicart.StatusAuthorized || got.CaptureSnapshot == nil || got.CaptureSnapshot.RemainingSecs > 3601 {
		t.Fatalf("one hour before the window ends: %+v %+v", got, got.CaptureSnapshot)
	}
	warned := 0
	for _, e := range tmEvents(t, srv, cart) {
		if e.Type == omnicart.EventAutoActionPending {
			warned++
		}
	}
	if warned != 0 {
		t.Fatalf("warning sent more than an hour early")
	}
	tmAdvance(t, c, 2)
	evs := tmEvents(t, srv, cart)
	if last := evs[len(evs)-1]; last.Type != omnicart.EventAutoActionPending || len(last.AutoActions) != 1 || last.AutoActions[0].AutoAction != omnicart.AutoCancel {
		t.Fatalf("expected an auto-action warning one hour before, got %+v", last)
	}

	res := tmAdvance(t, c, 3600)
	var d struct {
		Now string `json:"now"`
	}
	if err := res.Decode(&d); err != nil || d.Now == "" {
		t.Fatalf("clock answer: %s", res.Raw)
	}
	v, items := tmStatus(t, c, cart)
	if got := items["pegasus"]; got.PaymentStatus != omnicart.StatusCanceled || got.CaptureSnapshot != nil {
		t.Fatalf("after 172800 s: %+v", got)
	}
	want := omnicart.Amounts{Initiated: 250}
	if v.TotalAmounts != want || items["pegasus"].ItemAmounts != want {
		t.Fatalf("amounts: total %+v item %+v, want %+v", v.TotalAmounts, items["pegasus"].ItemAmounts, want)
	}
	evs = tmEvents(t, srv, cart)
	if n := tmCountChanges(evs, "pegasus", omnicart.StatusAuthorized, omnicart.StatusCanceled); n != 1 {
		t.Fatalf("authorized→canceled happened %d times", n)
	}
	for i, e := range evs {
		if e.Sequence != int64(i+1) {
			t.Fatalf("event %d has sequence %d", i, e.Sequence)
		}
	}
	// Nothing more fires later.
	tmAdvance(t, c, 10*86400)
	if n := len(tmEvents(t, srv, cart)); n != len(evs) {
		t.Fatalf("%d more events after everything fired", n-len(evs))
	}
}

// TestCaptureWindowComplete: autoAction complete captures the item when the
// window runs out.
func TestCaptureWindowComplete(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus,naga")
	tmPay(t, c, tmInit(t, c, `{"cartId":"cart-complete-1","currency":"EUR","items":[
		{"pegasus":{"amount":700,"paymentBox":{"capture":true,"captureSettings":{"autoAction":"complete","value":600}}}},
		{"naga":{"amount":300}}]}`))
	tmAdvance(t, c, 599)
	_, items := tmStatus(t, c, "cart-complete-1")
	if items["pegasus"].PaymentStatus != omnicart.StatusAuthorized {
		t.Fatalf("fired early: %+v", items["pegasus"])
	}
	tmAdvance(t, c, 1)
	v, items := tmStatus(t, c, "cart-complete-1")
	if got := items["pegasus"]; got.PaymentStatus != omnicart.StatusCompleted || got.ItemAmounts != (omnicart.Amounts{Initiated: 700, Captured: 700, Current: 700}) {
		t.Fatalf("pegasus after its window: %+v", got)
	}
	if got := items["naga"]; got.PaymentStatus != omnicart.StatusAuthorized || got.CaptureSnapshot == nil || got.CaptureSnapshot.RemainingSecs != 172800-600 {
		t.Fatalf("naga must still wait (default window): %+v %+v", got, got.CaptureSnapshot)
	}
	if v.TotalAmounts != (omnicart.Amounts{Initiated: 1000, Captured: 700, Current: 1000}) {
		t.Fatalf("totals %+v", v.TotalAmounts)
	}
}

// TestCartExpiry: items still initiated when the cart expires become
// expired, and the payment page refuses payment.
func TestCartExpiry(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus", "--all-privileges")
	url := tmInit(t, c, `{"cartId":"cart-expiry-1","currency":"EUR","cartExpiry":900,"items":[{"pegasus":{"amount":700}}]}`)
	tmAdvance(t, c, 899)
	if _, items := tmStatus(t, c, "cart-expiry-1"); items["pegasus"].PaymentStatus != omnicart.StatusInitiated {
		t.Fatalf("expired early: %+v", items["pegasus"])
	}
	tmAdvance(t, c, 1)
	if _, items := tmStatus(t, c, "cart-expiry-1"); items["pegasus"].PaymentStatus != omnicart.StatusExpired || items["pegasus"].ItemAmounts.Current != 0 {
		t.Fatalf("after expiry: %+v", items["pegasus"])
	}
	r, err := c.Pay(context.Background(), url, client.Card{CardNumber: "4111111111111111", Expiry: "12/39", CVC: "123", Cardholder: "Ada"})
	if err != nil || r.Status != 410 || r.Result != "expired" {
		t.Fatalf("paying an expired cart: %v %+v", err, r)
	}
}

// TestClockLiveMode: live-mode keys get 131000 from the test clock.
func TestClockLiveMode(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus", "--mode", "live")
	res := tmAdvance(t, c, 60)
	if res.Status != 405 || res.Code != "131000" || res.Message != "Not allowed to pass this method" {
		t.Fatalf("live clock: %d %s", res.Status, res.Raw)
	}
	_, test := srv.Merchant("pegasus")
	// A key limited to some methods may not move the clock (it fires
	// captures and cancels).
	limited := strings.TrimSpace(srv.Admin("key", "create", "--merchant", tmMerchantID(t, srv, test), "--methods", "status,capture"))
	if res := tmAdvance(t, srv.Client(limited), 60); res.Status != 405 || res.Code != "131000" {
		t.Fatalf("restricted key moved the clock: %d %s", res.Status, res.Raw)
	}
	for _, body := range []string{`{}`, `{"advanceSecs": -1}`, `{"advanceSecs": 1.5}`, `{"advanceSecs": "10"}`, `{"advanceSecs": 1, "x": 2}`} {
		res, err := test.Do(context.Background(), "POST", "/sandbox/clock", body)
		if err != nil || res.Status != 400 || !strings.HasPrefix(res.Code, "12") {
			t.Fatalf("clock %s: %v %s", body, err, res.Raw)
		}
	}
}

// TestTimerDocumentationExamples runs the timer examples of the OmniCart
// documentation end to end.
func TestTimerDocumentationExamples(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus,naga,lich")
	url := tmInit(t, c, `{"cartId":"cart-timers-1","customerId":"cust-1","currency":"EUR","items":[
		{"pegasus":{"amount":100,"enableTimer":true,"timer":{"triggerEvent":"initiated","value":3600}}},
		{"naga":{"amount":200,"enableTimer":true,"timer":{"triggerEvent":"manual","value":0}}},
		{"lich":{"amount":300}}]}`)
	tmPay(t, c, url)

	// Trigger "captured" set while authorized → pending.
	res := tmModify(t, c, `{"cartId":"cart-timers-1","modifyBox":{"items":[{"pegasus":{"modifyTimer":{"triggerEvent":"captured","timerValue":600}}}]}}`)
	if res.Code != "000000" || string(res.Data) != `{"modifiedAmounts":[],"modifiedTimers":["pegasus"]}` {
		t.Fatalf("modify trigger: %s", res.Raw)
	}
	// A started timer whose trigger changes keeps running; only pending
	// timers wait for their trigger. Stop it and check the lock is gone.
	_, items := tmStatus(t, c, "cart-timers-1")
	if ts := items["pegasus"].TimerSnapshot; ts == nil || ts.TriggerEvent != "captured" {
		t.Fatalf("pegasus timer: %+v", ts)
	}

	// Manual start → started; infinite timer has remainingSecs null.
	res = tmModify(t, c, `{"cartId":"cart-timers-1","modifyBox":{"items":[{"naga":{"modifyTimer":{"manualAction":"start"}}}]}}`)
	if res.Code != "000000" {
		t.Fatalf("manual start: %s", res.Raw)
	}
	_, items = tmStatus(t, c, "cart-timers-1")
	if ts := items["naga"].TimerSnapshot; ts == nil || ts.TimerStatus != omnicart.TimerStarted || ts.RemainingSecs != nil {
		t.Fatalf("naga after manual start: %+v", ts)
	}
	if !strings.Contains(string(mustStatusRaw(t, c, "cart-timers-1")), `"remainingSecs":null`) {
		t.Fatalf("infinite timer must report remainingSecs null")
	}

	// A new timer whose trigger was already reached starts at once.
	res = tmModify(t, c, `{"cartId":"cart-timers-1","modifyBox":{"items":[{"lich":{"enableTimer":true,"modifyTimer":{"triggerEvent":"initiated","timerValue":120}}}]}}`)
	if res.Code != "000000" {
		t.Fatalf("enable timer: %s", res.Raw)
	}
	_, items = tmStatus(t, c, "cart-timers-1")
	if ts := items["lich"].TimerSnapshot; ts == nil || ts.TimerStatus != omnicart.TimerStarted || ts.RemainingSecs == nil || *ts.RemainingSecs != 120 {
		t.Fatalf("lich: %+v", ts)
	}

	// The active timer locks the customer and item for new carts.
	res, _ = c.Raw().Init(context.Background(), `{"cartId":"cart-timers-2","customerId":"cust-1","currency":"EUR","items":[{"lich":{"amount":5}}]}`)
	if res.Status != 409 || res.Code != "124102" || res.Message != "customerId cust-1 is linked to itemId lich in cartId cart-timers-1 with an active timer" {
		t.Fatalf("active timer lock: %d %s", res.Status, res.Raw)
	}
	// Stop it, then the same init is allowed.
	res = tmModify(t, c, `{"cartId":"cart-timers-1","modifyBox":{"items":[{"lich":{"modifyTimer":{"manualAction":"stop"}}}]}}`)
	if res.Code != "000000" {
		t.Fatalf("stop: %s", res.Raw)
	}
	res, _ = c.Raw().Init(context.Background(), `{"cartId":"cart-timers-2","customerId":"cust-1","currency":"EUR","items":[{"lich":{"amount":5}}]}`)
	if res.Status != 201 {
		t.Fatalf("init after stop: %d %s", res.Status, res.Raw)
	}

	// Pegasus's timer elapses with the clock; elapsed timers report 0.
	tmAdvance(t, c, 3600)
	_, items = tmStatus(t, c, "cart-timers-1")
	if ts := items["pegasus"].TimerSnapshot; ts == nil || ts.TimerStatus != omnicart.TimerElapsed || ts.RemainingSecs == nil || *ts.RemainingSecs != 0 {
		t.Fatalf("pegasus after an hour: %+v", ts)
	}
	var elapsed int
	for _, e := range tmEvents(t, srv, "cart-timers-1") {
		for _, tc := range e.Timers {
			if tc.ItemID == "pegasus" && tc.To == omnicart.TimerElapsed {
				elapsed++
			}
		}
	}
	if elapsed != 1 {
		t.Fatalf("pegasus elapsed %d times", elapsed)
	}
}

// TestTimerPendingUntilTrigger: a timer waiting for "captured" starts when
// the item is captured.
func TestTimerPendingUntilTrigger(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus")
	tmPay(t, c, tmInit(t, c, `{"cartId":"cart-timers-3","customerId":"cust-3","currency":"EUR","items":[
		{"pegasus":{"amount":100,"enableTimer":true,"timer":{"triggerEvent":"captured","value":300}}}]}`))
	_, items := tmStatus(t, c, "cart-timers-3")
	if ts := items["pegasus"].TimerSnapshot; ts == nil || ts.TimerStatus != omnicart.TimerPending || *ts.RemainingSecs != 300 {
		t.Fatalf("before capture: %+v", ts)
	}
	res, err := c.Raw().Capture(context.Background(), `{"cartId":"cart-timers-3"}`)
	if err != nil || res.Code != "000000" {
		t.Fatalf("capture: %v %s", err, res.Raw)
	}
	_, items = tmStatus(t, c, "cart-timers-3")
	if ts := items["pegasus"].TimerSnapshot; ts == nil || ts.TimerStatus != omnicart.TimerStarted {
		t.Fatalf("after capture: %+v", ts)
	}
}

func mustStatusRaw(tb testing.TB, c *client.Client, cartID string) []byte {
	tb.Helper()
	res, err := c.Raw().Status(context.Background(), cartID, client.StatusQuery{})
	if err != nil {
		tb.Fatal(err)
	}
	return res.Raw
}

// TestDeadlineAcrossRestart: the server is stopped before a capture window
// ends and started after it ended; the auto action happens exactly once, at
// start-up.
func TestDeadlineAcrossRestart(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus")
	tmPay(t, c, tmInit(t, c, `{"cartId":"cart-restart-1","currency":"EUR","items":[
		{"pegasus":{"amount":100,"capture":true,"captureSettings":{"value":600}}}]}`))
	tmAdvance(t, c, 598) // two real seconds before the deadline
	srv.Stop()
	time.Sleep(2500 * time.Millisecond) // the deadline passes while the server is down
	srv.Restart()
	c = srv.Client(c.APIKey)
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, items := tmStatus(t, c, "cart-restart-1")
		if items["pegasus"].PaymentStatus == omnicart.StatusCanceled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the window's auto-cancel did not fire after restart: %+v", items["pegasus"])
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.Restart() // a second start must not fire it again
	if n := tmCountChanges(tmEvents(t, srv, "cart-restart-1"), "pegasus", omnicart.StatusAuthorized, omnicart.StatusCanceled); n != 1 {
		t.Fatalf("auto-cancel happened %d times", n)
	}
}

// TestDeadlinesWithTwoServers: two server processes share one database; each
// deadline fires exactly once.
func TestDeadlinesWithTwoServers(t *testing.T) {
	t.Parallel()
	a := e2e.Start(t)
	b := e2e.StartOn(t, a.DBPath)
	_, c := a.Merchant("pegasus")
	cb := b.Client(c.APIKey)
	const n = 20
	for i := range n {
		tmPay(t, c, tmInit(t, c, fmt.Sprintf(`{"cartId":"cart-two-%03d","customerId":"cu-%d","currency":"EUR","items":[
			{"pegasus":{"amount":100,"enableTimer":true,"timer":{"triggerEvent":"initiated","value":1}}}]}`, i, i)))
	}
	// Both servers' schedulers race for the same due timers (value 1 s).
	deadline := time.Now().Add(20 * time.Second)
	for i := range n {
		id := fmt.Sprintf("cart-two-%03d", i)
		for {
			_, items := tmStatus(t, cb, id)
			if ts := items["pegasus"].TimerSnapshot; ts != nil && ts.TimerStatus == omnicart.TimerElapsed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: timer never elapsed", id)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Let both schedulers run a few more rounds, then count.
	time.Sleep(500 * time.Millisecond)
	for i := range n {
		id := fmt.Sprintf("cart-two-%03d", i)
		count := 0
		for _, e := range tmEvents(t, a, id) {
			for _, tc := range e.Timers {
				if tc.To == omnicart.TimerElapsed {
					count++
				}
			}
		}
		if count != 1 {
			t.Fatalf("%s: elapsed recorded %d times", id, count)
		}
	}
}

// TestTimerTriggerChanges: the documentation's trigger examples on pending
// timers. A trigger the item has not reached keeps the timer pending until
// it does; a trigger it already reached starts the timer at once.
func TestTimerTriggerChanges(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus,naga")
	tmPay(t, c, tmInit(t, c, `{"cartId":"cart-trigger-1","customerId":"cust-t","currency":"EUR","items":[
		{"pegasus":{"amount":100,"enableTimer":true,"timer":{"triggerEvent":"manual","value":900}}},
		{"naga":{"amount":200,"enableTimer":true,"timer":{"triggerEvent":"manual","value":900}}}]}`))
	timer := func(item string) omnicart.TimerSnapshot {
		t.Helper()
		_, items := tmStatus(t, c, "cart-trigger-1")
		ts := items[item].TimerSnapshot
		if ts == nil {
			t.Fatalf("%s has no timer", item)
		}
		return *ts
	}

	// Authorized; trigger set to captured → pending.
	res := tmModify(t, c, `{"cartId":"cart-trigger-1","modifyBox":{"items":[{"pegasus":{"modifyTimer":{"triggerEvent":"captured"}}}]}}`)
	if res.Code != "000000" || string(res.Data) != `{"modifiedAmounts":[],"modifiedTimers":["pegasus"]}` {
		t.Fatalf("set trigger captured: %s", res.Raw)
	}
	if ts := timer("pegasus"); ts.TimerStatus != omnicart.TimerPending || ts.TriggerEvent != "captured" || *ts.RemainingSecs != 900 {
		t.Fatalf("trigger captured while authorized: %+v", ts)
	}
	// Trigger changed to initiated (already reached) → starts at once.
	res = tmModify(t, c, `{"cartId":"cart-trigger-1","modifyBox":{"items":[{"naga":{"modifyTimer":{"triggerEvent":"initiated"}}}]}}`)
	if res.Code != "000000" {
		t.Fatalf("set trigger initiated: %s", res.Raw)
	}
	if ts := timer("naga"); ts.TimerStatus != omnicart.TimerStarted {
		t.Fatalf("trigger initiated: %+v", ts)
	}
	// Capturing starts pegasus's timer.
	if res, err := c.Raw().Capture(context.Background(), `{"cartId":"cart-trigger-1","filterBox":{"itemIds":["pegasus"]}}`); err != nil || res.Code != "000000" {
		t.Fatalf("capture: %v %s", err, res.Raw)
	}
	if ts := timer("pegasus"); ts.TimerStatus != omnicart.TimerStarted || *ts.RemainingSecs != 900 {
		t.Fatalf("after capture: %+v", ts)
	}
	// Pause with the clock: the remaining time is kept while paused.
	tmAdvance(t, c, 100)
	tmModify(t, c, `{"cartId":"cart-trigger-1","modifyBox":{"items":[{"pegasus":{"modifyTimer":{"manualAction":"pause"}}}]}}`)
	tmAdvance(t, c, 5000)
	if ts := timer("pegasus"); ts.TimerStatus != omnicart.TimerPaused || *ts.RemainingSecs != 800 {
		t.Fatalf("paused: %+v", ts)
	}
	if ts := timer("naga"); ts.TimerStatus != omnicart.TimerElapsed || *ts.RemainingSecs != 0 {
		t.Fatalf("naga after 5100 s: %+v", ts)
	}
	tmModify(t, c, `{"cartId":"cart-trigger-1","modifyBox":{"items":[{"pegasus":{"modifyTimer":{"manualAction":"start"}}}]}}`)
	tmAdvance(t, c, 799)
	if ts := timer("pegasus"); ts.TimerStatus != omnicart.TimerStarted || *ts.RemainingSecs != 1 {
		t.Fatalf("resumed: %+v", ts)
	}
	tmAdvance(t, c, 1)
	if ts := timer("pegasus"); ts.TimerStatus != omnicart.TimerElapsed {
		t.Fatalf("elapsed after resume: %+v", ts)
	}
}

// tmMerchantID reads the merchant id of a client's key from the server's
// database.
func tmMerchantID(tb testing.TB, srv *e2e.Server, c *client.Client) string {
	tb.Helper()
	db := srv.SQL(tb)
	defer db.Close()
	var id string
	if err := db.QueryRow(`SELECT merchant_id FROM api_keys WHERE prefix = $1`, c.APIKey[:16]).Scan(&id); err != nil {
		tb.Fatal(err)
	}
	return id
}

// TestModifyActiveTimerLock: /modify may not give a customer a second
// active timer on an item (a new timer, or a new customerId): 124102, and
// nothing changes.
func TestModifyActiveTimerLock(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus,naga")
	tmInit(t, c, `{"cartId":"cart-lock-a","customerId":"cust-l","currency":"EUR","items":[
		{"pegasus":{"amount":100,"enableTimer":true,"timer":{"triggerEvent":"initiated","value":600}}}]}`)
	tmInit(t, c, `{"cartId":"cart-lock-b","customerId":"cust-m","currency":"EUR","items":[
		{"pegasus":{"amount":100,"enableTimer":true,"timer":{"triggerEvent":"initiated","value":600}}},{"naga":{"amount":5}}]}`)
	// Moving cart b to customer l would give l two timers on pegasus.
	res := tmModify(t, c, `{"cartId":"cart-lock-b","modifyBox":{"customerId":"cust-l"}}`)
	if res.Status != 409 || res.Code != "124102" || res.Message != "customerId cust-l is linked to itemId pegasus in cartId cart-lock-a with an active timer" {
		t.Fatalf("customer change: %d %s", res.Status, res.Raw)
	}
	if v, _ := tmStatus(t, c, "cart-lock-b"); v.CustomerID != "cust-m" {
		t.Fatalf("refused modify changed the cart: %+v", v)
	}
	// A new timer on naga for cust-m is fine (no other cart has one).
	res = tmModify(t, c, `{"cartId":"cart-lock-b","modifyBox":{"items":[{"naga":{"enableTimer":true,"modifyTimer":{"triggerEvent":"initiated","timerValue":60}}}]}}`)
	if res.Code != "000000" {
		t.Fatalf("new timer: %s", res.Raw)
	}
	// Changing the timer of an item the cart already times is no conflict
	// with the cart itself.
	res = tmModify(t, c, `{"cartId":"cart-lock-b","modifyBox":{"items":[{"pegasus":{"modifyTimer":{"timerValue":30}}}]}}`)
	if res.Code != "000000" {
		t.Fatalf("timer value change: %s", res.Raw)
	}
}
