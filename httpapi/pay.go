package httpapi

import (
	"encoding/json"
	"errors"
	"html/template"
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

type payJSON struct {
	CardNumber string `json:"cardNumber"`
	Expiry     string `json:"expiry"`
	CVC        string `json:"cvc"`
	Cardholder string `json:"cardholder"`
}

type payAnswer struct {
	Result      string            `json:"result"`
	Reason      string            `json:"reason,omitempty"`
	RedirectURL string            `json:"redirectUrl,omitempty"`
	Fields      map[string]string `json:"fields,omitempty"`
}

// validateCard checks the card fields as the payment form does: Luhn, an
// expiry MM/YY not in the past, a 3–4 digit CVC, a cardholder name. Field
// errors are not payment attempts.
func validateCard(c omnicart.Card, now time.Time) map[string]string {
	errs := map[string]string{}
	digits := strings.NewReplacer(" ", "", "-", "").Replace(c.Number)
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
	if l := len(c.CVC); l < 3 || l > 4 || !allDigits(c.CVC) {
		errs["cvc"] = "Enter the 3 or 4 digit security code."
	}
	if h := strings.TrimSpace(c.Holder); h == "" || len(h) > 100 {
		errs["cardholder"] = "Enter the name on the card."
	}
	return errs
}

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

func (s *Server) handlePay(w http.ResponseWriter, r *http.Request, rc *reqCtx, token string) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	switch r.Method {
	case http.MethodGet:
		s.payPage(w, r, rc, token, nil, nil)
	case http.MethodPost:
		s.payPost(w, r, rc, token)
	default:
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeMethodNotAllowed}})
	}
}

func (s *Server) payPost(w http.ResponseWriter, r *http.Request, rc *reqCtx, token string) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	asJSON := mt == "application/json"
	var card omnicart.Card
	body := http.MaxBytesReader(w, r.Body, 64<<10)
	if asJSON {
		var in payJSON
		b, err := io.ReadAll(body)
		if err == nil {
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.DisallowUnknownFields()
			err = dec.Decode(&in)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, payAnswer{Result: "invalid", Reason: "The request body is not the expected JSON object."})
			return
		}
		card = omnicart.Card{Number: in.CardNumber, Expiry: in.Expiry, CVC: in.CVC, Holder: in.Cardholder}
	} else {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		card = omnicart.Card{Number: r.PostForm.Get("cardNumber"), Expiry: r.PostForm.Get("expiry"), CVC: r.PostForm.Get("cvc"), Holder: r.PostForm.Get("cardholder")}
	}
	if errs := validateCard(card, s.Service.Now()); len(errs) > 0 {
		if asJSON {
			writeJSON(w, http.StatusBadRequest, payAnswer{Result: "invalid", Reason: "Some card fields are invalid.", Fields: errs})
			return
		}
		s.payPage(w, r, rc, token, errs, nil)
		return
	}
	card.Number = strings.NewReplacer(" ", "", "-", "").Replace(card.Number)
	res, err := s.Service.Pay(r.Context(), token, card)
	if errors.Is(err, gateway.ErrUnknownToken) {
		if asJSON {
			writeJSON(w, http.StatusNotFound, payAnswer{Result: "invalid", Reason: "Unknown payment link."})
			return
		}
		http.Error(w, "Unknown payment link.", http.StatusNotFound)
		return
	}
	if err != nil {
		s.Log.ErrorContext(r.Context(), "payment failed", "request_id", rc.id, "err", err)
		if asJSON {
			writeJSON(w, http.StatusInternalServerError, payAnswer{Result: "invalid", Reason: "The payment could not be processed; please try again."})
			return
		}
		http.Error(w, "The payment could not be processed; please try again.", http.StatusInternalServerError)
		return
	}
	ans := payAnswer{Result: res.Result, Reason: res.Reason}
	status := http.StatusOK
	switch res.Result {
	case gateway.ResultAuthorized:
		ans.RedirectURL = redirectURL(res.Cart, res.Result)
	case gateway.ResultDeclined:
		status = http.StatusPaymentRequired
	case gateway.ResultRejected:
		status = http.StatusPaymentRequired
		ans.RedirectURL = redirectURL(res.Cart, res.Result)
	case gateway.ResultExpired:
		status = http.StatusGone
		ans.RedirectURL = redirectURL(res.Cart, res.Result)
	}
	if asJSON {
		writeJSON(w, status, ans)
		return
	}
	if ans.RedirectURL != "" {
		http.Redirect(w, r, ans.RedirectURL, http.StatusSeeOther)
		return
	}
	s.payPage(w, r, rc, token, nil, &ans)
}

type pageItem struct {
	Name   string
	Amount string
	Status string
}

type pageData struct {
	Merchant string
	Currency string
	Items    []pageItem
	Total    string
	Open     bool
	Left     string
	Errors   map[string]string
	Answer   *payAnswer
}

func (s *Server) payPage(w http.ResponseWriter, r *http.Request, rc *reqCtx, token string, fieldErrs map[string]string, ans *payAnswer) {
	pg, err := s.Service.Page(r.Context(), token)
	if errors.Is(err, gateway.ErrUnknownToken) {
		http.Error(w, "Unknown payment link.", http.StatusNotFound)
		return
	}
	if err != nil {
		s.Log.ErrorContext(r.Context(), "payment page failed", "request_id", rc.id, "err", err)
		http.Error(w, "The payment page is unavailable; please try again.", http.StatusInternalServerError)
		return
	}
	c := pg.Cart
	cur, _ := omnicart.LookupCurrency(c.Currency)
	_, total := c.Payable()
	d := pageData{Merchant: pg.Merchant.Name, Currency: c.Currency, Total: cur.FormatAmount(total), Errors: fieldErrs, Answer: ans}
	for i := range c.Items {
		it := &c.Items[i]
		name := pg.Names[it.ID]
		if name == "" {
			name = it.ID
		}
		d.Items = append(d.Items, pageItem{Name: name, Amount: cur.FormatAmount(it.Amounts().Current), Status: string(it.ReportedStatus())})
	}
	d.Open = !c.Expired(pg.Now) && total > 0
	if d.Open {
		d.Left = c.ExpiresAt.Sub(pg.Now).Round(time.Minute).String()
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	status := http.StatusOK
	if len(fieldErrs) > 0 {
		status = http.StatusBadRequest
	}
	w.WriteHeader(status)
	_ = payTemplate().Execute(w, d)
}

func payTemplate() *template.Template {
	return template.Must(template.New("pay").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay {{.Merchant}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:1rem auto;padding:0 1rem}table{width:100%;border-collapse:collapse}td{padding:.3rem 0}td.amt{text-align:right}label{display:block;margin-top:.8rem}input{width:100%;font-size:1.1rem;padding:.4rem}.err{color:#a00}button{margin-top:1rem;font-size:1.1rem;padding:.6rem 1.2rem}</style></head>
<body><main>
<h1>{{.Merchant}}</h1>
{{with .Answer}}<p role="status" class="{{if ne .Result "authorized"}}err{{end}}">{{if eq .Result "authorized"}}Payment authorized. Thank you.{{else}}{{.Reason}}{{end}}</p>{{end}}
<table><caption>Your order</caption>
{{range .Items}}<tr><td>{{.Name}}</td><td class="amt">{{.Amount}} {{$.Currency}}</td></tr>{{end}}
<tr><th scope="row">Total to pay</th><td class="amt"><strong>{{.Total}} {{.Currency}}</strong></td></tr></table>
{{if .Open}}
<p>Time left to pay: {{.Left}}</p>
{{if .Errors}}<div role="alert" class="err"><p>Please correct the following:</p><ul>{{range $k, $v := .Errors}}<li>{{$v}}</li>{{end}}</ul></div>{{end}}
<form method="post" autocomplete="on">
<label for="cardNumber">Card number</label><input id="cardNumber" name="cardNumber" inputmode="numeric" autocomplete="cc-number" required>
<label for="expiry">Expiry (MM/YY)</label><input id="expiry" name="expiry" autocomplete="cc-exp" required>
<label for="cvc">Security code</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" required>
<label for="cardholder">Name on card</label><input id="cardholder" name="cardholder" autocomplete="cc-name" required>
<button type="submit">Pay {{.Total}} {{.Currency}}</button>
</form>
{{else}}<p>This payment link is closed: it has expired or there is nothing left to pay.</p>{{end}}
</main></body></html>`))
}
