package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// Settings inheritance, amount math and amount modification through the
// real binary. Helpers of this file are prefixed with "amt"; it also uses
// the "cod" helpers of codes_test.go.

type amtAmounts struct {
	Initiated int64 `json:"initiated"`
	Captured  int64 `json:"captured"`
	Refunded  int64 `json:"refunded"`
	Current   int64 `json:"current"`
}

type amtItem struct {
	Status   string          `json:"paymentStatus"`
	Amounts  amtAmounts      `json:"itemAmounts"`
	Snapshot json.RawMessage `json:"paymentSnapshot"`
	Capture  *struct {
		AutoAction    string `json:"autoAction"`
		RemainingSecs int64  `json:"remainingSecs"`
	} `json:"captureSnapshot"`
}

type amtStatus struct {
	Total amtAmounts
	Items map[string]amtItem
	Order []string
}

// amtRead reads a cart's status.
func amtRead(tb testing.TB, c *client.Client, cartID string) *amtStatus {
	tb.Helper()
	res := codDo(tb, c, http.MethodGet, "/status/"+cartID, "", false)
	if res.Status != http.StatusOK || res.Code != "000000" {
		tb.Fatalf("status %s: HTTP %d %s", cartID, res.Status, res.Raw)
	}
	var data struct {
		TotalAmounts amtAmounts           `json:"totalAmounts"`
		Items        []map[string]amtItem `json:"items"`
	}
	if err := res.Decode(&data); err != nil {
		tb.Fatal(err)
	}
	st := &amtStatus{Total: data.TotalAmounts, Items: map[string]amtItem{}}
	for _, m := range data.Items {
		for id, it := range m {
			st.Items[id] = it
			st.Order = append(st.Order, id)
		}
	}
	return st
}

// amtWant is what an item should show; zero fields are not checked
// (snapshot "" and autoAction "" included).
type amtWant struct {
	status   string
	amounts  amtAmounts
	snapshot string
	// autoAction "-" means no captureSnapshot.
	autoAction string
}

func amtExpect(tb testing.TB, st *amtStatus, id string, w amtWant) {
	tb.Helper()
	it, ok := st.Items[id]
	if !ok {
		tb.Errorf("%s: not in status (items %v)", id, st.Order)
		return
	}
	if w.status != "" && it.Status != w.status {
		tb.Errorf("%s: paymentStatus %s, want %s", id, it.Status, w.status)
	}
	if it.Amounts != w.amounts {
		tb.Errorf("%s: itemAmounts %+v, want %+v", id, it.Amounts, w.amounts)
	}
	if w.snapshot != "" && string(it.Snapshot) != w.snapshot {
		tb.Errorf("%s: paymentSnapshot %s, want %s", id, it.Snapshot, w.snapshot)
	}
	switch {
	case w.autoAction == "-" && it.Capture != nil:
		tb.Errorf("%s: captureSnapshot %+v, want none", id, *it.Capture)
	case w.autoAction != "" && w.autoAction != "-" && (it.Capture == nil || it.Capture.AutoAction != w.autoAction):
		tb.Errorf("%s: captureSnapshot %+v, want autoAction %s", id, it.Capture, w.autoAction)
	}
}

func amtSnap(amount int64, mode, quantity, modifier string) string {
	return fmt.Sprintf(`{"amount":%d,"amountMode":%q,"quantity":%s,"amountModifier":%s}`, amount, mode, quantity, modifier)
}

// TestAmountInheritance checks that every payment setting is inherited cart
// → tag → item field by field, written in paymentBox or directly on the
// level object, through the paymentSnapshot, the capture snapshot and what
// happens after payment (one-step completes; capture windows fire their
// autoAction after their own value).
func TestAmountInheritance(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant(codItems, "--all-privileges")
	_, plain := srv.Merchant(codItems)

	id, url := codOpen(t, c, `"currency":"EUR",`+
		`"scope":{"cart":{"paymentBox":{"amountMode":"calculated","amountModifier":0.5,"capture":true,"captureSettings":{"autoAction":"complete","value":900}}},`+
		`"tags":[{"tbox":{"paymentBox":{"amountModifier":0.25,"captureSettings":{"value":1200}}}},`+
		`{"tdirect":{"amountMode":"declared","capture":false}},`+
		`{"tcs":{"captureSettings":{"autoAction":"cancel"}}}]},`+
		`"items":[`+
		`{"pegasus":{"amount":1000,"quantity":2,"tag":"tbox"}},`+
		`{"naga":{"amount":1000,"quantity":2,"tag":"tbox","amountModifier":0.75,"paymentBox":{"captureSettings":{"value":1500}}}},`+
		`{"mage":{"amount":300,"quantity":3,"tag":"tdirect"}},`+
		`{"lich":{"amount":100,"tag":"tdirect","paymentBox":{"capture":true,"amountMode":"calculated"}}},`+
		`{"wight":{"amount":400,"tag":"tcs"}},`+
		`{"genie":{"amount":10,"quantity":0.3}}]`)

	ini := func(a int64) amtAmounts { return amtAmounts{Initiated: a, Current: a} }
	st := amtRead(t, c, id)
	if got := strings.Join(st.Order, ","); got != "pegasus,naga,mage,lich,wight,genie" {
		t.Errorf("status order %s", got)
	}
	// pegasus: mode from the cart, modifier from its tag (paymentBox).
	amtExpect(t, st, "pegasus", amtWant{"initiated", ini(500), amtSnap(1000, "calculated", "2", "0.25"), "-"})
	// naga: its own modifier (direct) over the tag's.
	amtExpect(t, st, "naga", amtWant{"initiated", ini(1500), amtSnap(1000, "calculated", "2", "0.75"), "-"})
	// mage: declared from its tag (direct): quantity and modifier shown, not applied.
	amtExpect(t, st, "mage", amtWant{"initiated", ini(300), amtSnap(300, "declared", "3", "0.5"), "-"})
	// lich: its own mode (paymentBox) over its tag's, modifier from the cart.
	amtExpect(t, st, "lich", amtWant{"initiated", ini(50), amtSnap(100, "calculated", "1", "0.5"), "-"})
	amtExpect(t, st, "wight", amtWant{"initiated", ini(200), amtSnap(400, "calculated", "1", "0.5"), "-"})
	// genie: everything from the cart; 10 × 0.3 × 0.5 = 1.5 rounds to 2.
	amtExpect(t, st, "genie", amtWant{"initiated", ini(2), amtSnap(10, "calculated", "0.3", "0.5"), "-"})
	if st.Total != ini(2552) {
		t.Errorf("totalAmounts %+v, want 2552 initiated", st.Total)
	}

	codPay(t, c, url)
	auth := func(a int64) amtAmounts { return amtAmounts{Initiated: a, Current: a} }
	done := func(a int64) amtAmounts { return amtAmounts{Initiated: a, Captured: a, Current: a} }
	st = amtRead(t, c, id)
	amtExpect(t, st, "pegasus", amtWant{"authorized", auth(500), "", "complete"})
	amtExpect(t, st, "naga", amtWant{"authorized", auth(1500), "", "complete"})
	// capture:false from the tag (direct): one-step, completed at once.
	amtExpect(t, st, "mage", amtWant{"completed", done(300), "", "-"})
	// capture:true on the item (paymentBox) beats the tag's false.
	amtExpect(t, st, "lich", amtWant{"authorized", auth(50), "", "complete"})
	// autoAction cancel from the tag (direct captureSettings) over the cart's complete.
	amtExpect(t, st, "wight", amtWant{"authorized", auth(200), "", "cancel"})
	amtExpect(t, st, "genie", amtWant{"authorized", auth(2), "", "complete"})
	window := map[string]int64{"pegasus": 1200, "naga": 1500, "lich": 900, "wight": 900, "genie": 900}
	for item, w := range window {
		if cs := st.Items[item].Capture; cs == nil || cs.RemainingSecs > w || cs.RemainingSecs <= w-30 {
			t.Errorf("%s: captureSnapshot %+v, want remainingSecs just under %d", item, cs, w)
		}
	}

	// The capture windows fire after their own value: cart 900, tag 1200,
	// item 1500. Each step stays 30 s clear of the deadlines.
	codAdvance(t, c, 870)
	st = amtRead(t, c, id)
	for _, item := range []string{"pegasus", "naga", "lich", "wight", "genie"} {
		if s := st.Items[item].Status; s != "authorized" {
			t.Errorf("after 870 s: %s is %s, want authorized", item, s)
		}
	}
	codAdvance(t, c, 60) // 930 s
	st = amtRead(t, c, id)
	amtExpect(t, st, "lich", amtWant{"completed", done(50), "", "-"})
	amtExpect(t, st, "wight", amtWant{"canceled", amtAmounts{Initiated: 200}, "", "-"})
	amtExpect(t, st, "genie", amtWant{"completed", done(2), "", "-"})
	amtExpect(t, st, "pegasus", amtWant{"authorized", auth(500), "", "complete"})
	amtExpect(t, st, "naga", amtWant{"authorized", auth(1500), "", "complete"})
	codAdvance(t, c, 300) // 1230 s
	st = amtRead(t, c, id)
	amtExpect(t, st, "pegasus", amtWant{"completed", done(500), "", "-"})
	amtExpect(t, st, "naga", amtWant{"authorized", auth(1500), "", "complete"})
	codAdvance(t, c, 300) // 1530 s
	st = amtRead(t, c, id)
	amtExpect(t, st, "naga", amtWant{"completed", done(1500), "", "-"})

	t.Run("defaults", func(t *testing.T) {
		id, url := codOpen(t, plain, `"currency":"EUR","items":[{"pegasus":{"amount":250}}]`)
		st := amtRead(t, plain, id)
		amtExpect(t, st, "pegasus", amtWant{"initiated", ini(250), amtSnap(250, "declared", "1", "1"), "-"})
		codPay(t, plain, url)
		st = amtRead(t, plain, id)
		amtExpect(t, st, "pegasus", amtWant{"authorized", auth(250), "", "cancel"})
		if cs := st.Items["pegasus"].Capture; cs == nil || cs.RemainingSecs > 172800 || cs.RemainingSecs <= 172800-30 {
			t.Errorf("default capture window: %+v, want just under 172800 s", cs)
		}
	})
}

// TestPaymentSettingsBothWays checks that payment settings given in
// paymentBox and directly on the level object are equivalent, that the same
// value both ways is accepted, and that different values are 123003 (cart
// and tag) or 123002 (item).
func TestPaymentSettingsBothWays(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant(codItems, "--all-privileges")

	all := `"amountMode":"calculated","amountModifier":0.5,"capture":false,"captureSettings":{"autoAction":"complete","value":900}`
	same := `"amountMode":"calculated","amountModifier":0.500,"capture":false,"captureSettings":{"autoAction":"complete","value":900}`
	forms := map[string]string{
		"paymentBox": `"paymentBox":{` + all + `}`,
		"direct":     all,
		"both":       all + `,"paymentBox":{` + same + `}`,
	}
	levels := map[string]func(settings string) string{
		"cart": func(s string) string {
			return `"scope":{"cart":{` + s + `}},"items":[{"pegasus":{"amount":250,"quantity":2}}]`
		},
		"tag": func(s string) string {
			return `"scope":{"tags":[{"t":{` + s + `}}]},"items":[{"pegasus":{"amount":250,"quantity":2,"tag":"t"}}]`
		},
		"item": func(s string) string { return `"items":[{"pegasus":{"amount":250,"quantity":2,` + s + `}}]` },
	}
	for level, body := range levels {
		for form, settings := range forms {
			t.Run("accepted/"+level+"/"+form, func(t *testing.T) {
				t.Parallel()
				id, url := codOpen(t, c, `"currency":"EUR",`+body(settings))
				st := amtRead(t, c, id)
				amtExpect(t, st, "pegasus", amtWant{"initiated", amtAmounts{Initiated: 250, Current: 250}, amtSnap(250, "calculated", "2", "0.5"), "-"})
				codPay(t, c, url)
				st = amtRead(t, c, id)
				// capture:false took effect: one-step, captured = amount.
				amtExpect(t, st, "pegasus", amtWant{"completed", amtAmounts{Initiated: 250, Captured: 250, Current: 250}, "", "-"})
			})
		}
	}

	fields := []struct{ path, direct, boxed string }{
		{"amountMode", `"amountMode":"declared"`, `"amountMode":"calculated"`},
		{"amountModifier", `"amountModifier":0.5`, `"amountModifier":0.25`},
		{"capture", `"capture":true`, `"capture":false`},
		{"captureSettings.autoAction", `"captureSettings":{"autoAction":"cancel"}`, `"captureSettings":{"autoAction":"complete"}`},
		{"captureSettings.value", `"captureSettings":{"value":900}`, `"captureSettings":{"value":1200}`},
	}
	var cases []codCase
	for _, f := range fields {
		settings := f.direct + `,"paymentBox":{` + f.boxed + `}`
		cases = append(cases,
			codCase{name: "cart " + f.path, run: codInit(c, `{"cartId":"%s","currency":"EUR",`+levels["cart"](settings)+`}`),
				on: codWant{http.StatusBadRequest, "123003", "scope.cart." + f.path + " has invalid value", nil}},
			codCase{name: "tag " + f.path, run: codInit(c, `{"cartId":"%s","currency":"EUR",`+levels["tag"](settings)+`}`),
				on: codWant{http.StatusBadRequest, "123003", "scope.tags.t." + f.path + " has invalid value", nil}},
			codCase{name: "item " + f.path, run: codInit(c, `{"cartId":"%s","currency":"EUR",`+levels["item"](settings)+`}`),
				on: codWant{http.StatusBadRequest, "123002", f.path + " has invalid value for item(s) [pegasus]", nil}},
		)
	}
	cases = append(cases, codCase{name: "every field of every level at once",
		run: codInit(c, `{"cartId":"%s","currency":"EUR","scope":{"cart":{"capture":true,"paymentBox":{"capture":false}},`+
			`"tags":[{"t":{"amountModifier":1,"paymentBox":{"amountModifier":2}}}]},`+
			`"items":[{"pegasus":{"amount":1,"tag":"t","amountMode":"declared","paymentBox":{"amountMode":"calculated"}}},`+
			`{"naga":{"amount":1,"tag":"t","captureSettings":{"value":900},"paymentBox":{"captureSettings":{"value":901}}}}]}`),
		on: codWant{http.StatusBadRequest, "123003", "scope.cart.capture has invalid value", []client.DebugEntry{
			codE("123003", "scope.tags.t.amountModifier has invalid value"),
			codE("123002", "amountMode has invalid value for item(s) [pegasus]"),
			codE("123002", "captureSettings.value has invalid value for item(s) [naga]"),
		}}})
	t.Run("conflicting", func(t *testing.T) { codRun(t, cases) })
}

// TestAmountMath checks the full amount of declared and calculated items,
// exact decimal echo, rounding and the limits.
func TestAmountMath(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant(codItems, "--all-privileges")

	t.Run("calculated and declared", func(t *testing.T) {
		t.Parallel()
		id, url := codOpen(t, c, `"currency":"EUR","items":[`+
			`{"pegasus":{"amount":5000,"quantity":4,"amountMode":"calculated","amountModifier":0.7}},`+
			`{"naga":{"amount":150,"quantity":18,"paymentBox":{"amountMode":"calculated"}}},`+
			`{"mage":{"amount":300,"quantity":3,"amountModifier":0.5}},`+
			`{"lich":{"amount":7,"quantity":0.123456,"amountModifier":1.5,"amountMode":"calculated"}},`+
			`{"wight":{"amount":999999999982999}}]`) // the cart total is exactly 10^15, the largest allowed
		res := codDo(t, c, http.MethodGet, "/status/"+id, "", false)
		for _, want := range []string{
			`"paymentSnapshot":{"amount":5000,"amountMode":"calculated","quantity":4,"amountModifier":0.7}`,
			`"paymentSnapshot":{"amount":150,"amountMode":"calculated","quantity":18,"amountModifier":1}`,
			`"paymentSnapshot":{"amount":300,"amountMode":"declared","quantity":3,"amountModifier":0.5}`,
			`"paymentSnapshot":{"amount":7,"amountMode":"calculated","quantity":0.123456,"amountModifier":1.5}`,
			`"paymentSnapshot":{"amount":999999999982999,"amountMode":"declared","quantity":1,"amountModifier":1}`,
		} {
			if !strings.Contains(string(res.Raw), want) {
				t.Errorf("status does not contain %s:\n%s", want, res.Raw)
			}
		}
		st := amtRead(t, c, id)
		ini := func(a int64) amtAmounts { return amtAmounts{Initiated: a, Current: a} }
		amtExpect(t, st, "pegasus", amtWant{amounts: ini(14000)}) // 5000 × 4 × 0.7
		amtExpect(t, st, "naga", amtWant{amounts: ini(2700)})     // 150 × 18
		amtExpect(t, st, "mage", amtWant{amounts: ini(300)})      // declared: quantity and modifier ignored
		amtExpect(t, st, "lich", amtWant{amounts: ini(1)})        // 7 × 0.123456 × 1.5 = 1.296288
		amtExpect(t, st, "wight", amtWant{amounts: ini(999_999_999_982_999)})
		if st.Total != ini(1_000_000_000_000_000) {
			t.Errorf("totalAmounts %+v", st.Total)
		}
		codPay(t, c, url)
		codMust(t, c, http.MethodPost, "/capture", `{"cartId":"`+id+`","filterBox":{"itemIds":["pegasus","naga","mage"]}}`)
		st = amtRead(t, c, id)
		for item, a := range map[string]int64{"pegasus": 14000, "naga": 2700, "mage": 300} {
			amtExpect(t, st, item, amtWant{status: "completed", amounts: amtAmounts{Initiated: a, Captured: a, Current: a}})
		}
	})

	t.Run("rounding half away from zero", func(t *testing.T) {
		t.Parallel()
		id, _ := codOpen(t, c, `"currency":"EUR","scope":{"cart":{"amountMode":"calculated"}},"items":[`+
			`{"pegasus":{"amount":3,"quantity":0.5}},{"naga":{"amount":5,"quantity":0.3}},{"mage":{"amount":1,"quantity":0.01,"amountModifier":50}},`+
			`{"lich":{"amount":333,"quantity":0.4505,"amountModifier":0.01}}]`)
		st := amtRead(t, c, id)
		for item, a := range map[string]int64{"pegasus": 2, "naga": 2, "mage": 1, "lich": 2} { // 1.5, 1.5, 0.5, 1.500165
			amtExpect(t, st, item, amtWant{amounts: amtAmounts{Initiated: a, Current: a}})
		}
	})

	bad := func(code, msg string, debug ...client.DebugEntry) codWant {
		return codWant{http.StatusBadRequest, code, msg, debug}
	}
	codRun(t, []codCase{
		{name: "calculated amount below 1", run: codInit(c, `{"cartId":"%s","currency":"EUR","items":[{"pegasus":{"amount":5}},`+
			`{"naga":{"amount":3,"quantity":0.1,"amountMode":"calculated"}},{"mage":{"amount":1,"quantity":0.7,"amountModifier":0.7,"amountMode":"calculated"}}]}`),
			on: bad("123002", "amount has invalid value for item(s) [naga, mage]")},
		{name: "declared ignores a modifier that would make it below 1", run: codInit(c, `{"cartId":"%s","currency":"EUR","items":[{"pegasus":{"amount":1,"quantity":0.01,"amountModifier":0.01}}]}`),
			on: codWant{http.StatusCreated, "000000", "Success", nil}},
		{name: "amount above 10^15", run: codInit(c, `{"cartId":"%s","currency":"EUR","items":[{"pegasus":{"amount":1000000000000001}},{"naga":{"amount":99999999999999999999}}]}`),
			on: bad("123002", "amount has invalid value for item(s) [pegasus, naga]")},
		{name: "calculated amount above 10^15", run: codInit(c, `{"cartId":"%s","currency":"EUR","items":[{"pegasus":{"amount":1000000000000000,"quantity":1.000001,"amountMode":"calculated"}},`+
			`{"naga":{"amount":500000000000000,"quantity":2,"amountMode":"calculated"}}]}`),
			on: bad("123002", "amount has invalid value for item(s) [pegasus]")},
		{name: "seven fractional digits", run: codInit(c, `{"cartId":"%s","currency":"EUR","items":[{"pegasus":{"amount":5,"quantity":0.1234567}},{"naga":{"amount":5,"amountModifier":1.0000001}}]}`),
			on: bad("123002", "quantity has invalid value for item(s) [pegasus]", codE("123002", "amountModifier has invalid value for item(s) [naga]"))},
		{name: "quantity and modifier below 0.01", run: codInit(c, `{"cartId":"%s","currency":"EUR","items":[{"pegasus":{"amount":5,"quantity":0.009}},{"naga":{"amount":5,"amountModifier":0}}]}`),
			on: bad("123002", "quantity has invalid value for item(s) [pegasus]", codE("123002", "amountModifier has invalid value for item(s) [naga]"))},
		{name: "amount must be an integer", run: codInit(c, `{"cartId":"%s","currency":"EUR","items":[{"pegasus":{"amount":2.5}},{"naga":{"amount":1e3}}]}`),
			on: bad("122002", "amount has invalid format for item(s) [pegasus, naga]")},
	})
}

// TestAmountModify checks amount changes through /modify in each status:
// repricing before payment, partial release of a hold, partial refund, and
// the refusals.
func TestAmountModify(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant(codItems, "--all-privileges")
	id, url := codOpen(t, c, `"currency":"EUR","items":[`+
		`{"pegasus":{"amount":5000,"quantity":4,"amountMode":"calculated","amountModifier":0.7}},`+
		`{"naga":{"amount":250,"tag":"rampart"}},`+
		`{"mage":{"amount":300,"capture":false}},`+
		`{"lich":{"amount":80,"quantity":2,"amountMode":"calculated","tag":"rampart"}}]`)
	modify := func(items string) *client.Response {
		t.Helper()
		return codMust(t, c, http.MethodPatch, "/modify", `{"cartId":"`+id+`","modifyBox":{"items":[`+items+`]}}`)
	}
	refused := func(name, box string, w codWant) {
		t.Helper()
		res := codDo(t, c, http.MethodPatch, "/modify", `{"cartId":"`+id+`","modifyBox":`+box+`}`, true)
		t.Run(name, func(t *testing.T) { codCheck(t, res, w, true) })
	}
	bad := func(code, msg string) codWant { return codWant{http.StatusBadRequest, code, msg, nil} }
	a := func(initiated, captured, refunded, current int64) amtAmounts {
		return amtAmounts{initiated, captured, refunded, current}
	}

	// Repricing before payment: the initiated amount stays, current drops.
	res := modify(`{"pegasus":{"modifyAmount":{"quantity":3}}},{"naga":{"modifyAmount":{"amount":200}}}`)
	if string(res.Data) != `{"modifiedAmounts":["pegasus","naga"],"modifiedTimers":[]}` {
		t.Errorf("modify data %s", res.Data)
	}
	res = codMust(t, c, http.MethodPatch, "/modify", `{"cartId":"`+id+`","modifyBox":{"scope":{"tags":[{"rampart":{"modifyAmount":{"amountModifier":0.5}}}]}}}`)
	if string(res.Data) != `{"modifiedAmounts":["naga","lich"],"modifiedTimers":[]}` {
		t.Errorf("tag-level modify data %s", res.Data)
	}
	st := amtRead(t, c, id)
	amtExpect(t, st, "pegasus", amtWant{"initiated", a(14000, 0, 0, 10500), amtSnap(5000, "calculated", "3", "0.7"), ""})
	amtExpect(t, st, "naga", amtWant{"initiated", a(250, 0, 0, 200), amtSnap(200, "declared", "1", "0.5"), ""}) // declared: modifier kept, price not
	amtExpect(t, st, "lich", amtWant{"initiated", a(160, 0, 0, 80), amtSnap(80, "calculated", "2", "0.5"), ""})
	if st.Total != a(14710, 0, 0, 11080) {
		t.Errorf("totalAmounts %+v", st.Total)
	}
	refused("raising the amount", `{"items":[{"naga":{"modifyAmount":{"amount":201}}}]}`,
		bad("124112", "Modified item amount exceeds previous state for item(s): [naga]"))
	refused("raising the quantity", `{"items":[{"pegasus":{"modifyAmount":{"quantity":3.000001}}}]}`,
		bad("124113", "Modified quantity exceeds previous state for item(s): [pegasus]"))
	refused("a cart modifier that raises the total", `{"scope":{"cart":{"modifyAmount":{"amountModifier":0.8}}}}`,
		bad("124111", "Modified cart amount exceeds previous state"))

	// Paying authorizes the current amounts; one-step mage completes.
	codPay(t, c, url)
	st = amtRead(t, c, id)
	amtExpect(t, st, "pegasus", amtWant{"authorized", a(14000, 0, 0, 10500), "", ""})
	amtExpect(t, st, "mage", amtWant{"completed", a(300, 300, 0, 300), "", ""})

	// Authorized: partial release; the status stays and capture captures
	// the reduced amount.
	modify(`{"pegasus":{"modifyAmount":{"quantity":2}}}`)
	st = amtRead(t, c, id)
	amtExpect(t, st, "pegasus", amtWant{"authorized", a(14000, 0, 0, 7000), amtSnap(5000, "calculated", "2", "0.7"), "cancel"})
	refused("raising an authorized amount", `{"items":[{"pegasus":{"modifyAmount":{"amountModifier":0.71}}}]}`,
		bad("124112", "Modified item amount exceeds previous state for item(s): [pegasus]"))
	codMust(t, c, http.MethodPost, "/capture", `{"cartId":"`+id+`","filterBox":{"itemIds":["pegasus"]}}`)
	st = amtRead(t, c, id)
	amtExpect(t, st, "pegasus", amtWant{"completed", a(14000, 7000, 0, 7000), "", "-"})

	// Completed: partial refund; the status stays.
	modify(`{"mage":{"modifyAmount":{"amount":100}}},{"pegasus":{"modifyAmount":{"amountModifier":0.35}}}`)
	st = amtRead(t, c, id)
	amtExpect(t, st, "mage", amtWant{"completed", a(300, 300, 200, 100), amtSnap(100, "declared", "1", "1"), ""})
	amtExpect(t, st, "pegasus", amtWant{"completed", a(14000, 7000, 3500, 3500), amtSnap(5000, "calculated", "2", "0.35"), ""})
	refused("raising a completed amount", `{"items":[{"mage":{"modifyAmount":{"amount":101}}}]}`,
		bad("124112", "Modified item amount exceeds previous state for item(s): [mage]"))
	codMust(t, c, http.MethodPost, "/refund", `{"cartId":"`+id+`","filterBox":{"itemIds":["mage"]}}`)
	st = amtRead(t, c, id)
	amtExpect(t, st, "mage", amtWant{"refunded", a(300, 300, 300, 0), "", ""})

	// Canceled and refunded items take no amount changes.
	codMust(t, c, http.MethodPost, "/cancel", `{"cartId":"`+id+`","filterBox":{"itemIds":["naga"]}}`)
	refused("in canceled status", `{"items":[{"naga":{"modifyAmount":{"amount":100}}}]}`,
		bad("123002", "modifyAmount has invalid value for item(s) [naga]"))
	refused("in refunded status", `{"items":[{"mage":{"modifyAmount":{"amount":50}}}]}`,
		bad("123002", "modifyAmount has invalid value for item(s) [mage]"))
	st = amtRead(t, c, id)
	amtExpect(t, st, "naga", amtWant{"canceled", a(250, 0, 0, 0), amtSnap(200, "declared", "1", "0.5"), ""})
	if st.Total != a(14710, 7300, 3800, 3580) {
		t.Errorf("final totalAmounts %+v", st.Total)
	}
}
