package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	"github.com/omnicart/omnicart/internal/e2e"
)

// ctListCarts is the GET /carts part of TestOpenAPIContract: every answer
// of the listing (pages, filters, cursors, each refusal) is validated
// against /openapi.yaml, the parameter examples of the document must be
// accepted, and what the pages hold is checked against /status.
func ctListCarts(t *testing.T, srv *e2e.Server, doc *openapi3.T, router routers.Router) {
	merchantID, c := srv.Merchant("pegasus,naga")
	key := c.APIKey
	_, other := srv.Merchant("pegasus")
	statusOnly := strings.TrimSpace(srv.Admin("key", "create", "--merchant", merchantID, "--methods", "status"))
	initOnly := strings.TrimSpace(srv.Admin("key", "create", "--merchant", merchantID, "--methods", "init"))
	api := &ownAPI{base: srv.URL, router: router, seen: map[string]bool{}}

	// Four carts, oldest first: EUR, USD with a customer, EUR paid, EUR.
	ids := []string{"ct-list-0001", "ct-list-0002", "ct-list-0003", "ct-list-0004"}
	for i, id := range ids {
		cur, cust := "EUR", ""
		if i == 1 {
			cur, cust = "USD", `"customerId":"cust-ct-list",`
		}
		res := api.call(t, http.MethodPost, "/init", key, `{"cartId":"`+id+`",`+cust+`"currency":"`+cur+`","items":[{"pegasus":{"amount":250}},{"naga":{"amount":100}}]}`, 201, "000000")
		if i == 2 {
			if pr := ownDo(t, srv.URL, http.MethodPost, ownPayPath(t, res), "", ownCard); pr.status != http.StatusOK {
				t.Fatalf("pay %s: HTTP %d\n%s", id, pr.status, pr.raw)
			}
		}
	}
	api.call(t, http.MethodPost, "/init", other.APIKey, `{"cartId":"ct-list-other1","currency":"EUR","items":[{"pegasus":{"amount":5}}]}`, 201, "000000")

	type page struct {
		Carts []json.RawMessage `json:"carts"`
		Next  *string           `json:"next"`
	}
	list := func(query, k string) ([]string, *string, []json.RawMessage) {
		t.Helper()
		res := api.call(t, http.MethodGet, "/carts"+query, k, "", 200, "000000")
		var env struct {
			Data page `json:"data"`
		}
		if err := json.Unmarshal(res.raw, &env); err != nil || env.Data.Carts == nil {
			t.Fatalf("GET /carts%s: %v\n%s", query, err, res.raw)
		}
		var got []string
		for _, raw := range env.Data.Carts {
			var v struct {
				CartID string `json:"cartId"`
			}
			_ = json.Unmarshal(raw, &v)
			got = append(got, v.CartID)
		}
		return got, env.Data.Next, env.Data.Carts
	}
	want := func(query string, wantIDs ...string) {
		t.Helper()
		got, _, _ := list(query, key)
		if strings.Join(got, ",") != strings.Join(wantIDs, ",") {
			t.Errorf("GET /carts%s: %v, want %v", query, got, wantIDs)
		}
	}

	// Every cart, newest first; the other merchant's never.
	got, next, carts := list("", key)
	if strings.Join(got, ",") != "ct-list-0004,ct-list-0003,ct-list-0002,ct-list-0001" || next != nil {
		t.Fatalf("GET /carts: %v next %v", got, next)
	}
	// A listed cart is what /status says of it.
	st := api.call(t, http.MethodGet, "/status/ct-list-0002", key, "", 200, "000000")
	var stEnv struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(st.raw, &stEnv); err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	_ = json.Compact(&a, stEnv.Data)
	_ = json.Compact(&b, carts[2])
	if a.String() != b.String() {
		t.Errorf("listed cart differs from its status:\n%s\n%s", b.String(), a.String())
	}

	// Keyset pages: limit 3, then the rest; limit 2 twice, then an empty
	// page after a full one.
	got, next, _ = list("?limit=3", key)
	if strings.Join(got, ",") != "ct-list-0004,ct-list-0003,ct-list-0002" || next == nil {
		t.Fatalf("page 1 of 3: %v next %v", got, next)
	}
	got, next2, _ := list("?limit=3&after="+url.QueryEscape(*next), key)
	if strings.Join(got, ",") != "ct-list-0001" || next2 != nil {
		t.Errorf("page 2 of 3: %v next %v", got, next2)
	}
	// A cart opened while paging does not shift the pages.
	_, next, _ = list("?limit=2", key)
	api.call(t, http.MethodPost, "/init", key, `{"cartId":"ct-list-0005","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`, 201, "000000")
	got, next, _ = list("?limit=2&after="+*next, key)
	if strings.Join(got, ",") != "ct-list-0002,ct-list-0001" || next == nil {
		t.Fatalf("page 2 of 2: %v next %v", got, next)
	}
	if got, next, _ = list("?limit=2&after="+*next, key); len(got) != 0 || next != nil {
		t.Errorf("page after the last full page: %v next %v", got, next)
	}

	// Filters, alone and together.
	want("?currency=USD", "ct-list-0002")
	want("?currency=usd", "ct-list-0002")
	want("?currency=GBP")
	want("?customerId=cust-ct-list", "ct-list-0002")
	want("?customerId=cust-ct-list&currency=EUR")
	want("?cartId=ct-list-0003", "ct-list-0003")
	want("?cartId=ct-list-other1")
	want("?status=authorized", "ct-list-0003")
	want("?status=initiated&currency=EUR", "ct-list-0005", "ct-list-0004", "ct-list-0001")
	want("?status=captured")
	hourAgo := url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339))
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Format(time.DateOnly)
	want("?from="+hourAgo+"&to="+tomorrow+"&limit=1", "ct-list-0005")
	want("?from=" + tomorrow)
	want("?to=" + url.QueryEscape(time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)))
	want("?from="+hourAgo+"&cartId=ct-list-0001", "ct-list-0001")
	want("?unknownParameter=1&cartId=ct-list-0001", "ct-list-0001")

	// The document's own parameter examples form a valid request.
	op := doc.Paths.Find("/carts").GetOperation(http.MethodGet)
	if op == nil || op.OperationID != "listCarts" {
		t.Fatalf("/openapi.yaml has no GET /carts listCarts")
	}
	q := url.Values{}
	for _, p := range op.Parameters {
		if p.Value.Example == nil {
			t.Errorf("parameter %s of listCarts has no example", p.Value.Name)
			continue
		}
		q.Set(p.Value.Name, fmt.Sprint(p.Value.Example))
	}
	list("?"+q.Encode(), key)

	// Refusals: each bad parameter is 400 122001 naming it.
	for _, c := range []struct{ query, name string }{
		{"status=bogus", "status"}, {"status=ongoing", "status"}, {"status=AUTHORIZED", "status"},
		{"after=0", "after"}, {"after=-4", "after"}, {"after=next", "after"},
		{"from=yesterday", "from"}, {"from=2026-13-01", "from"}, {"to=2026-01-02T25:00:00Z", "to"},
		{"limit=0", "limit"}, {"limit=101", "limit"}, {"limit=ten", "limit"},
		{"status=bogus&limit=0", "status"},
	} {
		res := api.call(t, http.MethodGet, "/carts?"+c.query, key, "", 400, "122001")
		if !bytes.Contains(res.raw, []byte(`"message":"`+c.name+` has invalid format"`)) {
			t.Errorf("GET /carts?%s does not name %s:\n%s", c.query, c.name, res.raw)
		}
	}
	api.call(t, http.MethodGet, "/carts", "", "", 401, "111000")
	api.call(t, http.MethodGet, "/carts", "ock_test_"+strings.Repeat("x", 43), "", 401, "111000")
	api.call(t, http.MethodGet, "/carts", initOnly, "", 405, "131000")
	if got, _, _ := list("?limit=1", statusOnly); len(got) != 1 {
		t.Errorf("a status-only key lists %v", got)
	}
	// Another method on /carts is no operation of the document: 405 131000.
	if res := ownDo(t, srv.URL, http.MethodPost, "/carts", key, "{}"); res.status != 405 || !bytes.Contains(res.raw, []byte(`"code":"131000"`)) {
		t.Errorf("POST /carts: HTTP %d\n%s", res.status, res.raw)
	}
	for _, s := range []string{"GET /carts OK", "GET /carts Bad Request", "GET /carts Unauthorized", "GET /carts Method Not Allowed"} {
		if !api.seen[s] {
			t.Errorf("no %s answer was validated", s)
		}
	}
}
