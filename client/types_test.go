package client_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/omnicart/omnicart/client"
)

func TestRequestJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"minimal init", &client.InitRequest{CartID: "cart-000001", Currency: "EUR", Items: []client.Item{{ItemID: "pegasus", Amount: 250}}},
			`{"cartId":"cart-000001","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`},
		{"full init", &client.InitRequest{
			CartID: "cart-000001", CustomerID: "cust-1", Currency: "XAU", CartExpiry: 600,
			Scope: &client.Scope{
				Cart: &client.Settings{PaymentBox: &client.PaymentBox{Capture: client.Bool(false)}},
				Tags: []client.TagSettings{{Tag: "t1", Settings: client.Settings{EnableTimer: client.Bool(true), Timer: &client.Timer{TriggerEvent: "manual"}}}},
			},
			Items: []client.Item{
				{ItemID: "pegasus", Amount: 250, Quantity: client.Decimal("0.000001"), Tag: "t1", Settings: client.Settings{PaymentBox: &client.PaymentBox{
					AmountMode: client.AmountCalculated, AmountModifier: client.Decimal("1.5"),
					CaptureSettings: &client.CaptureSettings{AutoAction: client.AutoComplete, Value: 600}}}},
				{ItemID: "naga", Amount: 1},
			},
			PaymentForm: &client.PaymentForm{DeliveryOption: client.DeliverySMS, Value: "+4915112345678"},
			Debug:       true,
		}, `{"cartId":"cart-000001","customerId":"cust-1","currency":"XAU","cartExpiry":600,` +
			`"scope":{"cart":{"paymentBox":{"capture":false}},"tags":[{"t1":{"enableTimer":true,"timer":{"triggerEvent":"manual","value":0}}}]},` +
			`"items":[{"pegasus":{"amount":250,"quantity":0.000001,"tag":"t1","paymentBox":{"amountMode":"calculated","amountModifier":1.5,` +
			`"captureSettings":{"autoAction":"complete","value":600}}}},{"naga":{"amount":1}}],` +
			`"paymentForm":{"deliveryOption":"sms","value":"+4915112345678"},"debug":true}`},
		{"action", &client.ActionRequest{CartID: "cart-000001", FilterBox: &client.FilterBox{Tags: []string{"a"}, ItemIDs: []string{"b"}, TimerEnabled: client.Bool(false)}},
			`{"cartId":"cart-000001","filterBox":{"tags":["a"],"itemIds":["b"],"timerEnabled":false}}`},
		{"modify", &client.ModifyRequest{CartID: "cart-000001", ModifyBox: client.ModifyBox{
			CustomerID: "cust-2",
			Scope: &client.ModifyScope{
				Cart: &client.ModifyLevel{ModifyAmount: &client.AmountChange{AmountModifier: client.Decimal("0.5")}},
				Tags: []client.ModifyTag{{Tag: "t1", ModifyLevel: client.ModifyLevel{ModifyTimer: &client.TimerChange{TimerValue: client.Int64(0)}}}},
			},
			Items: []client.ModifyItem{
				{ItemID: "pegasus", Tag: "t2", ModifyAmount: &client.AmountChange{Amount: 100, Quantity: client.Decimal("2")},
					ModifyTimer: &client.TimerChange{ManualAction: client.TimerPause, TriggerEvent: client.StatusCaptured}},
				{ItemID: "naga", EnableTimer: client.Bool(false)},
			},
		}}, `{"cartId":"cart-000001","modifyBox":{"customerId":"cust-2","scope":{"cart":{"modifyAmount":{"amountModifier":0.5}},` +
			`"tags":[{"t1":{"modifyTimer":{"timerValue":0}}}]},"items":[{"pegasus":{"tag":"t2","modifyAmount":{"amount":100,"quantity":2},` +
			`"modifyTimer":{"triggerEvent":"captured","manualAction":"pause"}}},{"naga":{"enableTimer":false}}]}}`},
	} {
		got, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		// And back.
		back := reflect.New(reflect.TypeOf(tc.v).Elem()).Interface()
		if err := json.Unmarshal(got, back); err != nil || !reflect.DeepEqual(back, tc.v) {
			t.Errorf("%s: decoded again %+v, %v", tc.name, back, err)
		}
	}
	// Not a decimal, no id.
	if _, err := json.Marshal(client.Item{ItemID: "x", Amount: 1, Quantity: client.Decimal("1,5")}); err == nil {
		t.Error("1,5 encoded as a number")
	}
	if _, err := json.Marshal(client.Item{Amount: 1}); err == nil {
		t.Error("an item without id encoded")
	}
}

func TestStatusJSON(t *testing.T) {
	const data = `{"cartId":"c1","currency":"XAU","totalAmounts":{"initiated":3,"captured":0,"refunded":0,"current":3},"items":[` +
		`{"zeta":{"paymentStatus":"authorized","itemAmounts":{"initiated":1,"captured":0,"refunded":0,"current":1},"paymentSnapshot":{"amount":1,"amountMode":"declared","quantity":1,"amountModifier":1},"timerSnapshot":{"triggerEvent":"manual","timerStatus":"pending","remainingSecs":null}}},` +
		`{"alpha":{"paymentStatus":"initiated","itemAmounts":{"initiated":2,"captured":0,"refunded":0,"current":2},"tag":"t","paymentSnapshot":{"amount":2,"amountMode":"calculated","quantity":0.5,"amountModifier":4}}}]}`
	var st client.StatusData
	if err := json.Unmarshal([]byte(data), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Items) != 2 || st.Items[0].ItemID != "zeta" || st.Items[1].ItemID != "alpha" || st.Item("alpha").Tag != "t" ||
		st.Items[0].TimerSnapshot.RemainingSecs != nil || st.Item("alpha").PaymentSnapshot.Quantity != "0.5" || st.Item("nope") != nil {
		t.Fatalf("%+v", st)
	}
	again, _ := json.Marshal(st)
	if string(again) != data {
		t.Errorf("encoded again:\n%s\n%s", again, data)
	}
	if err := json.Unmarshal([]byte(`{"items":[{"a":{},"b":{}}]}`), &st); err == nil {
		t.Error("an item entry with two ids decoded")
	}
}
