package httpapi

import (
	"bytes"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files of the rendered payment page")

// fixedNow is the clock of every golden page.
var fixedNow = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

const (
	goldenPayURL = "https://pay.example/pay/T0kenT0kenT0kenT0kenT0kenT0kenT0kenT0kenT0k"
	goldenCSRF   = "csrf-field-value"
)

// fixtureCart is a two-item cart in EUR opened an hour before fixedNow,
// expiring 1 h 59 min after it.
func fixtureCart() *omnicart.Cart {
	item := func(id string, amount int64) omnicart.Item {
		return omnicart.Item{ID: id, Status: omnicart.StatusInitiated, Reached: []omnicart.Status{omnicart.StatusInitiated},
			Initiated: amount, Full: amount, Capture: omnicart.CaptureSettings{TwoStep: true, AutoAction: omnicart.AutoCancel, WindowSecs: 172800}}
	}
	return &omnicart.Cart{MerchantID: "m1", ID: "golden-cart-1", Currency: "EUR",
		CreatedAt: fixedNow.Add(-time.Hour), ExpiresAt: fixedNow.Add(119*time.Minute + 30*time.Second),
		PaymentForm: omnicart.PaymentForm{DeliveryOption: "redirect", Value: "https://shop.example/return?order=42"},
		Items:       []omnicart.Item{item("pegasus", 250), item("naga", 1100)}}
}

func fixturePage(c *omnicart.Cart) *gateway.PaymentPage {
	m := &omnicart.Merchant{ID: "m1", Name: "Tower & Rampart <Shop>", Mode: omnicart.ModeTest, MaxDeclines: 3}
	return &gateway.PaymentPage{Merchant: m, Cart: c, Now: fixedNow,
		Names: map[string]string{"pegasus": "Pegasus (winged horse)", "naga": "Naga"}}
}

func setStatus(c *omnicart.Cart, st omnicart.Status) {
	for i := range c.Items {
		c.Items[i].Status = st
		c.Items[i].Reached = append(c.Items[i].Reached, st)
	}
}

// TestPayPageGolden renders the payment page in each of its states with a
// fixed clock and data, and compares it with testdata/paypage/*.html
// (refresh with go test ./httpapi -update).
func TestPayPageGolden(t *testing.T) {
	t.Parallel()
	in := pageInput{PayURL: goldenPayURL, CSRF: goldenCSRF}
	cases := []struct {
		name     string
		template string
		status   int
		build    func() (*omnicart.Cart, pageInput)
		want     []string // what the page must say, besides the golden match
	}{
		{"open", "pay", 200, func() (*omnicart.Cart, pageInput) { return fixtureCart(), in },
			[]string{"Pegasus (winged horse)", "2.50 EUR", "11.00 EUR", "Total to pay", "13.50 EUR", "1 hour 59 minutes",
				`name="csrf" value="csrf-field-value"`, `<label for="cardNumber">`, `autocomplete="cc-number"`}},
		{"field-errors", "pay", 400, func() (*omnicart.Cart, pageInput) {
			fi := in
			fi.FieldErrors = map[string]string{"cardNumber": "Enter a valid card number.", "cvc": "Enter the 3-digit security code."}
			fi.Expiry, fi.Cardholder = "01/20", `Ada "Countess" Lovelace`
			return fixtureCart(), fi
		}, []string{`role="alert"`, `<a href="#cardNumber">Enter a valid card number.</a>`, `aria-invalid="true" aria-describedby="cvc-error"`,
			`value="01/20"`, `Ada &#34;Countess&#34; Lovelace`}},
		{"declined", "pay", 200, func() (*omnicart.Cart, pageInput) {
			c := fixtureCart()
			c.Declines = []omnicart.Decline{{At: fixedNow.Add(-time.Minute), Reason: "Insufficient funds"}}
			return c, in
		}, []string{"Payment declined", "Insufficient funds.", "You have 2 attempts left."}},
		{"challenge", "challenge", 200, func() (*omnicart.Cart, pageInput) {
			c := fixtureCart()
			c.Challenge = &omnicart.PendingChallenge{Ref: "challenge:op_1", At: fixedNow, Amount: 1350,
				Card: omnicart.CardInfo{Brand: "visa", Last4: "3220", Fingerprint: "f"}}
			ci := in
			ci.ChallengeURL = goldenPayURL + "/challenge"
			return c, ci
		}, []string{"Confirm your payment", "13.50 EUR", "Visa ending 3220", `autocomplete="one-time-code"`, "sandbox: 123456"}},
		{"expired", "pay", 410, func() (*omnicart.Cart, pageInput) {
			c := fixtureCart()
			c.ExpiresAt = fixedNow.Add(-time.Second)
			setStatus(c, omnicart.StatusExpired)
			return c, in
		}, []string{"This payment link has expired", "Expired", "result=expired"}},
		{"paid", "pay", 200, func() (*omnicart.Cart, pageInput) {
			c := fixtureCart()
			setStatus(c, omnicart.StatusAuthorized)
			c.Card = &omnicart.CardInfo{Brand: "visa", Last4: "1111", Fingerprint: "f"}
			return c, in
		}, []string{"Payment received", "13.50 EUR is held on your Visa ending 1111 until", "you have not been charged yet",
			"Total paid", "13.50 EUR", "result=authorized"}},
		{"paid-one-step", "pay", 200, func() (*omnicart.Cart, pageInput) {
			c := fixtureCart()
			for i := range c.Items {
				c.Items[i].Capture.TwoStep = false
				c.Items[i].Captured = c.Items[i].Full
			}
			setStatus(c, omnicart.StatusAuthorized)
			setStatus(c, omnicart.StatusCaptured)
			setStatus(c, omnicart.StatusCompleted)
			c.Card = &omnicart.CardInfo{Brand: "mastercard", Last4: "0004", Fingerprint: "f"}
			return c, in
		}, []string{"Payment received", "Your Mastercard ending 0004 was charged 13.50 EUR.", "Total paid", "result=authorized"}},
		{"paid-mixed", "pay", 200, func() (*omnicart.Cart, pageInput) {
			c := fixtureCart()
			setStatus(c, omnicart.StatusAuthorized)
			naga := &c.Items[1]
			naga.Capture.TwoStep = false
			naga.Captured = naga.Full
			naga.Status = omnicart.StatusCompleted
			naga.Reached = append(naga.Reached, omnicart.StatusCaptured, omnicart.StatusCompleted)
			c.Card = &omnicart.CardInfo{Brand: "visa", Last4: "1111", Fingerprint: "f"}
			return c, in
		}, []string{"Your Visa ending 1111 was charged 11.00 EUR, and 2.50 EUR is held on it until"}},
		{"paid-then-released", "pay", 200, func() (*omnicart.Cart, pageInput) {
			// Paid, then the merchant canceled one item and refunded the
			// other after capturing it, and the payment window passed:
			// the page still says the payment was made.
			c := fixtureCart()
			c.ExpiresAt = fixedNow.Add(-time.Hour)
			setStatus(c, omnicart.StatusAuthorized)
			c.Items[0].Status = omnicart.StatusCanceled
			c.Items[0].Reached = append(c.Items[0].Reached, omnicart.StatusCanceled)
			naga := &c.Items[1]
			naga.Captured, naga.Refunded = naga.Full, naga.Full
			naga.Status = omnicart.StatusRefunded
			naga.Reached = append(naga.Reached, omnicart.StatusCaptured, omnicart.StatusCompleted, omnicart.StatusRefunded)
			c.Card = &omnicart.CardInfo{Brand: "visa", Last4: "1111", Fingerprint: "f"}
			return c, in
		}, []string{"Payment received", "Nothing is held on or charged to your Visa ending 1111 any more", "Canceled", "Refunded", "result=authorized"}},
		{"rejected", "pay", 200, func() (*omnicart.Cart, pageInput) {
			c := fixtureCart()
			setStatus(c, omnicart.StatusRejected)
			c.Declines = []omnicart.Decline{{Reason: "Insufficient funds"}, {Reason: "Card blocked"}, {Reason: "Card blocked"}}
			return c, in
		}, []string{"Payment refused", "Card blocked", "result=rejected"}},
		{"xau", "pay", 200, func() (*omnicart.Cart, pageInput) {
			c := fixtureCart()
			c.Currency = "XAU"
			return c, in
		}, []string{"250 XAU", "1100 XAU", "1350 XAU"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, pin := tc.build()
			d := buildPayPage(fixturePage(c), pin)
			if tc.template == "pay" && d.httpStatus() != tc.status {
				t.Errorf("status = %d, want %d", d.httpStatus(), tc.status)
			}
			var buf bytes.Buffer
			if err := pageTemplates().ExecuteTemplate(&buf, tc.template, d); err != nil {
				t.Fatal(err)
			}
			got := buf.String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("page does not contain %q", w)
				}
			}
			if strings.Contains(got, "<Shop>") {
				t.Error("merchant name not escaped")
			}
			golden := filepath.Join("testdata", "paypage", tc.name+".html")
			if *updateGolden {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./httpapi -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("rendered page differs from %s (run go test ./httpapi -update after checking the change):\n%s", golden, firstDiff(got, string(want)))
			}
		})
	}
}

func firstDiff(got, want string) string {
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + g + "\nwant: " + w
		}
	}
	return ""
}

func TestPageState(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		mutate func(c *omnicart.Cart)
		want   string
	}{
		{"open", func(*omnicart.Cart) {}, stateOpen},
		{"due but not yet fired", func(c *omnicart.Cart) { c.ExpiresAt = fixedNow }, stateExpired},
		{"processing", func(c *omnicart.Cart) {
			c.Items[0].Pending = &omnicart.PendingOp{OpID: "op", Kind: omnicart.OpAuthorize}
			c.Items[1].Pending = c.Items[0].Pending
		}, stateProcessing},
		{"captured", func(c *omnicart.Cart) { setStatus(c, omnicart.StatusCompleted) }, statePaid},
		{"paid, then the payment window passed", func(c *omnicart.Cart) {
			setStatus(c, omnicart.StatusAuthorized)
			c.ExpiresAt = fixedNow.Add(-time.Minute)
		}, statePaid},
		{"paid, then canceled", func(c *omnicart.Cart) {
			setStatus(c, omnicart.StatusAuthorized)
			setStatus(c, omnicart.StatusCanceled)
		}, statePaid},
		{"rejected", func(c *omnicart.Cart) { setStatus(c, omnicart.StatusRejected) }, stateRejected},
		{"expired", func(c *omnicart.Cart) { setStatus(c, omnicart.StatusExpired) }, stateExpired},
	}
	for _, tc := range cases {
		c := fixtureCart()
		tc.mutate(c)
		if got := pageState(c, fixedNow); got != tc.want {
			t.Errorf("%s: state %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestFormatLeft(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		-time.Second:                    "no time",
		30 * time.Second:                "less than a minute",
		time.Minute:                     "1 minute",
		59*time.Minute + 59*time.Second: "59 minutes",
		time.Hour:                       "1 hour",
		2*time.Hour + 5*time.Minute:     "2 hours 5 minutes",
		24 * time.Hour:                  "1 day",
		30*24*time.Hour + 3*time.Hour + 59*time.Minute: "30 days 3 hours",
		25*time.Hour + 7*time.Minute:                   "1 day 1 hour",
	} {
		if got := formatLeft(d); got != want {
			t.Errorf("formatLeft(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestValidateCard(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	ok := omnicart.Card{Number: "4111 1111 1111 1111", Expiry: "03/26", CVC: "123", Holder: "Ada"}
	cases := []struct {
		name   string
		mutate func(c *omnicart.Card)
		fields []string
	}{
		{"valid, expiring this month", func(*omnicart.Card) {}, nil},
		{"Luhn", func(c *omnicart.Card) { c.Number = "4111 1111 1111 1112" }, []string{"cardNumber"}},
		{"letters", func(c *omnicart.Card) { c.Number = "4111 1111 1111 111a" }, []string{"cardNumber"}},
		{"too short", func(c *omnicart.Card) { c.Number = "4242" }, []string{"cardNumber"}},
		{"past expiry", func(c *omnicart.Card) { c.Expiry = "02/26" }, []string{"expiry"}},
		{"bad month", func(c *omnicart.Card) { c.Expiry = "13/30" }, []string{"expiry"}},
		{"no slash", func(c *omnicart.Card) { c.Expiry = "1230" }, []string{"expiry"}},
		{"CVC too long for Visa", func(c *omnicart.Card) { c.CVC = "1234" }, []string{"cvc"}},
		{"CVC too short", func(c *omnicart.Card) { c.CVC = "12" }, []string{"cvc"}},
		{"CVC not digits", func(c *omnicart.Card) { c.CVC = "12a" }, []string{"cvc"}},
		{"Amex needs 4", func(c *omnicart.Card) { c.Number = "3782 822463 10005"; c.CVC = "123" }, []string{"cvc"}},
		{"Amex with 4", func(c *omnicart.Card) { c.Number = "3782 822463 10005"; c.CVC = "1234" }, nil},
		{"no name", func(c *omnicart.Card) { c.Holder = "  " }, []string{"cardholder"}},
		{"control characters in name", func(c *omnicart.Card) { c.Holder = "Ada\nLovelace" }, []string{"cardholder"}},
	}
	for _, tc := range cases {
		c := ok
		tc.mutate(&c)
		errs := validateCard(c, now)
		if len(errs) != len(tc.fields) {
			t.Errorf("%s: errors %v, want fields %v", tc.name, errs, tc.fields)
			continue
		}
		for _, f := range tc.fields {
			if errs[f] == "" {
				t.Errorf("%s: no error on %s: %v", tc.name, f, errs)
			}
		}
	}
}

func TestContentPolicy(t *testing.T) {
	t.Parallel()
	c := fixtureCart()
	p := contentPolicy(c)
	for _, want := range []string{"default-src 'none'", "style-src 'sha256-", "form-action 'self' https://shop.example;", "frame-ancestors 'none'"} {
		if !strings.Contains(p, want) {
			t.Errorf("policy %q lacks %q", p, want)
		}
	}
	if strings.Contains(p, "unsafe-inline") || strings.Contains(p, "script-src") {
		t.Errorf("policy %q allows inline code or scripts", p)
	}
	c.PaymentForm = omnicart.PaymentForm{DeliveryOption: "email", Value: "a@b.example"}
	if p := contentPolicy(c); !strings.Contains(p, "form-action 'self';") {
		t.Errorf("email cart policy %q: form-action should be 'self' only", p)
	}
}

// TestCSRF checks the double-submit token: a form post needs the cookie the
// page set and the field derived from it and the payment token.
func TestCSRF(t *testing.T) {
	t.Parallel()
	s := &Server{Service: &gateway.Service{KeyPepper: []byte("pepper")}, PublicURL: "https://pay.example/base"}
	const token = "T0kenT0kenT0kenT0kenT0kenT0kenT0kenT0kenT0k"
	rec := httptest.NewRecorder()
	field := s.ensureCSRF(rec, httptest.NewRequest(http.MethodGet, "/pay/"+token, nil), token)
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != csrfCookie || !cookies[0].HttpOnly || !cookies[0].Secure ||
		cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/base/pay/" {
		t.Fatalf("cookie %+v", cookies)
	}
	post := func(ck *http.Cookie) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/pay/"+token, nil)
		if ck != nil {
			r.AddCookie(ck)
		}
		return r
	}
	if !s.checkCSRF(post(cookies[0]), token, field) {
		t.Error("matching cookie and field refused")
	}
	if s.checkCSRF(post(nil), token, field) {
		t.Error("field without cookie accepted")
	}
	if s.checkCSRF(post(cookies[0]), token, "") {
		t.Error("cookie without field accepted")
	}
	if s.checkCSRF(post(cookies[0]), token+"x", field) {
		t.Error("field of another payment link accepted")
	}
	other := *cookies[0]
	other.Value = strings.Repeat("A", 43)
	if s.checkCSRF(post(&other), token, field) {
		t.Error("field with another browser's cookie accepted")
	}
	// The page reuses the browser's cookie.
	rec2 := httptest.NewRecorder()
	again := s.ensureCSRF(rec2, post(cookies[0]), token)
	if again != field || len(rec2.Result().Cookies()) != 0 {
		t.Error("a page with the cookie present should reuse it")
	}
}
