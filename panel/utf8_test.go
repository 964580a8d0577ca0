package panel

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/omnicart/omnicart"
)

// TestInvalidUTF8Input: text that is not valid UTF-8 in a path, a query or
// a form never reaches the database (PostgreSQL refuses it with SQLSTATE
// 22021, which was a 500): the pages answer not found, a refused filter or
// nothing found, on both engines.
func TestInvalidUTF8Input(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			tp := newTestPanelOn(t, omnicart.RoleOwner, engine)
			tp.initCart("cart-utf8-0001")
			for _, c := range []struct {
				path   string
				status int
				want   string
			}{
				{"/panel/carts/%FF", http.StatusNotFound, "This merchant has no cart with that cartId."},
				{"/panel/carts/cart-%FF-0001", http.StatusNotFound, "This merchant has no cart with that cartId."},
				{"/panel/carts/%FF/confirm?action=capture", http.StatusNotFound, "This merchant has no cart with that cartId."},
				{"/panel/carts?q=%FF", http.StatusBadRequest, "The filter q has an invalid value."},
				{"/panel/carts?customerId=%FF", http.StatusBadRequest, "The filter customerId has an invalid value."},
				{"/panel/carts?cartId=cart-%FF-0001", http.StatusBadRequest, "The filter cartId has an invalid value."},
				{"/panel/carts?currency=%FF", http.StatusBadRequest, "The filter currency has an invalid value."},
				{"/panel/carts?q=cus-nobody", http.StatusOK, "Carts"},
				{"/panel/catalog?find=%FF,pegasus", http.StatusOK, "Not in the catalog: <code>\uFFFD</code>"},
				{"/panel/catalog?find=pegasus%20x%FFy", http.StatusOK, "Pegasus"},
				{"/panel/callbacks?before=%FF", http.StatusBadRequest, "Refused filter: 122001 before has invalid format"},
				{"/panel/callbacks?before=evt_nothing", http.StatusOK, "Callbacks"},
				{"/panel/callbacks/endpoints/%FF", http.StatusNotFound, "no callback endpoint or event with that id"},
				{"/panel/callbacks/events/%FF", http.StatusNotFound, "no callback endpoint or event with that id"},
				{"/panel/callbacks/events/%FF/resend", http.StatusNotFound, "no callback endpoint or event with that id"},
			} {
				res := tp.get(c.path)
				if res.status != c.status {
					t.Errorf("GET %s: %d, want %d\n%s", c.path, res.status, c.status, res.body)
					continue
				}
				tp.wantBody(res, c.want)
			}
			for _, c := range []struct {
				path   string
				form   url.Values
				status int
			}{
				{"/panel/carts/%FF/act", url.Values{"action": {"capture"}}, http.StatusNotFound},
				{"/panel/carts/cart-utf8-0001/act", url.Values{"action": {"capture"}, "tag": {"\xff"}}, http.StatusUnprocessableEntity},
				{"/panel/carts/cart-utf8-0001/act", url.Values{"action": {"refund"}, "item": {"\xff"}}, http.StatusUnprocessableEntity},
				{"/panel/carts/cart-utf8-0001/act", url.Values{"action": {"amount"}, "item": {"\xff"}, "amount": {"1"}}, http.StatusUnprocessableEntity},
				{"/panel/carts/cart-utf8-0001/act", url.Values{"action": {"start"}, "item": {"\xff"}}, http.StatusUnprocessableEntity},
				{"/panel/callbacks/endpoints", url.Values{"url": {"https://hooks.example.com/\xff"}, "events": {"payment.status_changed"}}, http.StatusUnprocessableEntity},
				{"/panel/callbacks/endpoints/%FF", url.Values{"url": {"https://hooks.example.com/x"}}, http.StatusNotFound},
				{"/panel/callbacks/events/evt_nothing/resend", url.Values{"endpointId": {"\xff"}}, http.StatusNotFound},
			} {
				res := tp.post(c.path, c.form)
				if res.status != c.status {
					t.Errorf("POST %s %v: %d, want %d\n%s", c.path, c.form, res.status, c.status, res.body)
				}
			}
			// The refusals were recorded (as valid text).
			if e := tp.lastAudit(); e.Action != "callback.endpoint.add.refused" {
				t.Errorf("last audit entry %+v", e)
			}
		})
	}
}

// TestCartQueryFromInvalidUTF8: the listing filters the Merchant API's GET
// /carts shares with the Panel name a filter that is not valid UTF-8 as a
// bad value (the API answers its format error).
func TestCartQueryFromInvalidUTF8(t *testing.T) {
	for _, name := range []string{"cartId", "customerId", "currency"} {
		if _, bad := CartQueryFrom("mer_x", url.Values{name: {"a\xffb"}}); bad != name {
			t.Errorf("%s not valid UTF-8: bad %q", name, bad)
		}
	}
	if q, bad := CartQueryFrom("mer_x", url.Values{"customerId": {"cus-é"}, "cartId": {"cart-00001"}}); bad != "" || q.CustomerID != "cus-é" {
		t.Errorf("valid filters: %+v %q", q, bad)
	}
}
