package chaos

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The hostile phase: the second merchant (so that nothing it does can
// disturb the carts the campaign models, even a hostile body that moves
// its test clock) sends malformed, mistyped, oversized and otherwise
// hostile requests to every endpoint with a body or a query — the
// Merchant API, the test clock, the callback management API, deliveries —
// and to the payment page (JSON and forms with a valid CSRF token, the
// 3-D Secure challenge, junk payment tokens). Each endpoint gets the fixed
// cases of internal/e2e's TestHostileInput that do not depend on its data
// (they live in a _test file, so they are written again here) and
// Config.Hostile random ones: a valid body with a value replaced by a
// hostile one (huge, negative, of the wrong type, deeply nested, a long
// string, a NUL, an invalid surrogate…), a key removed, added or
// duplicated, or bytes flipped, inserted, repeated or cut. No answer may
// be a 5xx (no-5xx), every Merchant API answer must be the JSON envelope
// and every JSON payment answer a JSON result (hostile), and the server
// must neither crash (crash) nor log a panic or an error (server-log).
// The merchant's carts are then checked against the ledger with the
// others.

// hostileCatalog is the second merchant's catalog.
var hostileCatalog = []string{"h1", "h2", "h3", "h4", "h5", "h6"}

// hostileReq is one hostile request.
type hostileReq struct {
	name   string
	method string
	path   string // the path and query, or a full URL
	ctype  string // Content-Type; "-" sends none, "" application/json when there is a body
	body   []byte
	idem   string
	answer string // what the answer must be: "envelope", "pay-json" (a JSON result) or "" (anything but a 5xx)
	jar    bool   // sent by the browser (cookies: the CSRF nonce) after it read the page
	noCSRF bool   // a form sent without the page's CSRF field
}

// hostileValues replace JSON values in random cases.
var hostileValues = []string{`null`, `true`, `false`, `0`, `-1`, `1e309`, `-1e309`, `9223372036854775808`, `-9223372036854775809`,
	`1.5`, `0.0000001`, `1e-400`, `-0`, `1E+2`, `""`, `" "`, `"` + strings.Repeat("a", 10000) + `"`, `"\u0000"`, `"\ud800"`,
	`"\udfff\ud800"`, `"é"`, `"\u202e"`, `{}`, `[]`, `[null]`, `[[]]`, `{"":""}`, strings.Repeat("[", 1000) + strings.Repeat("]", 1000),
	strings.Repeat(`{"a":`, 1000) + `1` + strings.Repeat(`}`, 1000), `"NaN"`, `"Infinity"`, `123456789012345678901234567890`,
	`"` + strings.Repeat("9", 400) + `"`, strings.Repeat("9", 400), `"../../etc/passwd"`, `"%s%n%x"`, `"\\"`, `"'; --"`,
	`"<script>"`, `"\u0000\u0001\u001f"`, `[` + strings.TrimSuffix(strings.Repeat(`"x",`, 5000), ",") + `]`}

// hostileFragments are inserted into bodies in random cases.
var hostileFragments = []string{"\x00", `"`, `{`, `}`, `[`, `]`, `,`, `:`, `\`, `\u`, `\ud800`, "\xff", "\xc3\x28", "\xed\xa0\x80", ` `, "\n",
	`null`, `1e999`, `-`, `.`, `/*`, `"a":`, `,"cartId":"x"`, `,"debug":true`, `{"`, `"}`}

// jsonNode is a parsed JSON value that keeps numbers as written and object
// keys in order.
type jsonNode struct {
	raw  string // a scalar as written, or a raw replacement
	obj  []jsonMember
	arr  []*jsonNode
	kind byte // 's' scalar or raw, 'o' object, 'a' array
}

type jsonMember struct {
	key string
	val *jsonNode
}

func parseNode(dec *json.Decoder) (*jsonNode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			n := &jsonNode{kind: 'o'}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := parseNode(dec)
				if err != nil {
					return nil, err
				}
				n.obj = append(n.obj, jsonMember{kt.(string), v})
			}
			_, err := dec.Token()
			return n, err
		}
		n := &jsonNode{kind: 'a'}
		for dec.More() {
			v, err := parseNode(dec)
			if err != nil {
				return nil, err
			}
			n.arr = append(n.arr, v)
		}
		_, err := dec.Token()
		return n, err
	case string:
		b, _ := json.Marshal(t)
		return &jsonNode{kind: 's', raw: string(b)}, nil
	case json.Number:
		return &jsonNode{kind: 's', raw: t.String()}, nil
	case bool:
		return &jsonNode{kind: 's', raw: strconv.FormatBool(t)}, nil
	}
	return &jsonNode{kind: 's', raw: "null"}, nil
}

func (n *jsonNode) String() string {
	var b strings.Builder
	n.write(&b)
	return b.String()
}

func (n *jsonNode) write(b *strings.Builder) {
	switch n.kind {
	case 'o':
		b.WriteByte('{')
		for i, m := range n.obj {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(m.key)
			b.Write(k)
			b.WriteByte(':')
			m.val.write(b)
		}
		b.WriteByte('}')
	case 'a':
		b.WriteByte('[')
		for i, v := range n.arr {
			if i > 0 {
				b.WriteByte(',')
			}
			v.write(b)
		}
		b.WriteByte(']')
	default:
		b.WriteString(n.raw)
	}
}

// nodes lists n and every value under it.
func (n *jsonNode) nodes() []*jsonNode {
	out := []*jsonNode{n}
	for _, m := range n.obj {
		out = append(out, m.val.nodes()...)
	}
	for _, v := range n.arr {
		out = append(out, v.nodes()...)
	}
	return out
}

// mutateJSON returns valid with one to three values, keys or members made
// hostile.
func mutateJSON(rng *rand.Rand, valid string) string {
	dec := json.NewDecoder(strings.NewReader(valid))
	dec.UseNumber()
	root, err := parseNode(dec)
	if err != nil {
		return valid
	}
	for range 1 + rng.IntN(3) {
		all := root.nodes()
		n := all[rng.IntN(len(all))]
		switch op := rng.IntN(10); {
		case op < 5 && n != root: // replace the value
			*n = jsonNode{kind: 's', raw: hostileValues[rng.IntN(len(hostileValues))]}
		case op < 6 && n.kind == 'o' && len(n.obj) > 0: // remove a member
			i := rng.IntN(len(n.obj))
			n.obj = slices.Delete(n.obj, i, i+1)
		case op < 7 && n.kind == 'o' && len(n.obj) > 0: // duplicate a member, with another value
			m := n.obj[rng.IntN(len(n.obj))]
			n.obj = append(n.obj, jsonMember{m.key, &jsonNode{kind: 's', raw: hostileValues[rng.IntN(len(hostileValues))]}})
		case op < 8 && n.kind == 'o': // an unknown member
			keys := []string{"bogus", "", "__proto__", "constructor", "cartID", "CartId", "cartId\u0000", strings.Repeat("k", 5000), "é"}
			n.obj = append(n.obj, jsonMember{keys[rng.IntN(len(keys))], &jsonNode{kind: 's', raw: hostileValues[rng.IntN(len(hostileValues))]}})
		case op < 9 && n.kind == 'a': // many elements
			for range 1 + rng.IntN(200) {
				if len(n.arr) > 0 {
					n.arr = append(n.arr, n.arr[rng.IntN(len(n.arr))])
				}
			}
		default: // wrap the value in an array or an object
			cp := *n
			if rng.IntN(2) == 0 {
				*n = jsonNode{kind: 'a', arr: []*jsonNode{&cp}}
			} else {
				*n = jsonNode{kind: 'o', obj: []jsonMember{{"value", &cp}}}
			}
		}
	}
	return root.String()
}

// mutateBytes flips, inserts, repeats or cuts bytes of b.
func mutateBytes(rng *rand.Rand, b []byte) []byte {
	b = bytes.Clone(b)
	for range 1 + rng.IntN(4) {
		if len(b) == 0 {
			b = append(b, hostileFragments[rng.IntN(len(hostileFragments))]...)
			continue
		}
		i := rng.IntN(len(b))
		switch rng.IntN(5) {
		case 0:
			b[i] = byte(rng.IntN(256))
		case 1:
			b = slices.Insert(b, i, []byte(hostileFragments[rng.IntN(len(hostileFragments))])...)
		case 2:
			j := min(len(b), i+1+rng.IntN(16))
			b = slices.Delete(b, i, j)
		case 3:
			j := min(len(b), i+1+rng.IntN(64))
			piece := bytes.Repeat(b[i:j], 1+rng.IntN(50))
			b = slices.Insert(b, i, piece...)
		default:
			b = b[:i]
		}
	}
	return b
}

// nested returns n nested arrays.
func nested(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

// jsonCases are the fixed hostile bodies of a JSON endpoint (after
// internal/e2e's TestHostileInput), for a valid body and a cartId.
func jsonCases(name, method, path, valid, cartID string) []hostileReq {
	var out []hostileReq
	add := func(what string, body string) {
		out = append(out, hostileReq{name: name + "/" + what, method: method, path: path, body: []byte(body), answer: "envelope"})
	}
	add("malformed JSON", `{"cartId":,}`)
	add("truncated JSON", valid[:len(valid)/2])
	add("truncated after last brace", valid[:len(valid)-1])
	add("trailing garbage", valid+`x`)
	add("two JSON values", valid+valid)
	add("JSON array", `[`+valid+`]`)
	add("JSON string", `"`+strings.ReplaceAll(valid, `"`, `\"`)+`"`)
	add("JSON null", `null`)
	add("JSON number", `42`)
	add("empty body", ``)
	add("whitespace body", " \n\t ")
	add("invalid UTF-8 in a string", strings.Replace(valid, `"cartId":"`, "\"cartId\":\"\xff\xfe", 1))
	add("invalid UTF-8 in a key", strings.Replace(valid, `{"`, "{\"\xc3\x28\":1,\"", 1))
	add("raw NUL byte in a string", strings.Replace(valid, `":"`, "\":\"\x00", 1))
	add("raw NUL byte between tokens", strings.Replace(valid, `{`, "{\x00", 1))
	add("10000 nested arrays", `{"cartId":"`+cartID+`","x":`+nested(10000)+`}`)
	add("10000 nested objects", `{"cartId":"`+cartID+`","x":`+strings.Repeat(`{"a":`, 10000)+`1`+strings.Repeat(`}`, 10000)+`}`)
	add("unterminated nesting", `{"cartId":"`+cartID+`","x":`+strings.Repeat("[", 100000))
	add("NaN", strings.Replace(valid, `{`, `{"debug":NaN,`, 1))
	add("single quotes", strings.ReplaceAll(valid, `"`, `'`))
	add("comment", `/* hi */`+valid)
	add("lone surrogate", strings.Replace(valid, `{`, `{"x":"\ud800",`, 1))
	add("1e999999999", strings.Replace(valid, `{`, `{"x":1e999999999,`, 1))
	add("100000 digits", strings.Replace(valid, `{`, `{"x":`+strings.Repeat("7", 100000)+`,`, 1))
	add("duplicate cartId key", `{"cartId":"`+cartID+`","cartId":"`+cartID+`"}`)
	add("duplicate debug key", strings.Replace(valid, `{`, `{"debug":true,"debug":true,`, 1))
	add("debug a string", strings.Replace(valid, `{`, `{"debug":"true",`, 1))
	add("body just over 1 MiB", `{"cartId":"`+cartID+`","pad":"`+strings.Repeat("a", 1<<20)+`"}`)
	add("garbage just over 1 MiB", string(bytes.Repeat([]byte{0xff}, 1<<20+1)))
	add("body of exactly 1 MiB", `{"pad":"`+strings.Repeat("a", 1<<20-len(`{"pad":""}`))+`"}`)
	for _, ct := range []string{"-", "text/plain", "application/x-www-form-urlencoded", "application/merge-patch+json", ";;;",
		"application/" + strings.Repeat("j", 10000), "application/json; charset=utf-16", "application/json; charset=\xff", "multipart/form-data; boundary=x"} {
		out = append(out, hostileReq{name: name + "/Content-Type " + hostileShort(ct), method: method, path: path, ctype: ct, body: []byte(valid), answer: "envelope"})
	}
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodOptions, "PROPFIND", http.MethodPost, http.MethodPatch} {
		if m != method {
			out = append(out, hostileReq{name: name + "/method " + m, method: m, path: path, body: []byte(valid), answer: "envelope"})
		}
	}
	return out
}

func hostileShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// hostileKey returns an Idempotency-Key for a hostile request: none, a
// fresh valid one, or a hostile one.
func hostileKey(rng *rand.Rand) string {
	switch rng.IntN(8) {
	case 0, 1, 2:
		return ""
	case 3:
		return strings.Repeat("k", 256)
	case 4:
		return "a key with spaces"
	case 5:
		return "ключ-" + randomToken(rng, 6)
	case 6:
		return strings.Repeat("K", 255)[:200] + randomToken(rng, 30)
	}
	return "hostile-" + randomToken(rng, 12)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// hostileSetup creates the second merchant's carts the hostile requests
// name: a paid two-step cart, a paid one-step cart, unpaid carts for the
// payment page and one waiting for a 3-D Secure answer. It returns their
// ids and payment URLs.
type hostileTargets struct {
	paid, done string
	payURLs    []string // unpaid carts
	challenge  string   // the payment URL of the cart waiting for a challenge answer
	endpoint   string   // a callback endpoint id
}

func (c *campaign) hostileSetup(ctx context.Context, rng *rand.Rand) (*hostileTargets, error) {
	t := &hostileTargets{paid: "hostile-paid-" + randomToken(rng, 4), done: "hostile-done-" + randomToken(rng, 4)}
	initCart := func(id, items string) (string, error) {
		body := fmt.Sprintf(`{"cartId":%q,"currency":"EUR","items":[%s]}`, id, items)
		a, err := c.sendAs(ctx, c.other.apiKey, http.MethodPost, "/init", "", body, "")
		if err != nil {
			return "", err
		}
		var data struct {
			PaymentURL string `json:"paymentUrl"`
		}
		if a.Status != http.StatusCreated || json.Unmarshal(a.Data, &data) != nil {
			return "", fmt.Errorf("init %s: %s", id, a)
		}
		return data.PaymentURL, nil
	}
	pay := func(payURL, number string) (*answer, error) {
		c.noteTyped(number)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, payURL, strings.NewReader(payBody(number)))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		return c.roundTrip(c.http, req)
	}
	twoStep := `{"h1":{"amount":250,"tag":"t1","capture":true,"captureSettings":{"autoAction":"cancel","value":600}}},` +
		`{"h2":{"amount":1100,"tag":"t2","capture":true,"captureSettings":{"autoAction":"complete","value":600}}}`
	u, err := initCart(t.paid, twoStep)
	if err != nil {
		return nil, err
	}
	if a, err := pay(u, cards[0]); err != nil || a.Status != http.StatusOK {
		return nil, fmt.Errorf("paying %s: %v %s", t.paid, err, a)
	}
	if u, err = initCart(t.done, `{"h1":{"amount":700,"capture":false}},{"h3":{"amount":300,"capture":false}}`); err != nil {
		return nil, err
	}
	if a, err := pay(u, cards[1]); err != nil || a.Status != http.StatusOK {
		return nil, fmt.Errorf("paying %s: %v %s", t.done, err, a)
	}
	for i := range 4 {
		u, err := initCart(fmt.Sprintf("hostile-unpaid-%d-%s", i, randomToken(rng, 4)), twoStep)
		if err != nil {
			return nil, err
		}
		t.payURLs = append(t.payURLs, u)
	}
	if u, err = initCart("hostile-challenge-"+randomToken(rng, 4), twoStep); err != nil {
		return nil, err
	}
	if a, err := pay(u, "4000 0000 0000 3220"); err != nil || a.Status != http.StatusOK || !bytes.Contains(a.Raw, []byte(`"challenge"`)) {
		return nil, fmt.Errorf("the challenge card: %v %s", err, a)
	}
	t.challenge = u
	a, err := c.sendAs(ctx, c.other.apiKey, http.MethodPost, "/callbacks/endpoints", "",
		`{"url":"https://hooks.invalid/omnicart","events":["payment.status_changed"],"enabled":false}`, "")
	if err != nil {
		return nil, err
	}
	var ep struct {
		ID string `json:"endpointId"`
	}
	if a.Status/100 != 2 || json.Unmarshal(a.Data, &ep) != nil || ep.ID == "" {
		c.fail(checkUnexpected, "hostile phase: creating a callback endpoint: %s", a)
		ep.ID = "ep_unknown"
	}
	t.endpoint = ep.ID
	return t, nil
}

// hostileRequests builds the fixed and random hostile requests.
func (c *campaign) hostileRequests(rng *rand.Rand, t *hostileTargets) []hostileReq {
	type jsonEndpoint struct{ name, method, path, valid, cartID string }
	eps := []jsonEndpoint{
		{"init", http.MethodPost, "/init", `{"cartId":"hostile-new-0001","customerId":"hc-1","currency":"EUR","cartExpiry":3600,` +
			`"scope":{"cart":{"capture":true,"captureSettings":{"autoAction":"cancel","value":600}},"tags":[{"t1":{"enableTimer":true,"timer":{"triggerEvent":"authorized","value":60}}}]},` +
			`"items":[{"h1":{"amount":250,"tag":"t1","quantity":2}},{"h2":{"amount":1100,"amountMode":"declared","amountModifier":1.5,"capture":false}}],` +
			`"paymentForm":{"deliveryOption":"email","value":"ada@shop.invalid"}}`, "hostile-new-0001"},
		{"capture", http.MethodPost, "/capture", `{"cartId":"` + t.paid + `","filterBox":{"itemIds":["h1"],"tags":["t1"],"timerEnabled":false}}`, t.paid},
		{"cancel", http.MethodPost, "/cancel", `{"cartId":"` + t.paid + `","filterBox":{"tags":["t2"]}}`, t.paid},
		{"refund", http.MethodPost, "/refund", `{"cartId":"` + t.done + `","filterBox":{"itemIds":["h3"]}}`, t.done},
		{"modify", http.MethodPatch, "/modify", `{"cartId":"` + t.done + `","modifyBox":{"customerId":"hc-2","items":[{"h1":{"tag":"t9",` +
			`"modifyAmount":{"amount":600,"amountMode":"declared"},"enableTimer":true,"modifyTimer":{"manualAction":"start","timerValue":30,"triggerEvent":"manual"}}}]}}`, t.done},
		{"clock", http.MethodPost, "/sandbox/clock", `{"advanceSecs":1}`, ""},
		{"callbacks add", http.MethodPost, "/callbacks/endpoints", `{"url":"https://hooks.invalid/x","events":["payment.status_changed","timer.status_changed"],"enabled":false}`, ""},
		{"callbacks update", http.MethodPatch, "/callbacks/endpoints/" + t.endpoint, `{"url":"https://hooks.invalid/y","events":["payment.auto_action_pending"],"enabled":false}`, ""},
		{"callbacks rotate", http.MethodPost, "/callbacks/endpoints/" + t.endpoint + "/rotate", `{"overlapSecs":60}`, ""},
	}
	var out []hostileReq
	numbers := c.cardDigits()
	clean := func(b []byte) bool { return len(scanBytes(b, numbers, false)) == 0 }
	for _, ep := range eps {
		for _, hr := range jsonCases(ep.name, ep.method, ep.path, ep.valid, ep.cartID) {
			if ep.method == http.MethodPost || ep.method == http.MethodPatch {
				hr.idem = hostileKey(rng)
			}
			out = append(out, hr)
		}
		for i := 0; i < c.cfg.Hostile; i++ {
			var body []byte
			if rng.IntN(3) > 0 {
				body = []byte(mutateJSON(rng, ep.valid))
			} else {
				body = mutateBytes(rng, []byte(ep.valid))
			}
			if !clean(body) {
				i--
				continue
			}
			hr := hostileReq{name: fmt.Sprintf("%s/random %d", ep.name, i), method: ep.method, path: ep.path, body: body, answer: "envelope"}
			if rng.IntN(2) == 0 {
				hr.idem = hostileKey(rng)
			}
			out = append(out, hr)
		}
	}

	// Queries and paths.
	long := strings.Repeat("a", 10000)
	queries := []string{"tags=t1&tags=t1", "debug=true&debug=true", "timerEnabled=true&timerEnabled=false", "debug=1", "debug=", "debug",
		"timerEnabled=TRUE", "tags=" + long, "itemIds=" + long, "bogus=1", long + "=1", "tags=", "itemIds=h1,,h2", "itemIds=h%00", "tags=%ff%fe",
		strings.TrimSuffix(strings.Repeat("itemIds=h1&", 1000), "&"), "%", "%%%", "a=%zz", "itemIds[]=h1", "itemIds=h1;h2", "?", "&&&&", "=",
		"itemIds=" + strings.Repeat("h1,", 3000) + "h1"}
	for i := 0; i < c.cfg.Hostile/2; i++ {
		q := []byte(queries[rng.IntN(len(queries))])
		queries = append(queries, string(mutateBytes(rng, q)))
	}
	for i, q := range queries {
		out = append(out, hostileReq{name: fmt.Sprintf("status/query %d", i), method: http.MethodGet, path: "/status/" + t.paid + "?" + q, answer: "envelope"})
		if i%3 == 0 {
			out = append(out, hostileReq{name: fmt.Sprintf("callbacks events/query %d", i), method: http.MethodGet, path: "/callbacks/events?" + q, answer: "envelope"},
				hostileReq{name: fmt.Sprintf("deliveries/query %d", i), method: http.MethodGet, path: "/deliveries/" + t.paid + "?" + q, answer: "envelope"})
		}
	}
	paths := []string{"/status/" + long, "/status/" + url.PathEscape("hostile\x00paid"), "/status/hostile%2Fpaid", "/status/..%2F..%2Finit",
		"/status/:", "/status/:" + t.paid, "/status//" + t.paid, "/status/" + t.paid + "/x", "//init", "/init/", "/%69nit", "/./init",
		"/deliveries/", "/deliveries/" + long, "/deliveries/%ff", "/callbacks/", "/callbacks/endpoints/", "/callbacks/endpoints/" + long,
		"/callbacks/endpoints/x/y/z", "/callbacks/events/%00", "/callbacks/events/evt_0/resend", "/sandbox/", "/sandbox/clock/x", "/codes?x=" + long,
		"/metrics?" + long, "/openapi.yaml/..", "/healthz%00", "/readyz?" + long, "/sandbox/outbox?" + long, "/sandbox/outbox/x",
		"/idempotency-keys/", "/idempotency-keys/" + long, "/idempotency-keys/%00", "/idempotency-keys/%ff%fe", "/idempotency-keys/a%2Fb",
		"/idempotency-keys/" + strings.Repeat("k", 255), "/idempotency-keys/hostile-x?" + long}
	for i, p := range paths {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			out = append(out, hostileReq{name: fmt.Sprintf("path %d %s", i, m), method: m, path: p, body: []byte(`{}`)})
		}
	}

	// The payment page: JSON.
	valid := `{"cardNumber":"4000 0000 0000 0069","expiry":"12/39","cvc":"` + cvc + `","cardholder":"Ada Lovelace"}`
	payJSON := []string{`{"cardNumber":`, `[]`, ``, `{"cardNumber":"4111111111111111","expiry":"12/39","cvc":"` + cvc + `","cardholder":"A","x":1}`,
		`{"cardNumber":4111111111111111,"expiry":1239,"cvc":42,"cardholder":true}`,
		"{\"cardNumber\":\"\xff\",\"expiry\":\"12/39\",\"cvc\":\"" + cvc + "\",\"cardholder\":\"A\"}",
		`{"cardNumber":"4111111111111111","expiry":"12/39","cvc":"` + cvc + `","cardholder":"` + long + `"}`,
		`{"cardNumber":` + nested(10000) + `}`, `{"cardholder":"` + strings.Repeat("a", 1<<20) + `"}`,
		`{"cardNumber":"4111\u00001111111111111","expiry":"12/39","cvc":"` + cvc + `","cardholder":"A"}`,
		`{"cardNumber":"4000 0000 0000 0069","expiry":"13/39","cvc":"` + cvc + `","cardholder":"A"}`,
		`{"cardNumber":"4000 0000 0000 0069","expiry":"12/19","cvc":"` + cvc + `","cardholder":"A"}`,
		`{"cardNumber":"4000 0000 0000 0069","expiry":"12/39","cvc":"0","cardholder":"A"}`,
		`{"cardNumber":"4000 0000 0000 0069","expiry":"12/39","cvc":"` + cvc + `","cardholder":"\u0007"}`,
		`{"cardNumber":"4000 0000 0000 0069","expiry":"99999999999999999999/39","cvc":"` + cvc + `","cardholder":"A"}`,
		`{"cardNumber":"` + strings.Repeat("4", 10000) + `","expiry":"12/39","cvc":"` + cvc + `","cardholder":"A"}`,
		valid + valid, valid}
	for i := 0; i < c.cfg.Hostile; i++ {
		if rng.IntN(3) > 0 {
			payJSON = append(payJSON, mutateJSON(rng, valid))
		} else {
			payJSON = append(payJSON, string(mutateBytes(rng, []byte(valid))))
		}
	}
	for i, b := range payJSON {
		c.noteTypedIn(b)
		u := t.payURLs[i%len(t.payURLs)]
		out = append(out, hostileReq{name: fmt.Sprintf("pay json %d", i), method: http.MethodPost, path: u, body: []byte(b), answer: "pay-json"})
	}
	challengeJSON := []string{`{"code":"999999"}`, `{"code":999999}`, `{"code":"99999"}`, `{"code":"` + long + `"}`, `{"code":null}`, `{}`, `[]`, ``,
		`{"code":"999999","x":1}`, `{"code":"99999\u0000"}`, `{"code":"９９９９９９"}`}
	for i := 0; i < c.cfg.Hostile/4; i++ {
		challengeJSON = append(challengeJSON, string(mutateBytes(rng, []byte(`{"code":"999999"}`))))
	}
	for i, b := range challengeJSON {
		out = append(out, hostileReq{name: fmt.Sprintf("challenge json %d", i), method: http.MethodPost, path: t.challenge + "/challenge", body: []byte(b), answer: "pay-json"})
	}
	// Junk tokens and other methods.
	for i, p := range []string{"/pay/", "/pay/x", "/pay/" + long, "/pay/" + strings.Repeat("A", 128), "/pay/" + strings.Repeat("A", 129),
		"/pay/%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00", "/pay/../../init", "/pay/" + randomToken(rng, 32), "/pay/" + randomToken(rng, 32) + "/challenge",
		"/pay/" + randomToken(rng, 32) + "/other", "/pay/" + strings.Repeat("é", 20)} {
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			out = append(out, hostileReq{name: fmt.Sprintf("pay path %d %s", i, m), method: m, path: p, body: []byte(valid)})
		}
	}
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions, http.MethodHead} {
		out = append(out, hostileReq{name: "pay method " + m, method: m, path: t.payURLs[0], body: []byte(valid)})
	}
	for i, ct := range []string{"-", "text/plain", "application/json; charset=\xff", "multipart/form-data", ";;;", "application/" + strings.Repeat("x", 5000)} {
		out = append(out, hostileReq{name: fmt.Sprintf("pay Content-Type %d", i), method: http.MethodPost, path: t.payURLs[1], ctype: ct, body: []byte(valid)})
	}
	return out
}

// noteTypedIn records the card numbers a payment body types (but not the
// digits of a hostile value, which other hostile requests may store
// legitimately, nor runs of one digit).
func (c *campaign) noteTypedIn(body string) {
	for _, m := range digitRun.FindAllString(body, -1) {
		d := keepDigits([]byte(m))
		if len(d) < 12 || strings.Trim(d, d[:1]) == "" || slices.ContainsFunc(hostileValues, func(v string) bool { return strings.Contains(v, d) }) {
			continue
		}
		c.noteTyped(d)
	}
}

var digitRun = regexp.MustCompile(`[0-9][0-9 -]{10,}[0-9]`)

// rawEscape percent-encodes the bytes a request line cannot carry, and
// leaves everything else (invalid escapes too) as it is.
func rawEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if x := s[i]; x <= 0x20 || x >= 0x7f || x == '#' {
			fmt.Fprintf(&b, "%%%02X", x)
		} else {
			b.WriteByte(x)
		}
	}
	return b.String()
}

// hostileForms are the payment page's form posts: field values, each sent
// with the CSRF token of a page just read (and a few without or with a
// wrong one).
func (c *campaign) hostileForms(rng *rand.Rand, t *hostileTargets) []hostileReq {
	long := strings.Repeat("a", 10000)
	base := url.Values{"cardNumber": {"4000 0000 0000 0069"}, "expiry": {"12/39"}, "cvc": {cvc}, "cardholder": {"Ada Lovelace"}}
	var forms []string
	set := func(field, v string) {
		f := url.Values{}
		for k, vs := range base {
			f[k] = slices.Clone(vs)
		}
		f.Set(field, v)
		forms = append(forms, f.Encode())
	}
	for _, field := range []string{"cardNumber", "expiry", "cvc", "cardholder"} {
		for _, v := range []string{"", long, "\x00", "\xff\xfe", "%", "0", "-1", "12/99999999999", strings.Repeat("4", 30), "\u202e", " "} {
			set(field, v)
		}
	}
	forms = append(forms, base.Encode()+"&cardNumber=4111111111111111", base.Encode()+"&"+long+"="+long, "%%%%", "&&&=&=", "cardNumber",
		strings.Repeat("a=b&", 20000), base.Encode()+"&cvc=%zz", strings.Repeat("x", 70<<10))
	for i := 0; i < c.cfg.Hostile/2; i++ {
		forms = append(forms, string(mutateBytes(rng, []byte(base.Encode()))))
	}
	var out []hostileReq
	for i, f := range forms {
		c.noteTypedIn(strings.ReplaceAll(f, "+", " "))
		out = append(out, hostileReq{name: fmt.Sprintf("pay form %d", i), method: http.MethodPost, path: t.payURLs[i%len(t.payURLs)],
			ctype: "application/x-www-form-urlencoded", body: []byte(f), jar: true, noCSRF: i%10 == 9})
	}
	for i, f := range []string{"code=999999", "code=" + long, "code=%00", "code=", "code=123&code=999999", "x=1"} {
		out = append(out, hostileReq{name: fmt.Sprintf("challenge form %d", i), method: http.MethodPost, path: t.challenge + "/challenge",
			ctype: "application/x-www-form-urlencoded", body: []byte(f), jar: true})
	}
	return out
}

// hostilePhase runs the hostile requests on hostileWorkers goroutines.
func (c *campaign) hostilePhase(ctx context.Context, rng *rand.Rand) {
	if c.cfg.Hostile < 0 {
		return
	}
	t0 := time.Now()
	t, err := c.hostileSetup(ctx, rng)
	if err != nil {
		c.fail(checkHostile, "setting up the hostile phase: %v", err)
		return
	}
	reqs := append(c.hostileRequests(rng, t), c.hostileForms(rng, t)...)
	rng.Shuffle(len(reqs), func(i, j int) { reqs[i], reqs[j] = reqs[j], reqs[i] })
	work := make(chan hostileReq)
	var wg sync.WaitGroup
	for range hostileWorkers {
		jar, _ := cookiejar.New(nil)
		browser := httpClient()
		browser.Jar = jar
		wg.Go(func() {
			defer browser.CloseIdleConnections()
			for hr := range work {
				c.hostile1(ctx, browser, hr)
			}
		})
	}
	for _, hr := range reqs {
		if ctx.Err() != nil {
			break
		}
		work <- hr
	}
	close(work)
	wg.Wait()
	if a, err := c.sendAs(ctx, "", http.MethodGet, "/healthz", "", "", ""); err != nil || a.Status != http.StatusOK {
		c.fail(checkHostile, "healthz after the hostile requests: %v %s", err, a)
	}
	c.stats.set("hostile", "requests", len(reqs))
	c.logf("hostile: %d requests in %s", len(reqs), time.Since(t0).Round(time.Millisecond))
}

const hostileWorkers = 8

// hostile1 sends one hostile request and judges the answer.
func (c *campaign) hostile1(ctx context.Context, browser *http.Client, hr hostileReq) {
	target := hr.path
	if !strings.HasPrefix(target, "http") {
		target = c.base + target
	}
	hc := c.http
	if hr.jar {
		hc = browser
		// A page read first: the CSRF cookie and field.
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(target, "/challenge"), nil)
		if err != nil {
			c.fail(checkHostile, "%s: %v", hr.name, err)
			return
		}
		a, err := c.roundTrip(hc, req)
		if err != nil {
			c.fail(checkHostile, "%s: reading the page: %v", hr.name, err)
			return
		}
		if m := csrfField.FindSubmatch(a.Raw); m != nil && !hr.noCSRF {
			hr.body = append(append(bytes.Clone(hr.body), "&csrf="...), url.QueryEscape(string(m[1]))...)
		}
	}
	var req *http.Request
	var err error
	if strings.HasPrefix(hr.path, "http") {
		req, err = http.NewRequestWithContext(ctx, hr.method, target, bytes.NewReader(hr.body))
	} else {
		// The path and query go out as written (escaped only where HTTP
		// forbids the byte), invalid escapes included.
		req, err = http.NewRequestWithContext(ctx, hr.method, c.base+"/", bytes.NewReader(hr.body))
		if err == nil {
			p, q, hasQ := strings.Cut(hr.path, "?")
			req.URL.Opaque = rawEscape(p)
			req.URL.RawQuery = rawEscape(q)
			req.URL.ForceQuery = hasQ && q == ""
		}
	}
	if err != nil {
		c.fail(checkUnexpected, "%s: the request cannot be made: %v", hr.name, err)
		return
	}
	req.GetBody = nil
	switch hr.ctype {
	case "-":
	case "":
		if len(hr.body) > 0 {
			req.Header.Set("Content-Type", "application/json")
		}
	default:
		req.Header.Set("Content-Type", hr.ctype)
	}
	if !strings.HasPrefix(hr.path, "http") {
		req.Header.Set("Api-Access-Token", c.other.apiKey)
	}
	if hr.idem != "" {
		req.Header.Set("Idempotency-Key", hr.idem)
	}
	a, err := c.roundTrip(hc, req)
	switch {
	case err != nil && ctx.Err() != nil:
		return
	case err != nil:
		c.fail(checkHostile, "%s: %s %s: no answer: %v", hr.name, hr.method, showURL(req.URL.Path, req.URL.RawQuery), err)
		return
	}
	c.stats.count("hostile", fmt.Sprintf("HTTP %d", a.Status))
	if a.Status >= 500 {
		c.fail(checkHostile, "%s: %s %s: %s (body %s)", hr.name, hr.method, showURL(req.URL.Path, req.URL.RawQuery), a, hostileShort(string(hr.body)))
		return
	}
	switch hr.answer {
	case "envelope":
		if a.Status == http.StatusCreated || a.Status == http.StatusOK || a.Status >= 400 {
			if a.Code == "" || !json.Valid(a.Raw) {
				c.fail(checkHostile, "%s: %s %s: %s: not the JSON envelope (body %s)", hr.name, hr.method, showURL(req.URL.Path, req.URL.RawQuery), a, hostileShort(string(hr.body)))
			}
		}
	case "pay-json":
		var res struct {
			Result string `json:"result"`
		}
		if json.Unmarshal(a.Raw, &res) != nil || res.Result == "" {
			if a.Status != http.StatusMethodNotAllowed {
				c.fail(checkHostile, "%s: %s: %s: not a JSON payment result (body %s)", hr.name, hr.method, a, hostileShort(string(hr.body)))
			}
		}
	}
}

// finalExtra reads the status of every cart of the second merchant, for
// the ledger check.
func (c *campaign) finalExtra(ctx context.Context, rng *rand.Rand) {
	if c.cfg.Hostile < 0 && c.cfg.WrongKeys < 0 {
		return
	}
	db, err := sql.Open("sqlite", "file:"+c.srv.dbPath+"?mode=ro&_pragma=busy_timeout(30000)")
	if err != nil {
		c.fail(checkUnexpected, "%v", err)
		return
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT cart_id FROM carts WHERE merchant_id = ?`, c.other.merchantID)
	if err != nil {
		c.fail(checkUnexpected, "listing the second merchant's carts: %v", err)
		return
	}
	var ids []string
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			ids = append(ids, id)
		}
	}
	rows.Close()
	sort.Strings(ids)
	for _, id := range ids {
		a, st, err := c.getStatusAs(ctx, rng, c.other.apiKey, url.PathEscape(id))
		if err != nil || st == nil {
			c.fail(checkUnexpected, "status of the second merchant's cart %q: %v %s", id, err, a)
			continue
		}
		var sum amounts
		for itemID, it := range st.byID {
			sum = sum.add(it.ItemAmounts)
			if x := it.ItemAmounts; x.Captured > x.Initiated || x.Refunded > x.Captured || x.Refunded < 0 || x.Captured < 0 {
				c.fail(checkAmounts, "second merchant's cart %q item %s: %+v", id, itemID, x)
			}
		}
		if sum != st.TotalAmounts {
			c.fail(checkAmounts, "second merchant's cart %q: totalAmounts %+v is not the sum of the items %+v", id, st.TotalAmounts, sum)
		}
		c.extra = append(c.extra, &extraCart{merchantID: c.other.merchantID, id: id, final: st})
	}
	c.stats.set("hostile", "carts of the second merchant", len(ids))
}
