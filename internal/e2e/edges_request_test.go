package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// Integrator edges of issue #12, through the real binary: empty filter
// lists, timer blocks that no enabled timer uses, the ISO 4217 codes that
// are not money (XXX, XTS), and the HTTP status /codes gives the 101xxx
// codes. Helpers of this file are prefixed with "edg"; it also uses the
// "cod" helpers of codes_test.go.

const edgItems = "pegasus,naga,lich"

// edgSnapshot is a cart's status data without its countdowns (remainingSecs
// moves with the clock), for "nothing changed" comparisons.
func edgSnapshot(tb testing.TB, c *client.Client, cartID string) any {
	tb.Helper()
	res := codDo(tb, c, http.MethodGet, "/status/"+cartID, "", false)
	if res.Status != http.StatusOK {
		tb.Fatalf("status %s: HTTP %d %s", cartID, res.Status, res.Raw)
	}
	var data any
	if err := json.Unmarshal(res.Data, &data); err != nil {
		tb.Fatalf("status %s: %v", cartID, err)
	}
	var strip func(v any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			delete(v, "remainingSecs")
			for _, x := range v {
				strip(x)
			}
		case []any:
			for _, x := range v {
				strip(x)
			}
		}
	}
	strip(data)
	return data
}

// edgStatuses returns each item's payment status, in cart order, as
// "itemId:status".
func edgStatuses(tb testing.TB, c *client.Client, cartID string) string {
	tb.Helper()
	res := codDo(tb, c, http.MethodGet, "/status/"+cartID, "", false)
	var data struct {
		Items []map[string]struct {
			PaymentStatus string `json:"paymentStatus"`
		} `json:"items"`
	}
	if err := res.Decode(&data); err != nil {
		tb.Fatalf("status %s: %v %s", cartID, err, res.Raw)
	}
	var out []string
	for _, it := range data.Items {
		for id, v := range it {
			out = append(out, id+":"+v.PaymentStatus)
		}
	}
	return strings.Join(out, ",")
}

// edgMissing checks that no cart cartID exists (the refused init left
// nothing behind).
func edgMissing(tb testing.TB, c *client.Client, cartID string) {
	tb.Helper()
	res := codDo(tb, c, http.MethodGet, "/status/"+cartID, "", false)
	if res.Status != http.StatusBadRequest || res.Code != "123001" {
		tb.Errorf("status of refused cart %s: HTTP %d %s, want 123001", cartID, res.Status, res.Raw)
	}
}

func TestEdgesRequest(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant(edgItems, "--all-privileges")

	t.Run("empty filter lists are refused and change nothing", func(t *testing.T) {
		t.Parallel()
		bad := func(code, msg string, debug ...client.DebugEntry) codWant {
			return codWant{http.StatusBadRequest, code, msg, debug}
		}
		// The status query is the reference: an empty itemIds is 122001.
		openCart := func(t *testing.T, completed bool) string {
			id, url := codOpen(t, c, `"currency":"EUR","items":[{"pegasus":{"amount":250,"tag":"rampart"}},{"naga":{"amount":100}},{"lich":{"amount":50,"tag":"rampart"}}]`)
			codPay(t, c, url)
			if completed {
				codMust(t, c, http.MethodPost, "/capture", `{"cartId":"`+id+`"}`)
			}
			return id
		}
		for _, debug := range []bool{false, true} {
			ref := openCart(t, false)
			codCheck(t, codDo(t, c, http.MethodGet, "/status/"+ref+"?itemIds=", "", debug), bad("122001", "itemIds has invalid format"), debug)
			codCheck(t, codDo(t, c, http.MethodGet, "/status/"+ref+"?tags=", "", debug), bad("122001", "tags has invalid format"), debug)
		}
		for _, ep := range []string{"capture", "cancel", "refund"} {
			t.Run(ep, func(t *testing.T) {
				t.Parallel()
				id := openCart(t, ep == "refund")
				before := edgSnapshot(t, c, id)
				statuses := edgStatuses(t, c, id)
				for _, tc := range []struct {
					box   string
					want  codWant
					debug bool
				}{
					{`{"itemIds":[]}`, bad("122001", "filterBox.itemIds has invalid format"), false},
					{`{"tags":[]}`, bad("122001", "filterBox.tags has invalid format"), false},
					{`{"itemIds":[],"timerEnabled":false}`, bad("122001", "filterBox.itemIds has invalid format"), false},
					// A non-empty list next to an empty one does not save it.
					{`{"tags":["rampart"],"itemIds":[]}`, bad("122001", "filterBox.itemIds has invalid format"), false},
					{`{"tags":[],"itemIds":[]}`, bad("122001", "filterBox.tags has invalid format",
						codE("122001", "filterBox.itemIds has invalid format")), true},
				} {
					body := fmt.Sprintf(`{"cartId":%q,"filterBox":%s}`, id, tc.box)
					res := codDo(t, c, http.MethodPost, "/"+ep, body, tc.debug)
					codCheck(t, res, tc.want, tc.debug)
					if res.Data != nil {
						t.Errorf("%s %s: a refusal carries data %s", ep, tc.box, res.Data)
					}
					if after := edgSnapshot(t, c, id); !reflect.DeepEqual(after, before) {
						t.Fatalf("%s %s changed the cart:\nbefore %v\n after %v", ep, tc.box, before, after)
					}
				}
				if got := edgStatuses(t, c, id); got != statuses {
					t.Errorf("statuses %s, want %s", got, statuses)
				}
				// The cart was actionable all along: a real filter acts on
				// its items only.
				res := codMust(t, c, http.MethodPost, "/"+ep, `{"cartId":"`+id+`","filterBox":{"itemIds":["naga"]}}`)
				if string(res.Data) != `{"itemIds":["naga"]}` {
					t.Errorf("%s naga: data %s", ep, res.Data)
				}
			})
		}
	})

	t.Run("timer blocks without an enabled timer are refused", func(t *testing.T) {
		t.Parallel()
		const timer = `"timer":{"triggerEvent":"authorized","value":600}`
		bad := func(code, msg string, debug ...client.DebugEntry) codWant {
			return codWant{http.StatusBadRequest, code, msg, debug}
		}
		for _, tc := range []struct {
			name, rest string
			want       codWant
			debug      bool
		}{
			{"item", `"items":[{"pegasus":{"amount":250,` + timer + `}},{"naga":{"amount":100}}]`,
				bad("123002", "timer has invalid value for item(s) [pegasus]"), false},
			{"items listed together", `"items":[{"pegasus":{"amount":250,` + timer + `}},{"naga":{"amount":100,"enableTimer":false,` + timer + `}}]`,
				bad("123002", "timer has invalid value for item(s) [pegasus, naga]"), false},
			{"item enableTimer false", `"items":[{"pegasus":{"amount":250,"enableTimer":false,` + timer + `}}]`,
				bad("123002", "timer has invalid value for item(s) [pegasus]"), false},
			{"tag", `"scope":{"tags":[{"rampart":{` + timer + `}}]},"items":[{"pegasus":{"amount":250,"tag":"rampart"}}]`,
				bad("123003", "scope.tags.rampart.timer has invalid value"), false},
			{"tag enableTimer false", `"scope":{"tags":[{"rampart":{"enableTimer":false,` + timer + `}}]},"items":[{"pegasus":{"amount":250,"tag":"rampart","enableTimer":true}}]`,
				bad("123003", "scope.tags.rampart.timer has invalid value"), false},
			{"cart scope", `"scope":{"cart":{` + timer + `}},"items":[{"pegasus":{"amount":250}},{"naga":{"amount":100}}]`,
				bad("123003", "scope.cart.timer has invalid value"), false},
			{"cart scope enableTimer false", `"scope":{"cart":{"enableTimer":false,` + timer + `}},"items":[{"pegasus":{"amount":250}}]`,
				bad("123003", "scope.cart.timer has invalid value"), false},
			{"every level, debug on", `"scope":{"cart":{` + timer + `},"tags":[{"rampart":{` + timer + `}}]},"items":[{"pegasus":{"amount":250,"tag":"rampart",` + timer + `}}]`,
				bad("123003", "scope.cart.timer has invalid value",
					codE("123003", "scope.tags.rampart.timer has invalid value"),
					codE("123002", "timer has invalid value for item(s) [pegasus]")), true},
		} {
			id := codID("cart")
			body := fmt.Sprintf(`{"cartId":%q,"customerId":%q,"currency":"EUR",%s}`, id, codID("cust"), tc.rest)
			res := codDo(t, c, http.MethodPost, "/init", body, tc.debug)
			t.Run(tc.name, func(t *testing.T) {
				codCheck(t, res, tc.want, tc.debug)
				edgMissing(t, c, id)
			})
		}

		// Inherited timer blocks are used: the cart is created with the
		// timer where it is enabled, and only there.
		id := codID("cart")
		codOpenID(t, c, id, fmt.Sprintf(`"customerId":%q,"currency":"EUR","scope":{"cart":{%s}},"items":[{"pegasus":{"amount":250,"enableTimer":true}},{"naga":{"amount":100}}]`, codID("cust"), timer))
		res := codDo(t, c, http.MethodGet, "/status/"+id, "", false)
		var data struct {
			Items []map[string]struct {
				TimerSnapshot *struct {
					TriggerEvent string `json:"triggerEvent"`
					TimerStatus  string `json:"timerStatus"`
				} `json:"timerSnapshot"`
			} `json:"items"`
		}
		if err := res.Decode(&data); err != nil || len(data.Items) != 2 {
			t.Fatalf("status: %v %s", err, res.Raw)
		}
		if ts := data.Items[0]["pegasus"].TimerSnapshot; ts == nil || ts.TriggerEvent != "authorized" || ts.TimerStatus != "pending" {
			t.Errorf("pegasus: timerSnapshot %+v, want the cart's pending timer", ts)
		}
		if ts := data.Items[1]["naga"].TimerSnapshot; ts != nil {
			t.Errorf("naga: timerSnapshot %+v, want none", ts)
		}

		// modify: enableTimer false removes the timer, a modifyTimer next to
		// it would be dropped; a modifyTimer on an item without a timer and
		// without enableTimer true has nothing to act on.
		before := edgSnapshot(t, c, id)
		for _, tc := range []struct {
			item string
			want codWant
		}{
			{`{"pegasus":{"enableTimer":false,"modifyTimer":{"timerValue":60}}}`, bad("123002", "modifyTimer has invalid value for item(s) [pegasus]")},
			{`{"pegasus":{"enableTimer":false,"modifyTimer":{"manualAction":"stop"}}}`, bad("123002", "modifyTimer has invalid value for item(s) [pegasus]")},
			{`{"naga":{"modifyTimer":{"triggerEvent":"authorized","timerValue":60}}}`, bad("123002", "modifyTimer has invalid value for item(s) [naga]")},
		} {
			res := codDo(t, c, http.MethodPatch, "/modify", fmt.Sprintf(`{"cartId":%q,"modifyBox":{"items":[%s]}}`, id, tc.item), false)
			codCheck(t, res, tc.want, false)
		}
		if after := edgSnapshot(t, c, id); !reflect.DeepEqual(after, before) {
			t.Errorf("refused modifies changed the cart:\nbefore %v\n after %v", before, after)
		}
		// enableTimer false alone still removes the timer.
		res = codMust(t, c, http.MethodPatch, "/modify", fmt.Sprintf(`{"cartId":%q,"modifyBox":{"items":[{"pegasus":{"enableTimer":false}}]}}`, id))
		if string(res.Data) != `{"modifiedAmounts":[],"modifiedTimers":["pegasus"]}` {
			t.Errorf("remove the timer: data %s", res.Data)
		}
	})

	t.Run("XXX and XTS are not payable currencies", func(t *testing.T) {
		t.Parallel()
		for _, cur := range []string{"XXX", "XTS", "xxx"} {
			for _, debug := range []bool{false, true} {
				id := codID("cart")
				res := codDo(t, c, http.MethodPost, "/init", fmt.Sprintf(`{"cartId":%q,"currency":%q,"items":[{"pegasus":{"amount":250}}]}`, id, cur), debug)
				codCheck(t, res, codWant{http.StatusBadRequest, "123000", "Unknown currency", nil}, debug)
				edgMissing(t, c, id)
			}
		}
		// Precious metals and other units of account stay payable.
		for _, cur := range []string{"XAU", "XDR", "EUR"} {
			codOpenID(t, c, codID("cart"), fmt.Sprintf(`"currency":%q,"items":[{"pegasus":{"amount":250}}]`, cur))
		}
	})

	t.Run("codes gives 101xxx no HTTP status of their own", func(t *testing.T) {
		t.Parallel()
		res := codDo(t, srv.Client(""), http.MethodGet, "/codes", "", false)
		var data struct {
			Codes []struct {
				Code       string          `json:"code"`
				HTTPStatus json.RawMessage `json:"httpStatus"`
			} `json:"codes"`
		}
		if err := res.Decode(&data); err != nil {
			t.Fatalf("GET /codes: %v %s", err, res.Raw)
		}
		got := map[string]string{}
		for _, e := range data.Codes {
			got[e.Code] = string(e.HTTPStatus)
		}
		for _, code := range []string{"101001", "101002", "101004", "101005", "101006", "101007", "101008", "101009", "101010"} {
			if got[code] != "null" {
				t.Errorf("/codes %s: httpStatus %s, want null", code, got[code])
			}
		}
		for code, want := range map[string]string{"000000": "200", "001001": "200", "001005": "200", "121103": "400", "124101": "409"} {
			if got[code] != want {
				t.Errorf("/codes %s: httpStatus %s, want %s", code, got[code], want)
			}
		}
		// Why null: a 101xxx code travels in the debug of failed answers of
		// different statuses.
		id, _ := codOpen(t, c, `"currency":"EUR","items":[{"pegasus":{"amount":250}}]`)
		codCheck(t, codDo(t, c, http.MethodGet, "/status/"+id+"?itemIds=ghost", "", true),
			codWant{http.StatusBadRequest, "121103", "No itemIds matching the request", []client.DebugEntry{codE("101005", "Requested cart does not contain itemId(s) [ghost]")}}, true)
		codCheck(t, codDo(t, c, http.MethodPost, "/init", fmt.Sprintf(`{"cartId":%q,"currency":"EUR","scope":{"tags":[{"keep":{}}]},"items":[{"pegasus":{"amount":250}}]}`, id), true),
			codWant{http.StatusConflict, "124101", "cartId already exists", []client.DebugEntry{codE("101001", "Tag(s) [keep] defined but not used")}}, true)
	})
}
