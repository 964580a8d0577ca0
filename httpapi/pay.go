package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
)

// The payment page (SPEC §6): GET /pay/{token} shows the cart and a card
// form; POST /pay/{token} takes the card as a form (browsers, with a CSRF
// token) or as JSON (apps); GET and POST /pay/{token}/challenge run the
// 3-D Secure challenge. Forms follow post/redirect/get: every result but a
// field error is a 303 to the merchant's return URL, the challenge page or
// the payment page, which shows the cart's state (including the last
// decline).

type payJSON struct {
	CardNumber string `json:"cardNumber"`
	Expiry     string `json:"expiry"`
	CVC        string `json:"cvc"`
	Cardholder string `json:"cardholder"`
}

type challengeJSON struct {
	Code string `json:"code"`
}

type payAnswer struct {
	Result       string            `json:"result"`
	Reason       string            `json:"reason,omitempty"`
	RedirectURL  string            `json:"redirectUrl,omitempty"`
	ChallengeURL string            `json:"challengeUrl,omitempty"`
	Fields       map[string]string `json:"fields,omitempty"`
}

const (
	resultInvalid = "invalid"
	maxPayBody    = 64 << 10
)

// cardFields is the order in which card field errors are listed.
func cardFields() []string { return []string{"cardNumber", "expiry", "cvc", "cardholder"} }

// validateCard checks the card fields as the payment form does: Luhn, an
// expiry MM/YY not in the past, a CVC of the brand's length (4 digits for
// American Express, 3 otherwise), a cardholder name. Field errors are not
// payment attempts.
func validateCard(c omnicart.Card, now time.Time) map[string]string {
	errs := map[string]string{}
	digits := normalizeNumber(c.Number)
	if len(digits) < 12 || len(digits) > 19 || !allDigits(digits) || !luhn(digits) {
		errs["cardNumber"] = "Enter a valid card number."
	}
	mm, yy, ok := strings.Cut(strings.TrimSpace(c.Expiry), "/")
	month, err1 := strconv.Atoi(strings.TrimSpace(mm))
	year, err2 := strconv.Atoi(strings.TrimSpace(yy))
	switch {
	case !ok || err1 != nil || err2 != nil || month < 1 || month > 12 || year < 0 || year > 99:
		errs["expiry"] = "Enter the expiry date as MM/YY."
	case !time.Date(2000+year, time.Month(month)+1, 1, 0, 0, 0, 0, time.UTC).After(now):
		errs["expiry"] = "This card has expired."
	}
	want := 3
	if strings.HasPrefix(digits, "34") || strings.HasPrefix(digits, "37") {
		want = 4
	}
	if !allDigits(c.CVC) || len(c.CVC) != want {
		errs["cvc"] = "Enter the " + strconv.Itoa(want) + "-digit security code."
	}
	if h := strings.TrimSpace(c.Holder); h == "" || len(h) > 100 || strings.ContainsFunc(h, isControl) {
		errs["cardholder"] = "Enter the name on the card."
	}
	return errs
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func normalizeNumber(n string) string { return strings.NewReplacer(" ", "", "-", "").Replace(n) }

// validCode checks the shape of a 3-D Secure code: six digits.
func validCode(code string) bool { return len(code) == 6 && allDigits(code) }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func luhn(d string) bool {
	sum := 0
	for i := 0; i < len(d); i++ {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// redirectURL is the merchant's return URL with cartId and result, or ""
// when the cart has none.
func redirectURL(c *omnicart.Cart, result string) string {
	if c.PaymentForm.DeliveryOption != "redirect" || c.PaymentForm.Value == "" {
		return ""
	}
	u, err := url.Parse(c.PaymentForm.Value)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("cartId", c.ID)
	q.Set("result", result)
	u.RawQuery = q.Encode()
	return u.String()
}

// validPayToken checks the shape of a payment token (base64url, as
// gateway.Init makes them) before it is looked up.
func validPayToken(t string) bool {
	if len(t) < 16 || len(t) > 128 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (s *Server) payURL(token string) string {
	return strings.TrimRight(s.PublicURL, "/") + "/pay/" + token
}

func (s *Server) challengeURL(token string) string { return s.payURL(token) + "/challenge" }

// handlePay serves /pay/{token} and /pay/{token}/challenge; rest is the
// path after /pay/.
func (s *Server) handlePay(w http.ResponseWriter, r *http.Request, rc *reqCtx, rest string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	token, sub, _ := strings.Cut(rest, "/")
	challenge := sub == "challenge"
	if !validPayToken(token) || (sub != "" && !challenge) {
		s.payNotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if challenge {
			s.challengePage(w, r, rc, token, nil)
			return
		}
		s.payPage(w, r, rc, token, pageInput{})
	case http.MethodPost:
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch mt {
		case "application/json":
			s.payPostJSON(w, r, rc, token, challenge)
		case "application/x-www-form-urlencoded":
			s.payPostForm(w, r, rc, token, challenge)
		default:
			writeJSON(w, http.StatusBadRequest, payAnswer{Result: resultInvalid,
				Reason: "Send the card as application/json, or as a form from the payment page."})
		}
	default:
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeMethodNotAllowed}})
	}
}

func wantsJSON(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json" || (r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "application/json"))
}

func (s *Server) payNotFound(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusNotFound, payAnswer{Result: resultInvalid, Reason: "Unknown payment link."})
		return
	}
	s.renderMessage(w, http.StatusNotFound, "Payment link not found",
		"This payment link is not valid. Check that you opened the whole link you received.", "")
}

func (s *Server) payFailed(w http.ResponseWriter, r *http.Request, rc *reqCtx, token string, err error) {
	if errors.Is(err, gateway.ErrUnknownToken) {
		s.payNotFound(w, r)
		return
	}
	if errors.Is(err, gateway.ErrNoProvider) {
		s.payUnavailable(w, r)
		return
	}
	if errors.Is(err, omnicart.ErrUnavailable) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The database is out of reach for a moment: nothing was charged
		// that a retry will not see.
		s.Log.WarnContext(r.Context(), "payment failed: storage unavailable", "request_id", rc.id, "err", err)
		const busy = "The payment service is briefly unavailable; nothing was charged that a retry would not find. Please try again in a moment."
		w.Header().Set("Retry-After", "1")
		if wantsJSON(r) {
			writeJSON(w, http.StatusServiceUnavailable, payAnswer{Result: resultUnavailable, Reason: busy})
			return
		}
		s.renderMessage(w, http.StatusServiceUnavailable, "Please try again", busy, s.payURL(token))
		return
	}
	s.Log.ErrorContext(r.Context(), "payment failed", "request_id", rc.id, "err", err)
	const text = "The payment could not be processed; please try again."
	if wantsJSON(r) {
		writeJSON(w, http.StatusInternalServerError, payAnswer{Result: resultInvalid, Reason: text})
		return
	}
	s.renderMessage(w, http.StatusInternalServerError, "Something went wrong", text, s.payURL(token))
}

// readPayJSON decodes a JSON body strictly (no unknown fields, nothing
// after the object) into v.
func readPayJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayBody))
	if err != nil {
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return false
	}
	_, err = dec.Token()
	return errors.Is(err, io.EOF)
}

func (s *Server) payPostJSON(w http.ResponseWriter, r *http.Request, rc *reqCtx, token string, challenge bool) {
	bad := payAnswer{Result: resultInvalid, Reason: "The request body is not the expected JSON object."}
	var res *gateway.PayResult
	var err error
	if challenge {
		var in challengeJSON
		if !readPayJSON(w, r, &in) {
			writeJSON(w, http.StatusBadRequest, bad)
			return
		}
		if !validCode(in.Code) {
			writeJSON(w, http.StatusBadRequest, payAnswer{Result: resultInvalid, Reason: "Some fields are invalid.",
				Fields: map[string]string{"code": "Enter the 6-digit verification code."}})
			return
		}
		res, err = s.Service.CompleteChallenge(r.Context(), token, in.Code)
		if errors.Is(err, gateway.ErrNoChallenge) {
			writeJSON(w, http.StatusBadRequest, payAnswer{Result: resultInvalid, Reason: "No 3-D Secure verification is pending for this payment."})
			return
		}
	} else {
		var in payJSON
		if !readPayJSON(w, r, &in) {
			writeJSON(w, http.StatusBadRequest, bad)
			return
		}
		card := omnicart.Card{Number: in.CardNumber, Expiry: in.Expiry, CVC: in.CVC, Holder: in.Cardholder}
		if errs := validateCard(card, s.Service.Now()); len(errs) > 0 {
			writeJSON(w, http.StatusBadRequest, payAnswer{Result: resultInvalid, Reason: "Some card fields are invalid.", Fields: errs})
			return
		}
		card.Number = normalizeNumber(card.Number)
		res, err = s.Service.Pay(r.Context(), token, card)
	}
	if err != nil {
		s.payFailed(w, r, rc, token, err)
		return
	}
	status, ans := s.answer(res, token)
	writeJSON(w, status, ans)
}

// answer is the JSON answer to a payment result and its HTTP status.
func (s *Server) answer(res *gateway.PayResult, token string) (int, payAnswer) {
	ans := payAnswer{Result: res.Result, Reason: res.Reason}
	switch res.Result {
	case gateway.ResultAuthorized:
		ans.RedirectURL = redirectURL(res.Cart, res.Result)
		return http.StatusOK, ans
	case gateway.ResultChallenge:
		ans.Reason = "Your card issuer asks for a 3-D Secure verification code: POST {\"code\": \"...\"} to challengeUrl."
		ans.ChallengeURL = s.challengeURL(token)
		return http.StatusOK, ans
	case gateway.ResultDeclined:
		return http.StatusPaymentRequired, ans
	case gateway.ResultRejected:
		ans.RedirectURL = redirectURL(res.Cart, res.Result)
		return http.StatusPaymentRequired, ans
	}
	ans.RedirectURL = redirectURL(res.Cart, gateway.ResultExpired)
	return http.StatusGone, ans
}

func (s *Server) payPostForm(w http.ResponseWriter, r *http.Request, rc *reqCtx, token string, challenge bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPayBody)
	if err := r.ParseForm(); err != nil {
		s.renderMessage(w, http.StatusBadRequest, "Something went wrong", "The form could not be read; please try again.", s.payURL(token))
		return
	}
	if !s.checkCSRF(r, token, r.PostForm.Get("csrf")) {
		s.renderMessage(w, http.StatusForbidden, "Please try again",
			"This form has expired or was not sent from the payment page. Go back to the payment page and submit it again (cookies must be enabled).",
			s.payURL(token))
		return
	}
	var res *gateway.PayResult
	var err error
	if challenge {
		code := strings.TrimSpace(r.PostForm.Get("code"))
		if !validCode(code) {
			s.challengePage(w, r, rc, token, map[string]string{"code": "Enter the 6-digit verification code."})
			return
		}
		res, err = s.Service.CompleteChallenge(r.Context(), token, code)
		if errors.Is(err, gateway.ErrNoChallenge) {
			http.Redirect(w, r, s.payURL(token), http.StatusSeeOther)
			return
		}
	} else {
		f := r.PostForm
		card := omnicart.Card{Number: f.Get("cardNumber"), Expiry: f.Get("expiry"), CVC: f.Get("cvc"), Holder: f.Get("cardholder")}
		if errs := validateCard(card, s.Service.Now()); len(errs) > 0 {
			s.payPage(w, r, rc, token, pageInput{FieldErrors: errs, Expiry: card.Expiry, Cardholder: card.Holder})
			return
		}
		card.Number = normalizeNumber(card.Number)
		res, err = s.Service.Pay(r.Context(), token, card)
	}
	if err != nil {
		s.payFailed(w, r, rc, token, err)
		return
	}
	loc := s.payURL(token)
	switch res.Result {
	case gateway.ResultChallenge:
		loc = s.challengeURL(token)
	case gateway.ResultAuthorized, gateway.ResultRejected, gateway.ResultExpired:
		if u := redirectURL(res.Cart, res.Result); u != "" {
			loc = u
		}
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
}

// payPage renders the payment page of token in its current state.
func (s *Server) payPage(w http.ResponseWriter, r *http.Request, rc *reqCtx, token string, in pageInput) {
	pg, err := s.Service.Page(r.Context(), token)
	if err != nil {
		s.payFailed(w, r, rc, token, err)
		return
	}
	if s.unpayable(pg) {
		s.payUnavailable(w, r)
		return
	}
	in.PayURL = s.payURL(token)
	if pg.Cart.Challenge != nil {
		in.ChallengeURL = s.challengeURL(token)
	}
	in.CSRF = s.ensureCSRF(w, r, token)
	d := buildPayPage(pg, in)
	s.renderPage(w, "pay", d.httpStatus(), d, pg.Cart)
}

// challengePage renders the 3-D Secure challenge of token, or sends the
// customer back to the payment page when no challenge is waiting.
func (s *Server) challengePage(w http.ResponseWriter, r *http.Request, rc *reqCtx, token string, fieldErrs map[string]string) {
	pg, err := s.Service.Page(r.Context(), token)
	if err != nil {
		s.payFailed(w, r, rc, token, err)
		return
	}
	in := pageInput{PayURL: s.payURL(token), ChallengeURL: s.challengeURL(token), FieldErrors: fieldErrs}
	in.CSRF = s.ensureCSRF(w, r, token)
	d := buildPayPage(pg, in)
	if d.State != stateOpen || pg.Cart.Challenge == nil {
		http.Redirect(w, r, in.PayURL, http.StatusSeeOther)
		return
	}
	status := http.StatusOK
	if len(fieldErrs) > 0 {
		status = http.StatusBadRequest
	}
	s.renderPage(w, "challenge", status, d, pg.Cart)
}
