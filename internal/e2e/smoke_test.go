package e2e_test

import (
	"context"
	"testing"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// TestSmoke opens, pays and captures one cart through the real binary.
func TestSmoke(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus")
	ctx := context.Background()
	res, err := c.Raw().Init(ctx, `{"cartId":"smoke-cart-1","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`)
	if err != nil || res.Status != 201 {
		t.Fatalf("init: %v %+v %s", err, res, res.Raw)
	}
	var data struct {
		PaymentURL string `json:"paymentUrl"`
	}
	if err := res.Decode(&data); err != nil {
		t.Fatal(err)
	}
	pay, err := c.Pay(ctx, data.PaymentURL, client.Card{CardNumber: "4111 1111 1111 1111", Expiry: "12/39", CVC: "123", Cardholder: "Ada"})
	if err != nil || pay.Result != "authorized" {
		t.Fatalf("pay: %v %+v", err, pay)
	}
	res, err = c.Raw().Capture(ctx, `{"cartId":"smoke-cart-1"}`)
	if err != nil || res.Code != "000000" || string(res.Data) != `{"itemIds":["pegasus"]}` {
		t.Fatalf("capture: %v %s", err, res.Raw)
	}
}
