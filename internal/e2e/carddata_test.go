package e2e_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/omnicart/omnicart/internal/e2e"
)

// cdCVC is the security code typed in every attempt (cdAmexCVC for the
// American Express card). They start with a zero so that no JSON number,
// byte count, duration or time of day in the database or the log can look
// like them: any occurrence set apart by separators is a leak.
const (
	cdCVC     = "042"
	cdAmexCVC = "0420"
)

var cdCVCToken = regexp.MustCompile(`(^|[^0-9A-Za-z.])(` + cdCVC + `|` + cdAmexCVC + `)([^0-9A-Za-z]|$)`)

// cdCVCField finds the word cvc in any case set apart from letters and
// digits (a stored card field: "cvc", cvc=, card_cvc), not three bytes of
// random data or the end of a hexadecimal id followed by a record header.
var cdCVCField = regexp.MustCompile(`(?i)(^|[^0-9a-z])cvc([^0-9a-z]|$)`)

// cdNumbers are the card numbers typed, in every way they could be written.
func cdNumbers(numbers ...string) []string {
	var out []string
	for _, n := range numbers {
		d := strings.ReplaceAll(n, " ", "")
		out = append(out, d, n, strings.ReplaceAll(n, " ", "-"))
	}
	return out
}

// TestCardDataNeverStored runs full payment flows (form and JSON, field
// errors, declines, a 3-D Secure challenge failed then passed, capture,
// refund, an emailed link) through the real server, then scans the database
// (the SQLite file and its WAL, or every PostgreSQL table: Server.Stored)
// and the captured logs for the card numbers and the CVC: zero hits. Only brand, last four digits and a keyed fingerprint are kept.
func TestCardDataNeverStored(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus,naga")
	ctx := context.Background()
	typed := []string{"4111 1111 1111 1111", "4111 1111 1111 1112", "4000 0000 0000 0069", "4000 0000 0000 3220", "5500 0000 0000 0004", "3782 822463 10005"}

	// A customer in a browser: a typo, a decline, a failed and a passed
	// challenge.
	formURL := ppInit(t, c, `{"cartId":"cards-0001","currency":"EUR","items":[{"pegasus":{"amount":250}},{"naga":{"amount":1100}}]}`)
	b := ppNewBrowser(t)
	_, page := b.get(formURL)
	csrf := b.csrf(page)
	form := func(number string) url.Values {
		return url.Values{"cardNumber": {number}, "expiry": {"12/39"}, "cvc": {cdCVC}, "cardholder": {"Ada Lovelace"}, "csrf": {csrf}}
	}
	if resp, _ := b.post(formURL, form("4111 1111 1111 1112")); resp.StatusCode != 400 {
		t.Fatalf("typo: %d", resp.StatusCode)
	}
	if resp, _ := b.post(formURL, form("4000 0000 0000 0069")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("decline: %d", resp.StatusCode)
	}
	for _, code := range []string{"999999", "123456"} {
		resp, _ := b.post(formURL, form("4000 0000 0000 3220"))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != formURL+"/challenge" {
			t.Fatalf("challenge: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		_, page := b.get(formURL + "/challenge")
		if resp, _ := b.post(formURL+"/challenge", url.Values{"code": {code}, "csrf": {b.csrf(page)}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("answer %s: %d", code, resp.StatusCode)
		}
	}
	ppWantStatuses(t, c, "cards-0001", "authorized", "authorized")

	// An app: an unknown card, then a good one; captured and refunded.
	appURL := ppInit(t, c, `{"cartId":"cards-0002","currency":"USD","items":[{"pegasus":{"amount":999}}],`+
		`"paymentForm":{"deliveryOption":"email","value":"ada@customer.example"}}`)
	if st, ans := ppJSON(t, appURL, `{"cardNumber":"3782 822463 10005","expiry":"12/39","cvc":"`+cdAmexCVC+`","cardholder":"Ada"}`); st != 402 {
		t.Fatalf("unknown card: %d %+v", st, ans)
	}
	if st, ans := ppJSON(t, appURL, `{"cardNumber":"5500000000000004","expiry":"12/39","cvc":"`+cdCVC+`","cardholder":"Ada"}`); st != 200 || ans.Result != "authorized" {
		t.Fatalf("pay: %d %+v", st, ans)
	}
	if res, err := c.Raw().Capture(ctx, `{"cartId":"cards-0002"}`); err != nil || res.Code != "000000" {
		t.Fatalf("capture: %v %+v", err, res)
	}
	if res, err := c.Raw().Refund(ctx, `{"cartId":"cards-0002"}`); err != nil || res.Code != "000000" {
		t.Fatalf("refund: %v %+v", err, res)
	}
	ppWantStatuses(t, c, "cards-0002", "refunded")
	oneStep := ppInit(t, c, `{"cartId":"cards-0003","currency":"XAU","items":[{"pegasus":{"amount":7,"capture":false}}]}`)
	if st, ans := ppJSON(t, oneStep, `{"cardNumber":"4111-1111-1111-1111","expiry":"12/39","cvc":"`+cdCVC+`","cardholder":"Ada"}`); st != 200 {
		t.Fatalf("pay: %d %+v", st, ans)
	}
	ppWantStatuses(t, c, "cards-0003", "completed")

	scan := func(when string) {
		t.Helper()
		files := map[string][]byte{"log (stderr)": []byte(srv.Logs()), "stdout": []byte(srv.Stdout())}
		var stored []byte
		for name, data := range srv.Stored(t) {
			files["database "+name] = data
			stored = append(stored, data...)
		}
		// The scan reads what was stored: the cards' last four digits
		// and brands are there.
		for _, want := range []string{`"last4":"0004"`, `"last4":"3220"`, `"brand":"mastercard"`} {
			if !bytes.Contains(stored, []byte(want)) {
				t.Fatalf("%s: %s not found in the database: the scan does not see the carts", when, want)
			}
		}
		for name, data := range files {
			for _, n := range cdNumbers(typed...) {
				if bytes.Contains(data, []byte(n)) {
					t.Errorf("%s: card number %q found in the %s", when, n, name)
				}
			}
			if loc := cdCVCToken.FindIndex(data); loc != nil {
				t.Errorf("%s: CVC found in the %s: %q", when, name, data[max(0, loc[0]-40):min(len(data), loc[1]+40)])
			}
			if loc := cdCVCField.FindIndex(data); loc != nil {
				t.Errorf("%s: a CVC field is in the %s: %q", when, name, data[max(0, loc[0]-40):min(len(data), loc[1]+40)])
			}
		}
	}
	scan("while serving")
	srv.Stop()
	scan("after stopping")
}
