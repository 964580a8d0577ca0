package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// isoExpectCartNotFound checks the answer a merchant gets for another
// merchant's cart: exactly what an unknown cart gets.
func isoExpectCartNotFound(tb testing.TB, what string, res *client.Response, err error) {
	tb.Helper()
	scExpect(tb, what, res, err, 400, "123001")
	if res.Message != "cartId does not exist" {
		tb.Fatalf("%s: message %q, want %q", what, res.Message, "cartId does not exist")
	}
	if len(res.Data) != 0 {
		tb.Fatalf("%s: error carries data: %s", what, res.Raw)
	}
}

// isoRawDebug returns the raw "debug" member of a response body, failing
// when the body has none.
func isoRawDebug(tb testing.TB, raw []byte) string {
	tb.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal(raw, &env); err != nil {
		tb.Fatalf("body is not a JSON object: %v\n%s", err, raw)
	}
	d, ok := env["debug"]
	if !ok {
		tb.Fatalf("error response has no debug member:\n%s", raw)
	}
	return strings.Join(strings.Fields(string(d)), "")
}

// TestMerchantIsolation checks that merchant B can neither see nor change
// merchant A's cart, and that both can use the same cartId.
func TestMerchantIsolation(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	ctx := context.Background()
	_, a := srv.Merchant("pegasus,naga")
	_, b := srv.Merchant("pegasus,naga")

	payURL := scInit(t, a, scSetupInit)
	scPay(t, a, payURL)
	authorized := []scWant{
		{"pegasus", "authorized", scAmt(250, 0, 0, 250)},
		{"naga", "authorized", scAmt(1100, 0, 0, 1100)},
	}
	scCheckStatus(t, a, scStatusPath, authorized...)

	cart := `{"cartId": "` + scCartID + `"}`
	modify := `{"cartId": "` + scCartID + `", "modifyBox": {"items": [{"pegasus": {"modifyAmount": {"amount": 100}}}]}}`
	// While A's cart is authorized: B's status, capture, cancel, modify and
	// refund all see no such cart, with debug on too.
	foreign := func(stage string) {
		t.Helper()
		res, err := b.Raw().Status(ctx, scCartID, client.StatusQuery{})
		isoExpectCartNotFound(t, stage+": B status", res, err)
		res, err = b.Do(ctx, http.MethodGet, scStatusPath, nil)
		isoExpectCartNotFound(t, stage+": B status with colon", res, err)
		res, err = b.Raw().Status(ctx, scCartID, client.StatusQuery{ItemIDs: []string{"pegasus"}, Debug: true})
		isoExpectCartNotFound(t, stage+": B status filtered", res, err)
		res, err = b.Raw().Capture(ctx, cart)
		isoExpectCartNotFound(t, stage+": B capture", res, err)
		res, err = b.Raw().Cancel(ctx, cart)
		isoExpectCartNotFound(t, stage+": B cancel", res, err)
		res, err = b.Raw().Cancel(ctx, `{"cartId": "`+scCartID+`", "filterBox": {"tags": ["rampart"]}, "debug": true}`)
		isoExpectCartNotFound(t, stage+": B cancel by tag", res, err)
		res, err = b.Raw().Refund(ctx, cart)
		isoExpectCartNotFound(t, stage+": B refund", res, err)
		res, err = b.Raw().Modify(ctx, modify)
		isoExpectCartNotFound(t, stage+": B modify", res, err)
	}
	foreign("authorized")
	scCheckStatus(t, a, scStatusPath, authorized...)

	res, err := a.Raw().Capture(ctx, cart)
	scExpect(t, "A capture", res, err, 200, "000000")
	completed := []scWant{
		{"pegasus", "completed", scAmt(250, 250, 0, 250)},
		{"naga", "completed", scAmt(1100, 1100, 0, 1100)},
	}
	foreign("completed")
	scCheckStatus(t, a, scStatusPath, completed...)

	// B opens its own cart with the same cartId: no conflict, and the two
	// carts live independently.
	res, err = b.Raw().Init(ctx, `{"cartId": "`+scCartID+`", "currency": "XAU", "items": [{"naga": {"amount": 999}}]}`)
	scExpect(t, "B init same cartId", res, err, 201, "000000")
	scCheckStatus(t, b, scStatusPath, scWant{"naga", "initiated", scAmt(999, 0, 0, 999)})
	scCheckStatus(t, a, scStatusPath, completed...)
	// B's own actions reach only B's cart.
	res, err = b.Raw().Modify(ctx, `{"cartId": "`+scCartID+`", "modifyBox": {"items": [{"naga": {"modifyAmount": {"amount": 500}}}]}}`)
	scExpect(t, "B modify own cart", res, err, 200, "000000")
	res, err = b.Raw().Capture(ctx, cart)
	scExpect(t, "B capture own unpaid cart", res, err, 400, "124114")
	res, err = b.Raw().Refund(ctx, cart)
	scExpect(t, "B refund own unpaid cart", res, err, 400, "124115")
	scCheckStatus(t, b, scStatusPath, scWant{"naga", "initiated", scAmt(999, 0, 0, 500)})
	scCheckStatus(t, a, scStatusPath, completed...)
	// Each merchant's own duplicate is still a conflict.
	res, err = a.Raw().Init(ctx, scSetupInit)
	scExpect(t, "A init again", res, err, 409, "124101")
	res, err = b.Raw().Init(ctx, scSetupInit)
	scExpect(t, "B init again", res, err, 409, "124101")
	// A refunds its own cart; B's cart is untouched.
	res, err = a.Raw().Refund(ctx, cart)
	scExpect(t, "A refund", res, err, 200, "000000")
	scCheckStatus(t, a, scStatusPath,
		scWant{"pegasus", "refunded", scAmt(250, 250, 250, 0)},
		scWant{"naga", "refunded", scAmt(1100, 1100, 1100, 0)})
	scCheckStatus(t, b, scStatusPath, scWant{"naga", "initiated", scAmt(999, 0, 0, 500)})
}

// TestAuthentication checks that a missing or wrong Api-Access-Token gets
// 401 111000 with an empty debug list on every endpoint, before any other
// check.
func TestAuthentication(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, good := srv.Merchant("pegasus")
	ctx := context.Background()

	type req struct {
		name, method, path, contentType, body string
	}
	valid := `{"cartId": "auth-cart-0001", "currency": "XAU", "items": [{"pegasus": {"amount": 250}}]}`
	reqs := []req{
		{"init", "POST", "/init", "application/json", valid},
		{"status", "GET", "/status/auth-cart-0001", "", ""},
		{"status colon", "GET", "/status/:auth-cart-0001", "", ""},
		{"status filters", "GET", "/status/auth-cart-0001?tags=x&debug=true", "", ""},
		{"capture", "POST", "/capture", "application/json", `{"cartId": "auth-cart-0001"}`},
		{"cancel", "POST", "/cancel", "application/json", `{"cartId": "auth-cart-0001"}`},
		{"refund", "POST", "/refund", "application/json", `{"cartId": "auth-cart-0001"}`},
		{"modify", "PATCH", "/modify", "application/json", `{"cartId": "auth-cart-0001", "modifyBox": {}}`},
		// Authentication comes before every other check.
		{"malformed JSON", "POST", "/init", "application/json", `{"cartId": `},
		{"malformed JSON with debug", "POST", "/capture", "application/json", `{"debug": true, "cartId": "x", `},
		{"wrong content type", "POST", "/init", "text/plain", valid},
		{"no body", "POST", "/cancel", "", ""},
		{"invalid request with debug", "POST", "/init", "application/json",
			`{"debug": true, "cartId": "", "currency": "ZZZ", "items": [], "bogus": 1}`},
		{"duplicate key", "POST", "/refund", "application/json", `{"cartId": "a", "cartId": "b"}`},
		{"status of bad cartId", "GET", "/status/%20bad", "", ""},
		{"status unknown parameter", "GET", "/status/auth-cart-0001?nope=1", "", ""},
		{"wrong method on init", "GET", "/init", "", ""},
		{"wrong method on modify", "POST", "/modify", "application/json", `{}`},
		{"too large body", "POST", "/init", "application/json", `{"cartId": "` + strings.Repeat("a", 2<<20) + `"}`},
	}
	tokens := []struct {
		name  string
		set   bool
		value string
	}{
		{"missing", false, ""},
		{"empty", true, ""},
		{"garbage", true, "garbage"},
		{"almost the key", true, good.APIKey[:len(good.APIKey)-1] + "x"},
		{"key prefix only", true, good.APIKey[:16]},
		{"key with suffix", true, good.APIKey + "x"},
	}
	for _, tok := range tokens {
		for _, r := range reqs {
			t.Run(tok.name+"/"+r.name, func(t *testing.T) {
				var body io.Reader
				if r.body != "" {
					body = strings.NewReader(r.body)
				}
				hr, err := http.NewRequestWithContext(ctx, r.method, srv.URL+r.path, body)
				if err != nil {
					t.Fatal(err)
				}
				if r.contentType != "" {
					hr.Header.Set("Content-Type", r.contentType)
				}
				if tok.set {
					hr.Header.Set("Api-Access-Token", tok.value)
				}
				resp, err := http.DefaultClient.Do(hr)
				if err != nil {
					t.Fatal(err)
				}
				raw, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				var env client.Envelope
				if err := json.Unmarshal(raw, &env); err != nil {
					t.Fatalf("HTTP %d, body is not an envelope: %v\n%s", resp.StatusCode, err, raw)
				}
				if resp.StatusCode != 401 || env.Code != "111000" || env.Message != "Authentication error" {
					t.Fatalf("HTTP %d code %s message %q, want 401 111000 Authentication error\n%s", resp.StatusCode, env.Code, env.Message, raw)
				}
				if d := isoRawDebug(t, raw); d != "[]" {
					t.Fatalf("debug %s, want []", d)
				}
				if env.Timestamp == "" || len(env.Data) != 0 || env.CartID != "" {
					t.Fatalf("401 envelope: %s", raw)
				}
			})
		}
	}

	// The good key passes authentication on the same requests (so the 401s
	// above are due to the token alone), and no cart was opened by them.
	res, err := good.Raw().Status(ctx, "auth-cart-0001", client.StatusQuery{})
	isoExpectCartNotFound(t, "status with the good key", res, err)
	res, err = good.Do(ctx, http.MethodPost, "/init", `{"cartId": `)
	scExpect(t, "malformed JSON with the good key", res, err, 400, "122001")
	res, err = good.Raw().Init(ctx, valid)
	scExpect(t, "init with the good key", res, err, 201, "000000")
}
