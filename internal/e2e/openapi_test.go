package e2e_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"go.yaml.in/yaml/v4"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// oaSpecFile is a verbatim copy of the published OmniCart OpenAPI document
// (see testdata/README.md).
const oaSpecFile = "testdata/omnicart-openapi.yml"

// oaGap is a status the server returns (as SPEC requires) for which the
// OpenAPI document declares no response. Such a response cannot be checked
// against its own schema; the test asserts that the document indeed has none
// and validates the body against the document's generic error envelope
// (components/responses/400) instead.
type oaGap struct {
	method, path string // path as in the document; "" when no path matches
	status       int
	why          string
}

// oaGaps lists every such gap. A response with an undeclared status that is
// not listed here fails the test; an entry the document starts declaring
// fails it too, so the list stays true.
var oaGaps = []oaGap{
	{"POST", "/init", 409, "124101/124102/124103 are 409 in SPEC; /init declares 201, 400, 401, 404, 500, 503"},
	{"POST", "/capture", 405, "131000 is 405 in SPEC; no path declares 405"},
	{"POST", "/init", 405, "a key not allowed init gets 131000 (405); no path declares 405"},
	{"GET", "", 404, "unknown paths (199001) match no path of the document"},
	{"GET", "", 400, "/status without a cartId (121101) matches no path of the document"},
	{"GET", "/capture", 405, "wrong HTTP method on a known path (131000): the document has no such operation"},
	{"PUT", "/modify", 405, "wrong HTTP method on a known path (131000): the document has no such operation"},
	{"DELETE", "/init", 405, "wrong HTTP method on a known path (131000): the document has no such operation"},
	{"POST", "/init", 413, "199003 (body over 1 MiB) is an extension; no path declares 413"},
}

// oaConflict is a place where a response that SPEC requires breaks a schema
// the document writes but, under OpenAPI 3.0 rules, never applies: keywords
// next to a $ref are ignored in 3.0, so `data` and everything under it is
// only checked by the "as documented" pass (see oaLoad).
type oaConflict struct {
	op      string // "GET /status/{cartId} 200"
	pointer string // suffix of the JSON pointer of the failing value
	reason  string // substring of the schema error
	why     string
}

var oaConflicts = []oaConflict{
	{"GET /status/{cartId} 200", "timerSnapshot/remainingSecs", "not nullable",
		"SPEC 4.2: remainingSecs is null for an infinite timer (value 0); primitive_timerValue is a non-nullable integer"},
}

// oaSpec is the reference document loaded twice: as published (OpenAPI 3.0
// semantics, routed with gorillamux and checked with ValidateResponse) and
// "as documented", where the keywords written next to each $ref are folded
// into an allOf so that they apply.
type oaSpec struct {
	doc        *openapi3.T
	router     routers.Router
	documented *openapi3.T
	server     string

	mu       sync.Mutex
	conflict map[string]bool // oaConflict.op+pointer seen
	gapSeen  map[string]bool
}

var oaLoadOnce = sync.OnceValues(oaLoad)

func oaLoad() (*oaSpec, error) {
	raw, err := os.ReadFile(oaSpecFile)
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", oaSpecFile, err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	var tree any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		return nil, err
	}
	folded, err := json.Marshal(oaFoldRefSiblings(tree))
	if err != nil {
		return nil, err
	}
	documented, err := openapi3.NewLoader().LoadFromData(folded)
	if err != nil {
		return nil, fmt.Errorf("load %s with $ref siblings folded: %w", oaSpecFile, err)
	}
	return &oaSpec{doc: doc, router: router, documented: documented, server: doc.Servers[0].URL,
		conflict: map[string]bool{}, gapSeen: map[string]bool{}}, nil
}

// oaFoldRefSiblings rewrites {$ref: R, k: v, ...} (with validation keywords
// beside the $ref) to {allOf: [{$ref: R}, {k: v, ...}]}.
func oaFoldRefSiblings(v any) any {
	switch n := v.(type) {
	case map[string]any:
		for k, c := range n {
			n[k] = oaFoldRefSiblings(c)
		}
		ref, ok := n["$ref"]
		if !ok {
			return n
		}
		rest := map[string]any{}
		for k, c := range n {
			switch k {
			case "$ref", "description", "example", "title":
			default:
				rest[k] = c
			}
		}
		if len(rest) == 0 {
			return n
		}
		return map[string]any{"allOf": []any{map[string]any{"$ref": ref}, rest}}
	case []any:
		for i, c := range n {
			n[i] = oaFoldRefSiblings(c)
		}
	}
	return v
}

func oaLoadSpec(tb testing.TB) *oaSpec {
	tb.Helper()
	s, err := oaLoadOnce()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func oaGapFor(method, path string, status int) *oaGap {
	for i, g := range oaGaps {
		if g.method == method && g.path == path && g.status == status {
			return &oaGaps[i]
		}
	}
	return nil
}

// oaSchema returns the JSON schema of a declared response.
func oaSchema(tb testing.TB, rr *openapi3.ResponseRef) *openapi3.Schema {
	tb.Helper()
	mt := rr.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		tb.Fatalf("response %q has no application/json schema", *rr.Value.Description)
	}
	return mt.Schema.Value
}

func oaBody(tb testing.TB, res *client.Response) any {
	tb.Helper()
	var body any
	if err := json.Unmarshal(res.Raw, &body); err != nil {
		tb.Fatalf("body is not JSON: %v\n%s", err, res.Raw)
	}
	return body
}

// check validates a real response to "method target" (target is the path
// and query the request was sent to) against the document: the route is
// found by path (the request is re-addressed to the document's server), and
// the body is validated with openapi3filter.ValidateResponse against the
// response declared for its status.
func (s *oaSpec) check(tb testing.TB, method, target string, res *client.Response) {
	tb.Helper()
	req, err := http.NewRequest(method, s.server+target, nil)
	if err != nil {
		tb.Fatal(err)
	}
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		s.checkUnrouted(tb, method, target, err, res)
		return
	}
	s.checkRoute(tb, req, route, params, res)
}

// checkAs validates a response against the operation at docPath (used for
// the 404 of /init, which the document declares but no request to /init
// itself can produce).
func (s *oaSpec) checkAs(tb testing.TB, method, docPath string, res *client.Response) {
	tb.Helper()
	req, err := http.NewRequest(method, s.server+docPath, nil)
	if err != nil {
		tb.Fatal(err)
	}
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		tb.Fatalf("%s %s: no route in the document: %v", method, docPath, err)
	}
	s.checkRoute(tb, req, route, params, res)
}

func (s *oaSpec) checkUnrouted(tb testing.TB, method, target string, routeErr error, res *client.Response) {
	tb.Helper()
	// The request matches no operation of the document: only a wrong method
	// on a known path (405) or an unknown path (404) may end up here.
	docPath := ""
	switch {
	case errors.Is(routeErr, routers.ErrMethodNotAllowed):
		p, _, _ := strings.Cut(target, "?")
		docPath = p
		if strings.HasPrefix(p, "/status/") {
			docPath = "/status/{cartId}"
		}
	case errors.Is(routeErr, routers.ErrPathNotFound):
	default:
		tb.Fatalf("%s %s: %v", method, target, routeErr)
	}
	g := oaGapFor(method, docPath, res.Status)
	if g == nil {
		tb.Errorf("%s %s → HTTP %d: the document has no operation for it (%v) and the case is not listed in oaGaps\n%s",
			method, target, res.Status, routeErr, res.Raw)
		return
	}
	s.validateFallback(tb, fmt.Sprintf("%s %s %d", method, docPath, res.Status), res)
}

func (s *oaSpec) checkRoute(tb testing.TB, req *http.Request, route *routers.Route, params map[string]string, res *client.Response) {
	tb.Helper()
	op := fmt.Sprintf("%s %s %d", route.Method, route.Path, res.Status)
	declared := route.Operation.Responses.Status(res.Status)
	g := oaGapFor(route.Method, route.Path, res.Status)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.Status,
		Header:                 res.Header,
		Body:                   nopCloser{bytes.NewReader(res.Raw)},
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	err := openapi3filter.ValidateResponse(tb.Context(), in)
	switch {
	case declared == nil && g == nil:
		tb.Errorf("%s: the document declares no such response and the case is not listed in oaGaps\n%s", op, res.Raw)
		return
	case declared == nil:
		// Assert the gap explicitly: the validator must refuse the status.
		var re *openapi3filter.ResponseError
		if !errors.As(err, &re) || re.Reason != "status is not supported" {
			tb.Errorf("%s: listed in oaGaps, but ValidateResponse says %v", op, err)
		}
		s.validateFallback(tb, op, res)
		return
	case g != nil:
		tb.Errorf("%s: listed in oaGaps (%s) but the document now declares it; remove it from oaGaps", op, g.why)
	}
	if err != nil {
		tb.Errorf("%s: response does not validate against the OpenAPI document: %v\n%s", op, err, res.Raw)
	}
	s.checkDocumented(tb, route, op, res)
}

// validateFallback validates an undeclared error response against the
// document's generic error envelope.
func (s *oaSpec) validateFallback(tb testing.TB, op string, res *client.Response) {
	tb.Helper()
	s.mu.Lock()
	s.gapSeen[op] = true
	s.mu.Unlock()
	env := oaSchema(tb, s.doc.Components.Responses["400"])
	if err := env.VisitJSON(oaBody(tb, res), openapi3.MultiErrors()); err != nil {
		tb.Errorf("%s: body does not match the document's error envelope: %v\n%s", op, err, res.Raw)
	}
}

// checkDocumented validates the body against the "as documented" schema,
// including each status item against the schema the document gives for its
// itemId placeholder key. Errors must be known conflicts.
func (s *oaSpec) checkDocumented(tb testing.TB, route *routers.Route, op string, res *client.Response) {
	tb.Helper()
	dop := s.documented.Paths.Find(route.Path).GetOperation(route.Method)
	schema := oaSchema(tb, dop.Responses.Status(res.Status))
	body := oaBody(tb, res)
	var errs []*oaPointedError
	errs = append(errs, oaSchemaErrors(schema.VisitJSON(body, openapi3.MultiErrors()), "")...)
	if route.Path == "/status/{cartId}" && res.Status == http.StatusOK {
		list := oaProp(oaProp(schema, "data"), "items")
		if list == nil || list.Items == nil || oaProp(list.Items.Value, "itemId") == nil {
			tb.Fatalf("%s: the document no longer has an itemId placeholder for status items", op)
		}
		placeholder := oaProp(list.Items.Value, "itemId")
		obj, _ := body.(map[string]any)
		data, _ := obj["data"].(map[string]any)
		items, _ := data["items"].([]any)
		for i, el := range items {
			item, _ := el.(map[string]any)
			for id, v := range item {
				prefix := fmt.Sprintf("data/items/%d/%s", i, id)
				errs = append(errs, oaSchemaErrors(placeholder.VisitJSON(v, openapi3.MultiErrors()), prefix)...)
			}
		}
	}
	for _, e := range errs {
		ptr := e.prefix + "/" + strings.Join(e.JSONPointer(), "/")
		if c := oaConflictFor(op, ptr, e.Error()); c != nil {
			s.mu.Lock()
			s.conflict[c.op+" "+c.pointer] = true
			s.mu.Unlock()
			continue
		}
		tb.Errorf("%s: %s breaks the schema the document writes for it: %s (value %v)\n%s", op, ptr, e.Reason, e.Value, res.Raw)
	}
}

type oaPointedError struct {
	*openapi3.SchemaError
	prefix string
}

func oaSchemaErrors(err error, prefix string) []*oaPointedError {
	if err == nil {
		return nil
	}
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var out []*oaPointedError
		for _, e := range me {
			out = append(out, oaSchemaErrors(e, prefix)...)
		}
		return out
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return []*oaPointedError{{se, prefix}}
	}
	return []*oaPointedError{{&openapi3.SchemaError{Reason: err.Error()}, prefix}}
}

func oaConflictFor(op, pointer, msg string) *oaConflict {
	for i, c := range oaConflicts {
		if c.op == op && strings.HasSuffix(pointer, c.pointer) && strings.Contains(msg, c.reason) {
			return &oaConflicts[i]
		}
	}
	return nil
}

// oaProp finds a property of an object schema, looking through allOf.
func oaProp(s *openapi3.Schema, name string) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if p := s.Properties[name]; p != nil {
		return p.Value
	}
	for _, a := range s.AllOf {
		if p := oaProp(a.Value, name); p != nil {
			return p
		}
	}
	return nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// oaCall sends a request with the client, validates the response against
// the document and checks its HTTP status and code.
func (s *oaSpec) call(tb testing.TB, c *client.Client, method, target string, body any, status int, code string) *client.Response {
	tb.Helper()
	res, err := c.Do(tb.Context(), method, target, body)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, target, err)
	}
	if res.Status != status || res.Code != code {
		tb.Fatalf("%s %s: HTTP %d code %s, want HTTP %d code %s\n%s", method, target, res.Status, res.Code, status, code, res.Raw)
	}
	s.check(tb, method, target, res)
	return res
}

func oaPay(tb testing.TB, c *client.Client, res *client.Response) {
	tb.Helper()
	var data struct {
		PaymentURL string `json:"paymentUrl"`
	}
	if err := res.Decode(&data); err != nil {
		tb.Fatal(err)
	}
	pay, err := c.Pay(tb.Context(), data.PaymentURL, client.Card{CardNumber: "4111 1111 1111 1111", Expiry: "12/39", CVC: "123", Cardholder: "Ada"})
	if err != nil || pay.Result != "authorized" {
		tb.Fatalf("pay: %v %+v", err, pay)
	}
}

// TestOpenAPIDocumentFacts asserts the inconsistencies of the reference
// document that SPEC "Decisions" settles, so that a new version of the
// document that fixes (or changes) them is noticed.
func TestOpenAPIDocumentFacts(t *testing.T) {
	t.Parallel()
	s := oaLoadSpec(t)
	t.Run("document does not pass its own validation", func(t *testing.T) {
		// array_items (and the status tags/itemIds parameters) are arrays
		// without items: kin-openapi refuses the document, so the tests load
		// it without validating it.
		err := s.doc.Validate(t.Context())
		if err == nil || !strings.Contains(err.Error(), "must be non-null") {
			t.Fatalf("doc.Validate = %v; want the array-without-items error", err)
		}
	})
	t.Run("500 code is a number (Decision 1: code is a string everywhere)", func(t *testing.T) {
		for _, path := range []string{"/init", "/status/{cartId}", "/capture", "/cancel", "/refund", "/modify"} {
			for method, op := range s.doc.Paths.Find(path).Operations() {
				sch := oaSchema(t, op.Responses.Status(500))
				if ct := sch.Properties["code"].Value.Type; !ct.Is("number") {
					t.Errorf("%s %s 500: code type %v; the document used to say number", method, path, ct)
				}
				// What the server sends for 199000 (a string code) does
				// not validate against it: the conflict is real.
				body := map[string]any{"code": "199000", "message": "General system error", "debug": []any{}, "timestamp": "2025-04-23T18:25:43.511Z"}
				if err := sch.VisitJSON(body); err == nil {
					t.Errorf("%s %s 500: a string code validates; Decision 1 is moot", method, path)
				}
			}
		}
	})
	t.Run("status enum has no expired (Decision 6)", func(t *testing.T) {
		enum := s.doc.Components.Schemas["primitive_paymentStatus_full"].Value.Enum
		if slices.Contains(enum, any("expired")) {
			t.Fatalf("primitive_paymentStatus_full now lists expired: %v; nothing to report", enum)
		}
	})
	t.Run("paymentForm is required in init (Decision 2)", func(t *testing.T) {
		sch := s.doc.Paths.Find("/init").Post.RequestBody.Value.Content.Get("application/json").Schema.Value
		if !slices.Contains(sch.Required, "paymentForm") {
			t.Fatalf("init request no longer requires paymentForm: %v", sch.Required)
		}
	})
	t.Run("no 405 or 409 anywhere", func(t *testing.T) {
		for path, item := range s.doc.Paths.Map() {
			for method, op := range item.Operations() {
				for _, st := range []int{405, 409, 413} {
					if op.Responses.Status(st) != nil {
						t.Errorf("%s %s now declares %d: update oaGaps", method, path, st)
					}
				}
			}
		}
	})
	t.Run("data is only checked through $ref siblings", func(t *testing.T) {
		// Under 3.0 rules the properties written next to
		// $ref objectRes_data are ignored: the published document checks
		// nothing inside data. The "as documented" copy applies them.
		d := s.doc.Components.Responses["200_status"].Value.Content.Get("application/json").Schema.Value.Properties["data"].Value
		if len(d.Properties) != 0 {
			t.Fatalf("published 200_status data has properties %v; the $ref siblings now apply", d.Properties)
		}
		dd := oaProp(s.documented.Components.Responses["200_status"].Value.Content.Get("application/json").Schema.Value, "data")
		if oaProp(dd, "totalAmounts") == nil {
			t.Fatal("the documented copy lost data.totalAmounts")
		}
	})
}

// TestOpenAPIResponses drives every Merchant API operation to each status
// it can answer with and validates every real response against the
// reference document.
func TestOpenAPIResponses(t *testing.T) {
	t.Parallel()
	s := oaLoadSpec(t)
	srv := e2e.Start(t)
	merchantID, c := srv.Merchant("pegasus,naga,lich,wight,harpy", "--all-privileges")
	anon := srv.Client("")
	wrong := srv.Client("ock_test_not-a-real-key-at-all-0000000000000000")
	statusOnlyKey := strings.TrimSpace(srv.Admin("key", "create", "--merchant", merchantID, "--methods", "status"))

	const cartA = "oa-cart-main-0001"
	initA := `{"cartId":"` + cartA + `","customerId":"cust-oa-1","currency":"EUR",
		"scope":{"cart":{"paymentBox":{"capture":true,"captureSettings":{"autoAction":"cancel","value":172800}}},
		         "tags":[{"rampart":{"paymentBox":{"amountMode":"declared"}}},{"tower":{}}]},
		"items":[{"pegasus":{"amount":250,"tag":"rampart"}},
		         {"naga":{"amount":1100,"tag":"tower","quantity":2}},
		         {"lich":{"amount":300,"enableTimer":true,"timer":{"triggerEvent":"authorized","value":0}}},
		         {"wight":{"amount":400,"enableTimer":true,"timer":{"triggerEvent":"manual","value":3600}}}],
		"paymentForm":{"deliveryOption":"redirect","value":"https://shop.example/return"}}`

	var resA *client.Response
	t.Run("init", func(t *testing.T) {
		resA = s.call(t, c, "POST", "/init", initA, 201, "000000")
		if resA.CartID != cartA {
			t.Fatalf("cartId %q", resA.CartID)
		}
		// Info codes, debug off and on.
		s.call(t, c, "POST", "/init", `{"cartId":"oa-cart-info-0001","currency":"EUR","scope":{"tags":[{"unused":{}}]},"items":[{"pegasus":{"amount":5,"tag":"stray"}}]}`, 201, "000000")
		res := s.call(t, c, "POST", "/init", `{"cartId":"oa-cart-info-0002","currency":"EUR","debug":true,"scope":{"tags":[{"unused":{}}]},"items":[{"pegasus":{"amount":5,"tag":"stray"}}]}`, 201, "001001")
		if len(res.Debug) != 1 || res.Debug[0].Code != "001002" {
			t.Fatalf("debug %+v", res.Debug)
		}
		// 400s.
		s.call(t, c, "POST", "/init", `{"cartId":"oa-cart-bad-00001","currency":"ZZZ","items":[{"pegasus":{"amount":5}}]}`, 400, "123000")
		s.call(t, c, "POST", "/init", `{"cartId":"oa-cart-bad-00002","currency":"EUR"}`, 400, "122001")
		s.call(t, c, "POST", "/init", `{"currency":"EUR","items":[{"pegasus":{"amount":5}}]}`, 400, "121101")
		res = s.call(t, c, "POST", "/init", `{"cartId":"oa-cart-bad-00003","currency":"ZZZ","debug":true,"items":[{"pegasus":{"amount":0}}]}`, 400, "123000")
		if len(res.Debug) == 0 {
			t.Fatalf("debug on a failed request lists nothing: %s", res.Raw)
		}
		s.call(t, c, "POST", "/init", `{"cartId":"oa-cart-bad-00004","currency":"EUR","cartExpiry":10,"items":[{"pegasus":{"amount":5}}]}`, 400, "123003")
		// 401.
		s.call(t, anon, "POST", "/init", initA, 401, "111000")
		s.call(t, wrong, "POST", "/init", initA, 401, "111000")
		// 404: the document declares a 404 for /init only; an unknown
		// path next to it is the one way to get 199001 there.
		res = s.callNoCheck(t, c, "POST", "/init/extra", initA, 404, "199001")
		s.checkAs(t, "POST", "/init", res)
		// 409s (not declared by the document: asserted as gaps).
		s.call(t, c, "POST", "/init", initA, 409, "124101")
		s.call(t, c, "POST", "/init", `{"cartId":"oa-cart-bad-00005","currency":"EUR","items":[{"ghost":{"amount":5}}]}`, 409, "124103")
		s.call(t, c, "POST", "/init", `{"cartId":"oa-cart-bad-00006","customerId":"cust-oa-1","currency":"EUR","items":[{"lich":{"amount":5,"enableTimer":true,"timer":{"triggerEvent":"authorized","value":60}}}]}`, 409, "124102")
		// 405 with a key limited to status.
		s.call(t, srv.Client(statusOnlyKey), "POST", "/init", initA, 405, "131000")
		// 413.
		big := `{"cartId":"oa-cart-big-00001","currency":"EUR","items":[{"pegasus":{"amount":5}}],"pad":"` + strings.Repeat("x", 1<<20) + `"}`
		s.call(t, c, "POST", "/init", big, 413, "199003")
	})
	if resA == nil {
		t.FailNow()
	}

	t.Run("status before payment", func(t *testing.T) {
		base := "/status/" + cartA
		s.call(t, c, "GET", base, nil, 200, "000000")
		s.call(t, c, "GET", "/status/:"+cartA, nil, 200, "000000")
		s.call(t, c, "GET", base+"?debug=true", nil, 200, "000000")
		s.call(t, c, "GET", base+"?tags=rampart,nosuchtag", nil, 200, "001004")
		s.call(t, c, "GET", base+"?tags=rampart&tags=nosuchtag", nil, 200, "001004")
		s.call(t, c, "GET", base+"?itemIds=pegasus,ghost", nil, 200, "001005")
		s.call(t, c, "GET", base+"?itemIds=pegasus,lich&timerEnabled=true", nil, 200, "001006")
		s.call(t, c, "GET", base+"?itemIds=pegasus,lich&timerEnabled=false", nil, 200, "001007")
		res := s.call(t, c, "GET", base+"?itemIds=pegasus,ghost&tags=nosuchtag&debug=true", nil, 200, "001004")
		if len(res.Debug) != 1 || res.Debug[0].Code != "001005" {
			t.Fatalf("debug %+v", res.Debug)
		}
		s.call(t, c, "GET", "/status/oa-cart-nope-0001", nil, 400, "123001")
		s.call(t, c, "GET", "/status/short", nil, 400, "122001")
		s.call(t, c, "GET", base+"?color=red", nil, 400, "122001")
		s.call(t, c, "GET", base+"?timerEnabled=maybe", nil, 400, "122001")
		res = s.call(t, c, "GET", base+"?itemIds=ghost&debug=true", nil, 400, "121103")
		if len(res.Debug) != 1 || res.Debug[0].Code != "101005" {
			t.Fatalf("debug %+v", res.Debug)
		}
		s.call(t, anon, "GET", base, nil, 401, "111000")
		s.call(t, c, "GET", "/status", nil, 400, "121101")
	})

	oaPay(t, c, resA)

	t.Run("after payment", func(t *testing.T) {
		base := "/status/" + cartA
		s.call(t, c, "GET", base, nil, 200, "000000")
		s.call(t, c, "GET", base+"?timerEnabled=true", nil, 200, "000000")

		// modify: 200 (partial release, timer start) and 400s.
		res := s.call(t, c, "PATCH", "/modify", `{"cartId":"`+cartA+`","modifyBox":{"items":[{"pegasus":{"modifyAmount":{"amount":150,"amountMode":"declared"}}}]}}`, 200, "000000")
		if string(res.Data) != `{"modifiedAmounts":["pegasus"],"modifiedTimers":[]}` {
			t.Fatalf("modify data %s", res.Data)
		}
		s.call(t, c, "PATCH", "/modify", `{"cartId":"`+cartA+`","modifyBox":{"items":[{"wight":{"modifyTimer":{"manualAction":"start"}}}]}}`, 200, "000000")
		s.call(t, c, "PATCH", "/modify", `{"cartId":"`+cartA+`","debug":true,"modifyBox":{"items":[{"wight":{"modifyTimer":{"manualAction":"start"}}}]}}`, 200, "001008")
		s.call(t, c, "PATCH", "/modify", `{"cartId":"`+cartA+`","modifyBox":{"items":[{"pegasus":{"modifyAmount":{"amount":200}}}]}}`, 400, "124112")
		s.call(t, c, "PATCH", "/modify", `{"cartId":"`+cartA+`","modifyBox":{"items":[{"ghost":{"tag":"x"}}]}}`, 400, "124005")
		s.call(t, c, "PATCH", "/modify", `{"modifyBox":{}}`, 400, "121101")
		s.call(t, c, "PATCH", "/modify", `{"cartId":"oa-cart-nope-0001","modifyBox":{}}`, 400, "123001")
		s.call(t, anon, "PATCH", "/modify", `{"cartId":"`+cartA+`"}`, 401, "111000")
		s.call(t, c, "GET", base, nil, 200, "000000")

		// capture / cancel: 200 and 400s.
		res = s.call(t, c, "POST", "/capture", `{"cartId":"`+cartA+`","filterBox":{"tags":["rampart"]}}`, 200, "000000")
		if string(res.Data) != `{"itemIds":["pegasus"]}` {
			t.Fatalf("capture data %s", res.Data)
		}
		res = s.call(t, c, "POST", "/cancel", `{"cartId":"`+cartA+`","filterBox":{"itemIds":["naga"]}}`, 200, "000000")
		if string(res.Data) != `{"itemIds":["naga"]}` {
			t.Fatalf("cancel data %s", res.Data)
		}
		s.call(t, c, "POST", "/capture", `{"cartId":"`+cartA+`","filterBox":{"itemIds":["naga"]}}`, 400, "124114")
		s.call(t, c, "POST", "/cancel", `{"cartId":"`+cartA+`","filterBox":{"itemIds":["pegasus"]}}`, 400, "124114")
		s.call(t, c, "POST", "/capture", `{"cartId":"`+cartA+`","filterBox":{"tags":["nosuchtag"]}}`, 400, "124004")
		s.call(t, c, "POST", "/cancel", `{"cartId":"`+cartA+`","filterBox":{"itemIds":["ghost"]}}`, 400, "124005")
		s.call(t, c, "POST", "/cancel", `{"cartId":"oa-cart-nope-0001"}`, 400, "123001")
		s.call(t, c, "POST", "/capture", `{}`, 400, "121101")
		s.call(t, anon, "POST", "/capture", `{"cartId":"`+cartA+`"}`, 401, "111000")
		s.call(t, anon, "POST", "/cancel", `{"cartId":"`+cartA+`"}`, 401, "111000")
		s.call(t, srv.Client(statusOnlyKey), "POST", "/capture", `{"cartId":"`+cartA+`"}`, 405, "131000")

		// Partial refund through modify on a completed item, then refund.
		s.call(t, c, "PATCH", "/modify", `{"cartId":"`+cartA+`","modifyBox":{"items":[{"pegasus":{"modifyAmount":{"amount":100}}}]}}`, 200, "000000")
		s.call(t, c, "GET", base, nil, 200, "000000")
		res = s.call(t, c, "POST", "/refund", `{"cartId":"`+cartA+`","filterBox":{"itemIds":["pegasus"]}}`, 200, "000000")
		if string(res.Data) != `{"itemIds":["pegasus"]}` {
			t.Fatalf("refund data %s", res.Data)
		}
		s.call(t, c, "POST", "/refund", `{"cartId":"`+cartA+`","filterBox":{"itemIds":["naga"]}}`, 400, "124115")
		s.call(t, c, "POST", "/refund", `{"cartId":"oa-cart-nope-0001"}`, 400, "123001")
		s.call(t, anon, "POST", "/refund", `{"cartId":"`+cartA+`"}`, 401, "111000")
		s.call(t, c, "POST", "/capture", `{"cartId":"`+cartA+`","debug":true}`, 200, "000000")
		s.call(t, c, "GET", base+"?debug=true", nil, 200, "000000")
	})

	t.Run("wrong method and unknown path", func(t *testing.T) {
		s.call(t, c, "GET", "/capture", nil, 405, "131000")
		s.call(t, c, "PUT", "/modify", `{"cartId":"`+cartA+`"}`, 405, "131000")
		s.call(t, c, "DELETE", "/init", nil, 405, "131000")
		s.call(t, c, "GET", "/nope", nil, 404, "199001")
	})

	t.Run("every gap and conflict was exercised", func(t *testing.T) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range oaConflicts {
			if !s.conflict[c.op+" "+c.pointer] {
				t.Errorf("known conflict %s %s (%s) never showed up: remove it or add the request that shows it", c.op, c.pointer, c.why)
			}
		}
		for _, g := range oaGaps {
			if !s.gapSeen[fmt.Sprintf("%s %s %d", g.method, g.path, g.status)] {
				t.Errorf("gap %s %s %d (%s) was never exercised", g.method, g.path, g.status, g.why)
			}
		}
	})
}

// callNoCheck is call without the document check, for responses validated
// against another operation with checkAs.
func (s *oaSpec) callNoCheck(tb testing.TB, c *client.Client, method, target string, body any, status int, code string) *client.Response {
	tb.Helper()
	res, err := c.Do(tb.Context(), method, target, body)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, target, err)
	}
	if res.Status != status || res.Code != code {
		tb.Fatalf("%s %s: HTTP %d code %s, want HTTP %d code %s\n%s", method, target, res.Status, res.Code, status, code, res.Raw)
	}
	return res
}
