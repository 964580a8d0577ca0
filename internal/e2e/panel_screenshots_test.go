package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// ScreenshotsEnv names the directory TestPanelScreenshots writes to.
const screenshotsEnv = "OMNICART_SCREENSHOTS"

// TestPanelScreenshots writes the README's screenshots of the Merchant
// Panel: the overview, a cart page and the API keys page, full-page PNGs
// 1280 pixels wide, taken in Chromium against the real server with a few
// carts made through the API (paid, captured in part, refunded, canceled,
// declined, unpaid; three currencies). It runs only when
// OMNICART_SCREENSHOTS names the directory to write them to:
//
//	OMNICART_SCREENSHOTS=$PWD/docs go test ./internal/e2e/ -run Screenshots -count=1
func TestPanelScreenshots(t *testing.T) {
	dir := os.Getenv(screenshotsEnv)
	if dir == "" {
		t.Skipf("%s is not set: no screenshots to write", screenshotsEnv)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := bwBrowser(t)
	srv := e2e.Start(t, "--allow-private-callbacks")
	// A merchant with a callback endpoint (a local receiver), so that the
	// cart page lists the callbacks sent.
	m, c, _, _ := cbMerchant(t, srv, "tshirt,hoodie,mug,poster,shipping")
	pw := pnUser(t, srv, m, "owner@northwind.example", "owner")
	bg := context.Background()

	action := func(kind, body string) {
		t.Helper()
		var res *client.Response
		var err error
		switch kind {
		case "capture":
			res, err = c.Raw().Capture(bg, body)
		case "cancel":
			res, err = c.Raw().Cancel(bg, body)
		case "refund":
			res, err = c.Raw().Refund(bg, body)
		}
		if err != nil || res.Code != "000000" {
			t.Fatalf("%s %s: %v %s", kind, body, err, cbRaw(res))
		}
	}
	// The cart the cart page shows: paid; the T-shirt captured through
	// the API, the mug canceled, shipping captured in the Panel (below);
	// the hoodie still held while its capture window runs.
	const shown = "order-10482"
	cbInitAndPay(t, c, `{"cartId":"`+shown+`","customerId":"cus-4711","currency":"EUR","items":[`+
		`{"tshirt":{"amount":1990,"quantity":2,"tag":"apparel"}},{"hoodie":{"amount":4990,"tag":"apparel"}},`+
		`{"mug":{"amount":990}},{"shipping":{"amount":590,"tag":"shipping"}}]}`)
	action("capture", `{"cartId":"`+shown+`","filterBox":{"itemIds":["tshirt"]}}`)
	action("cancel", `{"cartId":"`+shown+`","filterBox":{"itemIds":["mug"]}}`)
	// The others, for the overview and the list.
	cbInitAndPay(t, c, `{"cartId":"order-10479","customerId":"cus-2290","currency":"EUR","items":[{"poster":{"amount":1290,"quantity":3}},{"shipping":{"amount":590}}]}`)
	action("capture", `{"cartId":"order-10479"}`)
	action("refund", `{"cartId":"order-10479","filterBox":{"itemIds":["poster"]}}`)
	cbInitAndPay(t, c, `{"cartId":"order-10480","customerId":"cus-0815","currency":"USD","items":[{"hoodie":{"amount":5490}},{"tshirt":{"amount":2190}}]}`)
	action("capture", `{"cartId":"order-10480"}`)
	// Held with a three-hour capture window: the overview lists its
	// auto-cancel among the next 24 hours' auto actions.
	cbInitAndPay(t, c, `{"cartId":"order-10481","customerId":"cus-3141","currency":"JPY","items":[{"mug":{"amount":1800,"quantity":2,"paymentBox":{"captureSettings":{"value":10800}}}}]}`)
	cbInitAndPay(t, c, `{"cartId":"order-10483","customerId":"cus-2718","currency":"EUR","items":[{"tshirt":{"amount":1990}}]}`)
	action("cancel", `{"cartId":"order-10483"}`)
	declined := ppInit(t, c, `{"cartId":"order-10484","customerId":"cus-1618","currency":"USD","items":[{"poster":{"amount":1490}}]}`)
	if pay, err := c.Pay(bg, declined, client.Card{CardNumber: "4000 0000 0000 0259", Expiry: "12/39", CVC: "123", Cardholder: "Grace Hopper"}); err != nil || pay.Result != "declined" {
		t.Fatalf("declined payment: %v %+v", err, pay)
	}
	ppInit(t, c, `{"cartId":"order-10485","customerId":"cus-4711","currency":"EUR","items":[{"mug":{"amount":990}},{"shipping":{"amount":590}}]}`)
	// Keys: the one the merchant was created with, two limited ones, one
	// of them revoked.
	srv.Admin("key", "create", "--merchant", m, "--methods", "status")
	limited := strings.TrimSpace(srv.Admin("key", "create", "--merchant", m, "--methods", "init,status"))
	if !strings.HasPrefix(limited, "ock_test_") {
		t.Fatalf("key create printed %q", limited)
	}
	srv.Admin("key", "revoke", "--merchant", m, limited[:16])

	shoot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", filepath.Join(dir, name), len(png))
	}
	do := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	do(chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(srv.URL+"/panel/"), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "owner@northwind.example"),
		chromedp.SendKeys(chromedp.ID("password"), pw+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`[role=alert], nav[aria-label="Main"]`)))
	if h := text("h1"); h != "Overview" {
		t.Fatalf("after sign-in: %q", h)
	}
	// Shipping is captured in the Panel, through its confirmation.
	do(chromedp.Navigate(srv.URL+"/panel/carts/"+shown+"/confirm?action=capture&item=shipping"),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/act"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/act"] button`)), chromedp.WaitVisible(chromedp.CSS("[role=status]")))
	do(chromedp.Navigate(srv.URL+"/panel/overview"), chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Main"]`)))
	if main := text("main"); !strings.Contains(main, "EUR") || !strings.Contains(main, "JPY") {
		t.Fatalf("the overview shows no money: %q", main)
	}
	shoot("panel-overview.png")

	// The cart page, once its four status changes are published and
	// their callbacks delivered (within seconds of each change).
	deadline := time.Now().Add(60 * time.Second)
	for {
		do(chromedp.Navigate(srv.URL+"/panel/carts/"+shown), chromedp.WaitVisible(chromedp.ID("items")))
		page, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(page, `data-delivery="succeeded"`) >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cart page does not show four callbacks delivered after a minute: %s", text("main"))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if main := text("main"); !strings.Contains(main, "hoodie") || !strings.Contains(main, "completed") || !strings.Contains(main, "canceled") {
		t.Fatalf("the cart page does not show the cart: %q", main)
	}
	shoot("panel-cart.png")

	do(chromedp.Navigate(srv.URL+"/panel/keys"), chromedp.WaitVisible(chromedp.CSS("table")))
	if main := text("main"); !strings.Contains(main, limited[:16]) {
		t.Fatalf("the keys page does not list %s: %q", limited[:16], main)
	}
	shoot("panel-keys.png")
}
