package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/jsontree"
)

// Decoder edges of issue #12: empty filter lists, timer blocks no enabled
// timer uses, XXX and XTS, and the HTTP status /codes gives 101xxx codes.

func edgeRoot(t *testing.T, body string) *jsontree.Value {
	t.Helper()
	root, err := jsontree.Parse([]byte(body))
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	return root
}

// edgeMessages renders the problems as "code message".
func edgeMessages(sp omnicart.StagedProblems) []string {
	out := []string{}
	for _, p := range sp.Ordered() {
		out = append(out, string(p.Code)+" "+p.Message())
	}
	return out
}

func TestFilterBoxEmptyLists(t *testing.T) {
	for _, tc := range []struct {
		box  string
		want []string
	}{
		{`{"itemIds":[]}`, []string{"122001 filterBox.itemIds has invalid format"}},
		{`{"tags":[]}`, []string{"122001 filterBox.tags has invalid format"}},
		{`{"tags":[],"itemIds":[],"timerEnabled":true}`, []string{"122001 filterBox.tags has invalid format", "122001 filterBox.itemIds has invalid format"}},
		{`{"tags":[],"itemIds":["pegasus"]}`, []string{"122001 filterBox.tags has invalid format"}},
		// No list at all still means the whole cart.
		{`{}`, []string{}},
		{`{"timerEnabled":false}`, []string{}},
		{`{"itemIds":["pegasus"],"tags":["rampart"]}`, []string{}},
	} {
		rd := &reader{}
		f := rd.filterBox(edgeRoot(t, `{"cartId":"cart-edge-0001","filterBox":`+tc.box+`}`))
		if got := edgeMessages(rd.sp); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("filterBox %s: problems %q, want %q", tc.box, got, tc.want)
		}
		if len(tc.want) > 0 && (f.Tags != nil && len(f.Tags) == 0 || f.ItemIDs != nil && len(f.ItemIDs) == 0) {
			t.Errorf("filterBox %s: an empty list reached the filter: %+v", tc.box, f)
		}
	}
}

func TestInitTimerBlockWithoutEnabledTimer(t *testing.T) {
	const timer = `"timer":{"triggerEvent":"initiated","value":60}`
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"item timer without enableTimer", `"items":[{"pegasus":{"amount":1,` + timer + `}},{"naga":{"amount":1}},{"lich":{"amount":1,` + timer + `}}]`,
			[]string{"123002 timer has invalid value for item(s) [pegasus, lich]"}},
		{"item timer with enableTimer false", `"items":[{"pegasus":{"amount":1,"enableTimer":false,` + timer + `}}]`,
			[]string{"123002 timer has invalid value for item(s) [pegasus]"}},
		{"item timer, its tag disables", `"scope":{"tags":[{"t":{"enableTimer":false}}]},"items":[{"pegasus":{"amount":1,"tag":"t",` + timer + `}}]`,
			[]string{"123002 timer has invalid value for item(s) [pegasus]"}},
		{"empty timer object counts", `"items":[{"pegasus":{"amount":1,"timer":{}}}]`,
			[]string{"123002 timer has invalid value for item(s) [pegasus]"}},
		{"cart timer without enableTimer", `"scope":{"cart":{` + timer + `}},"items":[{"pegasus":{"amount":1}}]`,
			[]string{"123003 scope.cart.timer has invalid value"}},
		{"cart timer with enableTimer false", `"scope":{"cart":{"enableTimer":false,` + timer + `}},"items":[{"pegasus":{"amount":1,"enableTimer":true}}]`,
			[]string{"123003 scope.cart.timer has invalid value"}},
		{"tag timer without enableTimer", `"scope":{"tags":[{"t":{` + timer + `}}]},"items":[{"pegasus":{"amount":1,"tag":"t"}}]`,
			[]string{"123003 scope.tags.t.timer has invalid value"}},
		{"tag timer with enableTimer false", `"scope":{"tags":[{"t":{"enableTimer":false,` + timer + `}}]},"items":[{"pegasus":{"amount":1,"tag":"t","enableTimer":true}}]`,
			[]string{"123003 scope.tags.t.timer has invalid value"}},
		{"tag timer, only other tags' items enabled", `"scope":{"tags":[{"t":{` + timer + `}},{"u":{"enableTimer":true}}]},"items":[{"pegasus":{"amount":1,"tag":"t"}},{"naga":{"amount":1,"tag":"u"}}]`,
			[]string{"123003 scope.tags.t.timer has invalid value"}},
		{"unused tag with a timer and no enableTimer", `"scope":{"tags":[{"t":{` + timer + `}}]},"items":[{"pegasus":{"amount":1}}]`,
			[]string{"123003 scope.tags.t.timer has invalid value"}},
		{"every level", `"scope":{"cart":{` + timer + `},"tags":[{"t":{` + timer + `}}]},"items":[{"pegasus":{"amount":1,"tag":"t",` + timer + `}}]`,
			[]string{"123003 scope.cart.timer has invalid value", "123003 scope.tags.t.timer has invalid value", "123002 timer has invalid value for item(s) [pegasus]"}},

		// Inherited timers are used: nothing to refuse.
		{"item timer enabled", `"items":[{"pegasus":{"amount":1,"enableTimer":true,` + timer + `}}]`, nil},
		{"cart timer, an item enables", `"scope":{"cart":{` + timer + `}},"items":[{"pegasus":{"amount":1,"enableTimer":true}},{"naga":{"amount":1}}]`, nil},
		{"cart timer, a tag enables", `"scope":{"cart":{` + timer + `},"tags":[{"t":{"enableTimer":true}}]},"items":[{"pegasus":{"amount":1,"tag":"t"}}]`, nil},
		{"tag timer, the cart enables", `"scope":{"cart":{"enableTimer":true},"tags":[{"t":{` + timer + `}}]},"items":[{"pegasus":{"amount":1,"tag":"t"}}]`, nil},
		{"tag timer, its item enables", `"scope":{"tags":[{"t":{` + timer + `}}]},"items":[{"pegasus":{"amount":1,"tag":"t","enableTimer":true}}]`, nil},
		{"item timer, the cart enables", `"scope":{"cart":{"enableTimer":true}},"items":[{"pegasus":{"amount":1,` + timer + `}}]`, nil},
		{"item timer, its tag enables", `"scope":{"tags":[{"t":{"enableTimer":true}}]},"items":[{"pegasus":{"amount":1,"tag":"t",` + timer + `}}]`, nil},
		{"cart enables, an item opts out", `"scope":{"cart":{"enableTimer":true,` + timer + `}},"items":[{"pegasus":{"amount":1,"enableTimer":false}}]`, nil},
		{"enableTimer false without a timer", `"items":[{"pegasus":{"amount":1,"enableTimer":false}}]`, nil},

		// A malformed block or enableTimer is reported once, as a format.
		{"malformed timer", `"items":[{"pegasus":{"amount":1,"timer":"soon"}}]`,
			[]string{"122002 timer has invalid format for item(s) [pegasus]"}},
		{"malformed enableTimer", `"items":[{"pegasus":{"amount":1,"enableTimer":"yes",` + timer + `}}]`,
			[]string{"122002 enableTimer has invalid format for item(s) [pegasus]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, rd := parseInit(edgeRoot(t, `{"cartId":"cart-edge-0001","customerId":"c1","currency":"EUR",`+tc.body+`}`))
			got := []string{}
			for _, m := range edgeMessages(rd.sp) {
				if !strings.HasPrefix(m, "0") { // infos (001001) are not this test's
					got = append(got, m)
				}
			}
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("problems %q, want %q", got, want)
			}
		})
	}
}

func TestModifyEnableTimerFalseWithModifyTimer(t *testing.T) {
	for _, tc := range []struct {
		item string
		want []string
	}{
		{`{"pegasus":{"enableTimer":false,"modifyTimer":{"timerValue":60}}}`, []string{"123002 modifyTimer has invalid value for item(s) [pegasus]"}},
		{`{"pegasus":{"enableTimer":false,"modifyTimer":{}}}`, []string{"123002 modifyTimer has invalid value for item(s) [pegasus]"}},
		{`{"pegasus":{"enableTimer":false}}`, []string{}},
		{`{"pegasus":{"enableTimer":true,"modifyTimer":{"triggerEvent":"manual","timerValue":60}}}`, []string{}},
		{`{"pegasus":{"modifyTimer":{"manualAction":"start"}}}`, []string{}},
	} {
		_, _, rd := parseModify(edgeRoot(t, `{"cartId":"cart-edge-0001","modifyBox":{"items":[`+tc.item+`]}}`))
		if got := edgeMessages(rd.sp); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("modify %s: problems %q, want %q", tc.item, got, tc.want)
		}
	}
}

func TestInitRefusesNonMoneyCurrencies(t *testing.T) {
	for _, cur := range []string{"XXX", "XTS"} {
		spec, rd := parseInit(edgeRoot(t, `{"cartId":"cart-edge-0001","currency":"`+cur+`","items":[{"pegasus":{"amount":1}}]}`))
		if got := edgeMessages(rd.sp); !reflect.DeepEqual(got, []string{"123000 Unknown currency"}) || spec.Currency != "" {
			t.Errorf("currency %s: problems %q, spec currency %q; want 123000 only", cur, got, spec.Currency)
		}
	}
	for _, cur := range []string{"XAU", "EUR", "XDR"} {
		spec, rd := parseInit(edgeRoot(t, `{"cartId":"cart-edge-0001","currency":"`+cur+`","items":[{"pegasus":{"amount":1}}]}`))
		if got := edgeMessages(rd.sp); len(got) != 0 || spec.Currency != cur {
			t.Errorf("currency %s: problems %q, spec currency %q", cur, got, spec.Currency)
		}
	}
}

func TestCodesHTTPStatus(t *testing.T) {
	rec := httptest.NewRecorder()
	(&Server{}).handleCodes(rec, httptest.NewRequest(http.MethodGet, "/codes", nil), &reqCtx{received: time.Now()})
	var body struct {
		Data struct {
			Codes []struct {
				Code       string          `json:"code"`
				HTTPStatus json.RawMessage `json:"httpStatus"`
			} `json:"codes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Data.Codes) == 0 {
		t.Fatalf("GET /codes: %v %s", err, rec.Body)
	}
	for _, c := range body.Data.Codes {
		st := string(c.HTTPStatus)
		switch {
		case strings.HasPrefix(c.Code, "101"):
			if st != "null" {
				t.Errorf("%s: httpStatus %s, want null (listed in failed answers only)", c.Code, st)
			}
		case st == "null" || st == "0" || st == "":
			t.Errorf("%s: httpStatus %q, want a status", c.Code, st)
		case c.Code == "000000" || strings.HasPrefix(c.Code, "001"):
			if st != "200" {
				t.Errorf("%s: httpStatus %s, want 200", c.Code, st)
			}
		}
	}
}
