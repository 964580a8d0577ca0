package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// hoCase is one hostile request and the clean refusal it must get.
type hoCase struct {
	name   string
	method string
	path   string
	ctype  string // Content-Type; "-" sends none
	body   []byte
	status int
	code   string
	msg    string // exact message; "" checks only that it is not empty
	// accept lists other acceptable outcomes "HTTP code" (for requests that
	// may be served or refused, such as a huge cart).
	accept []string
}

// hoSend sends a raw request with the merchant key.
func hoSend(tb testing.TB, base, key string, hc hoCase) (int, []byte) {
	tb.Helper()
	var body io.Reader
	if hc.body != nil {
		body = bytes.NewReader(hc.body)
	}
	req, err := http.NewRequestWithContext(context.Background(), hc.method, base+hc.path, body)
	if err != nil {
		tb.Fatal(err)
	}
	switch hc.ctype {
	case "-":
	case "":
		req.Header.Set("Content-Type", "application/json")
	default:
		req.Header.Set("Content-Type", hc.ctype)
	}
	req.Header.Set("Api-Access-Token", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", hc.method, hc.path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, raw
}

func hoCheck(t *testing.T, base, key string, hc hoCase) {
	t.Helper()
	status, raw := hoSend(t, base, key, hc)
	show := raw
	if len(show) > 600 {
		show = append(append([]byte{}, show[:600]...), "…"...)
	}
	if status >= 500 || bytes.Contains(raw, []byte("199000")) {
		t.Fatalf("HTTP %d: %s", status, show)
	}
	var env client.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("HTTP %d, body is not an envelope (%v): %s", status, err, show)
	}
	got := fmt.Sprintf("%d %s", status, env.Code)
	for _, a := range hc.accept {
		if got == a {
			return
		}
	}
	if status != hc.status || env.Code != hc.code {
		t.Fatalf("got HTTP %d code %s, want HTTP %d code %s: %s", status, env.Code, hc.status, hc.code, show)
	}
	if env.Message == "" || (hc.msg != "" && env.Message != hc.msg) {
		t.Fatalf("message %q, want %q", env.Message, hc.msg)
	}
	if strings.Contains(env.Message, "{0}") || strings.Contains(env.Message, "{1}") {
		t.Fatalf("message with an unfilled placeholder: %q", env.Message)
	}
	if status >= 400 && env.Debug == nil {
		t.Fatalf("error without a debug array: %s", show)
	}
}

// hoShort names a case after its JSON fragment.
func hoShort(s string) string {
	s = strings.TrimPrefix(s, ",")
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}

// hoTimeless renders status data without its remainingSecs counters, which
// run down between two reads.
func hoTimeless(tb testing.TB, data []byte) string {
	tb.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		tb.Fatal(err)
	}
	var strip func(any)
	strip = func(v any) {
		switch n := v.(type) {
		case map[string]any:
			delete(n, "remainingSecs")
			for _, c := range n {
				strip(c)
			}
		case []any:
			for _, c := range n {
				strip(c)
			}
		}
	}
	strip(v)
	out, _ := json.Marshal(v)
	return string(out)
}

// hoNested returns n nested arrays.
func hoNested(n int) string {
	return strings.Repeat("[", n) + strings.Repeat("]", n)
}

// TestHostileInput sends malformed, mistyped, oversized and otherwise
// hostile requests to every JSON endpoint: each must get a clear 4xx with
// the right OmniCart code, never a 5xx, and the server must stay healthy.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	merchantID, c := srv.Merchant("pegasus,naga")
	t.Cleanup(c.HTTP.CloseIdleConnections)
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	ctx := context.Background()

	// A paid cart the action requests name: none of them may change it.
	const cart = "ho-paid-cart-0001"
	res, err := c.Raw().Init(ctx, `{"cartId":"`+cart+`","currency":"EUR","items":[{"pegasus":{"amount":250,"tag":"rampart"}},{"naga":{"amount":1100}}]}`)
	if err != nil || res.Status != 201 {
		t.Fatalf("init: %v %s", err, res.Raw)
	}
	var initData struct {
		PaymentURL string `json:"paymentUrl"`
	}
	if err := res.Decode(&initData); err != nil {
		t.Fatal(err)
	}
	if pay, err := c.Pay(ctx, initData.PaymentURL, client.Card{CardNumber: "4111 1111 1111 1111", Expiry: "12/39", CVC: "123", Cardholder: "Ada"}); err != nil || pay.Result != "authorized" {
		t.Fatalf("pay: %v %+v", err, pay)
	}
	before, err := c.Raw().Status(ctx, cart, client.StatusQuery{})
	if err != nil || before.Status != 200 {
		t.Fatalf("status: %v %s", err, before.Raw)
	}

	// An unpaid cart whose payment link receives hostile payments.
	res, err = c.Raw().Init(ctx, `{"cartId":"ho-unpaid-cart-01","currency":"EUR","items":[{"pegasus":{"amount":5}}]}`)
	if err != nil || res.Status != 201 {
		t.Fatalf("init: %v %s", err, res.Raw)
	}
	var unpaid struct {
		PaymentURL string `json:"paymentUrl"`
	}
	if err := res.Decode(&unpaid); err != nil {
		t.Fatal(err)
	}

	// 5000 catalog items, for a huge cart.
	var many []string
	for i := range 5000 {
		many = append(many, fmt.Sprintf("bulk%04d", i))
	}
	srv.Admin("items", "add", "--merchant", merchantID, strings.Join(many, ","))

	var cases []hoCase
	add := func(hc hoCase) { cases = append(cases, hc) }
	bad := func(name, method, path, body, code, msg string) {
		add(hoCase{name: name, method: method, path: path, body: []byte(body), status: 400, code: code, msg: msg})
	}
	fmtErr := func(name string) string { return name + " has invalid format" }
	itemFmt := func(name, item string) string { return name + " has invalid format for item(s) [" + item + "]" }
	itemVal := func(name, item string) string { return name + " has invalid value for item(s) [" + item + "]" }

	type endpoint struct {
		name, method, path string
		valid              string // a valid body, for truncation and framing
	}
	endpoints := []endpoint{
		{"init", "POST", "/init", `{"cartId":"ho-new-cart-0001","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`},
		{"capture", "POST", "/capture", `{"cartId":"` + cart + `","filterBox":{"tags":["nosuchtag"]}}`},
		{"cancel", "POST", "/cancel", `{"cartId":"` + cart + `","filterBox":{"tags":["nosuchtag"]}}`},
		{"refund", "POST", "/refund", `{"cartId":"` + cart + `","filterBox":{"tags":["nosuchtag"]}}`},
		{"modify", "PATCH", "/modify", `{"cartId":"` + cart + `","modifyBox":{"items":[{"pegasus":{"modifyAmount":{"amount":999999}}}]}}`},
	}
	for _, ep := range endpoints {
		p := func(s string) string { return ep.name + "/" + s }
		body := func(name, b string) { bad(p(name), ep.method, ep.path, b, "122001", "body has invalid format") }
		body("malformed JSON", `{"cartId":,}`)
		body("truncated JSON", ep.valid[:len(ep.valid)/2])
		body("truncated after last brace", ep.valid[:len(ep.valid)-1])
		body("trailing garbage", ep.valid+`x`)
		body("two JSON values", ep.valid+ep.valid)
		body("JSON array", `[`+ep.valid+`]`)
		body("JSON string", `"`+strings.ReplaceAll(ep.valid, `"`, `\"`)+`"`)
		body("JSON null", `null`)
		body("JSON number", `42`)
		body("empty body", ``)
		body("whitespace body", " \n\t ")
		body("invalid UTF-8 in a string", strings.Replace(ep.valid, `"cartId":"`, "\"cartId\":\"\xff\xfe", 1))
		body("invalid UTF-8 in a key", strings.Replace(ep.valid, `{"cartId"`, "{\"\xc3\x28\":1,\"cartId\"", 1))
		body("raw NUL byte in a string", strings.Replace(ep.valid, `"cartId":"`, "\"cartId\":\"\x00", 1))
		body("raw NUL byte between tokens", strings.Replace(ep.valid, `{`, "{\x00", 1))
		body("10000 nested arrays", `{"cartId":"`+cart+`","x":`+hoNested(10000)+`}`)
		body("10000 nested objects", `{"cartId":"`+cart+`","x":`+strings.Repeat(`{"a":`, 10000)+`1`+strings.Repeat(`}`, 10000)+`}`)
		body("unterminated nesting", `{"cartId":"`+cart+`","x":`+strings.Repeat("[", 100000))
		body("NaN", strings.Replace(ep.valid, `{`, `{"debug":NaN,`, 1))
		body("single quotes", strings.ReplaceAll(ep.valid, `"`, `'`))
		body("comment", `/* hi */`+ep.valid)
		add(hoCase{name: p("body just over 1 MiB"), method: ep.method, path: ep.path,
			body: []byte(`{"cartId":"` + cart + `","pad":"` + strings.Repeat("a", 1<<20) + `"}`), status: 413, code: "199003", msg: "Request body too large"})
		add(hoCase{name: p("garbage just over 1 MiB"), method: ep.method, path: ep.path,
			body: bytes.Repeat([]byte{0xff}, 1<<20+1), status: 413, code: "199003"})
		padded := `{"pad":"` + strings.Repeat("a", 1<<20-len(`{"pad":""}`)) + `"}`
		add(hoCase{name: p("body of exactly 1 MiB is read"), method: ep.method, path: ep.path,
			body: []byte(padded), status: 400, code: "121101"})
		ct := func(name, ctype, want string) {
			add(hoCase{name: p("Content-Type " + name), method: ep.method, path: ep.path, ctype: ctype,
				body: []byte(ep.valid), status: 400, code: "122001", msg: want})
		}
		ct("missing", "-", "Content-Type has invalid format")
		ct("text/plain", "text/plain", "Content-Type has invalid format")
		ct("form", "application/x-www-form-urlencoded", "Content-Type has invalid format")
		ct("json-patch", "application/merge-patch+json", "Content-Type has invalid format")
		ct("garbage", ";;;", "Content-Type has invalid format")
		ct("10k characters", "application/"+strings.Repeat("j", 10000), "Content-Type has invalid format")
		bad(p("duplicate cartId key"), ep.method, ep.path, `{"cartId":"`+cart+`","cartId":"`+cart+`"}`, "122001", "cartId has invalid format")
		bad(p("duplicate debug key"), ep.method, ep.path, strings.Replace(ep.valid, `{`, `{"debug":true,"debug":true,`, 1), "122001", "debug has invalid format")
		bad(p("unknown root field"), ep.method, ep.path, strings.Replace(ep.valid, `{`, `{"bogus":1,`, 1), "122001", fmtErr("bogus"))
		bad(p("root field differing in case"), ep.method, ep.path, strings.Replace(ep.valid, `"cartId"`, `"CartId"`, 1), "121101", "cartId cannot be empty")
		bad(p("cartId number"), ep.method, ep.path, strings.Replace(ep.valid, `"cartId":"`, `"cartId":1,"x":"`, 1), "122001", "cartId has invalid format")
		bad(p("cartId null"), ep.method, ep.path, `{"cartId":null}`, "122001", "cartId has invalid format")
		bad(p("cartId object"), ep.method, ep.path, `{"cartId":{"$ne":""}}`, "122001", "cartId has invalid format")
		bad(p("cartId 10k characters"), ep.method, ep.path, `{"cartId":"`+strings.Repeat("c", 10000)+`"}`, "122001", "cartId has invalid format")
		bad(p("cartId escaped NUL"), ep.method, ep.path, `{"cartId":"ho-paid-cart\u00000001"}`, "122001", "cartId has invalid format")
		bad(p("cartId SQL"), ep.method, ep.path, `{"cartId":"x' OR '1'='1"}`, "122001", "cartId has invalid format")
		bad(p("cartId empty"), ep.method, ep.path, `{"cartId":""}`, "121101", "cartId cannot be empty")
		bad(p("debug string"), ep.method, ep.path, strings.Replace(ep.valid, `{`, `{"debug":"true",`, 1), "122001", "debug has invalid format")
	}

	// init: wrong types for every field, unknown fields at every level,
	// number edge cases, long identifiers, huge item lists.
	initBody := func(inner string) string {
		return `{"cartId":"ho-init-cart-0001","currency":"EUR",` + inner + `}`
	}
	item := func(props string) string {
		return initBody(`"items":[{"pegasus":{"amount":250` + props + `}}]`)
	}
	initBad := func(name, body, code, msg string) { bad("init/"+name, "POST", "/init", body, code, msg) }
	initBad("customerId number", initBody(`"customerId":5,"items":[{"pegasus":{"amount":250}}]`), "122001", fmtErr("customerId"))
	initBad("customerId with NUL", initBody(`"customerId":"a\u0000b","items":[{"pegasus":{"amount":250}}]`), "122001", fmtErr("customerId"))
	initBad("customerId 10k characters", initBody(`"customerId":"`+strings.Repeat("u", 10000)+`","items":[{"pegasus":{"amount":250}}]`), "122001", fmtErr("customerId"))
	initBad("currency number", `{"cartId":"ho-init-cart-0001","currency":978,"items":[{"pegasus":{"amount":250}}]}`, "122001", fmtErr("currency"))
	initBad("currency lowercase", `{"cartId":"ho-init-cart-0001","currency":"eur","items":[{"pegasus":{"amount":250}}]}`, "123000", "Unknown currency")
	initBad("currency 10k characters", `{"cartId":"ho-init-cart-0001","currency":"`+strings.Repeat("E", 10000)+`","items":[{"pegasus":{"amount":250}}]}`, "123000", "Unknown currency")
	initBad("cartExpiry string", initBody(`"cartExpiry":"7200","items":[{"pegasus":{"amount":250}}]`), "122001", fmtErr("cartExpiry"))
	initBad("cartExpiry 1e309", initBody(`"cartExpiry":1e309,"items":[{"pegasus":{"amount":250}}]`), "122001", fmtErr("cartExpiry"))
	initBad("cartExpiry int64 overflow", initBody(`"cartExpiry":9223372036854775808,"items":[{"pegasus":{"amount":250}}]`), "123003", "cartExpiry has invalid value")
	initBad("cartExpiry negative", initBody(`"cartExpiry":-1,"items":[{"pegasus":{"amount":250}}]`), "123003", "cartExpiry has invalid value")
	initBad("scope string", initBody(`"scope":"all","items":[{"pegasus":{"amount":250}}]`), "122001", fmtErr("scope"))
	initBad("scope.cart array", initBody(`"scope":{"cart":[]},"items":[{"pegasus":{"amount":250}}]`), "122001", fmtErr("scope.cart"))
	initBad("scope.tags object", initBody(`"scope":{"tags":{}},"items":[{"pegasus":{"amount":250}}]`), "122001", fmtErr("scope.tags"))
	initBad("scope.tags element string", initBody(`"scope":{"tags":["rampart"]},"items":[{"pegasus":{"amount":250}}]`), "122001", fmtErr("scope.tags"))
	initBad("items object", initBody(`"items":{"pegasus":{"amount":250}}`), "122001", fmtErr("items"))
	initBad("items string", initBody(`"items":"pegasus"`), "122001", fmtErr("items"))
	initBad("items null", initBody(`"items":null`), "122001", fmtErr("items"))
	initBad("items element array", initBody(`"items":[[{"pegasus":{"amount":250}}]]`), "122001", fmtErr("items"))
	initBad("items element empty object", initBody(`"items":[{}]`), "122001", fmtErr("items"))
	initBad("item value number", initBody(`"items":[{"pegasus":250}]`), "122001", fmtErr("pegasus"))
	initBad("paymentForm string", initBody(`"paymentForm":"redirect","items":[{"pegasus":{"amount":250}}]`), "122001", fmtErr("paymentForm"))
	initBad("paymentForm.deliveryOption number", initBody(`"paymentForm":{"deliveryOption":1},"items":[{"pegasus":{"amount":250}}]`), "122001", fmtErr("paymentForm.deliveryOption"))
	initBad("paymentForm.value number", initBody(`"paymentForm":{"deliveryOption":"email","value":1},"items":[{"pegasus":{"amount":250}}]`), "122001", fmtErr("paymentForm.value"))
	initBad("paymentForm.value javascript URL", initBody(`"paymentForm":{"deliveryOption":"redirect","value":"javascript:alert(1)"},"items":[{"pegasus":{"amount":250}}]`), "122001", fmtErr("paymentForm.value"))
	for _, f := range []struct{ prop, name string }{
		{`,"amount":"250"`, "amount"},
		{`,"quantity":"2"`, "quantity"},
		{`,"tag":5`, "tag"},
		{`,"paymentBox":[]`, "paymentBox"},
		{`,"capture":"true"`, "capture"},
		{`,"captureSettings":"cancel"`, "captureSettings"},
		{`,"captureSettings":{"value":"600"}`, "captureSettings.value"},
		{`,"captureSettings":{"autoAction":1}`, "captureSettings.autoAction"},
		{`,"amountMode":1`, "amountMode"},
		{`,"amountModifier":"0.5"`, "amountModifier"},
		{`,"enableTimer":"true"`, "enableTimer"},
		{`,"timer":"60"`, "timer"},
		{`,"timer":{"triggerEvent":5,"value":60}`, "timer.triggerEvent"},
		{`,"timer":{"triggerEvent":"authorized","value":"60"}`, "timer.value"},
		{`,"paymentBox":{"capture":"no"}`, "paymentBox.capture"},
		{`,"paymentBox":{"captureSettings":{"value":true}}`, "paymentBox.captureSettings.value"},
		{`,"bogus":1`, "bogus"},
		{`,"paymentBox":{"bogus":1}`, "paymentBox.bogus"},
		{`,"captureSettings":{"bogus":1}`, "captureSettings.bogus"},
		{`,"paymentBox":{"captureSettings":{"bogus":1}}`, "paymentBox.captureSettings.bogus"},
		{`,"timer":{"bogus":1}`, "timer.bogus"},
		{`,"Amount":250`, "Amount"},
	} {
		body := item(f.prop)
		if strings.HasPrefix(f.prop, `,"amount"`) {
			body = initBody(`"items":[{"pegasus":{` + f.prop[1:] + `}}]`)
		}
		initBad("item "+hoShort(f.prop), body, "122002", itemFmt(f.name, "pegasus"))
	}
	for _, f := range []struct{ prop, name string }{
		{`"scope":{"cart":{"bogus":1}}`, "scope.cart.bogus"},
		{`"scope":{"cart":{"paymentBox":{"bogus":1}}}`, "scope.cart.paymentBox.bogus"},
		{`"scope":{"cart":{"captureSettings":{"bogus":1}}}`, "scope.cart.captureSettings.bogus"},
		{`"scope":{"cart":{"paymentBox":{"captureSettings":{"bogus":1}}}}`, "scope.cart.paymentBox.captureSettings.bogus"},
		{`"scope":{"tags":[{"rampart":{"bogus":1}}]}`, "scope.tags.rampart.bogus"},
		{`"scope":{"bogus":1}`, "scope.bogus"},
		{`"paymentForm":{"deliveryOption":"redirect","bogus":1}`, "paymentForm.bogus"},
		{`"scope":{"cart":{"paymentBox":{"capture":"yes"}}}`, "scope.cart.paymentBox.capture"},
		{`"scope":{"cart":{"timer":{"value":[]}}}`, "scope.cart.timer.value"},
	} {
		initBad("scope "+hoShort(f.prop), initBody(f.prop+`,"items":[{"pegasus":{"amount":250}}]`), "122001", fmtErr(f.name))
	}
	amount := func(name, lit, code, msg string) {
		initBad("amount "+name, initBody(`"items":[{"pegasus":{"amount":`+lit+`}}]`), code, msg)
	}
	amount("1e309", "1e309", "122002", itemFmt("amount", "pegasus"))
	amount("-1e309", "-1e309", "122002", itemFmt("amount", "pegasus"))
	amount("int64 overflow", "9223372036854775808", "123002", itemVal("amount", "pegasus"))
	amount("uint64 overflow", "18446744073709551616", "123002", itemVal("amount", "pegasus"))
	amount("above 10^15", "1000000000000001", "123002", itemVal("amount", "pegasus"))
	amount("zero", "0", "123002", itemVal("amount", "pegasus"))
	amount("negative zero", "-0", "123002", itemVal("amount", "pegasus"))
	amount("negative", "-250", "123002", itemVal("amount", "pegasus"))
	amount("fraction", "2.5", "122002", itemFmt("amount", "pegasus"))
	amount("1e2", "1e2", "122002", itemFmt("amount", "pegasus"))
	amount("null", "null", "122002", itemFmt("amount", "pegasus"))
	amount("1000 digits", strings.Repeat("9", 1000), "123002", itemVal("amount", "pegasus"))
	quantity := func(name, lit, code, msg string) {
		initBad("quantity "+name, item(`,"quantity":`+lit), code, msg)
	}
	quantity("1e309", "1e309", "123002", itemVal("quantity", "pegasus"))
	quantity("-1e309", "-1e309", "123002", itemVal("quantity", "pegasus"))
	quantity("1e-309", "1e-309", "123002", itemVal("quantity", "pegasus"))
	quantity("1e99999999999", "1e99999999999", "122002", itemFmt("quantity", "pegasus"))
	quantity("int64 overflow", "9223372036854775808", "123002", itemVal("quantity", "pegasus"))
	quantity("zero", "0", "123002", itemVal("quantity", "pegasus"))
	quantity("negative", "-1", "123002", itemVal("quantity", "pegasus"))
	quantity("seven decimals", "1.0000001", "123002", itemVal("quantity", "pegasus"))
	initBad("amountModifier 1e309", item(`,"amountModifier":1e309`), "123002", itemVal("amountModifier", "pegasus"))
	initBad("amountModifier -1e309", item(`,"amountModifier":-1e309`), "123002", itemVal("amountModifier", "pegasus"))
	initBad("captureSettings.value int64 overflow", item(`,"captureSettings":{"value":9223372036854775808}`), "123002", itemVal("captureSettings.value", "pegasus"))
	initBad("timer.value 1e309", item(`,"enableTimer":true,"timer":{"triggerEvent":"authorized","value":1e309}`), "122002", itemFmt("timer.value", "pegasus"))
	initBad("timer.value negative", item(`,"enableTimer":true,"timer":{"triggerEvent":"authorized","value":-1}`), "123002", itemVal("timer.value", "pegasus"))
	initBad("itemId 10k characters", initBody(`"items":[{"`+strings.Repeat("p", 10000)+`":{"amount":250}}]`), "122001", fmtErr(strings.Repeat("p", 10000)))
	initBad("itemId empty", initBody(`"items":[{"":{"amount":250}}]`), "122001", fmtErr(""))
	initBad("itemId escaped NUL", initBody(`"items":[{"pega\u0000sus":{"amount":250}}]`), "122001", fmtErr("pega\x00sus"))
	initBad("itemId unicode", initBody(`"items":[{"pégasus":{"amount":250}}]`), "122001", fmtErr("pégasus"))
	initBad("tag 10k characters", item(`,"tag":"`+strings.Repeat("t", 10000)+`"`), "122002", itemFmt("tag", "pegasus"))
	initBad("tag empty", item(`,"tag":""`), "122002", itemFmt("tag", "pegasus"))
	initBad("scope tag 10k characters", initBody(`"scope":{"tags":[{"`+strings.Repeat("t", 10000)+`":{}}]},"items":[{"pegasus":{"amount":250}}]`), "122001", fmtErr("scope.tags."+strings.Repeat("t", 10000)))
	initBad("duplicate itemId across elements", initBody(`"items":[{"pegasus":{"amount":250}},{"pegasus":{"amount":5}}]`), "123002", itemVal("itemId", "pegasus"))
	initBad("duplicate itemId key in one element", initBody(`"items":[{"pegasus":{"amount":250},"pegasus":{"amount":5}}]`), "122001", fmtErr("pegasus"))
	initBad("duplicate amount key", initBody(`"items":[{"pegasus":{"amount":250,"amount":5}}]`), "122001", fmtErr("amount"))
	initBad("empty items", initBody(`"items":[]`), "123003", "items has invalid value")
	{
		var parts []string
		for i := range 5000 {
			parts = append(parts, fmt.Sprintf(`{"nope%04d":{"amount":1}}`, i))
		}
		add(hoCase{name: "init/5000 items not in the catalog", method: "POST", path: "/init",
			body: []byte(initBody(`"items":[` + strings.Join(parts, ",") + `]`)), status: 409, code: "124103", msg: "nope0000 does not exist"})
		parts = parts[:0]
		for range 5000 {
			parts = append(parts, `{"pegasus":{"amount":1}}`)
		}
		add(hoCase{name: "init/5000 duplicate items", method: "POST", path: "/init",
			body: []byte(initBody(`"items":[` + strings.Join(parts, ",") + `]`)), status: 400, code: "123002", msg: itemVal("itemId", "pegasus")})
		parts = parts[:0]
		for _, id := range many {
			parts = append(parts, fmt.Sprintf(`{%q:{"amount":1,"tag":"t%d"}}`, id, len(parts)%7))
		}
		add(hoCase{name: "init/5000 catalog items", method: "POST", path: "/init",
			body:   []byte(`{"cartId":"ho-huge-cart-0001","currency":"EUR","items":[` + strings.Join(parts, ",") + `]}`),
			status: 201, code: "000000", accept: []string{"400 123003", "413 199003"}})
	}

	// capture, cancel, refund: filterBox.
	for _, ep := range endpoints[1:4] {
		fb := func(name, filter, code, msg string) {
			bad(ep.name+"/"+name, ep.method, ep.path, `{"cartId":"`+cart+`","filterBox":`+filter+`}`, code, msg)
		}
		fb("filterBox array", `[]`, "122001", fmtErr("filterBox"))
		fb("filterBox string", `"tags"`, "122001", fmtErr("filterBox"))
		fb("filterBox null", `null`, "122001", fmtErr("filterBox"))
		fb("filterBox unknown field", `{"bogus":1}`, "122001", fmtErr("filterBox.bogus"))
		fb("filterBox.tags string", `{"tags":"rampart"}`, "122001", fmtErr("filterBox.tags"))
		fb("filterBox.tags numbers", `{"tags":[1]}`, "122001", fmtErr("filterBox.tags"))
		fb("filterBox.tags 10k characters", `{"tags":["`+strings.Repeat("t", 10000)+`"]}`, "122001", fmtErr("filterBox.tags"))
		fb("filterBox.itemIds object", `{"itemIds":{}}`, "122001", fmtErr("filterBox.itemIds"))
		fb("filterBox.itemIds with NUL", `{"itemIds":["pega\u0000sus"]}`, "122001", fmtErr("filterBox.itemIds"))
		fb("filterBox.itemIds 10k characters", `{"itemIds":["`+strings.Repeat("i", 10000)+`"]}`, "122001", fmtErr("filterBox.itemIds"))
		fb("filterBox.timerEnabled string", `{"timerEnabled":"true"}`, "122001", fmtErr("filterBox.timerEnabled"))
		fb("filterBox.timerEnabled number", `{"timerEnabled":1}`, "122001", fmtErr("filterBox.timerEnabled"))
		fb("filterBox 5000 unknown itemIds", `{"itemIds":["`+strings.Join(many, `","`)+`"]}`, "124005", "")
		fb("filterBox duplicate key", `{"tags":["rampart"],"tags":["rampart"]}`, "122001", fmtErr("tags"))
	}

	// modify: modifyBox at every level.
	mod := func(box string) string { return `{"cartId":"` + cart + `","modifyBox":` + box + `}` }
	modBad := func(name, box, code, msg string) { bad("modify/"+name, "PATCH", "/modify", mod(box), code, msg) }
	modItem := func(props string) string { return `{"items":[{"pegasus":{` + props + `}}]}` }
	modBad("modifyBox string", `"x"`, "122001", fmtErr("modifyBox"))
	modBad("modifyBox array", `[]`, "122001", fmtErr("modifyBox"))
	modBad("modifyBox unknown field", `{"bogus":1}`, "122001", fmtErr("modifyBox.bogus"))
	modBad("customerId number", `{"customerId":5}`, "122001", fmtErr("modifyBox.customerId"))
	modBad("customerId 10k characters", `{"customerId":"`+strings.Repeat("u", 10000)+`"}`, "122001", fmtErr("modifyBox.customerId"))
	modBad("scope array", `{"scope":[]}`, "122001", fmtErr("modifyBox.scope"))
	modBad("scope unknown field", `{"scope":{"bogus":1}}`, "122001", fmtErr("modifyBox.scope.bogus"))
	modBad("scope.cart unknown field", `{"scope":{"cart":{"bogus":1}}}`, "122001", fmtErr("modifyBox.scope.cart.bogus"))
	modBad("scope.cart.modifyAmount unknown field", `{"scope":{"cart":{"modifyAmount":{"amount":5}}}}`, "122001", fmtErr("modifyBox.scope.cart.modifyAmount.amount"))
	modBad("scope.tags object", `{"scope":{"tags":{}}}`, "122001", fmtErr("modifyBox.scope.tags"))
	modBad("scope.tags unknown field", `{"scope":{"tags":[{"rampart":{"bogus":1}}]}}`, "122001", fmtErr("modifyBox.scope.tags.rampart.bogus"))
	modBad("items object", `{"items":{}}`, "122001", fmtErr("modifyBox.items"))
	for _, f := range []struct{ props, name string }{
		{`"tag":5`, "tag"},
		{`"modifyAmount":"x"`, "modifyAmount"},
		{`"modifyAmount":{"amount":"150"}`, "modifyAmount.amount"},
		{`"modifyAmount":{"quantity":"1"}`, "modifyAmount.quantity"},
		{`"modifyAmount":{"amountMode":1}`, "modifyAmount.amountMode"},
		{`"modifyAmount":{"amountModifier":[]}`, "modifyAmount.amountModifier"},
		{`"modifyAmount":{"amount":1e309}`, "modifyAmount.amount"},
		{`"modifyAmount":{"amount":-1e309}`, "modifyAmount.amount"},
		{`"modifyTimer":"start"`, "modifyTimer"},
		{`"modifyTimer":{"manualAction":1}`, "modifyTimer.manualAction"},
		{`"modifyTimer":{"timerValue":"60"}`, "modifyTimer.timerValue"},
		{`"modifyTimer":{"triggerEvent":1}`, "modifyTimer.triggerEvent"},
		{`"enableTimer":"false"`, "enableTimer"},
		{`"bogus":1`, "bogus"},
		{`"modifyAmount":{"bogus":1}`, "modifyAmount.bogus"},
		{`"modifyTimer":{"bogus":1}`, "modifyTimer.bogus"},
		{`"tag":"` + strings.Repeat("t", 10000) + `"`, "tag"},
	} {
		modBad("item "+hoShort(f.props), modItem(f.props), "122002", itemFmt(f.name, "pegasus"))
	}
	modBad("item amount int64 overflow", modItem(`"modifyAmount":{"amount":9223372036854775808}`), "123002", itemVal("modifyAmount.amount", "pegasus"))
	modBad("item amount zero", modItem(`"modifyAmount":{"amount":0}`), "123002", itemVal("modifyAmount.amount", "pegasus"))
	modBad("item amount negative", modItem(`"modifyAmount":{"amount":-150}`), "123002", itemVal("modifyAmount.amount", "pegasus"))
	modBad("item quantity 1e309", modItem(`"modifyAmount":{"quantity":1e309}`), "123002", itemVal("modifyAmount.quantity", "pegasus"))
	modBad("item quantity -1e309", modItem(`"modifyAmount":{"quantity":-1e309}`), "123002", itemVal("modifyAmount.quantity", "pegasus"))
	modBad("item timerValue int64 overflow", modItem(`"modifyTimer":{"timerValue":9223372036854775808}`), "123002", itemVal("modifyTimer.timerValue", "pegasus"))
	modBad("itemId 10k characters", `{"items":[{"`+strings.Repeat("p", 10000)+`":{"tag":"x"}}]}`, "122001", fmtErr(strings.Repeat("p", 10000)))
	modBad("item value number", `{"items":[{"pegasus":1}]}`, "122001", fmtErr("pegasus"))
	modBad("duplicate itemId", `{"items":[{"pegasus":{"tag":"a"}},{"pegasus":{"tag":"b"}}]}`, "123002", itemVal("itemId", "pegasus"))
	{
		var parts []string
		for _, id := range many {
			parts = append(parts, fmt.Sprintf(`{%q:{"tag":"x"}}`, id))
		}
		modBad("5000 items not in the cart", `{"items":[`+strings.Join(parts, ",")+`]}`, "124005", "")
	}

	// status: query string abuse.
	st := func(name, query string, status int, code, msg string) {
		add(hoCase{name: "status/" + name, method: "GET", path: "/status/" + cart + "?" + query, ctype: "-", status: status, code: code, msg: msg})
	}
	long := strings.Repeat("a", 10000)
	st("repeated tags", "tags=rampart&tags=rampart&tags=rampart", 200, "000000", "Success")
	st("repeated debug", "debug=true&debug=true", 400, "122001", fmtErr("debug"))
	st("repeated timerEnabled", "timerEnabled=true&timerEnabled=false", 400, "122001", fmtErr("timerEnabled"))
	st("debug 1", "debug=1", 400, "122001", fmtErr("debug"))
	st("debug empty", "debug=", 400, "122001", fmtErr("debug"))
	st("debug without value", "debug", 400, "122001", fmtErr("debug"))
	st("timerEnabled TRUE", "timerEnabled=TRUE", 400, "122001", fmtErr("timerEnabled"))
	st("timerEnabled yes", "timerEnabled=yes", 400, "122001", fmtErr("timerEnabled"))
	st("tags 10k characters", "tags="+long, 400, "122001", fmtErr("tags"))
	st("itemIds 10k characters", "itemIds="+long, 400, "122001", fmtErr("itemIds"))
	st("timerEnabled 10k characters", "timerEnabled="+long, 400, "122001", fmtErr("timerEnabled"))
	st("unknown parameter", "bogus=1", 400, "122001", fmtErr("bogus"))
	st("unknown parameter 10k characters", long+"=1", 400, "122001", fmtErr(long))
	st("empty tag", "tags=", 400, "122001", fmtErr("tags"))
	st("empty list element", "itemIds=pegasus,,naga", 400, "122001", fmtErr("itemIds"))
	st("escaped NUL", "itemIds=pega%00sus", 400, "122001", fmtErr("itemIds"))
	st("invalid UTF-8", "tags=%ff%fe", 400, "122001", fmtErr("tags"))
	st("1000 repeated itemIds", strings.TrimSuffix(strings.Repeat("itemIds=pegasus&", 1000), "&"), 200, "000000", "Success")
	st("1000 distinct unknown itemIds", "itemIds="+strings.Join(many[:1000], ","), 400, "121103", "No itemIds matching the request")
	add(hoCase{name: "status/cartId 10k characters", method: "GET", path: "/status/" + long, ctype: "-", status: 400, code: "122001", msg: "cartId has invalid format"})
	add(hoCase{name: "status/cartId escaped NUL", method: "GET", path: "/status/" + url.PathEscape("ho-paid-cart\x000001"), ctype: "-", status: 400, code: "122001", msg: "cartId has invalid format"})
	add(hoCase{name: "status/cartId escaped slash", method: "GET", path: "/status/ho-paid%2Fcart-0001", ctype: "-", status: 400, code: "122001", msg: "cartId has invalid format"})
	add(hoCase{name: "status/cartId dot-dot", method: "GET", path: "/status/..%2F..%2Finit", ctype: "-", status: 400, code: "122001", msg: "cartId has invalid format"})

	t.Run("cases", func(t *testing.T) {
		seen := map[string]bool{}
		for _, hc := range cases {
			if seen[hc.name] {
				t.Fatalf("duplicate case name %q", hc.name)
			}
			seen[hc.name] = true
			t.Run(hc.name, func(t *testing.T) {
				t.Parallel()
				hoCheck(t, srv.URL, c.APIKey, hc)
			})
		}
	})

	// Hostile payments: the payment page answers JSON errors, never 5xx.
	t.Run("pay", func(t *testing.T) {
		for _, pc := range []struct {
			name, ctype string
			body        []byte
			status      int
		}{
			{"malformed JSON", "application/json", []byte(`{"cardNumber":`), 400},
			{"JSON array", "application/json", []byte(`[]`), 400},
			{"empty body", "application/json", nil, 400},
			{"unknown field", "application/json", []byte(`{"cardNumber":"4111111111111111","expiry":"12/39","cvc":"123","cardholder":"A","x":1}`), 400},
			{"wrong types", "application/json", []byte(`{"cardNumber":4111111111111111,"expiry":1239,"cvc":123,"cardholder":true}`), 400},
			{"invalid UTF-8", "application/json", []byte("{\"cardNumber\":\"\xff\",\"expiry\":\"12/39\",\"cvc\":\"123\",\"cardholder\":\"A\"}"), 400},
			{"10k cardholder", "application/json", []byte(`{"cardNumber":"4111111111111111","expiry":"12/39","cvc":"123","cardholder":"` + long + `"}`), 400},
			{"nested 10000", "application/json", []byte(`{"cardNumber":` + hoNested(10000) + `}`), 400},
			{"over 64 KiB", "application/json", []byte(`{"cardholder":"` + strings.Repeat("a", 1<<20) + `"}`), 400},
			{"NUL in number", "application/json", []byte(`{"cardNumber":"4111\u00001111111111111","expiry":"12/39","cvc":"123","cardholder":"A"}`), 400},
		} {
			t.Run(pc.name, func(t *testing.T) {
				req, err := http.NewRequest(http.MethodPost, unpaid.PaymentURL, bytes.NewReader(pc.body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", pc.ctype)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var ans client.PayResult
				if resp.StatusCode != pc.status || json.Unmarshal(raw, &ans) != nil || ans.Result != "invalid" {
					t.Fatalf("HTTP %d %s; want HTTP %d result invalid", resp.StatusCode, raw, pc.status)
				}
			})
		}
	})

	// The server is healthy, never panicked, logged no failure, and no
	// hostile request changed the paid cart or paid the unpaid one.
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz after the hostile requests: %v %v", err, resp)
	}
	resp.Body.Close()
	after, err := c.Raw().Status(ctx, cart, client.StatusQuery{})
	if err != nil || hoTimeless(t, after.Data) != hoTimeless(t, before.Data) {
		t.Fatalf("a hostile request changed the paid cart:\nbefore %s\nafter  %s", before.Data, after.Data)
	}
	st2, err := c.Raw().Status(ctx, "ho-unpaid-cart-01", client.StatusQuery{})
	if err != nil || !strings.Contains(string(st2.Data), `"paymentStatus":"initiated"`) {
		t.Fatalf("the unpaid cart changed: %v %s", err, st2.Raw)
	}
	logs := srv.Logs()
	for _, bad := range []string{"panic", `"level":"ERROR"`} {
		if strings.Contains(logs, bad) {
			i := strings.Index(logs, bad)
			t.Errorf("server log contains %q: …%s…", bad, logs[max(0, i-300):min(len(logs), i+300)])
		}
	}
}
