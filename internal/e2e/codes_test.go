package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// Every code of SPEC's code table that /init, /status, /capture, /cancel,
// /refund and /modify can return, through the real binary, each with debug
// off and on. Helpers of this file are prefixed with "cod" (amounts_test.go
// uses some of them too).

const codItems = "pegasus,naga,mage,lich,wight,genie"

var codSeq atomic.Int64

// codID returns a fresh cartId (or customerId) that no other test uses.
func codID(prefix string) string {
	return fmt.Sprintf("%s-%06d", prefix, codSeq.Add(1))
}

var codCard = client.Card{CardNumber: "4111 1111 1111 1111", Expiry: "12/39", CVC: "123", Cardholder: "Ada Lovelace"}

// codWithDebug adds "debug": true to a JSON object body.
func codWithDebug(body string, debug bool) string {
	if !debug || !strings.HasPrefix(body, "{") {
		return body
	}
	if strings.HasPrefix(body, "{}") {
		return `{"debug":true}` + body[2:]
	}
	return `{"debug":true,` + body[1:]
}

// codDo sends a request; with debug on it adds "debug": true to the body, or
// debug=true to the query of a body-less request.
func codDo(tb testing.TB, c *client.Client, method, path, body string, debug bool) *client.Response {
	tb.Helper()
	var b any
	if body != "" {
		b = codWithDebug(body, debug)
	} else if debug {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "debug=true"
	}
	res, err := c.Do(context.Background(), method, path, b)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	return res
}

// codRaw sends a request with a chosen Content-Type and key, for what the
// client does not do.
func codRaw(tb testing.TB, c *client.Client, method, path, contentType, body string) *client.Response {
	tb.Helper()
	req, err := http.NewRequest(method, c.BaseURL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.APIKey != "" {
		req.Header.Set("Api-Access-Token", c.APIKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	out := &client.Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if err := json.Unmarshal(raw, &out.Envelope); err != nil {
		tb.Fatalf("%s %s: body is not an envelope: %v: %s", method, path, err, raw)
	}
	return out
}

// codOpen opens a cart whose body is {"cartId": <fresh>, <rest>} and returns
// its id and payment URL.
func codOpen(tb testing.TB, c *client.Client, rest string) (string, string) {
	tb.Helper()
	id := codID("cart")
	return id, codOpenID(tb, c, id, rest)
}

// codOpenID opens the cart {"cartId": id, <rest>} and returns its payment
// URL.
func codOpenID(tb testing.TB, c *client.Client, id, rest string) string {
	tb.Helper()
	res := codDo(tb, c, http.MethodPost, "/init", fmt.Sprintf(`{"cartId":%q,%s}`, id, rest), false)
	if res.Status != http.StatusCreated {
		tb.Fatalf("init %s: HTTP %d %s", id, res.Status, res.Raw)
	}
	var data struct {
		PaymentURL string `json:"paymentUrl"`
	}
	if err := res.Decode(&data); err != nil || data.PaymentURL == "" {
		tb.Fatalf("init %s: no paymentUrl: %v %s", id, err, res.Raw)
	}
	return data.PaymentURL
}

// codPay pays a cart with a success test card.
func codPay(tb testing.TB, c *client.Client, payURL string) {
	tb.Helper()
	res, err := c.Pay(context.Background(), payURL, codCard)
	if err != nil || res.Result != "authorized" {
		tb.Fatalf("pay: %v %+v", err, res)
	}
}

// codMust sends a request that must succeed with 000000.
func codMust(tb testing.TB, c *client.Client, method, path, body string) *client.Response {
	tb.Helper()
	res := codDo(tb, c, method, path, body, false)
	if res.Status != http.StatusOK || res.Code != "000000" {
		tb.Fatalf("%s %s %s: HTTP %d %s", method, path, body, res.Status, res.Raw)
	}
	return res
}

// codAdvance moves the merchant's test clock forward.
func codAdvance(tb testing.TB, c *client.Client, secs int) {
	tb.Helper()
	res := codDo(tb, c, http.MethodPost, "/sandbox/clock", fmt.Sprintf(`{"advanceSecs":%d}`, secs), false)
	if res.Status != http.StatusOK {
		tb.Fatalf("advance clock: HTTP %d %s", res.Status, res.Raw)
	}
}

// codWant is an expected answer.
type codWant struct {
	status int
	code   string
	msg    string
	// debug is the debug list with debug on (nil: empty).
	debug []client.DebugEntry
}

func codE(code, msg string) client.DebugEntry { return client.DebugEntry{Code: code, Message: msg} }

var codStamp = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// codCheck checks a response against w. With debug off an error carries
// "debug": [] and a success no debug key at all; with debug on "debug" is
// exactly w.debug.
func codCheck(tb testing.TB, res *client.Response, w codWant, debug bool) {
	tb.Helper()
	if res.Status != w.status || res.Code != w.code || res.Message != w.msg {
		tb.Errorf("got HTTP %d %s %q, want HTTP %d %s %q\n%s", res.Status, res.Code, res.Message, w.status, w.code, w.msg, res.Raw)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(res.Raw, &top); err != nil {
		tb.Fatalf("body: %v", err)
	}
	if c := string(top["code"]); !strings.HasPrefix(c, `"`) {
		tb.Errorf("code %s is not a JSON string", c)
	}
	if !codStamp.MatchString(res.Timestamp) {
		tb.Errorf("timestamp %q is not RFC 3339 UTC with milliseconds", res.Timestamp)
	}
	dbg, has := top["debug"]
	switch {
	case debug:
		want := w.debug
		if want == nil {
			want = []client.DebugEntry{}
		}
		var got []client.DebugEntry
		if !has || json.Unmarshal(dbg, &got) != nil || got == nil {
			tb.Errorf("debug on: debug is %s, want a list %v", dbg, want)
			return
		}
		if !reflect.DeepEqual(got, want) {
			tb.Errorf("debug on: debug list\n got %v\nwant %v", got, want)
		}
	case w.status >= 400:
		if string(dbg) != "[]" {
			tb.Errorf("debug off: error debug is %q, want []", dbg)
		}
	default:
		if has {
			tb.Errorf("debug off: a success carries debug %s", dbg)
		}
	}
}

// codCase is one code of the table: run sends the request (fresh state for
// each call), on is the answer with debug on; off the answer with debug off
// when it is not "on without the debug list".
type codCase struct {
	name string
	run  func(t *testing.T, debug bool) *client.Response
	on   codWant
	off  *codWant
	// extra checks the response further (both modes).
	extra func(t *testing.T, res *client.Response)
}

func codRun(t *testing.T, cases []codCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, debug := range []bool{false, true} {
				res := tc.run(t, debug)
				w := tc.on
				if !debug {
					if tc.off != nil {
						w = *tc.off
					}
					w.debug = nil
				}
				t.Run(map[bool]string{false: "debug=off", true: "debug=on"}[debug], func(t *testing.T) {
					codCheck(t, res, w, debug)
					if tc.extra != nil {
						tc.extra(t, res)
					}
				})
			}
		})
	}
}

// codEnv is the server and the merchants the code tests share.
type codEnv struct {
	srv        *e2e.Server
	full       *client.Client // all privileges
	def        *client.Client // default privileges
	other      *client.Client // another merchant
	statusOnly *client.Client // a key of full limited to status
	clock      *client.Client // all privileges; its test clock is moved
	limited    *client.Client // without timers, amount settings, one-step, auto-complete, cart-expiry
	noKey      *client.Client
	badKey     *client.Client
	// statusCart (full): pegasus tag rampart with a pending manual timer,
	// naga tag rampart, lich untagged; customer set; nothing paid.
	statusCart string
}

func codSetup(t *testing.T) *codEnv {
	t.Helper()
	srv := e2e.Start(t)
	fullID, full := srv.Merchant(codItems, "--all-privileges")
	_, def := srv.Merchant(codItems)
	_, other := srv.Merchant(codItems, "--all-privileges")
	_, clock := srv.Merchant(codItems, "--all-privileges")
	_, limited := srv.Merchant(codItems, "--deny", "timers,amount-settings,one-step,auto-complete")
	key := strings.TrimSpace(srv.Admin("key", "create", "--merchant", fullID, "--methods", "status"))
	env := &codEnv{srv: srv, full: full, def: def, other: other, clock: clock, limited: limited,
		statusOnly: srv.Client(key), noKey: srv.Client(""), badKey: srv.Client("ock_test_not-a-real-key")}
	env.statusCart, _ = codOpen(t, full, fmt.Sprintf(`"customerId":%q,"currency":"EUR","items":[`+
		`{"pegasus":{"amount":250,"tag":"rampart","enableTimer":true,"timer":{"triggerEvent":"manual","value":0}}},`+
		`{"naga":{"amount":100,"tag":"rampart"}},{"lich":{"amount":50}}]`, codID("cust")))
	return env
}

// TestResponseCodes covers every code each Merchant API endpoint can return.
func TestResponseCodes(t *testing.T) {
	t.Parallel()
	env := codSetup(t)
	t.Run("init", func(t *testing.T) { t.Parallel(); codRun(t, codInitCases(env)) })
	t.Run("status", func(t *testing.T) { t.Parallel(); codRun(t, codStatusCases(env)) })
	for _, ep := range []string{"capture", "cancel", "refund"} {
		t.Run(ep, func(t *testing.T) { t.Parallel(); codRun(t, codActionCases(env, ep)) })
	}
	t.Run("modify", func(t *testing.T) { t.Parallel(); codRun(t, codModifyCases(env)) })
	t.Run("privileges", func(t *testing.T) { t.Parallel(); codRun(t, codPrivilegeCases(env)) })
	t.Run("check order", func(t *testing.T) { t.Parallel(); codRun(t, codOrderCases(env)) })
}

// codInit sends an init body in which %s is replaced by a fresh cartId.
func codInit(c *client.Client, body string) func(t *testing.T, debug bool) *client.Response {
	return func(t *testing.T, debug bool) *client.Response {
		return codDo(t, c, http.MethodPost, "/init", strings.ReplaceAll(body, "%s", codID("cart")), debug)
	}
}

const codOneItem = `"currency":"EUR","items":[{"pegasus":{"amount":250}}]`

func codInitCases(env *codEnv) []codCase {
	full, def := env.full, env.def
	created := func(code, msg string, debug ...client.DebugEntry) codWant {
		return codWant{http.StatusCreated, code, msg, debug}
	}
	success := created("000000", "Success")
	bad := func(code, msg string, debug ...client.DebugEntry) codWant {
		return codWant{http.StatusBadRequest, code, msg, debug}
	}
	conflict := func(code, msg string, debug ...client.DebugEntry) codWant {
		return codWant{http.StatusConflict, code, msg, debug}
	}
	var timerOnce, pendingOnce sync.Once
	big := `{"cartId":"cart-big-0001","currency":"EUR","items":[{"pegasus":{"amount":250}}],"pad":"` + strings.Repeat("x", 1<<20) + `"}`
	return []codCase{
		{name: "000000", run: codInit(full, `{"cartId":"%s",`+codOneItem+`}`), on: success,
			extra: func(t *testing.T, res *client.Response) {
				if !strings.HasPrefix(res.CartID, "cart-") {
					t.Errorf("top-level cartId = %q", res.CartID)
				}
			}},
		{name: "001001 tag defined but not used",
			run: codInit(full, `{"cartId":"%s","currency":"EUR","scope":{"tags":[{"keep":{}},{"rampart":{}},{"moat":{}}]},"items":[{"pegasus":{"amount":250,"tag":"rampart"}}]}`),
			on:  created("001001", "Tag(s) [keep, moat] defined but not used"), off: &success},
		{name: "001002 undefined tags",
			run: codInit(full, `{"cartId":"%s","currency":"EUR","items":[{"pegasus":{"amount":250,"tag":"tower"}},{"naga":{"amount":5}},{"mage":{"amount":5,"tag":"keep"}}]}`),
			on:  created("001002", "Undefined tags in item(s): [pegasus, mage]"), off: &success},
		{name: "001001 then 001002",
			run: codInit(full, `{"cartId":"%s","currency":"EUR","scope":{"tags":[{"keep":{}}]},"items":[{"pegasus":{"amount":250,"tag":"tower"}}]}`),
			on:  created("001001", "Tag(s) [keep] defined but not used", codE("001002", "Undefined tags in item(s): [pegasus]")), off: &success},

		{name: "111000 no key", run: codInit(env.noKey, `{"cartId":"%s",`+codOneItem+`}`),
			on: codWant{http.StatusUnauthorized, "111000", "Authentication error", nil}},
		{name: "111000 wrong key stops every other check", run: codInit(env.badKey, `{"cartId":"bad",`+codOneItem+`,"nope":1}`),
			on: codWant{http.StatusUnauthorized, "111000", "Authentication error", nil}},

		{name: "121101 cartId missing", run: codInit(full, `{`+codOneItem+`}`), on: bad("121101", "cartId cannot be empty")},
		{name: "121101 cartId empty", run: codInit(full, `{"cartId":"",`+codOneItem+`}`), on: bad("121101", "cartId cannot be empty")},
		{name: "121102 timers without customerId",
			run: codInit(full, `{"cartId":"%s","currency":"EUR","scope":{"cart":{"enableTimer":true,"timer":{"triggerEvent":"authorized","value":60}}},"items":[{"pegasus":{"amount":250}},{"naga":{"amount":5}}]}`),
			on:  bad("121102", "customerId required as there are items with enabled timer: [pegasus, naga]")},

		{name: "122001 cartId format", run: codInit(full, `{"cartId":"short",`+codOneItem+`}`), on: bad("122001", "cartId has invalid format")},
		{name: "122001 cartId not a string", run: codInit(full, `{"cartId":123456789,`+codOneItem+`}`), on: bad("122001", "cartId has invalid format")},
		{name: "122001 currency not a string", run: codInit(full, `{"cartId":"%s","currency":978,"items":[{"pegasus":{"amount":250}}]}`),
			on: bad("122001", "currency has invalid format")},
		{name: "122001 unknown property", run: codInit(full, `{"cartId":"%s",`+codOneItem+`,"amount":250,"paymentBox":{}}`),
			on: bad("122001", "amount has invalid format", codE("122001", "paymentBox has invalid format"))},
		{name: "122001 items missing", run: codInit(full, `{"cartId":"%s","currency":"EUR"}`), on: bad("122001", "items has invalid format")},
		{name: "122001 itemId key", run: codInit(full, `{"cartId":"%s","currency":"EUR","items":[{"bad id":{"amount":250}}]}`),
			on: bad("122001", "bad id has invalid format")},
		{name: "122001 scope property path", run: codInit(full, `{"cartId":"%s",`+codOneItem+`,"scope":{"cart":{"paymentBox":{"capture":"yes"}}}}`),
			on: bad("122001", "scope.cart.paymentBox.capture has invalid format")},
		{name: "122001 debug not a boolean", run: func(t *testing.T, _ bool) *client.Response {
			return codDo(t, full, http.MethodPost, "/init", `{"cartId":"`+codID("cart")+`",`+codOneItem+`,"debug":"yes"}`, false)
		}, on: bad("122001", "debug has invalid format")},
		{name: "122001 Content-Type", run: func(t *testing.T, debug bool) *client.Response {
			return codRaw(t, full, http.MethodPost, "/init", "text/plain", codWithDebug(`{"cartId":"`+codID("cart")+`",`+codOneItem+`}`, debug))
		}, on: bad("122001", "Content-Type has invalid format")},
		{name: "122001 malformed JSON", run: codInit(full, `{"cartId":"%s",`), on: bad("122001", "body has invalid format")},
		{name: "122001 body not an object", run: codInit(full, `["cartId"]`), on: bad("122001", "body has invalid format")},
		{name: "122001 duplicate key", run: codInit(full, `{"cartId":"%s","currency":"EUR","currency":"USD","items":[{"pegasus":{"amount":250}}]}`),
			on: bad("122001", "currency has invalid format")},
		{name: "122002 item properties",
			run: codInit(full, `{"cartId":"%s","currency":"EUR","items":[{"pegasus":{"amount":"250"}},{"naga":{"amount":2.5,"paymentBox":{"capture":"no"}}}]}`),
			on:  bad("122002", "amount has invalid format for item(s) [pegasus, naga]", codE("122002", "paymentBox.capture has invalid format for item(s) [naga]"))},

		{name: "123000 unknown currency", run: codInit(full, `{"cartId":"%s","currency":"EURO","items":[{"pegasus":{"amount":250}}]}`),
			on: bad("123000", "Unknown currency")},
		{name: "123000 currency missing", run: codInit(full, `{"cartId":"%s","items":[{"pegasus":{"amount":250}}]}`),
			on: bad("123000", "Unknown currency")},
		{name: "123002 item values",
			run: codInit(full, `{"cartId":"%s","currency":"EUR","items":[{"pegasus":{"amount":0}},{"naga":{"amount":5,"quantity":0.001}},{"mage":{"amount":-3}}]}`),
			on:  bad("123002", "amount has invalid value for item(s) [pegasus, mage]", codE("123002", "quantity has invalid value for item(s) [naga]"))},
		{name: "123002 duplicated itemId", run: codInit(full, `{"cartId":"%s","currency":"EUR","items":[{"pegasus":{"amount":1}},{"pegasus":{"amount":2}}]}`),
			on: bad("123002", "itemId has invalid value for item(s) [pegasus]")},
		{name: "123002 timer without value",
			run: codInit(full, `{"cartId":"%s","customerId":"c-123002","currency":"EUR","items":[{"pegasus":{"amount":1,"enableTimer":true,"timer":{"triggerEvent":"initiated"}}}]}`),
			on:  bad("123002", "timer.value has invalid value for item(s) [pegasus]")},
		{name: "123003 empty items", run: codInit(full, `{"cartId":"%s","currency":"EUR","items":[]}`), on: bad("123003", "items has invalid value")},
		{name: "123003 values outside items",
			run: codInit(full, `{"cartId":"%s",`+codOneItem+`,"cartExpiry":59,"scope":{"cart":{"amountMode":"estimated"}},"paymentForm":{"deliveryOption":"fax"}}`),
			on: bad("123003", "cartExpiry has invalid value",
				codE("123003", "scope.cart.amountMode has invalid value"), codE("123003", "paymentForm.deliveryOption has invalid value"))},

		{name: "124101 cartId already exists", run: func(t *testing.T, debug bool) *client.Response {
			id, _ := codOpen(t, full, codOneItem)
			return codDo(t, full, http.MethodPost, "/init", `{"cartId":"`+id+`",`+codOneItem+`}`, debug)
		}, on: conflict("124101", "cartId already exists")},
		{name: "124101 cartIds are per merchant", run: func(t *testing.T, debug bool) *client.Response {
			id, _ := codOpen(t, env.other, codOneItem)
			return codDo(t, full, http.MethodPost, "/init", `{"cartId":"`+id+`",`+codOneItem+`}`, debug)
		}, on: created("000000", "Success")},
		{name: "124102 active timer", run: func(t *testing.T, debug bool) *client.Response {
			// The first cart's timer stays active, so both runs meet it.
			timerOnce.Do(func() {
				codOpenID(t, full, "cart-124102-first", `"customerId":"c1","currency":"EUR","items":[`+
					`{"pegasus":{"amount":250,"enableTimer":true,"timer":{"triggerEvent":"initiated","value":3600}}}]`)
			})
			return codDo(t, full, http.MethodPost, "/init", `{"cartId":"`+codID("cart")+`","customerId":"c1","currency":"EUR",`+
				`"scope":{"tags":[{"keep":{}}]},"items":[{"naga":{"amount":5}},{"pegasus":{"amount":250}}]}`, debug)
		}, on: conflict("124102", "customerId c1 is linked to itemId pegasus in cartId cart-124102-first with an active timer",
			codE("101001", "Tag(s) [keep] defined but not used"))},
		{name: "124102 pending timer, new cart with its own timer", run: func(t *testing.T, debug bool) *client.Response {
			pendingOnce.Do(func() {
				codOpenID(t, full, "cart-124102-second", `"customerId":"c2-124102","currency":"EUR","items":[`+
					`{"mage":{"amount":250,"enableTimer":true,"timer":{"triggerEvent":"authorized","value":0}}}]`)
			})
			return codDo(t, full, http.MethodPost, "/init", `{"cartId":"`+codID("cart")+`","customerId":"c2-124102","currency":"EUR",`+
				`"items":[{"mage":{"amount":250,"enableTimer":true,"timer":{"triggerEvent":"manual","value":60}}}]}`, debug)
		}, on: conflict("124102", "customerId c2-124102 is linked to itemId mage in cartId cart-124102-second with an active timer")},
		{name: "124103 not in the catalog", run: codInit(full, `{"cartId":"%s","currency":"EUR","items":[{"ghost":{"amount":250}},{"pegasus":{"amount":1}},{"imp":{"amount":1}}]}`),
			on: conflict("124103", "ghost does not exist", codE("124103", "imp does not exist"))},
		{name: "131000 wrong method", run: func(t *testing.T, debug bool) *client.Response {
			return codDo(t, full, http.MethodGet, "/init", "", debug)
		}, on: codWant{http.StatusMethodNotAllowed, "131000", "Not allowed to pass this method", nil}},
		{name: "131000 key not allowed", run: codInit(env.statusOnly, `{"cartId":"%s",`+codOneItem+`}`),
			on: codWant{http.StatusMethodNotAllowed, "131000", "Not allowed to pass this method", nil}},
		{name: "132000 cartExpiry without the privilege", run: codInit(def, `{"cartId":"%s",`+codOneItem+`,"cartExpiry":600}`),
			on: bad("132000", "Insufficient permissions to pass cartExpiry")},
		{name: "cartExpiry with the privilege", run: codInit(full, `{"cartId":"%s",`+codOneItem+`,"cartExpiry":600}`), on: success},
		{name: "133000 capture window out of range",
			run: codInit(full, `{"cartId":"%s","currency":"EUR","items":[{"pegasus":{"amount":250,"captureSettings":{"value":300}}},{"naga":{"amount":5,"paymentBox":{"captureSettings":{"value":604801}}}}]}`),
			on: bad("133000", "captureSettings.value value 300 is out of permitted range, item(s): [pegasus]",
				codE("133000", "captureSettings.value value 604801 is out of permitted range, item(s): [naga]"))},
		{name: "199001 unknown path", run: func(t *testing.T, debug bool) *client.Response {
			return codDo(t, full, http.MethodPost, "/init/now", `{"cartId":"x"}`, debug)
		}, on: codWant{http.StatusNotFound, "199001", "Endpoint not found", nil}},
		{name: "199003 body too large", run: func(t *testing.T, debug bool) *client.Response {
			return codDo(t, full, http.MethodPost, "/init", big, debug)
		}, on: codWant{http.StatusRequestEntityTooLarge, "199003", "Request body too large", nil}},
	}
}

// codGet sends a status request for path.
func codGet(c *client.Client, path string) func(t *testing.T, debug bool) *client.Response {
	return func(t *testing.T, debug bool) *client.Response {
		return codDo(t, c, http.MethodGet, path, "", debug)
	}
}

func codStatusCases(env *codEnv) []codCase {
	full, sc := env.full, env.statusCart
	ok := func(code, msg string, debug ...client.DebugEntry) codWant {
		return codWant{http.StatusOK, code, msg, debug}
	}
	bad := func(code, msg string, debug ...client.DebugEntry) codWant {
		return codWant{http.StatusBadRequest, code, msg, debug}
	}
	noItems := "No itemIds matching the request"
	items := func(want ...string) func(t *testing.T, res *client.Response) {
		return func(t *testing.T, res *client.Response) {
			var data struct {
				Items []map[string]json.RawMessage `json:"items"`
			}
			if err := res.Decode(&data); err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, it := range data.Items {
				for k := range it {
					got = append(got, k)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("items %v, want %v", got, want)
			}
		}
	}
	return []codCase{
		{name: "000000", run: codGet(full, "/status/"+sc), on: ok("000000", "Success"), extra: items("pegasus", "naga", "lich")},
		{name: "000000 with /status/:cartId", run: codGet(full, "/status/:"+sc+"?tags=rampart"), on: ok("000000", "Success"), extra: items("pegasus", "naga")},
		{name: "001004 tag not in cart", run: codGet(full, "/status/"+sc+"?tags=keep,rampart&tags=moat"),
			on: ok("001004", "Requested cart does not contain tag(s) [keep, moat]"), extra: items("pegasus", "naga")},
		{name: "001005 itemId not in cart", run: codGet(full, "/status/"+sc+"?itemIds=ghost&itemIds=lich"),
			on: ok("001005", "Requested cart does not contain itemId(s) [ghost]"), extra: items("lich")},
		{name: "001006 timerEnabled=true empties an itemId", run: codGet(full, "/status/"+sc+"?itemIds=pegasus,lich&timerEnabled=true"),
			on: ok("001006", "Requested cart does not contain items with enabled timer"), extra: items("pegasus")},
		{name: "001007 timerEnabled=false empties an itemId", run: codGet(full, "/status/"+sc+"?itemIds=pegasus,lich&timerEnabled=false"),
			on: ok("001007", "Requested cart does not contain items with disabled timer"), extra: items("lich")},
		{name: "001004 001005 001006 together", run: codGet(full, "/status/"+sc+"?tags=keep,rampart&itemIds=ghost,lich&timerEnabled=true"),
			on: ok("001004", "Requested cart does not contain tag(s) [keep]",
				codE("001005", "Requested cart does not contain itemId(s) [ghost]"),
				codE("001006", "Requested cart does not contain items with enabled timer")),
			extra: items("pegasus")},
		{name: "121103 with 101004", run: codGet(full, "/status/"+sc+"?tags=keep"),
			on: bad("121103", noItems, codE("101004", "Requested cart does not contain tag(s) [keep]"))},
		{name: "121103 with 101005", run: codGet(full, "/status/"+sc+"?itemIds=ghost"),
			on: bad("121103", noItems, codE("101005", "Requested cart does not contain itemId(s) [ghost]"))},
		{name: "121103 with 101006", run: codGet(full, "/status/"+sc+"?itemIds=lich,naga&timerEnabled=true"),
			on: bad("121103", noItems, codE("101006", "Requested cart does not contain items with enabled timer"))},
		{name: "121103 with 101007", run: codGet(full, "/status/"+sc+"?itemIds=pegasus&timerEnabled=false&tags=keep"),
			on: bad("121103", noItems, codE("101004", "Requested cart does not contain tag(s) [keep]"),
				codE("101007", "Requested cart does not contain items with disabled timer"))},
		{name: "111000", run: codGet(env.badKey, "/status/"+sc), on: codWant{http.StatusUnauthorized, "111000", "Authentication error", nil}},
		{name: "121101 /status/", run: codGet(full, "/status/"), on: bad("121101", "cartId cannot be empty")},
		{name: "121101 /status", run: codGet(full, "/status"), on: bad("121101", "cartId cannot be empty")},
		{name: "122001 cartId format", run: codGet(full, "/status/short?foo=1"),
			on: bad("122001", "cartId has invalid format", codE("122001", "foo has invalid format"))},
		{name: "122001 filters", run: codGet(full, "/status/"+sc+"?timerEnabled=yes&tags=bad%20tag"),
			on: bad("122001", "tags has invalid format", codE("122001", "timerEnabled has invalid format"))},
		{name: "123001 no such cart", run: codGet(full, "/status/cart-does-not-exist?tags=keep"), on: bad("123001", "cartId does not exist")},
		{name: "123001 another merchant's cart", run: codGet(env.other, "/status/"+sc), on: bad("123001", "cartId does not exist")},
		{name: "123001 before filter formats", run: codGet(full, "/status/cart-does-not-exist?timerEnabled=1"),
			on: bad("123001", "cartId does not exist", codE("122001", "timerEnabled has invalid format"))},
		{name: "131000 wrong method", run: func(t *testing.T, debug bool) *client.Response {
			return codDo(t, full, http.MethodPost, "/status/"+sc, `{}`, debug)
		}, on: codWant{http.StatusMethodNotAllowed, "131000", "Not allowed to pass this method", nil}},
		{name: "199001 unknown path", run: codGet(full, "/statuses/"+sc), on: codWant{http.StatusNotFound, "199001", "Endpoint not found", nil}},
	}
}

// codPaid opens a cart of pegasus (250) and naga (100, tag rampart) and pays
// it; with complete it captures it too.
func codPaid(t *testing.T, c *client.Client, complete bool) string {
	t.Helper()
	id, url := codOpen(t, c, `"currency":"EUR","items":[{"pegasus":{"amount":250}},{"naga":{"amount":100,"tag":"rampart"}}]`)
	codPay(t, c, url)
	if complete {
		codMust(t, c, http.MethodPost, "/capture", `{"cartId":"`+id+`"}`)
	}
	return id
}

func codActionCases(env *codEnv, ep string) []codCase {
	full, sc := env.full, env.statusCart
	path := "/" + ep
	bad := func(code, msg string, debug ...client.DebugEntry) codWant {
		return codWant{http.StatusBadRequest, code, msg, debug}
	}
	post := func(c *client.Client, body string) func(t *testing.T, debug bool) *client.Response {
		return func(t *testing.T, debug bool) *client.Response {
			return codDo(t, c, http.MethodPost, path, body, debug)
		}
	}
	none := bad("124114", "No items in the authorized status")
	if ep == "refund" {
		none = bad("124115", "No items in the completed status")
	}
	acted := func(want string) func(t *testing.T, res *client.Response) {
		return func(t *testing.T, res *client.Response) {
			if string(res.Data) != want {
				t.Errorf("data %s, want %s", res.Data, want)
			}
		}
	}
	return []codCase{
		{name: "000000", run: func(t *testing.T, debug bool) *client.Response {
			id := codPaid(t, full, ep == "refund")
			return codDo(t, full, http.MethodPost, path, `{"cartId":"`+id+`","filterBox":{"tags":["rampart"]}}`, debug)
		}, on: codWant{http.StatusOK, "000000", "Success", nil}, extra: acted(`{"itemIds":["naga"]}`)},
		{name: "000000 skips items in another status", run: func(t *testing.T, debug bool) *client.Response {
			id := codPaid(t, full, ep == "refund")
			codMust(t, full, http.MethodPost, path, `{"cartId":"`+id+`","filterBox":{"itemIds":["naga"]}}`)
			return codDo(t, full, http.MethodPost, path, `{"cartId":"`+id+`"}`, debug)
		}, on: codWant{http.StatusOK, "000000", "Success", nil}, extra: acted(`{"itemIds":["pegasus"]}`)},
		{name: none.code + " nothing in the right status", run: post(full, `{"cartId":"`+sc+`"}`), on: none},
		{name: none.code + " after everything was acted on", run: func(t *testing.T, debug bool) *client.Response {
			id := codPaid(t, full, ep == "refund")
			codMust(t, full, http.MethodPost, path, `{"cartId":"`+id+`"}`)
			return codDo(t, full, http.MethodPost, path, `{"cartId":"`+id+`","filterBox":{"itemIds":["pegasus"]}}`, debug)
		}, on: none},
		{name: "111000", run: post(env.noKey, `{"cartId":"`+sc+`"}`), on: codWant{http.StatusUnauthorized, "111000", "Authentication error", nil}},
		{name: "121101", run: post(full, `{"filterBox":{}}`), on: bad("121101", "cartId cannot be empty")},
		{name: "122001", run: post(full, `{"cartId":"`+sc+`","filterBox":{"tags":["bad tag"],"itemIds":"pegasus"},"filter":{}}`),
			on: bad("122001", "filter has invalid format", codE("122001", "filterBox.tags has invalid format"), codE("122001", "filterBox.itemIds has invalid format"))},
		{name: "123001 no such cart", run: post(full, `{"cartId":"cart-does-not-exist"}`), on: bad("123001", "cartId does not exist")},
		{name: "123001 another merchant's cart", run: post(env.other, `{"cartId":"`+sc+`"}`), on: bad("123001", "cartId does not exist")},
		{name: "124004", run: post(full, `{"cartId":"`+sc+`","filterBox":{"tags":["keep","rampart","moat"]}}`),
			on: bad("124004", "Requested cart does not contain tag(s) [keep, moat]")},
		{name: "124005", run: post(full, `{"cartId":"`+sc+`","filterBox":{"itemIds":["lich","ghost"]}}`),
			on: bad("124005", "Requested cart does not contain itemId(s) [ghost]")},
		{name: "124006", run: post(full, `{"cartId":"`+sc+`","filterBox":{"itemIds":["pegasus","lich"],"timerEnabled":true}}`),
			on: bad("124006", "Requested cart does not contain items with enabled timer")},
		{name: "124007", run: post(full, `{"cartId":"`+sc+`","filterBox":{"tags":["rampart"],"itemIds":["pegasus"],"timerEnabled":false}}`),
			on: bad("124007", "Requested cart does not contain items with disabled timer")},
		{name: "124004 124005 124006 in order", run: post(full, `{"cartId":"`+sc+`","filterBox":{"timerEnabled":true,"itemIds":["ghost","lich"],"tags":["keep","rampart"]}}`),
			on: bad("124004", "Requested cart does not contain tag(s) [keep]",
				codE("124005", "Requested cart does not contain itemId(s) [ghost]"),
				codE("124006", "Requested cart does not contain items with enabled timer"))},
		{name: "cart existence before formats", run: post(full, `{"filterBox":7,"cartId":"cart-does-not-exist"}`),
			on: bad("123001", "cartId does not exist", codE("122001", "filterBox has invalid format"))},
		{name: "cartId format before everything", run: post(full, `{"filterBox":7,"cartId":"bad"}`),
			on: bad("122001", "cartId has invalid format", codE("122001", "filterBox has invalid format"))},
		{name: "131000 wrong method", run: func(t *testing.T, debug bool) *client.Response {
			return codDo(t, full, http.MethodPut, path, `{"cartId":"`+sc+`"}`, debug)
		}, on: codWant{http.StatusMethodNotAllowed, "131000", "Not allowed to pass this method", nil}},
		{name: "131000 key not allowed", run: post(env.statusOnly, `{"cartId":"`+sc+`"}`),
			on: codWant{http.StatusMethodNotAllowed, "131000", "Not allowed to pass this method", nil}},
		{name: "199003", run: post(full, `{"cartId":"`+sc+`","pad":"`+strings.Repeat("y", 1<<20)+`"}`),
			on: codWant{http.StatusRequestEntityTooLarge, "199003", "Request body too large", nil}},
	}
}

// codTimers opens a cart for a fresh customer with three timers: pegasus
// (trigger initiated: started at once), naga (trigger authorized: pending)
// and mage (manual, infinite: pending), and lich without a timer. Each
// timer is then moved by the given manual actions.
func codTimers(t *testing.T, c *client.Client, actions map[string]string) string {
	t.Helper()
	id, _ := codOpen(t, c, `"customerId":"`+codID("cust")+`","currency":"EUR","items":[`+
		`{"pegasus":{"amount":250,"tag":"rampart","enableTimer":true,"timer":{"triggerEvent":"initiated","value":100}}},`+
		`{"naga":{"amount":100,"enableTimer":true,"timer":{"triggerEvent":"authorized","value":3600}}},`+
		`{"mage":{"amount":100,"enableTimer":true,"timer":{"triggerEvent":"manual","value":0}}},`+
		`{"lich":{"amount":100}}]`)
	for _, item := range []string{"pegasus", "naga", "mage"} {
		for _, a := range strings.Fields(actions[item]) {
			codMust(t, c, http.MethodPatch, "/modify", `{"cartId":"`+id+`","modifyBox":{"items":[{"`+item+`":{"modifyTimer":{"manualAction":"`+a+`"}}}]}}`)
		}
	}
	return id
}

// codAction sends a modify of manual actions ("item action ...").
func codAction(id string, pairs ...string) string {
	var items []string
	for i := 0; i < len(pairs); i += 2 {
		items = append(items, `{"`+pairs[i]+`":{"modifyTimer":{"manualAction":"`+pairs[i+1]+`"}}}`)
	}
	return `{"cartId":"` + id + `","modifyBox":{"items":[` + strings.Join(items, ",") + `]}}`
}

func codModifyCases(env *codEnv) []codCase {
	full := env.full
	ok := func(code, msg string, debug ...client.DebugEntry) codWant {
		return codWant{http.StatusOK, code, msg, debug}
	}
	success := ok("000000", "Success")
	bad := func(code, msg string, debug ...client.DebugEntry) codWant {
		return codWant{http.StatusBadRequest, code, msg, debug}
	}
	patch := func(c *client.Client, body string) func(t *testing.T, debug bool) *client.Response {
		return func(t *testing.T, debug bool) *client.Response {
			return codDo(t, c, http.MethodPatch, "/modify", body, debug)
		}
	}
	// timer runs pairs of manual actions on a fresh timers cart, after
	// the setup actions; clock elapses pegasus first (on the clock merchant).
	timer := func(setup map[string]string, elapse bool, pairs ...string) func(t *testing.T, debug bool) *client.Response {
		return func(t *testing.T, debug bool) *client.Response {
			c := full
			if elapse {
				c = env.clock
			}
			id := codTimers(t, c, setup)
			if elapse {
				codAdvance(t, c, 200)
			}
			return codDo(t, c, http.MethodPatch, "/modify", codAction(id, pairs...), debug)
		}
	}
	data := func(want string) func(t *testing.T, res *client.Response) {
		return func(t *testing.T, res *client.Response) {
			if string(res.Data) != want {
				t.Errorf("data %s, want %s", res.Data, want)
			}
		}
	}
	fresh := func(body string) func(t *testing.T, debug bool) *client.Response {
		return func(t *testing.T, debug bool) *client.Response {
			id, _ := codOpen(t, full, `"currency":"EUR","items":[{"pegasus":{"amount":250,"tag":"rampart","quantity":2}},`+
				`{"naga":{"amount":100,"amountMode":"calculated","amountModifier":0.5}}]`)
			return codDo(t, full, http.MethodPatch, "/modify", strings.ReplaceAll(body, "%s", id), debug)
		}
	}
	return []codCase{
		{name: "000000 retag and reprice", run: fresh(`{"cartId":"%s","modifyBox":{"items":[{"pegasus":{"tag":"tower","modifyAmount":{"amount":200}}}]}}`),
			on: success, extra: data(`{"modifiedAmounts":["pegasus"],"modifiedTimers":[]}`)},
		{name: "000000 timer actions", run: timer(nil, false, "pegasus", "pause", "mage", "start"),
			on: success, extra: data(`{"modifiedAmounts":[],"modifiedTimers":["pegasus","mage"]}`)},
		{name: "001008 start a started timer", run: timer(nil, false, "pegasus", "start"),
			on: ok("001008", "Timer already started, item(s): [pegasus]"), off: &success, extra: data(`{"modifiedAmounts":[],"modifiedTimers":[]}`)},
		{name: "001009 stop a stopped timer", run: timer(map[string]string{"pegasus": "stop", "mage": "start stop"}, false, "pegasus", "stop", "mage", "stop"),
			on: ok("001009", "Timer already stopped or expired, item(s): [pegasus, mage]"), off: &success},
		{name: "001010 pause a paused timer", run: timer(map[string]string{"pegasus": "pause"}, false, "pegasus", "pause"),
			on: ok("001010", "Timer already paused, items [pegasus]"), off: &success},
		{name: "001008 001009 001010 together", run: timer(map[string]string{"naga": "start pause", "mage": "start stop"}, false, "naga", "pause", "pegasus", "start", "mage", "stop"),
			on: ok("001008", "Timer already started, item(s): [pegasus]",
				codE("001010", "Timer already paused, items [naga]"), codE("001009", "Timer already stopped or expired, item(s): [mage]")),
			off: &success},
		{name: "124104 pause a pending timer", run: timer(nil, false, "naga", "pause"), on: bad("124104", "Cannot pause a pending timer, item(s): [naga]")},
		{name: "124105 pause an expired timer", run: timer(nil, true, "pegasus", "pause"), on: bad("124105", "Cannot pause an expired timer, item(s): [pegasus]")},
		{name: "124106 pause a stopped timer", run: timer(map[string]string{"pegasus": "stop"}, false, "pegasus", "pause"),
			on: bad("124106", "Cannot pause a stopped timer, item(s): [pegasus]")},
		{name: "124107 start a stopped timer", run: timer(map[string]string{"pegasus": "pause stop"}, false, "pegasus", "start"),
			on: bad("124107", "Cannot start a stopped timer, item(s): [pegasus]")},
		{name: "124108 start an expired timer", run: timer(nil, true, "pegasus", "start"), on: bad("124108", "Cannot start an expired timer, item(s): [pegasus]")},
		{name: "124109 stop a pending timer", run: timer(nil, false, "mage", "stop", "naga", "stop"),
			on: bad("124109", "Cannot stop a pending timer, item(s): [naga, mage]")},
		{name: "124110 stop an expired timer", run: timer(nil, true, "pegasus", "stop"), on: bad("124110", "Cannot stop an expired timer, item(s): [pegasus]")},
		{name: "timer errors then 10100x infos", run: timer(map[string]string{"pegasus": "stop", "naga": "start pause"}, false,
			"lich", "stop", "mage", "pause", "naga", "pause", "pegasus", "stop"),
			on: bad("124104", "Cannot pause a pending timer, item(s): [mage]",
				codE("123002", "modifyTimer has invalid value for item(s) [lich]"),
				codE("101009", "Timer already stopped, item(s): [pegasus]"),
				codE("101010", "Timer already paused, items [naga]"))},
		{name: "timer error with 101008", run: timer(nil, false, "pegasus", "start", "mage", "pause"),
			on: bad("124104", "Cannot pause a pending timer, item(s): [mage]", codE("101008", "Timer already started, item(s): [pegasus]"))},
		{name: "124111 cart modifier raises the total", run: fresh(`{"cartId":"%s","modifyBox":{"scope":{"cart":{"modifyAmount":{"amountModifier":0.75}}}}}`),
			on: bad("124111", "Modified cart amount exceeds previous state")},
		{name: "124112 item amount raised", run: fresh(`{"cartId":"%s","modifyBox":{"items":[{"pegasus":{"modifyAmount":{"amount":251}}},{"naga":{"modifyAmount":{"amountModifier":0.6}}}]}}`),
			on: bad("124112", "Modified item amount exceeds previous state for item(s): [pegasus, naga]")},
		{name: "124113 quantity raised", run: fresh(`{"cartId":"%s","modifyBox":{"items":[{"pegasus":{"modifyAmount":{"quantity":3}}}]}}`),
			on: bad("124113", "Modified quantity exceeds previous state for item(s): [pegasus]")},
		{name: "123002 amount change in canceled status", run: func(t *testing.T, debug bool) *client.Response {
			id := codPaid(t, full, false)
			codMust(t, full, http.MethodPost, "/cancel", `{"cartId":"`+id+`","filterBox":{"itemIds":["pegasus"]}}`)
			return codDo(t, full, http.MethodPatch, "/modify", `{"cartId":"`+id+`","modifyBox":{"items":[{"pegasus":{"modifyAmount":{"amount":100}}}]}}`, debug)
		}, on: bad("123002", "modifyAmount has invalid value for item(s) [pegasus]")},
		{name: "123002 zero amount", run: fresh(`{"cartId":"%s","modifyBox":{"items":[{"pegasus":{"modifyAmount":{"amount":0}}}]}}`),
			on: bad("123002", "modifyAmount.amount has invalid value for item(s) [pegasus]")},
		{name: "124004 scope tag not in cart", run: fresh(`{"cartId":"%s","modifyBox":{"scope":{"tags":[{"keep":{"modifyAmount":{"amountModifier":0.5}}},{"rampart":{}}]}}}`),
			on: bad("124004", "Requested cart does not contain tag(s) [keep]")},
		{name: "124005 itemId not in cart", run: fresh(`{"cartId":"%s","modifyBox":{"items":[{"ghost":{"tag":"x"}},{"pegasus":{"tag":"y"}},{"imp":{}}]}}`),
			on: bad("124005", "Requested cart does not contain itemId(s) [ghost, imp]")},
		{name: "121101", run: patch(full, `{"modifyBox":{}}`), on: bad("121101", "cartId cannot be empty")},
		{name: "121102 new timer without customerId", run: fresh(`{"cartId":"%s","modifyBox":{"items":[{"naga":{"enableTimer":true,"modifyTimer":{"triggerEvent":"initiated","timerValue":60}}}]}}`),
			on: bad("121102", "customerId required as there are items with enabled timer: [naga]")},
		{name: "new timer with a customerId given in modify", run: fresh(`{"cartId":"%s","modifyBox":{"customerId":"cust-%s","items":[{"naga":{"enableTimer":true,"modifyTimer":{"triggerEvent":"initiated","timerValue":60}}}]}}`),
			on: success, extra: data(`{"modifiedAmounts":[],"modifiedTimers":["naga"]}`)},
		{name: "122001", run: fresh(`{"cartId":"%s","modifyBox":{"items":{},"tags":[]}}`),
			on: bad("122001", "modifyBox.tags has invalid format", codE("122001", "modifyBox.items has invalid format"))},
		{name: "122002", run: fresh(`{"cartId":"%s","modifyBox":{"items":[{"pegasus":{"modifyAmount":{"amount":"100","quantity":true}}}]}}`),
			on: bad("122002", "modifyAmount.amount has invalid format for item(s) [pegasus]", codE("122002", "modifyAmount.quantity has invalid format for item(s) [pegasus]"))},
		{name: "123001", run: patch(full, `{"cartId":"cart-does-not-exist","modifyBox":{}}`), on: bad("123001", "cartId does not exist")},
		{name: "123001 another merchant's cart", run: patch(env.other, `{"cartId":"`+env.statusCart+`","modifyBox":{}}`), on: bad("123001", "cartId does not exist")},
		{name: "124004 124005 then item errors", run: fresh(`{"cartId":"%s","modifyBox":{"items":[{"pegasus":{"modifyAmount":{"amount":300}}},{"ghost":{}}],"scope":{"tags":[{"keep":{}}]}}}`),
			on: bad("124004", "Requested cart does not contain tag(s) [keep]",
				codE("124005", "Requested cart does not contain itemId(s) [ghost]"),
				codE("124112", "Modified item amount exceeds previous state for item(s): [pegasus]"))},
		{name: "111000", run: patch(env.badKey, `{"cartId":"`+env.statusCart+`"}`), on: codWant{http.StatusUnauthorized, "111000", "Authentication error", nil}},
		{name: "131000 wrong method", run: func(t *testing.T, debug bool) *client.Response {
			return codDo(t, full, http.MethodPost, "/modify", `{"cartId":"`+env.statusCart+`"}`, debug)
		}, on: codWant{http.StatusMethodNotAllowed, "131000", "Not allowed to pass this method", nil}},
		{name: "131000 key not allowed", run: patch(env.statusOnly, `{"cartId":"`+env.statusCart+`"}`),
			on: codWant{http.StatusMethodNotAllowed, "131000", "Not allowed to pass this method", nil}},
	}
}

func codPrivilegeCases(env *codEnv) []codCase {
	lim := env.limited
	bad := func(code, msg string, debug ...client.DebugEntry) codWant {
		return codWant{http.StatusBadRequest, code, msg, debug}
	}
	timer := `"enableTimer":true,"timer":{"triggerEvent":"initiated","value":60}`
	modify := func(body string) func(t *testing.T, debug bool) *client.Response {
		return func(t *testing.T, debug bool) *client.Response {
			id, _ := codOpen(t, lim, `"customerId":"`+codID("cust")+`","currency":"EUR","items":[{"pegasus":{"amount":250}},{"naga":{"amount":100,"tag":"rampart"}}]`)
			return codDo(t, lim, http.MethodPatch, "/modify", strings.ReplaceAll(body, "%s", id), debug)
		}
	}
	return []codCase{
		{name: "init 132001 cart amount settings", run: codInit(lim, `{"cartId":"%s",`+codOneItem+`,"scope":{"cart":{"amountMode":"calculated"}}}`),
			on: bad("132001", "Insufficient permissions to set or modify amount settings")},
		{name: "init 132001 tag amount settings", run: codInit(lim, `{"cartId":"%s","currency":"EUR","scope":{"tags":[{"t":{"paymentBox":{"amountModifier":0.5}}}]},"items":[{"pegasus":{"amount":250,"tag":"t"}}]}`),
			on: bad("132001", "Insufficient permissions to set or modify amount settings")},
		{name: "init 132002 cart timer settings", run: codInit(lim, `{"cartId":"%s","customerId":"c1",`+codOneItem+`,"scope":{"cart":{`+timer+`}}}`),
			on: bad("132002", "Insufficient permissions to set or modify timer settings")},
		{name: "init 132003 one-step payment", run: codInit(lim, `{"cartId":"%s","currency":"EUR","scope":{"cart":{"capture":false}},"items":[{"pegasus":{"amount":250}},{"naga":{"amount":5}}]}`),
			on: bad("132003", "Insufficient permissions to set or modify capture")},
		{name: "init 133000 autoAction complete", run: codInit(lim, `{"cartId":"%s","currency":"EUR","items":[{"pegasus":{"amount":250,"captureSettings":{"autoAction":"complete"}}}]}`),
			on: bad("133000", "captureSettings.autoAction value complete is out of permitted range, item(s): [pegasus]")},
		{name: "init 133004 item amount settings", run: codInit(lim, `{"cartId":"%s","currency":"EUR","items":[{"pegasus":{"amount":250,"amountMode":"declared"}},{"naga":{"amount":5,"paymentBox":{"amountModifier":1}}}]}`),
			on: bad("133004", "Insufficient permissions to set or modify amount settings, items: [pegasus, naga]")},
		{name: "init 133005 item timer settings", run: codInit(lim, `{"cartId":"%s","customerId":"c1","currency":"EUR","items":[{"pegasus":{"amount":250,`+timer+`}}]}`),
			on: bad("133005", "Insufficient permissions to set or modify timer settings, items: [pegasus]")},
		{name: "init privileges in order", run: codInit(lim, `{"cartId":"%s","customerId":"c1","currency":"EUR","cartExpiry":600,`+
			`"scope":{"cart":{"amountMode":"calculated",`+timer+`}},`+
			`"items":[{"pegasus":{"amount":250,"amountModifier":0.5,"capture":false,`+timer+`}},{"naga":{"amount":5,"captureSettings":{"autoAction":"complete","value":300}}}]}`),
			on: bad("132000", "Insufficient permissions to pass cartExpiry",
				codE("132001", "Insufficient permissions to set or modify amount settings"),
				codE("132002", "Insufficient permissions to set or modify timer settings"),
				codE("133004", "Insufficient permissions to set or modify amount settings, items: [pegasus]"),
				codE("133005", "Insufficient permissions to set or modify timer settings, items: [pegasus]"),
				codE("132003", "Insufficient permissions to set or modify capture"),
				codE("133000", "captureSettings.autoAction value complete is out of permitted range, item(s): [naga]"),
				codE("133000", "captureSettings.value value 300 is out of permitted range, item(s): [naga]"))},
		{name: "init plain cart without those privileges", run: codInit(lim, `{"cartId":"%s",`+codOneItem+`}`),
			on: codWant{http.StatusCreated, "000000", "Success", nil}},
		{name: "modify 132001 scope amount settings", run: modify(`{"cartId":"%s","modifyBox":{"scope":{"tags":[{"rampart":{"modifyAmount":{"amountModifier":0.5}}}]}}}`),
			on: bad("132001", "Insufficient permissions to set or modify amount settings")},
		{name: "modify 132002 scope timer settings", run: modify(`{"cartId":"%s","modifyBox":{"scope":{"cart":{"modifyTimer":{"timerValue":60}}}}}`),
			on: bad("132002", "Insufficient permissions to set or modify timer settings")},
		{name: "modify 133004 item amount settings", run: modify(`{"cartId":"%s","modifyBox":{"items":[{"naga":{"modifyAmount":{"amountMode":"declared"}}}]}}`),
			on: bad("133004", "Insufficient permissions to set or modify amount settings, items: [naga]")},
		{name: "modify 133005 item timer settings", run: modify(`{"cartId":"%s","modifyBox":{"items":[{"pegasus":{"enableTimer":true,"modifyTimer":{"triggerEvent":"initiated","timerValue":60}}}]}}`),
			on: bad("133005", "Insufficient permissions to set or modify timer settings, items: [pegasus]")},
		{name: "modify amount without amount settings", run: modify(`{"cartId":"%s","modifyBox":{"items":[{"pegasus":{"modifyAmount":{"amount":200}}}]}}`),
			on: codWant{http.StatusOK, "000000", "Success", nil}},
	}
}

// codOrderCases show the fixed check order with debug on: cartId → cart
// exists → currency → formats and values → catalog → customerId for timers
// → privileges → active timer, then infos in their 10100x form.
func codOrderCases(env *codEnv) []codCase {
	bad := func(code, msg string, debug ...client.DebugEntry) codWant {
		return codWant{http.StatusBadRequest, code, msg, debug}
	}
	// The properties are written in the reverse of the check order.
	rest := `"items":[{"ghost":{"amount":1,"enableTimer":true,"timer":{"triggerEvent":"initiated","value":60}}},` +
		`{"pegasus":{"amount":0,"captureSettings":{"value":300}}}],"scope":{"tags":[{"keep":{}}]},"currency":"EURO"`
	after := []client.DebugEntry{
		codE("123000", "Unknown currency"),
		codE("123002", "amount has invalid value for item(s) [pegasus]"),
		codE("124103", "ghost does not exist"),
		codE("121102", "customerId required as there are items with enabled timer: [ghost]"),
		codE("133000", "captureSettings.value value 300 is out of permitted range, item(s): [pegasus]"),
		codE("101001", "Tag(s) [keep] defined but not used"),
	}
	var existsOnce, timerOnce sync.Once
	return []codCase{
		{name: "cartId first", run: codInit(env.full, `{`+rest+`,"cartId":"bad"}`),
			on: bad("122001", "cartId has invalid format", after...)},
		{name: "cart exists second", run: func(t *testing.T, debug bool) *client.Response {
			existsOnce.Do(func() { codOpenID(t, env.full, "cart-order-exists", codOneItem) })
			return codDo(t, env.full, http.MethodPost, "/init", `{`+rest+`,"cartId":"cart-order-exists"}`, debug)
		}, on: codWant{http.StatusConflict, "124101", "cartId already exists", after}},
		{name: "currency before values before catalog", run: codInit(env.full, `{"items":[{"ghost":{"amount":1}},{"naga":{"amount":"1"}}],"currency":"XXX1","cartId":"%s"}`),
			on: bad("123000", "Unknown currency", codE("122002", "amount has invalid format for item(s) [naga]"), codE("124103", "ghost does not exist"))},
		{name: "privileges before the active timer", run: func(t *testing.T, debug bool) *client.Response {
			timerOnce.Do(func() {
				codOpenID(t, env.def, "cart-order-timer", `"customerId":"c3-order","currency":"EUR","items":[`+
					`{"pegasus":{"amount":250,"enableTimer":true,"timer":{"triggerEvent":"manual","value":0}}}]`)
			})
			return codDo(t, env.def, http.MethodPost, "/init", `{"cartId":"`+codID("cart")+`","customerId":"c3-order","currency":"EUR","cartExpiry":600,`+
				`"scope":{"tags":[{"keep":{}}]},"items":[{"pegasus":{"amount":250,"tag":"tower"}}]}`, debug)
		}, on: bad("132000", "Insufficient permissions to pass cartExpiry",
			codE("124102", "customerId c3-order is linked to itemId pegasus in cartId cart-order-timer with an active timer"),
			codE("101001", "Tag(s) [keep] defined but not used"),
			codE("101002", "Undefined tags in item(s): [pegasus]"))},
		{name: "active timer alone is a 409", run: func(t *testing.T, debug bool) *client.Response {
			timerOnce.Do(func() {
				codOpenID(t, env.def, "cart-order-timer", `"customerId":"c3-order","currency":"EUR","items":[`+
					`{"pegasus":{"amount":250,"enableTimer":true,"timer":{"triggerEvent":"manual","value":0}}}]`)
			})
			return codDo(t, env.def, http.MethodPost, "/init", `{"cartId":"`+codID("cart")+`","customerId":"c3-order","currency":"EUR",`+
				`"items":[{"naga":{"amount":1,"tag":"tower"}},{"pegasus":{"amount":250}}]}`, debug)
		}, on: codWant{http.StatusConflict, "124102", "customerId c3-order is linked to itemId pegasus in cartId cart-order-timer with an active timer",
			[]client.DebugEntry{codE("101002", "Undefined tags in item(s): [naga]")}}},
	}
}
