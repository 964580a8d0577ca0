package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/omnicart/omnicart/internal/e2e"
)

// ownAPI is the server's own OpenAPI document (GET /openapi.yaml) with a
// router addressed at the running server.
type ownAPI struct {
	base   string
	router routers.Router
	seen   map[string]bool // "METHOD /doc/path STATUS" validated
}

type ownRes struct {
	status int
	header http.Header
	raw    []byte
}

// ownDo sends a request to the server: body is JSON when it is a non-empty
// string, key is the Api-Access-Token ("" for none).
func ownDo(tb testing.TB, base, method, target, key, body string, hdr ...string) ownRes {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(tb.Context(), method, base+target, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Api-Access-Token", key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return ownRes{resp.StatusCode, resp.Header, raw}
}

// validate checks a real response to "method target" against the document:
// the request must match a documented operation, the status must be
// declared for it, and headers and body must validate.
func (a *ownAPI) validate(tb testing.TB, method, target string, res ownRes) {
	tb.Helper()
	req, err := http.NewRequest(method, a.base+target, nil)
	if err != nil {
		tb.Fatal(err)
	}
	route, params, err := a.router.FindRoute(req)
	if err != nil {
		tb.Fatalf("%s %s: no operation in /openapi.yaml: %v", method, target, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.status,
		Header:                 res.header,
		Body:                   io.NopCloser(bytes.NewReader(res.raw)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if err := openapi3filter.ValidateResponse(tb.Context(), in); err != nil {
		tb.Errorf("%s %s → %d does not validate against /openapi.yaml: %v\n%s", method, target, res.status, err, res.raw)
	}
	a.seen[route.Method+" "+route.Path+" "+http.StatusText(res.status)] = true
}

// call sends a request, checks its HTTP status (and, for envelopes, code)
// and validates the response.
func (a *ownAPI) call(tb testing.TB, method, target, key, body string, status int, code string, hdr ...string) ownRes {
	tb.Helper()
	res := ownDo(tb, a.base, method, target, key, body, hdr...)
	if res.status != status {
		tb.Fatalf("%s %s: HTTP %d, want %d\n%s", method, target, res.status, status, res.raw)
	}
	if code != "" {
		var env struct {
			Code any `json:"code"`
		}
		if err := json.Unmarshal(res.raw, &env); err != nil || env.Code != code {
			tb.Fatalf("%s %s: code %v (%v), want %q\n%s", method, target, env.Code, err, code, res.raw)
		}
	}
	a.validate(tb, method, target, res)
	return res
}

// payAs posts a JSON card (or challenge code) to a payment path and
// validates the answer; it returns the result field.
func (a *ownAPI) pay(tb testing.TB, target, body string, status int, result string) map[string]any {
	tb.Helper()
	res := a.call(tb, http.MethodPost, target, "", body, status, "")
	var ans map[string]any
	if err := json.Unmarshal(res.raw, &ans); err != nil {
		tb.Fatal(err)
	}
	if ans["result"] != result {
		tb.Fatalf("POST %s: result %v, want %s\n%s", target, ans["result"], result, res.raw)
	}
	return ans
}

func ownPayPath(tb testing.TB, res ownRes) string {
	tb.Helper()
	var env struct {
		Data struct {
			PaymentURL string `json:"paymentUrl"`
		} `json:"data"`
	}
	if err := json.Unmarshal(res.raw, &env); err != nil {
		tb.Fatal(err)
	}
	u, err := url.Parse(env.Data.PaymentURL)
	if err != nil || !strings.HasPrefix(u.Path, "/pay/") {
		tb.Fatalf("paymentUrl %q", env.Data.PaymentURL)
	}
	return u.Path
}

const ownCard = `{"cardNumber":"4111 1111 1111 1111","expiry":"12/39","cvc":"123","cardholder":"Ada"}`

func ownCardNumber(n string) string {
	return strings.Replace(ownCard, "4111 1111 1111 1111", n, 1)
}

// TestOwnAPI loads the document the server serves at /openapi.yaml, checks
// that it is a valid OpenAPI 3 document, and validates real responses of
// every documented operation against it, with no exceptions.
func TestOwnAPI(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t, "--allow-private-callbacks")

	// The document itself.
	docRes := ownDo(t, srv.URL, http.MethodGet, "/openapi.yaml", "", "")
	if docRes.status != http.StatusOK || docRes.header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("GET /openapi.yaml: HTTP %d, Content-Type %q", docRes.status, docRes.header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(docRes.raw)
	if err != nil {
		t.Fatalf("load /openapi.yaml: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("/openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	doc.Servers = openapi3.Servers{{URL: srv.URL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	a := &ownAPI{base: srv.URL, router: router, seen: map[string]bool{}}
	a.validate(t, http.MethodGet, "/openapi.yaml", docRes)
	// A method the path does not answer is 405 131000 (not an operation of
	// the document, so checked directly).
	if res := ownDo(t, srv.URL, http.MethodPost, "/openapi.yaml", "", "{}"); res.status != 405 || !bytes.Contains(res.raw, []byte(`"code":"131000"`)) {
		t.Fatalf("POST /openapi.yaml: HTTP %d\n%s", res.status, res.raw)
	}

	merchantID, c := srv.Merchant("pegasus,naga,lich,wight", "--all-privileges")
	key := c.APIKey
	statusOnly := strings.TrimSpace(srv.Admin("key", "create", "--merchant", merchantID, "--methods", "status"))

	const cartA = "own-cart-main-0001"
	initA := `{"cartId":"` + cartA + `","customerId":"cust-own-1","currency":"EUR",
		"scope":{"cart":{"paymentBox":{"capture":true,"captureSettings":{"autoAction":"cancel","value":172800}}},
		         "tags":[{"rampart":{"paymentBox":{"amountMode":"declared"}}}]},
		"items":[{"pegasus":{"amount":250,"tag":"rampart"}},
		         {"naga":{"amount":1100,"quantity":2.5,"amountModifier":1.2,"amountMode":"calculated"}},
		         {"lich":{"amount":300,"enableTimer":true,"timer":{"triggerEvent":"manual","value":0}}},
		         {"wight":{"amount":400,"enableTimer":true,"timer":{"triggerEvent":"manual","value":3600}}}],
		"paymentForm":{"deliveryOption":"redirect","value":"https://shop.example/return"}}`

	var payA string
	t.Run("init", func(t *testing.T) {
		res := a.call(t, http.MethodPost, "/init", key, initA, 201, "000000", "Idempotency-Key", "own-init-1")
		payA = ownPayPath(t, res)
		replay := a.call(t, http.MethodPost, "/init", key, initA, 201, "000000", "Idempotency-Key", "own-init-1")
		if replay.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(replay.raw, res.raw) {
			t.Fatalf("replay: header %q\n%s", replay.header.Get("Idempotent-Replayed"), replay.raw)
		}
		a.call(t, http.MethodPost, "/init", key, `{"cartId":"own-cart-info-0001","currency":"EUR","debug":true,"scope":{"tags":[{"unused":{}}]},"items":[{"pegasus":{"amount":5,"tag":"stray"}}]}`, 201, "001001")
		a.call(t, http.MethodPost, "/init", key, `{"cartId":"own-cart-bad-00001","currency":"ZZZ","items":[{"pegasus":{"amount":5}}]}`, 400, "123000")
		a.call(t, http.MethodPost, "/init", key, `{"cartId":"own-cart-bad-00002","currency":"ZZZ","debug":true,"items":[{"pegasus":{"amount":0}}]}`, 400, "123000")
		a.call(t, http.MethodPost, "/init", "", initA, 401, "111000")
		a.call(t, http.MethodPost, "/init", key, initA, 409, "124101")
		// The same JSON with other white space is the same request (replayed);
		// another amount is another request.
		a.call(t, http.MethodPost, "/init", key, initA+" \n", 201, "000000", "Idempotency-Key", "own-init-1")
		a.call(t, http.MethodPost, "/init", key, strings.Replace(initA, `"amount":250`, `"amount":251`, 1), 409, "124190", "Idempotency-Key", "own-init-1")
		a.call(t, http.MethodPost, "/init", statusOnly, initA, 405, "131000")
		a.call(t, http.MethodPost, "/init", key, `{"cartId":"own-cart-big-00001","pad":"`+strings.Repeat("x", 1<<20)+`"}`, 413, "199003")
	})
	if payA == "" {
		t.FailNow()
	}

	t.Run("status before payment", func(t *testing.T) {
		res := a.call(t, http.MethodGet, "/status/"+cartA, key, "", 200, "000000")
		if !bytes.Contains(res.raw, []byte(`"remainingSecs":null`)) || !bytes.Contains(res.raw, []byte(`"quantity":2.5`)) {
			t.Fatalf("no infinite timer or decimal quantity in %s", res.raw)
		}
		a.call(t, http.MethodGet, "/status/:"+cartA, key, "", 200, "000000")
		a.call(t, http.MethodGet, "/status/"+cartA+"?tags=rampart,nosuchtag&debug=true", key, "", 200, "001004")
		a.call(t, http.MethodGet, "/status/own-cart-nope-0001", key, "", 400, "123001")
		a.call(t, http.MethodGet, "/status/"+cartA+"?color=red", key, "", 400, "122001")
		a.call(t, http.MethodGet, "/status", key, "", 400, "121101")
		a.call(t, http.MethodGet, "/status/"+cartA, "", "", 401, "111000")
	})

	t.Run("pay", func(t *testing.T) {
		ans := a.pay(t, payA, ownCard, 200, "authorized")
		if !strings.HasPrefix(ans["redirectUrl"].(string), "https://shop.example/return?") {
			t.Fatalf("redirectUrl %v", ans["redirectUrl"])
		}
		a.pay(t, payA, `{"cardNumber":"1234"}`, 400, "invalid")
		a.pay(t, payA, `not json`, 400, "invalid")
		a.pay(t, "/pay/AAAAAAAAAAAAAAAAAAAAAAAA", ownCard, 404, "invalid")

		// 402: a declined card.
		res := a.call(t, http.MethodPost, "/init", key, `{"cartId":"own-cart-decl-0001","currency":"EUR","items":[{"pegasus":{"amount":5}}]}`, 201, "000000")
		a.pay(t, ownPayPath(t, res), ownCardNumber("4000000000000002"), 402, "declined")

		// 3-D Secure challenge: 200 challenge, then a malformed code.
		res = a.call(t, http.MethodPost, "/init", key, `{"cartId":"own-cart-3ds-00001","currency":"EUR","items":[{"pegasus":{"amount":5}}]}`, 201, "000000")
		p := ownPayPath(t, res)
		ans = a.pay(t, p, ownCardNumber("4000000000003220"), 200, "challenge")
		cu, err := url.Parse(ans["challengeUrl"].(string))
		if err != nil || cu.Path != p+"/challenge" {
			t.Fatalf("challengeUrl %v", ans["challengeUrl"])
		}
		a.pay(t, cu.Path, `{"code":"12"}`, 400, "invalid")

		// 410: a cart expired by the test clock.
		res = a.call(t, http.MethodPost, "/init", key, `{"cartId":"own-cart-exp-00001","currency":"EUR","cartExpiry":60,"items":[{"pegasus":{"amount":5}}]}`, 201, "000000")
		p = ownPayPath(t, res)
		a.call(t, http.MethodPost, "/sandbox/clock", key, `{"advanceSecs":120}`, 200, "000000")
		a.pay(t, p, ownCard, 410, "expired")
	})

	t.Run("after payment", func(t *testing.T) {
		res := a.call(t, http.MethodGet, "/status/"+cartA, key, "", 200, "000000")
		if !bytes.Contains(res.raw, []byte(`"captureSnapshot":{"autoAction":"cancel","remainingSecs":`)) ||
			!bytes.Contains(res.raw, []byte(`"remainingSecs":null`)) {
			t.Fatalf("no captureSnapshot or infinite timer in %s", res.raw)
		}
		a.call(t, http.MethodPatch, "/modify", key, `{"cartId":"`+cartA+`","modifyBox":{"items":[{"wight":{"modifyTimer":{"manualAction":"start"}}}]}}`, 200, "000000")
		a.call(t, http.MethodPatch, "/modify", key, `{"cartId":"own-cart-nope-0001","modifyBox":{}}`, 400, "123001")
		a.call(t, http.MethodPost, "/capture", key, `{"cartId":"`+cartA+`","filterBox":{"itemIds":["pegasus"]}}`, 200, "000000")
		a.call(t, http.MethodPost, "/capture", key, `{}`, 400, "121101")
		a.call(t, http.MethodPost, "/cancel", key, `{"cartId":"`+cartA+`","filterBox":{"itemIds":["naga"]}}`, 200, "000000")
		a.call(t, http.MethodPost, "/cancel", key, `{"cartId":"own-cart-nope-0001"}`, 400, "123001")
		a.call(t, http.MethodPost, "/refund", key, `{"cartId":"`+cartA+`","filterBox":{"itemIds":["pegasus"]}}`, 200, "000000")
		a.call(t, http.MethodPost, "/refund", key, `{"cartId":"`+cartA+`","filterBox":{"itemIds":["naga"]}}`, 400, "124115")
		a.call(t, http.MethodGet, "/status/"+cartA+"?debug=true", key, "", 200, "000000")
	})

	t.Run("extensions", func(t *testing.T) {
		a.call(t, http.MethodPost, "/sandbox/clock", key, `{"advanceSecs":1}`, 200, "000000")
		a.call(t, http.MethodPost, "/sandbox/clock", key, `{"advanceSecs":-1}`, 400, "")
		a.call(t, http.MethodPost, "/sandbox/clock", statusOnly, `{"advanceSecs":1}`, 405, "131000")
		a.call(t, http.MethodGet, "/deliveries/"+cartA, key, "", 200, "000000")
		a.call(t, http.MethodGet, "/codes", "", "", 200, "000000")
		a.call(t, http.MethodGet, "/healthz", "", "", 200, "")
		a.call(t, http.MethodGet, "/readyz", "", "", 200, "")
		a.call(t, http.MethodGet, "/metrics", "", "", 200, "")

		res := a.call(t, http.MethodPost, "/callbacks/endpoints", key, `{"url":"http://127.0.0.1:9/hook","events":["payment.status_changed"]}`, 201, "000000")
		var ep struct {
			Data struct {
				EndpointID string `json:"endpointId"`
				Secret     string `json:"secret"`
			} `json:"data"`
		}
		if err := json.Unmarshal(res.raw, &ep); err != nil || ep.Data.EndpointID == "" || ep.Data.Secret == "" {
			t.Fatalf("add endpoint: %v\n%s", err, res.raw)
		}
		a.call(t, http.MethodPost, "/callbacks/endpoints", key, `{"events":["payment.status_changed"]}`, 400, "122001")
		a.call(t, http.MethodGet, "/callbacks/endpoints", key, "", 200, "000000")
		a.call(t, http.MethodGet, "/callbacks/endpoints/"+ep.Data.EndpointID, key, "", 200, "000000")
		a.call(t, http.MethodGet, "/callbacks/endpoints/"+ep.Data.EndpointID+"/deliveries", key, "", 200, "000000")
		a.call(t, http.MethodGet, "/callbacks/events?limit=5", key, "", 200, "000000")
		a.call(t, http.MethodGet, "/callbacks/endpoints/ep_missing", key, "", 404, "199001")
		a.call(t, http.MethodGet, "/callbacks/endpoints", statusOnly, "", 405, "131000")
	})
}
