package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
	"github.com/omnicart/omnicart/postgres"
	"github.com/omnicart/omnicart/sandbox"
	"github.com/omnicart/omnicart/sqlite"
)

// ccCard is a sandbox test card that always authorizes.
var ccCard = client.Card{CardNumber: "4111 1111 1111 1111", Expiry: "12/39", CVC: "123", Cardholder: "Ada"}

// ccCall is one request of a concurrent burst and its answer.
type ccCall struct {
	method, path, body string
	res                *client.Response
	err                error
}

// ccBurst sends every call at once (released together by one channel) and
// waits for all answers.
func ccBurst(c *client.Client, calls []*ccCall) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, call := range calls {
		wg.Go(func() {
			<-start
			call.res, call.err = c.Do(context.Background(), call.method, call.path, call.body)
		})
	}
	close(start)
	wg.Wait()
}

// ccSane fails the test for a transport error, a 5xx, or a body that
// leaks a storage error or the general system error.
func ccSane(tb testing.TB, call *ccCall) bool {
	tb.Helper()
	if call.err != nil {
		tb.Errorf("%s %s %s: %v", call.method, call.path, call.body, call.err)
		return false
	}
	raw := string(call.res.Raw)
	if call.res.Status >= 500 || strings.Contains(raw, "database is locked") || strings.Contains(raw, "199000") || strings.Contains(raw, "SQLITE_BUSY") {
		tb.Errorf("%s %s %s: HTTP %d %s", call.method, call.path, call.body, call.res.Status, raw)
		return false
	}
	return true
}

// ccStart starts a server and a merchant with the given catalog. The
// client's idle connections are closed before the server stops: a burst
// leaves connections the client dialed but never used, and the server's
// graceful shutdown waits 5 s for such never-used connections.
func ccStart(tb testing.TB, items string) (*e2e.Server, string, *client.Client) {
	tb.Helper()
	srv := e2e.Start(tb)
	id, c := srv.Merchant(items)
	tb.Cleanup(c.HTTP.CloseIdleConnections)
	return srv, id, c
}

func ccInit(tb testing.TB, c *client.Client, body string) string {
	tb.Helper()
	res, err := c.Raw().Init(context.Background(), body)
	if err != nil || res.Status != http.StatusCreated {
		tb.Fatalf("init: %v %s", err, res.Raw)
	}
	var data struct {
		PaymentURL string `json:"paymentUrl"`
	}
	if err := res.Decode(&data); err != nil || data.PaymentURL == "" {
		tb.Fatalf("init data %s: %v", res.Data, err)
	}
	return data.PaymentURL
}

type ccAmounts struct {
	Initiated int64 `json:"initiated"`
	Captured  int64 `json:"captured"`
	Refunded  int64 `json:"refunded"`
	Current   int64 `json:"current"`
}

type ccItem struct {
	PaymentStatus string    `json:"paymentStatus"`
	ItemAmounts   ccAmounts `json:"itemAmounts"`
}

type ccStatus struct {
	TotalAmounts ccAmounts           `json:"totalAmounts"`
	Items        []map[string]ccItem `json:"items"`
	byID         map[string]ccItem
	raw          json.RawMessage
}

func ccReadStatus(tb testing.TB, c *client.Client, cartID string) *ccStatus {
	tb.Helper()
	res, err := c.Raw().Status(context.Background(), cartID, client.StatusQuery{})
	if err != nil || res.Status != http.StatusOK {
		tb.Fatalf("status: %v %+v", err, res)
	}
	st := &ccStatus{byID: map[string]ccItem{}, raw: res.Raw}
	if err := res.Decode(st); err != nil {
		tb.Fatal(err)
	}
	var sum ccAmounts
	for _, el := range st.Items {
		for id, it := range el {
			st.byID[id] = it
			sum.Initiated += it.ItemAmounts.Initiated
			sum.Captured += it.ItemAmounts.Captured
			sum.Refunded += it.ItemAmounts.Refunded
			sum.Current += it.ItemAmounts.Current
		}
	}
	if sum != st.TotalAmounts {
		tb.Errorf("totalAmounts %+v is not the sum of the items %+v", st.TotalAmounts, sum)
	}
	return st
}

// ccLedger reads the sandbox ledger of the server's database (the server
// keeps running: SQLite in WAL mode lets another connection read) and checks
// its invariants: money is conserved and no account but the issuer's
// funding is negative. It returns what is on hold in currency and the
// merchant's balance (captured minus refunded).
func ccLedger(tb testing.TB, srv *e2e.Server, merchantID, currency string) (held, merchant int64) {
	tb.Helper()
	ctx := context.Background()
	var bs []omnicart.Balance
	if e2e.Postgres() {
		db, err := postgres.Open(ctx, srv.Database)
		if err != nil {
			tb.Fatal(err)
		}
		defer db.Close()
		if bs, err = postgres.NewLedger(db).Balances(ctx); err != nil {
			tb.Fatal(err)
		}
	} else {
		db, err := sqlite.Open(ctx, srv.DBPath)
		if err != nil {
			tb.Fatal(err)
		}
		defer db.Close()
		if bs, err = sqlite.NewLedger(db).Balances(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	if err := sandbox.CheckBalances(bs); err != nil {
		tb.Error(err)
	}
	for _, b := range bs {
		if b.Currency != currency {
			continue
		}
		switch {
		case strings.HasPrefix(b.Account, sandbox.HoldAccount("")):
			held += b.Amount
		case b.Account == sandbox.MerchantAccount(merchantID):
			merchant = b.Amount
		}
	}
	return held, merchant
}

// TestConcurrentActionsOnOneCart fires 50 captures, cancels and partial
// releases at the same paid cart, on overlapping scopes, and checks that
// every item is acted on by exactly one request and ends consistent.
func TestConcurrentActionsOnOneCart(t *testing.T) {
	t.Parallel()
	srv, merchantID, c := ccStart(t, "i1,i2,i3,i4,i5,i6,i7,i8")
	const cartID = "cc-actions-cart-01"
	const full = 10000
	ids := []string{"i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8"}
	var items []string
	for i, id := range ids {
		tag := "north"
		if i >= len(ids)/2 {
			tag = "south"
		}
		items = append(items, fmt.Sprintf(`{%q:{"amount":%d,"tag":%q}}`, id, full, tag))
	}
	payURL := ccInit(t, c, `{"cartId":"`+cartID+`","currency":"EUR","items":[`+strings.Join(items, ",")+`]}`)
	if pay, err := c.Pay(context.Background(), payURL, ccCard); err != nil || pay.Result != "authorized" {
		t.Fatalf("pay: %v %+v", err, pay)
	}

	// Fifty requests over overlapping scopes: single items, an item plus a
	// tag, the whole cart. Every modify asks for a distinct new amount, so
	// each successful one is identifiable. The order is shuffled, so that
	// each run races differently.
	var calls []*ccCall
	action := func(path, filter string) *ccCall {
		body := `{"cartId":"` + cartID + `"` + filter + `}`
		return &ccCall{method: http.MethodPost, path: path, body: body}
	}
	targets := map[*ccCall]map[string]int64{}
	modify := func(amounts map[string]int64) *ccCall {
		var parts []string
		for _, id := range ids {
			if v, ok := amounts[id]; ok {
				parts = append(parts, fmt.Sprintf(`{%q:{"modifyAmount":{"amount":%d}}}`, id, v))
			}
		}
		call := &ccCall{method: http.MethodPatch, path: "/modify",
			body: `{"cartId":"` + cartID + `","modifyBox":{"items":[` + strings.Join(parts, ",") + `]}}`}
		targets[call] = amounts
		return call
	}
	calls = append(calls, action("/capture", ""), action("/cancel", `,"filterBox":{"tags":["south"],"itemIds":["i1"]}`))
	for n := 0; len(calls) < 50; n++ {
		a, b := ids[n%len(ids)], ids[(n+3)%len(ids)]
		switch n % 6 {
		case 0:
			calls = append(calls, action("/capture", `,"filterBox":{"itemIds":["`+a+`"]}`))
		case 1:
			calls = append(calls, action("/cancel", `,"filterBox":{"itemIds":["`+a+`"]}`))
		case 2:
			calls = append(calls, action("/capture", `,"filterBox":{"tags":["north"],"itemIds":["`+a+`","`+b+`"]}`))
		case 3:
			calls = append(calls, action("/cancel", `,"filterBox":{"itemIds":["`+a+`","`+b+`"]}`))
		case 4:
			calls = append(calls, modify(map[string]int64{a: int64(full - 1 - n)}))
		case 5:
			calls = append(calls, modify(map[string]int64{a: int64(full - 1 - n), b: int64(full - 500 - n)}))
		}
	}
	rand.Shuffle(len(calls), func(i, j int) { calls[i], calls[j] = calls[j], calls[i] })
	ccBurst(c, calls)

	actedBy := map[string]string{} // itemId → "capture"/"cancel"
	modified := map[string][]int64{}
	record := func(call *ccCall, kind string) {
		var data struct {
			ItemIDs []string `json:"itemIds"`
		}
		if err := call.res.Decode(&data); err != nil {
			t.Errorf("%s: %v %s", call.body, err, call.res.Raw)
		}
		for _, id := range data.ItemIDs {
			if prev, dup := actedBy[id]; dup {
				t.Errorf("%s acted on by two requests (%s, then %s %s)", id, prev, kind, call.body)
			}
			actedBy[id] = kind
		}
	}
	for _, call := range calls {
		if !ccSane(t, call) {
			continue
		}
		kind := strings.TrimPrefix(call.path, "/")
		res := call.res
		switch {
		case res.Status == http.StatusOK && kind == "modify":
			var data struct {
				ModifiedAmounts []string `json:"modifiedAmounts"`
			}
			if err := res.Decode(&data); err != nil {
				t.Fatal(err)
			}
			for _, id := range data.ModifiedAmounts {
				modified[id] = append(modified[id], targets[call][id])
			}
		case res.Status == http.StatusOK:
			record(call, kind)
		case res.Status == http.StatusBadRequest && kind != "modify" && res.Code == "124114":
			// Nothing left authorized in its scope.
		case res.Status == http.StatusBadRequest && kind == "modify" && (res.Code == "123002" || res.Code == "124112"):
			// The item was in flight, already final (123002), or another
			// modify had lowered it below this request's amount (124112).
		default:
			t.Errorf("%s %s: unexpected HTTP %d %s", call.path, call.body, res.Status, res.Raw)
		}
	}

	// Items that no request of the burst happened to reach are captured
	// now; this request takes part in the exactly-once check too.
	sweep := action("/capture", "")
	ccBurst(c, []*ccCall{sweep})
	if ccSane(t, sweep) {
		switch {
		case sweep.res.Status == http.StatusOK:
			record(sweep, "capture")
		case sweep.res.Code != "124114":
			t.Errorf("sweep capture: %s", sweep.res.Raw)
		}
	}

	st := ccReadStatus(t, c, cartID)
	var net int64
	for _, id := range ids {
		it, ok := st.byID[id]
		if !ok {
			t.Fatalf("status lost %s: %s", id, st.raw)
		}
		a := it.ItemAmounts
		if a.Initiated != full {
			t.Errorf("%s: initiated %d, want %d", id, a.Initiated, full)
		}
		switch actedBy[id] {
		case "cancel":
			if it.PaymentStatus != "canceled" || a.Captured != 0 || a.Refunded != 0 || a.Current != 0 {
				t.Errorf("%s canceled by a request but status says %s %+v", id, it.PaymentStatus, a)
			}
		case "capture":
			// The captured amount is the item's amount at capture time: the
			// initial amount or one of the amounts a modify set before.
			// Modifies after the capture are partial refunds: current is
			// the lowest amount ever set, refunded the rest.
			if it.PaymentStatus != "completed" && it.PaymentStatus != "captured" {
				t.Errorf("%s captured by a request but status says %s", id, it.PaymentStatus)
			}
			set := append([]int64{full}, modified[id]...)
			if !slices.Contains(set, a.Captured) {
				t.Errorf("%s: captured %d is not an amount the item ever had %v", id, a.Captured, set)
			}
			if low := slices.Min(set); a.Current != low || a.Refunded != a.Captured-a.Current {
				t.Errorf("%s: amounts %+v; want current = lowest amount set (%d) and refunded = captured − current", id, a, low)
			}
			net += a.Current
		default:
			t.Errorf("%s: no request reports acting on it; status %s %+v", id, it.PaymentStatus, a)
		}
	}
	if t.Failed() {
		t.Logf("final status: %s", st.raw)
	}
	if held, merchant := ccLedger(t, srv, merchantID, "EUR"); held != 0 || merchant != net {
		t.Errorf("ledger: %d held, merchant has %d; want 0 held and captured − refunded = %d", held, merchant, net)
	}
}

// TestConcurrentInitSameCartID opens the same cartId 50 times at once:
// exactly one cart is created and every other request gets 409 124101.
func TestConcurrentInitSameCartID(t *testing.T) {
	t.Parallel()
	_, _, c := ccStart(t, "pegasus")
	var calls []*ccCall
	for i := 0; i < 50; i++ {
		calls = append(calls, &ccCall{method: http.MethodPost, path: "/init",
			body: fmt.Sprintf(`{"cartId":"cc-same-cart-0001","currency":"EUR","items":[{"pegasus":{"amount":%d}}]}`, 100+i)})
	}
	ccBurst(c, calls)
	created := 0
	amount := 0
	for i, call := range calls {
		if !ccSane(t, call) {
			continue
		}
		switch {
		case call.res.Status == http.StatusCreated && call.res.Code == "000000":
			created++
			amount = 100 + i
		case call.res.Status == http.StatusConflict && call.res.Code == "124101" && call.res.Message == "cartId already exists":
		default:
			t.Errorf("init %d: HTTP %d %s", i, call.res.Status, call.res.Raw)
		}
	}
	if created != 1 {
		t.Fatalf("%d carts created, want exactly 1", created)
	}
	st := ccReadStatus(t, c, "cc-same-cart-0001")
	if len(st.Items) != 1 || st.byID["pegasus"].ItemAmounts.Initiated != int64(amount) {
		t.Fatalf("the stored cart is not the one the 201 answered (amount %d): %s", amount, st.raw)
	}
}

// TestConcurrentPaymentsSameURL posts the same card 20 times at once to one
// payment link: exactly one payment is authorized, the others find the cart
// paid and answer its outcome (authorized) without moving money, and
// exactly the cart amount is held.
func TestConcurrentPaymentsSameURL(t *testing.T) {
	t.Parallel()
	srv, merchantID, c := ccStart(t, "pegasus,naga")
	payURL := ccInit(t, c, `{"cartId":"cc-pay-race-0001","currency":"EUR","items":[{"pegasus":{"amount":250}},{"naga":{"amount":1100}}]}`)
	const n = 20
	results := make([]*client.PayResult, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Go(func() {
			<-start
			results[i], errs[i] = c.Pay(context.Background(), payURL, ccCard)
		})
	}
	close(start)
	wg.Wait()
	authorized := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("pay %d: %v", i, errs[i])
			continue
		}
		r := results[i]
		switch {
		case r.Status == http.StatusOK && r.Result == "authorized":
			authorized++
		default:
			t.Errorf("pay %d: HTTP %d %+v", i, r.Status, r)
		}
	}
	if authorized != n {
		t.Fatalf("%d of %d answers are authorized, want all (one payment, the others its repeats)", authorized, n)
	}
	st := ccReadStatus(t, c, "cc-pay-race-0001")
	for _, id := range []string{"pegasus", "naga"} {
		if s := st.byID[id].PaymentStatus; s != "authorized" {
			t.Errorf("%s is %s, want authorized", id, s)
		}
	}
	if st.TotalAmounts.Current != 1350 {
		t.Errorf("total current %d, want 1350", st.TotalAmounts.Current)
	}
	if held, merchant := ccLedger(t, srv, merchantID, "EUR"); held != 1350 || merchant != 0 {
		t.Errorf("ledger: %d held, merchant has %d; want one hold of 1350 and nothing captured", held, merchant)
	}
}
