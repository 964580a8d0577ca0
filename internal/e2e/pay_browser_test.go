package e2e_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/omnicart/omnicart/internal/e2e"
)

// bwChromium finds Debian's Chromium. Without it the browser test is
// skipped on a developer machine and fails in CI (CI set), where .ci/run
// installs it.
func bwChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: .ci/run installs Debian's chromium package (apt-get install chromium)")
	}
	t.Skip("chromium is not installed (apt-get install chromium); set CI=true to make this a failure")
	return ""
}

// bwBrowser starts headless Chromium with a fresh profile and returns a
// context driving its first tab, phone-sized.
func bwBrowser(t *testing.T) context.Context {
	t.Helper()
	path := bwChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(390, 844),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	if err := chromedp.Do(browser); err != nil { // starts the browser, no timeout on this first call
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(browser, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
	})
	return ctx
}

// bwShop is the merchant's site: customers land on its return URL.
type bwShop struct {
	*httptest.Server
	mu    sync.Mutex
	lands []url.Values
}

func bwNewShop(t *testing.T) *bwShop {
	s := &bwShop{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/return" {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		s.lands = append(s.lands, r.URL.Query())
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>Shop</title><h1 id="thanks">Back at the shop</h1>`))
	}))
	t.Cleanup(s.Close)
	return s
}

// TestPaymentPageInBrowser drives the hosted payment page in real headless
// Chromium against the real server: one customer pays with a good card,
// lands on the merchant's return URL with result=authorized, and the payment
// link then says the money is held; another makes
// a typing mistake (shown inline, not counted), is declined for insufficient
// funds, sees why, retries with a good card and succeeds; a third fails the
// 3-D Secure challenge once, then passes it. The page is used with the
// keyboard only (typing, Enter to submit).
func TestPaymentPageInBrowser(t *testing.T) {
	t.Parallel()
	ctx := bwBrowser(t)
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus,naga")
	shop := bwNewShop(t)

	newCart := func(cartID string) string {
		t.Helper()
		body := `{"cartId":"` + cartID + `","currency":"EUR","items":[{"pegasus":{"amount":250}},{"naga":{"amount":1100}}],` +
			`"paymentForm":{"deliveryOption":"redirect","value":"` + shop.URL + `/return?order=` + cartID + `"}}`
		return ppInit(t, c, body)
	}
	typeCard := func(number, expiry, cvc, name string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.WaitVisible(chromedp.ID("cardNumber")),
			chromedp.Clear(chromedp.ID("cardNumber")), chromedp.SendKeys(chromedp.ID("cardNumber"), number),
			chromedp.Clear(chromedp.ID("expiry")), chromedp.SendKeys(chromedp.ID("expiry"), expiry),
			chromedp.Clear(chromedp.ID("cvc")), chromedp.SendKeys(chromedp.ID("cvc"), cvc),
			chromedp.Clear(chromedp.ID("cardholder")), chromedp.SendKeys(chromedp.ID("cardholder"), name),
			chromedp.SendKeys(chromedp.ID("cardholder"), kb.Enter), // submit from the keyboard
		)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	landed := func(cartID string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("thanks"))); err != nil {
			t.Fatalf("%s: never landed on the shop: %v", cartID, err)
		}
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(loc)
		if err != nil || !strings.HasPrefix(loc, shop.URL+"/return?") {
			t.Fatalf("%s: landed on %q", cartID, loc)
		}
		q := u.Query()
		if q.Get("cartId") != cartID || q.Get("result") != "authorized" || q.Get("order") != cartID {
			t.Fatalf("%s: return URL %q", cartID, loc)
		}
		ppWantStatuses(t, c, cartID, "authorized", "authorized")
	}

	t.Run("pays with a good card", func(t *testing.T) {
		const cartID = "browser-cart-0001"
		payURL := newCart(cartID)
		if err := chromedp.Do(ctx, chromedp.Navigate(payURL), chromedp.WaitVisible(chromedp.ID("cardNumber"))); err != nil {
			t.Fatal(err)
		}
		title, err := chromedp.Run(ctx, chromedp.Title())
		if err != nil {
			t.Fatal(err)
		}
		if total, left := text("tfoot"), text("#time-left"); title != "Pay Test Shop" || !strings.Contains(total, "13.50 EUR") || !strings.Contains(left, "hour") {
			t.Errorf("page: title %q, total %q, time left %q", title, total, left)
		}
		if err := chromedp.Do(ctx, typeCard("4111 1111 1111 1111", "12/39", "123", "Ada Lovelace")); err != nil {
			t.Fatal(err)
		}
		landed(cartID)
		// Back on the payment link: the page says the money is held (two-step
		// items wait for the merchant's capture), not that the card was
		// charged.
		if err := chromedp.Do(ctx, chromedp.Navigate(payURL), chromedp.WaitVisible(chromedp.ID("paid"))); err != nil {
			t.Fatal(err)
		}
		if paid := text("#paid"); !strings.Contains(paid, "Payment received") ||
			!strings.Contains(paid, "13.50 EUR is held on your Visa ending 1111") || strings.Contains(paid, "was charged") {
			t.Errorf("paid page says %q", paid)
		}
	})

	t.Run("declined, sees why, retries", func(t *testing.T) {
		const cartID = "browser-cart-0002"
		payURL := newCart(cartID)
		err := chromedp.Do(ctx,
			chromedp.Navigate(payURL),
			typeCard("4111 1111 1111 1112", "12/39", "123", "Grace Hopper"), // a typo: Luhn fails
			chromedp.WaitVisible(chromedp.CSS(".error-summary")),
		)
		if err != nil {
			t.Fatal(err)
		}
		invalid, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("cardNumber"), "aria-invalid"))
		if err != nil {
			t.Fatal(err)
		}
		if summary := text(".error-summary"); !strings.Contains(summary, "Enter a valid card number") || invalid.Value != "true" {
			t.Fatalf("field error: summary %q, aria-invalid %+v", summary, invalid)
		}
		err = chromedp.Do(ctx,
			typeCard("4000 0000 0000 0069", "12/39", "123", "Grace Hopper"),
			chromedp.WaitVisible(chromedp.ID("decline")),
		)
		if err != nil {
			t.Fatal(err)
		}
		// The typo was not an attempt: the decline leaves two of three.
		if alert := text("#decline"); !strings.Contains(alert, "Payment declined") ||
			!strings.Contains(alert, "Insufficient funds") || !strings.Contains(alert, "2 attempts left") {
			t.Fatalf("decline shown as %q", alert)
		}
		ppWantStatuses(t, c, cartID, "initiated", "initiated")
		if err := chromedp.Do(ctx, typeCard("5500 0000 0000 0004", "11/38", "321", "Grace Hopper")); err != nil {
			t.Fatal(err)
		}
		landed(cartID)
	})

	t.Run("3-D Secure challenge", func(t *testing.T) {
		const cartID = "browser-cart-0003"
		payURL := newCart(cartID)
		err := chromedp.Do(ctx,
			chromedp.Navigate(payURL),
			typeCard("4000 0000 0000 3220", "12/39", "123", "Alan Turing"),
			chromedp.WaitVisible(chromedp.ID("code")),
		)
		if err != nil {
			t.Fatal(err)
		}
		if form := text("form"); !strings.Contains(form, "13.50 EUR") || !strings.Contains(form, "Visa ending 3220") {
			t.Errorf("challenge page says %q", form)
		}
		err = chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("code"), "111111"+kb.Enter), // a wrong code
			chromedp.WaitVisible(chromedp.ID("decline")),
		)
		if err != nil {
			t.Fatal(err)
		}
		if alert := text("#decline"); !strings.Contains(alert, "Authentication failed (3-D Secure)") {
			t.Fatalf("wrong code shown as %q", alert)
		}
		err = chromedp.Do(ctx,
			typeCard("4000 0000 0000 3220", "12/39", "123", "Alan Turing"),
			chromedp.WaitVisible(chromedp.ID("code")),
			chromedp.SendKeys(chromedp.ID("code"), "123456"+kb.Enter),
		)
		if err != nil {
			t.Fatal(err)
		}
		landed(cartID)
	})

	shop.mu.Lock()
	defer shop.mu.Unlock()
	if len(shop.lands) != 3 {
		t.Errorf("the shop saw %d returns, want 3: %v", len(shop.lands), shop.lands)
	}
}
