package httpapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
)

//go:embed templates/*.html templates/*.css
var templateFS embed.FS

// pageTemplates parses the embedded page templates. The templates are
// compiled in, so a parse error is a programming error.
func pageTemplates() *template.Template {
	return template.Must(template.New("pages").ParseFS(templateFS, "templates/*.html"))
}

// pageCSS is the style sheet inlined into every page, allowed by its hash in
// the Content-Security-Policy.
func pageCSS() string {
	b, err := templateFS.ReadFile("templates/pay.css")
	if err != nil {
		panic(err) // embedded at build time
	}
	return string(b)
}

// chrome is what every page's head needs.
type chrome struct {
	Title   string
	CSS     template.CSS
	Refresh bool
}

func newChrome(title string) chrome {
	return chrome{Title: title, CSS: template.CSS(pageCSS())}
}

// Page states.
const (
	stateOpen       = "open"
	stateProcessing = "processing"
	statePaid       = "paid"
	stateExpired    = "expired"
	stateRejected   = "rejected"
	stateClosed     = "closed"
)

// pageInput is what the handler adds to the stored state of a page.
type pageInput struct {
	PayURL       string
	ChallengeURL string // set when a challenge is waiting
	CSRF         string
	FieldErrors  map[string]string
	// Expiry and Cardholder are kept when the form comes back with field
	// errors; the card number and CVC never are.
	Expiry     string
	Cardholder string
}

type pageItem struct {
	Name   string
	Amount string
	Status string
}

type fieldError struct {
	Field   string
	Message string
}

// payPageData is what the payment and challenge templates render.
type payPageData struct {
	chrome
	pageInput
	State      string
	Merchant   string
	Sandbox    bool
	Items      []pageItem
	Total      string
	TotalLabel string
	Left       string
	ExpiresISO string
	// ExpiresText is the deadline in UTC, for reading.
	ExpiresText  string
	Errors       []fieldError
	FirstError   string
	Declined     string
	AttemptsText string
	// Card is what may be shown of the card ("Visa ending 1111").
	Card string
	// PaidText says what the paid state's payment did to the card: held,
	// charged, or both.
	PaidText        string
	ChallengeAmount string
	ReturnURL       string
}

func (d *payPageData) httpStatus() int {
	switch {
	case len(d.Errors) > 0 && d.State == stateOpen:
		return http.StatusBadRequest
	case d.State == stateExpired:
		return http.StatusGone
	}
	return http.StatusOK
}

// buildPayPage computes the page of a cart at pg.Now: pure, so that the
// golden tests render it with a fixed clock.
func buildPayPage(pg *gateway.PaymentPage, in pageInput) *payPageData {
	c, m := pg.Cart, pg.Merchant
	cur, ok := omnicart.LookupCurrency(c.Currency)
	if !ok {
		cur = omnicart.Currency{Code: c.Currency}
	}
	money := func(v int64) string { return cur.FormatAmount(v) + " " + c.Currency }
	d := &payPageData{chrome: newChrome("Pay " + m.Name), pageInput: in, Merchant: m.Name, Sandbox: m.Mode == omnicart.ModeTest}
	d.State = pageState(c, pg.Now)
	var total int64
	for i := range c.Items {
		it := &c.Items[i]
		name := pg.Names[it.ID]
		if name == "" {
			name = it.ID
		}
		amt := it.Amounts().Current
		if amt == 0 {
			amt = it.Initiated
		}
		pi := pageItem{Name: name, Amount: money(amt)}
		counts := d.State == stateOpen && it.Status == omnicart.StatusInitiated && it.Pending == nil
		if d.State != stateOpen {
			pi.Status = statusText(it)
			counts = it.Status != omnicart.StatusCanceled && it.Status != omnicart.StatusRefunded
			if d.State == statePaid {
				counts = isPaid(it.Status)
			}
		}
		if counts {
			total += amt
		}
		d.Items = append(d.Items, pi)
	}
	d.Total = money(total)
	d.TotalLabel = map[string]string{stateOpen: "Total to pay", statePaid: "Total paid"}[d.State]
	if d.TotalLabel == "" {
		d.TotalLabel = "Total"
	}
	d.Left = formatLeft(c.ExpiresAt.Sub(pg.Now))
	d.ExpiresISO = c.ExpiresAt.UTC().Format(time.RFC3339)
	d.ExpiresText = c.ExpiresAt.UTC().Format("15:04 MST, 2 January 2006")
	for _, f := range append(cardFields(), "code") {
		if msg, ok := in.FieldErrors[f]; ok {
			d.Errors = append(d.Errors, fieldError{Field: f, Message: msg})
			if d.FirstError == "" {
				d.FirstError = f
			}
		}
	}
	if n := len(c.Declines); n > 0 {
		d.Declined = strings.TrimSuffix(c.Declines[n-1].Reason, ".")
		left := m.MaxDeclines - n
		switch {
		case left == 1:
			d.AttemptsText = "You have 1 attempt left."
		case left > 1:
			d.AttemptsText = fmt.Sprintf("You have %d attempts left.", left)
		}
	}
	if c.Card != nil {
		d.Card = cardText(*c.Card)
	}
	if ch := c.Challenge; ch != nil {
		d.ChallengeAmount = money(ch.Amount)
		if ch.Card.Last4 != "" {
			d.Card = cardText(ch.Card)
		}
	}
	if d.State == statePaid {
		d.PaidText = paidText(c, d.Card, m.Name, money)
	}
	if d.State == stateProcessing {
		d.Refresh = true
	}
	if result := map[string]string{statePaid: gateway.ResultAuthorized, stateRejected: gateway.ResultRejected,
		stateExpired: gateway.ResultExpired}[d.State]; result != "" {
		d.ReturnURL = redirectURL(c, result)
	}
	return d
}

// pageState is what the page of cart c shows at now.
func pageState(c *omnicart.Cart, now time.Time) string {
	payable, _ := c.Payable()
	has := func(sts ...omnicart.Status) bool {
		for i := range c.Items {
			for _, st := range sts {
				if c.Items[i].Status == st {
					return true
				}
			}
		}
		return false
	}
	for i := range c.Items {
		if p := c.Items[i].Pending; p != nil && p.Kind == omnicart.OpAuthorize {
			return stateProcessing
		}
	}
	switch {
	case len(payable) > 0 && !c.Expired(now):
		return stateOpen
	case c.Paid():
		// Paid, whatever became of the items since (and also once the
		// payment window has passed): the page says so, never "expired".
		return statePaid
	case len(payable) > 0 || has(omnicart.StatusExpired):
		return stateExpired
	case has(omnicart.StatusRejected):
		return stateRejected
	}
	return stateClosed
}

// paidText says what the payment did to the customer's card, as of now:
// the amount of authorized items is held (two-step items waiting for the
// merchant's capture), the amount of captured or completed items was
// charged (one-step items at once, two-step ones once captured); a mix
// says both.
func paidText(c *omnicart.Cart, card, merchant string, money func(int64) string) string {
	var held, charged int64
	for i := range c.Items {
		it := &c.Items[i]
		switch it.Status {
		case omnicart.StatusAuthorized:
			held += it.Amounts().Current
		case omnicart.StatusCaptured, omnicart.StatusCompleted:
			charged += it.Amounts().Current
		}
	}
	if card == "" {
		card = "card"
	}
	switch {
	case held > 0 && charged > 0:
		return "Your " + card + " was charged " + money(charged) + ", and " + money(held) +
			" is held on it until " + merchant + " confirms the rest of the order."
	case charged > 0:
		return "Your " + card + " was charged " + money(charged) + "."
	case held > 0:
		return money(held) + " is held on your " + card + " until " + merchant + " confirms the order; you have not been charged yet."
	}
	return "Nothing is held on or charged to your " + card + " any more; each item below says what became of it."
}

func isPaid(st omnicart.Status) bool {
	return st == omnicart.StatusAuthorized || st == omnicart.StatusCaptured || st == omnicart.StatusCompleted
}

// statusText says what became of an item, for the customer.
func statusText(it *omnicart.Item) string {
	if it.Pending != nil {
		return "Processing"
	}
	switch it.Status {
	case omnicart.StatusAuthorized, omnicart.StatusCaptured, omnicart.StatusCompleted:
		return "Paid"
	case omnicart.StatusRefunded:
		return "Refunded"
	case omnicart.StatusCanceled:
		return "Canceled"
	case omnicart.StatusExpired:
		return "Expired"
	case omnicart.StatusRejected:
		return "Payment refused"
	}
	return "Awaiting payment"
}

func cardText(ci omnicart.CardInfo) string {
	names := map[string]string{"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express",
		"discover": "Discover", "jcb": "JCB"}
	b := names[ci.Brand]
	if b == "" {
		b = "card"
	}
	return b + " ending " + ci.Last4
}

// formatLeft renders the time left to pay in its two largest units,
// rounded down.
func formatLeft(d time.Duration) string {
	if d < time.Minute {
		if d <= 0 {
			return "no time"
		}
		return "less than a minute"
	}
	mins := int64(d / time.Minute)
	vals := []int64{mins / 1440, mins % 1440 / 60, mins % 60}
	names := []string{"day", "hour", "minute"}
	unit := func(k int) string {
		s := fmt.Sprintf("%d %s", vals[k], names[k])
		if vals[k] > 1 {
			s += "s"
		}
		return s
	}
	k := 0
	for vals[k] == 0 {
		k++
	}
	out := unit(k)
	if k+1 < len(vals) && vals[k+1] > 0 {
		out += " " + unit(k+1)
	}
	return out
}

// contentPolicy is the Content-Security-Policy of a page: nothing loads but
// the inline style sheet (by hash); forms post to this server or, for a
// cart with a return URL, lead there (browsers check form-action on the
// redirect after a form post).
func contentPolicy(c *omnicart.Cart) string {
	sum := sha256.Sum256([]byte(pageCSS()))
	formAction := "'self'"
	if c != nil && c.PaymentForm.DeliveryOption == "redirect" && c.PaymentForm.Value != "" {
		if u, err := url.Parse(c.PaymentForm.Value); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
			!strings.ContainsAny(u.Host, " ;,'\"") {
			formAction += " " + u.Scheme + "://" + u.Host
		}
	}
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src 'none'; form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'"
}

// renderPage executes the named page template for cart c (nil for pages of
// no cart) with its security headers.
func (s *Server) renderPage(w http.ResponseWriter, name string, status int, data any, c *omnicart.Cart) {
	var buf bytes.Buffer
	s.pagesOnce.Do(func() { s.pages = pageTemplates() })
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.Log.Error("rendering page", "page", name, "err", err)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", contentPolicy(c))
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type messagePage struct {
	chrome
	Heading string
	Text    string
	PayURL  string
}

func (s *Server) renderMessage(w http.ResponseWriter, status int, heading, text, payURL string) {
	s.renderPage(w, "message", status, messagePage{chrome: newChrome(heading), Heading: heading, Text: text, PayURL: payURL}, nil)
}

// CSRF protection of the payment forms: a double-submit cookie holding a
// random nonce (SameSite=Strict, HttpOnly), and a hidden form field that is
// the HMAC of the payment token and that nonce under a key derived from the
// server secret. A form post must carry both, matching.

const csrfCookie = "omnicart_pay"

func (s *Server) csrfKey() []byte {
	m := hmac.New(sha256.New, s.Service.KeyPepper)
	m.Write([]byte("omnicart payment form csrf v1"))
	return m.Sum(nil)
}

func (s *Server) csrfToken(token, nonce string) string {
	m := hmac.New(sha256.New, s.csrfKey())
	m.Write([]byte(token))
	m.Write([]byte{0})
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func validNonce(n string) bool {
	b, err := base64.RawURLEncoding.DecodeString(n)
	return err == nil && len(b) == 32
}

// ensureCSRF returns the form token of the page, setting the nonce cookie
// when the browser has none.
func (s *Server) ensureCSRF(w http.ResponseWriter, r *http.Request, token string) string {
	if ck, err := r.Cookie(csrfCookie); err == nil && validNonce(ck.Value) {
		return s.csrfToken(token, ck.Value)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // no randomness: nothing safe to do
	}
	nonce := base64.RawURLEncoding.EncodeToString(b)
	path, secure := "/pay/", false
	if u, err := url.Parse(s.PublicURL); err == nil {
		path = strings.TrimRight(u.Path, "/") + "/pay/"
		secure = u.Scheme == "https"
	}
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: nonce, Path: path, HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	return s.csrfToken(token, nonce)
}

// checkCSRF reports whether a form post for token carries a matching cookie
// and field.
func (s *Server) checkCSRF(r *http.Request, token, field string) bool {
	ck, err := r.Cookie(csrfCookie)
	if err != nil || !validNonce(ck.Value) || field == "" {
		return false
	}
	return hmac.Equal([]byte(field), []byte(s.csrfToken(token, ck.Value)))
}
