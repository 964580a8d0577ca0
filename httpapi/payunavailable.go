package httpapi

import (
	"net/http"

	"github.com/omnicart/omnicart/gateway"
)

// resultUnavailable is the JSON result of a payment that this server cannot
// take at all: the cart's merchant is in a mode no payment provider serves
// (a live merchant while no live provider is configured; such carts exist
// when they were opened before /init refused them).
const resultUnavailable = "unavailable"

// unavailableText says why, to the customer.
const unavailableText = "This shop cannot take card payments here yet: no payment provider is configured for it. No money was taken; please contact the shop."

// payUnavailable answers a payment or a page of a cart that cannot be paid
// here (gateway.ErrNoProvider): HTTP 503, with {"result": "unavailable"}
// for apps and a page saying so for browsers, never a 500 and never a card
// form.
func (s *Server) payUnavailable(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusServiceUnavailable, payAnswer{Result: resultUnavailable, Reason: unavailableText})
		return
	}
	s.renderMessage(w, http.StatusServiceUnavailable, "Payments are not available", unavailableText, "")
}

// unpayable reports whether the page of pg would offer a card form that
// no provider can take, in which case payPage shows payUnavailable instead.
func (s *Server) unpayable(pg *gateway.PaymentPage) bool {
	return pageState(pg.Cart, pg.Now) == stateOpen && !s.Service.CanPay(pg.Merchant.Mode)
}
