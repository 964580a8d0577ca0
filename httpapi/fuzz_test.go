package httpapi

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/jsontree"
)

// fuzzNow is the fixed clock of the fuzz targets.
var fuzzNow = time.Date(2025, 4, 23, 18, 25, 43, 0, time.UTC)

// checkProblems fails when a problem has a code missing from the catalogue
// or a message with an unfilled placeholder.
func checkProblems(t *testing.T, where string, ps omnicart.Problems) {
	t.Helper()
	known := map[omnicart.Code]bool{}
	for _, e := range omnicart.Catalog() {
		known[e.Code] = true
	}
	for _, p := range ps {
		if !known[p.Code] {
			t.Fatalf("%s: code %q is not in the catalogue (%+v)", where, p.Code, p)
		}
		msg := p.Message()
		for _, ph := range []string{"{0}", "{1}", "{2}", "[...]"} {
			if strings.Contains(msg, ph) {
				t.Fatalf("%s: %s message %q has an unfilled %s (%+v)", where, p.Code, msg, ph, p)
			}
		}
		if msg == "General system error" && p.Code != omnicart.CodeSystem {
			t.Fatalf("%s: %s renders as the general system error (%+v)", where, p.Code, p)
		}
	}
}

// checkError checks the problems of a domain error; any other error is a
// failure (it would be a 199000).
func checkError(t *testing.T, where string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var de *omnicart.Error
	if !errors.As(err, &de) || len(de.Problems) == 0 {
		t.Fatalf("%s: not a domain error with problems: %v", where, err)
	}
	checkProblems(t, where, de.Problems)
}

func fuzzParse(data []byte) (*jsontree.Value, bool) {
	root, err := jsontree.Parse(data)
	if err != nil {
		if root != nil {
			panic("jsontree.Parse returned a value with an error")
		}
		return nil, false
	}
	return root, true
}

func fuzzIDs() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("op-%d", n) }
}

// FuzzDecodeInit decodes arbitrary bytes as an init request body, as the
// server does, and builds the cart when the decoder found no error: nothing
// may panic, and every problem must be a catalogued code with a complete
// message.
func FuzzDecodeInit(f *testing.F) {
	f.Add([]byte(`{"cartId":"6f891edb-1e1f-48bb-b042-2cb790a0f402","currency":"XAU","items":[{"pegasus":{"amount":250}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		root, ok := fuzzParse(data)
		if !ok {
			return
		}
		spec, r := parseInit(root)
		_ = r.debugFlag(root)
		checkProblems(t, "parseInit", r.sp.Ordered())
		if spec == nil {
			t.Fatal("parseInit returned no spec")
		}
		for _, m := range []*omnicart.Merchant{fuzzMerchant(omnicart.DefaultPrivileges()), fuzzMerchant(omnicart.AllPrivileges())} {
			sp := append(omnicart.StagedProblems(nil), r.sp...)
			c := omnicart.NewCart(spec, m, fuzzNow, &sp)
			checkProblems(t, "NewCart", sp.Ordered())
			if c == nil && !sp.HasErrors() {
				t.Fatal("NewCart refused the cart without an error")
			}
			if c != nil && sp.HasErrors() {
				t.Fatalf("NewCart built a cart despite errors %+v", sp.Ordered())
			}
		}
	})
}

func fuzzMerchant(p omnicart.Privileges) *omnicart.Merchant {
	return &omnicart.Merchant{ID: "mer_fuzz", Name: "Fuzz", Mode: omnicart.ModeTest, CartExpirySecs: omnicart.DefaultCartExpirySecs,
		MaxDeclines: omnicart.DefaultMaxDeclines, Privileges: p, AutoActionLeadSecs: omnicart.DefaultAutoActionLeadSecs}
}

// fuzzCart is an authorized cart to apply fuzzed modify requests to: two
// tagged items, one calculated item and one with a manual timer.
func fuzzCart(t *testing.T, m *omnicart.Merchant) *omnicart.Cart {
	t.Helper()
	root, err := jsontree.Parse([]byte(`{"cartId":"fuzz-cart-0001","customerId":"cust-1","currency":"EUR",
		"scope":{"tags":[{"rampart":{}}]},
		"items":[{"pegasus":{"amount":250,"tag":"rampart"}},{"naga":{"amount":1100,"tag":"tower"}},
		{"lich":{"amount":300,"amountMode":"calculated","quantity":2.5,"amountModifier":0.7}},
		{"wight":{"amount":400,"enableTimer":true,"timer":{"triggerEvent":"manual","value":3600}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	spec, r := parseInit(root)
	c := omnicart.NewCart(spec, m, fuzzNow, &r.sp)
	if c == nil {
		t.Fatalf("fuzz cart refused: %+v", r.sp.Ordered())
	}
	op, ok := c.BeginPayment("op-pay")
	if !ok {
		t.Fatal("fuzz cart has nothing to pay")
	}
	c.PaymentAuthorized(fuzzNow, op.OpID, "auth-1", omnicart.CardInfo{Brand: "visa", Last4: "1111"}, fuzzIDs())
	return c
}

// FuzzDecodeModify decodes arbitrary bytes as a modify request body and, when
// the decoder found no error, applies it to an authorized cart and settles
// the partial releases it asks for: nothing may panic, and every problem
// must be a catalogued code with a complete message.
func FuzzDecodeModify(f *testing.F) {
	f.Add([]byte(`{"cartId":"6f891edb-1e1f-48bb-b042-2cb790a0f402","modifyBox":{"items":[{"pegasus":{"modifyAmount":{"amount":150,"amountMode":"declared"}}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		root, ok := fuzzParse(data)
		if !ok {
			return
		}
		_, spec, r := parseModify(root)
		_ = r.debugFlag(root)
		checkProblems(t, "parseModify", r.sp.Ordered())
		if spec == nil {
			t.Fatal("parseModify returned no spec")
		}
		if r.sp.HasErrors() {
			return
		}
		m := fuzzMerchant(omnicart.DefaultPrivileges())
		c := fuzzCart(t, m)
		res, err := c.Modify(spec, m, fuzzNow.Add(time.Minute), fuzzIDs())
		checkError(t, "Modify", err)
		if err != nil {
			return
		}
		checkProblems(t, "Modify infos", res.Infos)
		for _, op := range res.Ops {
			if op.Amount <= 0 {
				t.Fatalf("modify asks the provider to move %d", op.Amount)
			}
			c.Settle(fuzzNow.Add(time.Minute), op.OpID, true)
		}
		for i := range c.Items {
			it := &c.Items[i]
			a := it.Amounts()
			if a.Current < 0 || a.Current > a.Initiated || it.Pending != nil {
				t.Fatalf("%s after modify: %+v pending %+v", it.ID, a, it.Pending)
			}
		}
	})
}
