package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/omnicart/omnicart"
)

// outboxRow is one message of the sandbox outbox page.
type outboxRow struct {
	Sent      string
	SentISO   string
	Channel   string
	Recipient string
	Merchant  string
	CartID    string
	Amount    string
	Link      string
}

type outboxPage struct {
	chrome
	Messages []outboxRow
}

// handleOutbox serves GET /sandbox/outbox: the payment links delivered to
// the local sandbox outbox (test-mode merchants, channels with no provider
// configured), newest first. It shows one merchant's messages to a request
// with that merchant's API key; without a key it answers only on a server
// whose operator made the outbox public (PublicOutbox, on with --demo),
// and then lists every test-mode merchant's messages.
func (s *Server) handleOutbox(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	merchantID := ""
	if !s.PublicOutbox || r.Header.Get("Api-Access-Token") != "" {
		if !s.authenticate(w, r, rc, func(_ *omnicart.Merchant, k *omnicart.APIKey) bool {
			return k.Allows(omnicart.MethodStatus)
		}) {
			return
		}
		merchantID = rc.merchant.ID
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeMethodNotAllowed}})
		return
	}
	msgs, err := s.Service.SandboxOutbox(r.Context(), merchantID, 200)
	if err != nil {
		s.Log.ErrorContext(r.Context(), "sandbox outbox", "request_id", rc.id, "err", err)
		s.renderMessage(w, http.StatusInternalServerError, "Something went wrong", "The outbox could not be read; please try again.", "")
		return
	}
	p := outboxPage{chrome: newChrome("Sandbox outbox")}
	for _, n := range msgs {
		amount := n.Currency
		if c, ok := omnicart.LookupCurrency(n.Currency); ok {
			amount = c.FormatAmount(n.Amount) + " " + n.Currency
		}
		at := n.SentAt
		if at.IsZero() {
			at = n.CreatedAt
		}
		row := outboxRow{Sent: at.UTC().Format("2006-01-02 15:04:05 MST"), SentISO: at.UTC().Format(time.RFC3339),
			Channel: n.Channel, Recipient: n.Recipient, Merchant: n.MerchantName, CartID: n.CartID, Amount: amount}
		if n.PayToken != "" {
			row.Link = s.payURL(n.PayToken)
		}
		p.Messages = append(p.Messages, row)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	s.renderPage(w, "outbox", http.StatusOK, p, nil)
}

// delivery is one payment-link message in GET /deliveries/{cartId}.
type delivery struct {
	Channel       string `json:"channel"`
	Recipient     string `json:"recipient"`
	State         string `json:"state"`
	Attempts      int    `json:"attempts"`
	Via           string `json:"via,omitempty"`
	LastError     string `json:"lastError,omitempty"`
	CreatedAt     string `json:"createdAt"`
	SentAt        string `json:"sentAt,omitempty"`
	NextAttemptAt string `json:"nextAttemptAt,omitempty"`
}

// handleDeliveries serves GET /deliveries/{cartId} (extension): the
// payment-link messages of one of the merchant's carts and their delivery
// state (queued, sent, failed). It needs a key allowed to call status.
func (s *Server) handleDeliveries(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.authenticate(w, r, rc, func(_ *omnicart.Merchant, k *omnicart.APIKey) bool {
		return r.Method == http.MethodGet && k.Allows(omnicart.MethodStatus)
	}) {
		return
	}
	m := rc.merchant
	cartID := strings.TrimPrefix(r.URL.Path, "/deliveries/")
	if u, err := url.PathUnescape(cartID); err == nil {
		cartID = u
	}
	switch {
	case cartID == "":
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeCartIDEmpty}})
		return
	case !omnicart.ValidCartID(cartID):
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeInvalidFormat, Arg: "cartId"}})
		return
	}
	msgs, err := s.Service.Deliveries(r.Context(), m, cartID)
	if err != nil {
		s.fail(w, r, rc, err)
		return
	}
	out := make([]delivery, 0, len(msgs))
	for _, n := range msgs {
		d := delivery{Channel: n.Channel, Recipient: n.Recipient, State: n.State, Attempts: n.Attempts, Via: n.Via,
			LastError: n.LastError, CreatedAt: stamp(n.CreatedAt)}
		if !n.SentAt.IsZero() {
			d.SentAt = stamp(n.SentAt)
		}
		if n.State == omnicart.NotificationQueued {
			d.NextAttemptAt = stamp(n.NextAttemptAt)
		}
		out = append(out, d)
	}
	writeSuccess(w, rc, false, "", map[string]any{"cartId": cartID, "deliveries": out}, nil, false)
}
