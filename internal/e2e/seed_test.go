package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// The cancellation scenarios of reference/seed-cancellation-scenarios.txt,
// run through the real binary with the seed's requests exactly as written.
// Each scenario gets its own merchant (cartIds are unique per merchant), so
// every one of them uses the seed's cartId.

const (
	scCartID = "6f891edb-1e1f-48bb-b042-2cb790a0f402"
	// scStatusPath is the status request of the seed's curl examples, with
	// the literal colon before the id.
	scStatusPath = "/status/:" + scCartID
)

// Request bodies copied from the seed, byte for byte apart from the line
// breaks of the page.
const (
	scSeedCancel = `{
"cartId": "6f891edb-1e1f-48bb-b042-2cb790a0f402"
}`
	scSeedCapture = `{
"cartId": "6f891edb-1e1f-48bb-b042-2cb790a0f402"
}`
	scSeedAutoInit = `{
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
	scSeedCancelByTag = `{
"cartId": "6f891edb-1e1f-48bb-b042-2cb790a0f402",
"filterBox": {
"tags": [
"rampart"
]
}
}`
	scSeedModify = `{
"cartId": "6f891edb-1e1f-48bb-b042-2cb790a0f402",
"modifyBox": {
"items": [
{
"pegasus": {
"modifyAmount": {
"amount": 150,
"amountMode": "declared"
}
}
}
]
}
}`
)

// scSetupInit is the cart the seed leaves out for the manual, tags and
// partial scenarios: two items with different tags, two-step payment.
const scSetupInit = `{"cartId":"6f891edb-1e1f-48bb-b042-2cb790a0f402","currency":"XAU","items":[` +
	`{"pegasus":{"amount":250,"tag":"rampart","capture":true}},` +
	`{"naga":{"amount":1100,"tag":"tower","capture":true}}]}`

// scTestCard is a sandbox card that always succeeds.
var scTestCard = client.Card{CardNumber: "4111 1111 1111 1111", Expiry: "12/39", CVC: "123", Cardholder: "Ada Lovelace"}

type scAmounts struct {
	Initiated int64 `json:"initiated"`
	Captured  int64 `json:"captured"`
	Refunded  int64 `json:"refunded"`
	Current   int64 `json:"current"`
}

type scItem struct {
	PaymentStatus   string    `json:"paymentStatus"`
	ItemAmounts     scAmounts `json:"itemAmounts"`
	Tag             string    `json:"tag"`
	PaymentSnapshot struct {
		Amount         int64       `json:"amount"`
		AmountMode     string      `json:"amountMode"`
		Quantity       json.Number `json:"quantity"`
		AmountModifier json.Number `json:"amountModifier"`
	} `json:"paymentSnapshot"`
	CaptureSnapshot *struct {
		AutoAction    string `json:"autoAction"`
		RemainingSecs int64  `json:"remainingSecs"`
	} `json:"captureSnapshot"`
	TimerSnapshot json.RawMessage `json:"timerSnapshot"`
}

type scStatus struct {
	CartID       string              `json:"cartId"`
	CustomerID   string              `json:"customerId"`
	Currency     string              `json:"currency"`
	TotalAmounts scAmounts           `json:"totalAmounts"`
	Items        []map[string]scItem `json:"items"`
}

// item returns the item with the given id.
func (s *scStatus) item(tb testing.TB, id string) scItem {
	tb.Helper()
	for _, m := range s.Items {
		if it, ok := m[id]; ok {
			return it
		}
	}
	tb.Fatalf("status has no item %q: %+v", id, s.Items)
	return scItem{}
}

// scWant is the expected state of one item.
type scWant struct {
	id      string
	status  string
	amounts scAmounts
}

// scAmt builds amounts in the order initiated, captured, refunded, current.
func scAmt(initiated, captured, refunded, current int64) scAmounts {
	return scAmounts{initiated, captured, refunded, current}
}

// scExpect checks the HTTP status and code of a Merchant API response.
func scExpect(tb testing.TB, what string, res *client.Response, err error, httpStatus int, code string) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
	if res.Status != httpStatus || res.Code != code {
		tb.Fatalf("%s: got HTTP %d code %s, want HTTP %d code %s\n%s", what, res.Status, res.Code, httpStatus, code, res.Raw)
	}
	if code == "000000" && res.Message != "Success" {
		tb.Fatalf("%s: message %q, want Success", what, res.Message)
	}
}

// scExpectData checks that the response's data equals want (as JSON).
func scExpectData(tb testing.TB, what string, res *client.Response, want string) {
	tb.Helper()
	var got, exp any
	if err := json.Unmarshal(res.Data, &got); err != nil {
		tb.Fatalf("%s: data %s: %v", what, res.Data, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		tb.Fatalf("%s: bad expectation %s: %v", what, want, err)
	}
	if !reflect.DeepEqual(got, exp) {
		tb.Fatalf("%s: data %s, want %s", what, res.Data, want)
	}
}

// scCheckStatus reads path (a status request) and checks every item, in
// cart order, with its payment status and all four amounts, and the totals
// (which must be the sum of the items).
func scCheckStatus(tb testing.TB, c *client.Client, path string, want ...scWant) *scStatus {
	tb.Helper()
	res, err := c.Do(context.Background(), http.MethodGet, path, nil)
	scExpect(tb, "GET "+path, res, err, 200, "000000")
	var st scStatus
	dec := json.NewDecoder(bytes.NewReader(res.Data))
	dec.UseNumber()
	if err := dec.Decode(&st); err != nil {
		tb.Fatalf("status data %s: %v", res.Data, err)
	}
	if st.CartID != scCartID || st.Currency != "XAU" {
		tb.Fatalf("status: cartId %q currency %q\n%s", st.CartID, st.Currency, res.Raw)
	}
	if len(st.Items) != len(want) {
		tb.Fatalf("status: %d items, want %d\n%s", len(st.Items), len(want), res.Raw)
	}
	var total scAmounts
	for i, w := range want {
		if len(st.Items[i]) != 1 {
			tb.Fatalf("status: items[%d] has %d keys, want 1\n%s", i, len(st.Items[i]), res.Raw)
		}
		it, ok := st.Items[i][w.id]
		if !ok {
			tb.Fatalf("status: items[%d] is not %s\n%s", i, w.id, res.Raw)
		}
		if it.PaymentStatus != w.status {
			tb.Errorf("status: %s paymentStatus %q, want %q", w.id, it.PaymentStatus, w.status)
		}
		if it.ItemAmounts != w.amounts {
			tb.Errorf("status: %s itemAmounts %+v, want %+v", w.id, it.ItemAmounts, w.amounts)
		}
		total.Initiated += w.amounts.Initiated
		total.Captured += w.amounts.Captured
		total.Refunded += w.amounts.Refunded
		total.Current += w.amounts.Current
	}
	if st.TotalAmounts != total {
		tb.Errorf("status: totalAmounts %+v, want %+v", st.TotalAmounts, total)
	}
	if tb.Failed() {
		tb.Fatalf("status response:\n%s", res.Raw)
	}
	return &st
}

// scInit opens a cart and returns its payment URL.
func scInit(tb testing.TB, c *client.Client, body string) string {
	tb.Helper()
	res, err := c.Raw().Init(context.Background(), body)
	scExpect(tb, "init", res, err, 201, "000000")
	if res.CartID != scCartID {
		tb.Fatalf("init: top-level cartId %q, want %q\n%s", res.CartID, scCartID, res.Raw)
	}
	var data struct {
		PaymentURL string `json:"paymentUrl"`
	}
	if err := res.Decode(&data); err != nil || data.PaymentURL == "" {
		tb.Fatalf("init: no data.paymentUrl (%v)\n%s", err, res.Raw)
	}
	return data.PaymentURL
}

// scPay pays a cart with the success test card.
func scPay(tb testing.TB, c *client.Client, paymentURL string) {
	tb.Helper()
	pay, err := c.Pay(context.Background(), paymentURL, scTestCard)
	if err != nil || pay.Status != 200 || pay.Result != "authorized" {
		tb.Fatalf("pay: %v %+v", err, pay)
	}
}

// scPaidCart creates a merchant on srv, opens the two-item setup cart, pays
// it and checks each step. It returns the merchant's client.
func scPaidCart(tb testing.TB, srv *e2e.Server) *client.Client {
	tb.Helper()
	_, c := srv.Merchant("pegasus,naga")
	url := scInit(tb, c, scSetupInit)
	scCheckStatus(tb, c, scStatusPath,
		scWant{"pegasus", "initiated", scAmt(250, 0, 0, 250)},
		scWant{"naga", "initiated", scAmt(1100, 0, 0, 1100)})
	scPay(tb, c, url)
	st := scCheckStatus(tb, c, scStatusPath,
		scWant{"pegasus", "authorized", scAmt(250, 0, 0, 250)},
		scWant{"naga", "authorized", scAmt(1100, 0, 0, 1100)})
	if p := st.item(tb, "pegasus"); p.Tag != "rampart" {
		tb.Fatalf("pegasus tag %q, want rampart", p.Tag)
	}
	if n := st.item(tb, "naga"); n.Tag != "tower" {
		tb.Fatalf("naga tag %q, want tower", n.Tag)
	}
	return c
}

func TestSeedCancellationScenarios(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	ctx := context.Background()

	t.Run("cancel entire cart manual", func(t *testing.T) {
		t.Parallel()
		c := scPaidCart(t, srv)
		// status (optional)
		scCheckStatus(t, c, scStatusPath,
			scWant{"pegasus", "authorized", scAmt(250, 0, 0, 250)},
			scWant{"naga", "authorized", scAmt(1100, 0, 0, 1100)})
		// cancel
		res, err := c.Raw().Cancel(ctx, scSeedCancel)
		scExpect(t, "cancel", res, err, 200, "000000")
		scExpectData(t, "cancel", res, `{"itemIds":["pegasus","naga"]}`)
		st := scCheckStatus(t, c, scStatusPath,
			scWant{"pegasus", "canceled", scAmt(250, 0, 0, 0)},
			scWant{"naga", "canceled", scAmt(1100, 0, 0, 0)})
		for _, id := range []string{"pegasus", "naga"} {
			if cs := st.item(t, id).CaptureSnapshot; cs != nil {
				t.Errorf("%s: captureSnapshot %+v after cancel, want none", id, *cs)
			}
		}
		// Nothing is left to cancel or capture.
		res, err = c.Raw().Cancel(ctx, scSeedCancel)
		scExpect(t, "second cancel", res, err, 400, "124114")
		res, err = c.Raw().Capture(ctx, scSeedCapture)
		scExpect(t, "capture after cancel", res, err, 400, "124114")
		if res.Message != "No items in the authorized status" {
			t.Errorf("124114 message %q", res.Message)
		}
	})

	t.Run("cancel entire cart auto", func(t *testing.T) {
		t.Parallel()
		_, c := srv.Merchant("pegasus")
		url := scInit(t, c, scSeedAutoInit)
		st := scCheckStatus(t, c, scStatusPath, scWant{"pegasus", "initiated", scAmt(250, 0, 0, 250)})
		if cs := st.item(t, "pegasus").CaptureSnapshot; cs != nil {
			t.Errorf("captureSnapshot %+v before payment, want none", *cs)
		}
		scPay(t, c, url)
		// status
		st = scCheckStatus(t, c, scStatusPath, scWant{"pegasus", "authorized", scAmt(250, 0, 0, 250)})
		p := st.item(t, "pegasus")
		if p.Tag != "" {
			t.Errorf("tag %q, want none", p.Tag)
		}
		if p.CaptureSnapshot == nil {
			t.Fatalf("authorized item has no captureSnapshot: %+v", p)
		}
		if p.CaptureSnapshot.AutoAction != "cancel" {
			t.Errorf("captureSnapshot.autoAction %q, want cancel", p.CaptureSnapshot.AutoAction)
		}
		if r := p.CaptureSnapshot.RemainingSecs; r < 172790 || r > 172800 {
			t.Errorf("captureSnapshot.remainingSecs %d, want 172790..172800", r)
		}
		if p.PaymentSnapshot.Amount != 250 || p.PaymentSnapshot.AmountMode != "declared" {
			t.Errorf("paymentSnapshot %+v", p.PaymentSnapshot)
		}
	})

	t.Run("cancel by tags", func(t *testing.T) {
		t.Parallel()
		c := scPaidCart(t, srv)
		// cancel
		res, err := c.Raw().Cancel(ctx, scSeedCancelByTag)
		scExpect(t, "cancel by tag", res, err, 200, "000000")
		scExpectData(t, "cancel by tag", res, `{"itemIds":["pegasus"]}`)
		scCheckStatus(t, c, scStatusPath,
			scWant{"pegasus", "canceled", scAmt(250, 0, 0, 0)},
			scWant{"naga", "authorized", scAmt(1100, 0, 0, 1100)})
		// capture
		res, err = c.Raw().Capture(ctx, scSeedCapture)
		scExpect(t, "capture", res, err, 200, "000000")
		scExpectData(t, "capture", res, `{"itemIds":["naga"]}`)
		// status (optional)
		st := scCheckStatus(t, c, scStatusPath,
			scWant{"pegasus", "canceled", scAmt(250, 0, 0, 0)},
			scWant{"naga", "completed", scAmt(1100, 1100, 0, 1100)})
		if cs := st.item(t, "naga").CaptureSnapshot; cs != nil {
			t.Errorf("naga: captureSnapshot %+v after capture, want none", *cs)
		}
		// The same tag again: its only item is no longer authorized.
		res, err = c.Raw().Cancel(ctx, scSeedCancelByTag)
		scExpect(t, "cancel by tag again", res, err, 400, "124114")
	})

	t.Run("cancel by itemIds", func(t *testing.T) {
		t.Parallel()
		c := scPaidCart(t, srv)
		res, err := c.Raw().Cancel(ctx, `{"cartId": "`+scCartID+`", "filterBox": {"itemIds": ["naga"]}}`)
		scExpect(t, "cancel by itemId", res, err, 200, "000000")
		scExpectData(t, "cancel by itemId", res, `{"itemIds":["naga"]}`)
		scCheckStatus(t, c, scStatusPath,
			scWant{"pegasus", "authorized", scAmt(250, 0, 0, 250)},
			scWant{"naga", "canceled", scAmt(1100, 0, 0, 0)})
		res, err = c.Raw().Capture(ctx, scSeedCapture)
		scExpect(t, "capture", res, err, 200, "000000")
		scExpectData(t, "capture", res, `{"itemIds":["pegasus"]}`)
		scCheckStatus(t, c, scStatusPath,
			scWant{"pegasus", "completed", scAmt(250, 250, 0, 250)},
			scWant{"naga", "canceled", scAmt(1100, 0, 0, 0)})
	})

	t.Run("partial cancellation", func(t *testing.T) {
		t.Parallel()
		c := scPaidCart(t, srv)
		// modify
		res, err := c.Raw().Modify(ctx, scSeedModify)
		scExpect(t, "modify", res, err, 200, "000000")
		scExpectData(t, "modify", res, `{"modifiedAmounts":["pegasus"],"modifiedTimers":[]}`)
		st := scCheckStatus(t, c, scStatusPath,
			scWant{"pegasus", "authorized", scAmt(250, 0, 0, 150)},
			scWant{"naga", "authorized", scAmt(1100, 0, 0, 1100)})
		if a := st.item(t, "pegasus").PaymentSnapshot.Amount; a != 150 {
			t.Errorf("pegasus paymentSnapshot.amount %d after modify, want 150", a)
		}
		// capture
		res, err = c.Raw().Capture(ctx, scSeedCapture)
		scExpect(t, "capture", res, err, 200, "000000")
		scExpectData(t, "capture", res, `{"itemIds":["pegasus","naga"]}`)
		// status (optional): pegasus as in SPEC 4.2's example.
		st = scCheckStatus(t, c, scStatusPath,
			scWant{"pegasus", "completed", scAmt(250, 150, 0, 150)},
			scWant{"naga", "completed", scAmt(1100, 1100, 0, 1100)})
		p := st.item(t, "pegasus")
		ps := p.PaymentSnapshot
		if p.Tag != "rampart" || ps.Amount != 150 || ps.AmountMode != "declared" || ps.Quantity != "1" || ps.AmountModifier != "1" {
			t.Errorf("pegasus tag %q paymentSnapshot %+v, want rampart {150 declared 1 1}", p.Tag, ps)
		}
		if p.CaptureSnapshot != nil || len(p.TimerSnapshot) != 0 {
			t.Errorf("pegasus captureSnapshot %v timerSnapshot %s, want neither", p.CaptureSnapshot, p.TimerSnapshot)
		}
		// The status of one item alone has the totals of that item.
		res, err = c.Raw().Status(ctx, scCartID, client.StatusQuery{ItemIDs: []string{"pegasus"}})
		scExpect(t, "status pegasus", res, err, 200, "000000")
		var one scStatus
		if err := json.Unmarshal(res.Data, &one); err != nil || len(one.Items) != 1 || one.TotalAmounts != scAmt(250, 150, 0, 150) {
			t.Errorf("status of pegasus: %v\n%s", err, res.Raw)
		}
	})

	t.Run("full refund", func(t *testing.T) {
		t.Parallel()
		c := scPaidCart(t, srv)
		res, err := c.Raw().Capture(ctx, scSeedCapture)
		scExpect(t, "capture", res, err, 200, "000000")
		scCheckStatus(t, c, scStatusPath,
			scWant{"pegasus", "completed", scAmt(250, 250, 0, 250)},
			scWant{"naga", "completed", scAmt(1100, 1100, 0, 1100)})
		res, err = c.Raw().Refund(ctx, `{"cartId": "`+scCartID+`"}`)
		scExpect(t, "refund", res, err, 200, "000000")
		scExpectData(t, "refund", res, `{"itemIds":["pegasus","naga"]}`)
		scCheckStatus(t, c, scStatusPath,
			scWant{"pegasus", "refunded", scAmt(250, 250, 250, 0)},
			scWant{"naga", "refunded", scAmt(1100, 1100, 1100, 0)})
		res, err = c.Raw().Refund(ctx, `{"cartId": "`+scCartID+`"}`)
		scExpect(t, "second refund", res, err, 400, "124115")
		if res.Message != "No items in the completed status" {
			t.Errorf("124115 message %q", res.Message)
		}
	})

	t.Run("partial refund then the rest", func(t *testing.T) {
		t.Parallel()
		c := scPaidCart(t, srv)
		res, err := c.Raw().Capture(ctx, scSeedCapture)
		scExpect(t, "capture", res, err, 200, "000000")
		// 250 → 100 on a completed item refunds 150.
		res, err = c.Raw().Modify(ctx, `{"cartId": "`+scCartID+`", "modifyBox": {"items": [{"pegasus": {"modifyAmount": {"amount": 100, "amountMode": "declared"}}}]}}`)
		scExpect(t, "modify completed item", res, err, 200, "000000")
		scExpectData(t, "modify completed item", res, `{"modifiedAmounts":["pegasus"],"modifiedTimers":[]}`)
		st := scCheckStatus(t, c, scStatusPath,
			scWant{"pegasus", "completed", scAmt(250, 250, 150, 100)},
			scWant{"naga", "completed", scAmt(1100, 1100, 0, 1100)})
		if a := st.item(t, "pegasus").PaymentSnapshot.Amount; a != 100 {
			t.Errorf("pegasus paymentSnapshot.amount %d, want 100", a)
		}
		// The amount cannot go back up.
		res, err = c.Raw().Modify(ctx, `{"cartId": "`+scCartID+`", "modifyBox": {"items": [{"pegasus": {"modifyAmount": {"amount": 200}}}]}}`)
		scExpect(t, "modify above current", res, err, 400, "124112")
		// Refund the rest of pegasus only.
		res, err = c.Raw().Refund(ctx, `{"cartId": "`+scCartID+`", "filterBox": {"itemIds": ["pegasus"]}}`)
		scExpect(t, "refund rest", res, err, 200, "000000")
		scExpectData(t, "refund rest", res, `{"itemIds":["pegasus"]}`)
		scCheckStatus(t, c, scStatusPath,
			scWant{"pegasus", "refunded", scAmt(250, 250, 250, 0)},
			scWant{"naga", "completed", scAmt(1100, 1100, 0, 1100)})
		// A refunded item cannot be modified.
		res, err = c.Raw().Modify(ctx, `{"cartId": "`+scCartID+`", "modifyBox": {"items": [{"pegasus": {"modifyAmount": {"amount": 50}}}]}}`)
		scExpect(t, "modify refunded item", res, err, 400, "123002")
	})
}
