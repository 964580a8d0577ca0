package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// ppInit opens a cart and returns its payment URL.
func ppInit(t *testing.T, c *client.Client, body string) string {
	t.Helper()
	res, err := c.Raw().Init(context.Background(), body)
	if err != nil || res.Status != 201 {
		t.Fatalf("init: %v %s", err, res.Raw)
	}
	var data struct {
		PaymentURL string `json:"paymentUrl"`
	}
	if err := res.Decode(&data); err != nil || data.PaymentURL == "" {
		t.Fatalf("init data %s: %v", res.Data, err)
	}
	return data.PaymentURL
}

// ppWantStatuses checks the payment status of each item, in cart order.
func ppWantStatuses(t *testing.T, c *client.Client, cartID string, want ...string) {
	t.Helper()
	res, err := c.Raw().Status(context.Background(), cartID, client.StatusQuery{})
	if err != nil || res.Status != 200 {
		t.Fatalf("status %s: %v %s", cartID, err, res.Raw)
	}
	var data struct {
		Items []map[string]struct {
			PaymentStatus string `json:"paymentStatus"`
		} `json:"items"`
	}
	if err := res.Decode(&data); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range data.Items {
		for _, v := range it {
			got = append(got, v.PaymentStatus)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s statuses %v, want %v", cartID, got, want)
	}
}

// ppBrowser is a cookie-keeping HTTP client that does not follow redirects,
// as a browser's form posts are inspected here.
type ppBrowser struct {
	t  *testing.T
	hc *http.Client
}

func ppNewBrowser(t *testing.T) *ppBrowser {
	jar, _ := cookiejar.New(nil)
	return &ppBrowser{t: t, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *ppBrowser) get(u string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.hc.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var ppCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the form token of an HTML page.
func (b *ppBrowser) csrf(page string) string {
	b.t.Helper()
	m := ppCSRF.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF field in the page:\n%s", page)
	}
	return m[1]
}

func (b *ppBrowser) post(u string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.hc.PostForm(u, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func ppCard(number, csrf string) url.Values {
	return url.Values{"cardNumber": {number}, "expiry": {"12/39"}, "cvc": {"123"}, "cardholder": {"Ada Lovelace"}, "csrf": {csrf}}
}

// ppJSON posts a JSON body to a payment or challenge URL.
func ppJSON(t *testing.T, u, body string) (int, client.PayResult) {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		client.PayResult
		ChallengeURL string `json:"challengeUrl"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("HTTP %d %s: %v", resp.StatusCode, raw, err)
	}
	if out.ChallengeURL != "" {
		out.RedirectURL = out.ChallengeURL // the next URL to post to
	}
	return resp.StatusCode, out.PayResult
}

const ppCard4111 = `{"cardNumber":"4111 1111 1111 1111","expiry":"12/39","cvc":"123","cardholder":"Ada"}`

// TestPaymentPageForm walks the hosted page as a browser without
// JavaScript would: catalog display names and amounts, security headers,
// CSRF refusals, field errors that are not attempts, declines shown with
// their reason, rejection after the merchant's third decline with the
// customer sent back to the shop, and a closed page afterwards.
func TestPaymentPageForm(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	id, c := srv.Merchant("pegasus,naga")
	csv := filepath.Join(t.TempDir(), "items.csv")
	if err := os.WriteFile(csv, []byte("itemId,displayName\npegasus,Winged Pegasus\nnaga,Naga of the Tower\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv.Admin("items", "import", "--merchant", id, "--csv", csv)
	payURL := ppInit(t, c, `{"cartId":"page-form-0001","currency":"KWD","items":[{"pegasus":{"amount":1005}},{"naga":{"amount":20}}],`+
		`"paymentForm":{"deliveryOption":"redirect","value":"https://shop.example/back"}}`)
	b := ppNewBrowser(t)

	resp, page := b.get(payURL)
	if resp.StatusCode != 200 {
		t.Fatalf("GET page: %d", resp.StatusCode)
	}
	for _, want := range []string{"Winged Pegasus", "1.005 KWD", "Naga of the Tower", "0.020 KWD", "1.025 KWD", "Time left to pay",
		`<label for="cardNumber">`, `<label for="expiry">`, `<label for="cvc">`, `<label for="cardholder">`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "form-action 'self' https://shop.example") ||
		strings.Contains(csp, "unsafe") || strings.Contains(csp, "script-src") || strings.Contains(page, "<script") {
		t.Errorf("CSP %q", csp)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", resp.Header)
	}
	if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Strict") {
		t.Errorf("CSRF cookie %q", sc)
	}
	csrf := b.csrf(page)

	// CSRF: a post without the field, or from a browser without the
	// cookie, is refused and is no attempt.
	if resp, _ := b.post(payURL, ppCard("4000 0000 0000 0069", "")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("post without CSRF field: %d", resp.StatusCode)
	}
	if resp, _ := ppNewBrowser(t).post(payURL, ppCard("4000 0000 0000 0069", csrf)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("post from another browser: %d", resp.StatusCode)
	}
	// Field errors are shown inline and are no attempts.
	for range 4 {
		f := ppCard("4111 1111 1111 1112", csrf)
		f.Set("expiry", "01/20")
		f.Set("cvc", "12")
		resp, page := b.post(payURL, f)
		if resp.StatusCode != 400 || !strings.Contains(page, "Enter a valid card number.") || !strings.Contains(page, "This card has expired.") ||
			!strings.Contains(page, "Enter the 3-digit security code.") || !strings.Contains(page, `aria-invalid="true"`) {
			t.Fatalf("field errors: %d\n%s", resp.StatusCode, page)
		}
		if strings.Contains(page, "4111 1111 1111 1112") || strings.Contains(page, "4111111111111112") {
			t.Fatal("the card number was echoed back")
		}
	}
	ppWantStatuses(t, c, "page-form-0001", "initiated", "initiated")

	// Declines: the customer is sent back to the page, which says why.
	for i, card := range []string{"4000 0000 0000 0069", "4000 0000 0000 0259"} {
		resp, _ := b.post(payURL, ppCard(card, csrf))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != payURL {
			t.Fatalf("decline %d: %d %s", i, resp.StatusCode, resp.Header.Get("Location"))
		}
		_, page := b.get(payURL)
		reason := []string{"Insufficient funds", "Card blocked"}[i]
		left := []string{"2 attempts left", "1 attempt left"}[i]
		if !strings.Contains(page, "Payment declined") || !strings.Contains(page, reason) || !strings.Contains(page, left) {
			t.Fatalf("after decline %d the page says:\n%s", i, page)
		}
	}
	// The third decline rejects the items and sends the customer back.
	resp, _ = b.post(payURL, ppCard("4000 0000 0000 0002", csrf))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || loc != "https://shop.example/back?cartId=page-form-0001&result=rejected" {
		t.Fatalf("third decline: %d %q", resp.StatusCode, loc)
	}
	ppWantStatuses(t, c, "page-form-0001", "rejected", "rejected")
	resp, page = b.get(payURL)
	if resp.StatusCode != 200 || !strings.Contains(page, "Payment refused") || strings.Contains(page, `name="cardNumber"`) ||
		!strings.Contains(page, "result=rejected") {
		t.Fatalf("rejected page %d:\n%s", resp.StatusCode, page)
	}
	// No more payment, by form or JSON.
	if st, ans := ppJSON(t, payURL, ppCard4111); st != http.StatusGone || ans.Result != "expired" {
		t.Fatalf("pay after rejection: %d %+v", st, ans)
	}
	ppWantStatuses(t, c, "page-form-0001", "rejected", "rejected")

	// Unknown links and content types.
	other := payURL[:len(payURL)-1] + "A"
	if strings.HasSuffix(payURL, "A") {
		other = payURL[:len(payURL)-1] + "B"
	}
	if resp, _ := b.get(other); resp.StatusCode != 404 {
		t.Errorf("unknown token: %d", resp.StatusCode)
	}
	r, _ := http.Post(payURL, "text/plain", strings.NewReader(ppCard4111))
	if r.StatusCode != 400 {
		t.Errorf("text/plain post: %d", r.StatusCode)
	}
	r.Body.Close()
}

// TestPaymentPageClosed: an expired cart and a paid cart show a clear page
// and accept no new payment; the customer of an expired cart goes back to
// the shop with result=expired, a repeated payment of the paid cart is
// answered authorized.
func TestPaymentPageClosed(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus", "--all-privileges")
	ctx := context.Background()
	expired := ppInit(t, c, `{"cartId":"page-closed-01","currency":"XAU","cartExpiry":60,"items":[{"pegasus":{"amount":250}}],`+
		`"paymentForm":{"deliveryOption":"redirect","value":"http://shop.example/r"}}`)
	paid := ppInit(t, c, `{"cartId":"page-closed-02","currency":"XAU","items":[{"pegasus":{"amount":250}}]}`)
	if st, ans := ppJSON(t, paid, ppCard4111); st != 200 || ans.Result != "authorized" || ans.RedirectURL != "" {
		t.Fatalf("pay: %d %+v", st, ans)
	}
	if res, err := c.Do(ctx, http.MethodPost, "/sandbox/clock", `{"advanceSecs":120}`); err != nil || res.Status != 200 {
		t.Fatalf("clock: %v %+v", err, res)
	}
	b := ppNewBrowser(t)
	resp, page := b.get(expired)
	if resp.StatusCode != http.StatusGone || !strings.Contains(page, "This payment link has expired") || strings.Contains(page, `name="cardNumber"`) ||
		!strings.Contains(page, "250 XAU") || !strings.Contains(page, "http://shop.example/r?cartId=page-closed-01&amp;result=expired") {
		t.Fatalf("expired page %d:\n%s", resp.StatusCode, page)
	}
	st, ans := ppJSON(t, expired, ppCard4111)
	if st != http.StatusGone || ans.Result != "expired" || ans.RedirectURL != "http://shop.example/r?cartId=page-closed-01&result=expired" {
		t.Fatalf("pay expired: %d %+v", st, ans)
	}
	ppWantStatuses(t, c, "page-closed-01", "expired")

	resp, page = b.get(paid)
	if resp.StatusCode != 200 || !strings.Contains(page, "Payment received") || !strings.Contains(page, "Visa ending 1111") ||
		strings.Contains(page, `name="cardNumber"`) {
		t.Fatalf("paid page %d:\n%s", resp.StatusCode, page)
	}
	// Paying again (a retry after a lost answer) answers the payment that
	// succeeded and moves no money, also once the payment window passed.
	if st, ans := ppJSON(t, paid, ppCard4111); st != http.StatusOK || ans.Result != "authorized" {
		t.Fatalf("pay twice: %d %+v", st, ans)
	}
	ppWantStatuses(t, c, "page-closed-02", "authorized")
}

// TestChallengeJSON runs the 3-D Secure flow as an app would: result
// challenge with a challenge URL, a wrong code is a decline that counts,
// the right code authorizes and the hold is real (capture works).
func TestChallengeJSON(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus,naga")
	payURL := ppInit(t, c, `{"cartId":"challenge-0001","currency":"EUR","items":[{"pegasus":{"amount":250}},{"naga":{"amount":100,"capture":false}}],`+
		`"paymentForm":{"deliveryOption":"redirect","value":"https://shop.example/back"}}`)
	const threeDS = `{"cardNumber":"4000000000003220","expiry":"12/39","cvc":"123","cardholder":"Ada"}`
	challengeURL := payURL + "/challenge"

	if st, ans := ppJSON(t, challengeURL, `{"code":"123456"}`); st != 400 || ans.Result != "invalid" {
		t.Fatalf("answer with no challenge pending: %d %+v", st, ans)
	}
	st, ans := ppJSON(t, payURL, threeDS)
	if st != 200 || ans.Result != "challenge" || ans.RedirectURL != challengeURL {
		t.Fatalf("pay: %d %+v", st, ans)
	}
	ppWantStatuses(t, c, "challenge-0001", "initiated", "initiated")
	if st, ans := ppJSON(t, challengeURL, `{"code":"12345"}`); st != 400 || ans.Result != "invalid" || ans.Fields["code"] == "" {
		t.Fatalf("malformed code: %d %+v", st, ans)
	}
	if st, ans := ppJSON(t, challengeURL, `{"code":"654321"}`); st != 402 || ans.Result != "declined" || ans.Reason != "Authentication failed (3-D Secure)" {
		t.Fatalf("wrong code: %d %+v", st, ans)
	}
	// A challenge is answered once.
	if st, ans := ppJSON(t, challengeURL, `{"code":"123456"}`); st != 400 || ans.Result != "invalid" {
		t.Fatalf("second answer: %d %+v", st, ans)
	}
	if st, ans := ppJSON(t, payURL, threeDS); st != 200 || ans.Result != "challenge" {
		t.Fatalf("pay again: %d %+v", st, ans)
	}
	st, ans = ppJSON(t, challengeURL, `{"code":"123456"}`)
	if st != 200 || ans.Result != "authorized" || ans.RedirectURL != "https://shop.example/back?cartId=challenge-0001&result=authorized" {
		t.Fatalf("right code: %d %+v", st, ans)
	}
	ppWantStatuses(t, c, "challenge-0001", "authorized", "completed")
	res, err := c.Raw().Capture(context.Background(), `{"cartId":"challenge-0001"}`)
	if err != nil || res.Code != "000000" {
		t.Fatalf("capture: %v %s", err, res.Raw)
	}
	ppWantStatuses(t, c, "challenge-0001", "completed", "completed")

	// Without a pending challenge the challenge page sends the customer
	// back to the payment page.
	b := ppNewBrowser(t)
	if resp, _ := b.get(challengeURL); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != payURL {
		t.Fatalf("challenge page: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestChallengeWrongCodesReject: wrong codes count toward the merchant's
// maximum of declines.
func TestChallengeWrongCodesReject(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus")
	payURL := ppInit(t, c, `{"cartId":"challenge-0002","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`)
	const threeDS = `{"cardNumber":"4000 0000 0000 3220","expiry":"12/39","cvc":"123","cardholder":"Ada"}`
	for i, want := range []string{"declined", "declined", "rejected"} {
		if st, ans := ppJSON(t, payURL, threeDS); st != 200 || ans.Result != "challenge" {
			t.Fatalf("attempt %d: %d %+v", i, st, ans)
		}
		if st, ans := ppJSON(t, payURL+"/challenge", `{"code":"000000"}`); st != 402 || ans.Result != want {
			t.Fatalf("attempt %d: %d %+v, want %s", i, st, ans, want)
		}
	}
	ppWantStatuses(t, c, "challenge-0002", "rejected")
	var buf bytes.Buffer
	buf.WriteString(srv.Logs())
	if strings.Contains(buf.String(), "4000000000003220") || strings.Contains(buf.String(), "4000 0000 0000 3220") {
		t.Fatal("the card number is in the log")
	}
}
