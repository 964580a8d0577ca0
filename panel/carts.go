package panel

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/omnicart/omnicart"
)

// Money formats minor units in a currency's own exponent.
func Money(currency string, minor int64) string {
	if c, ok := omnicart.LookupCurrency(currency); ok {
		return c.FormatAmount(minor) + " " + currency
	}
	return strconv.FormatInt(minor, 10) + " " + currency
}

// listStatuses are the item statuses the list filters on.
var listStatuses = []omnicart.Status{omnicart.StatusInitiated, omnicart.StatusAuthorized, omnicart.StatusCaptured, omnicart.StatusCompleted,
	omnicart.StatusCanceled, omnicart.StatusRefunded, omnicart.StatusRejected, omnicart.StatusExpired}

const pageSize = 25

type cartRow struct {
	ID, Customer, Currency, Created, Total, Statuses string
}

type cartsData struct {
	Q, Status, Currency string
	Statuses            []omnicart.Status
	Rows                []cartRow
	Next                string
}

// CartQueryFrom reads the listing filters of a Panel or API request: q (a
// cartId or customerId), cartId, customerId, status, currency, after. It
// returns the name of a parameter with a bad value ("" when all are good).
// Limit is pageSize; the caller may change it.
//
// Text that is not valid UTF-8 is a bad value: PostgreSQL refuses it in a
// query (SQLSTATE 22021), where SQLite would simply find nothing.
func CartQueryFrom(merchantID string, v url.Values) (omnicart.CartQuery, string) {
	q := omnicart.CartQuery{MerchantID: merchantID, CartID: v.Get("cartId"), CustomerID: v.Get("customerId"),
		Currency: strings.ToUpper(v.Get("currency")), Limit: pageSize}
	for _, name := range []string{"cartId", "customerId", "currency"} {
		if !utf8.ValidString(v.Get(name)) {
			return q, name
		}
	}
	if st := v.Get("status"); st != "" {
		if !slices.Contains(listStatuses, omnicart.Status(st)) {
			return q, "status"
		}
		q.Status = omnicart.Status(st)
	}
	if a := v.Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n <= 0 {
			return q, "after"
		}
		q.After = n
	}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"from", &q.CreatedFrom}, {"to", &q.CreatedTo}} {
		if s := v.Get(f.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				if t, err = time.Parse(time.DateOnly, s); err != nil {
					return q, f.name
				}
			}
			*f.t = t
		}
	}
	return q, ""
}

func (h *Handler) carts(w http.ResponseWriter, r *http.Request, s *signedIn) {
	v := r.URL.Query()
	q, bad := CartQueryFrom(s.merchant.ID, v)
	d := cartsData{Q: strings.TrimSpace(v.Get("q")), Status: string(q.Status), Currency: q.Currency, Statuses: listStatuses}
	p := page{Title: "Carts", User: s.user, CSRF: s.csrf, Nav: "carts"}
	if bad == "" && !utf8.ValidString(d.Q) {
		bad, d.Q = "q", strings.ToValidUTF8(d.Q, "\uFFFD")
	}
	if bad != "" {
		p.Error = "The filter " + bad + " has an invalid value."
		p.Data = d
		h.render(w, "carts", http.StatusBadRequest, p)
		return
	}
	var list []omnicart.ListedCart
	if d.Q != "" {
		// A search term is a cartId or a customerId: both, merged.
		seen := map[int64]bool{}
		for _, qq := range []omnicart.CartQuery{withCart(q, d.Q), withCustomer(q, d.Q)} {
			got, err := h.Store.ListCarts(r.Context(), qq)
			if err != nil {
				h.fail(w, r, s, err)
				return
			}
			for _, lc := range got {
				if !seen[lc.Cursor] {
					seen[lc.Cursor] = true
					list = append(list, lc)
				}
			}
		}
		slices.SortFunc(list, func(a, b omnicart.ListedCart) int { return int(b.Cursor - a.Cursor) })
		if len(list) > pageSize {
			list = list[:pageSize]
		}
	} else {
		var err error
		if list, err = h.Store.ListCarts(r.Context(), q); err != nil {
			h.fail(w, r, s, err)
			return
		}
	}
	for _, lc := range list {
		d.Rows = append(d.Rows, rowOf(lc.Cart))
	}
	if len(list) == pageSize {
		nv := url.Values{}
		for _, k := range []string{"q", "status", "currency"} {
			if v.Get(k) != "" {
				nv.Set(k, v.Get(k))
			}
		}
		nv.Set("after", strconv.FormatInt(list[len(list)-1].Cursor, 10))
		d.Next = Prefix + "carts?" + nv.Encode()
	}
	p.Data = d
	h.render(w, "carts", http.StatusOK, p)
}

func withCart(q omnicart.CartQuery, id string) omnicart.CartQuery     { q.CartID = id; return q }
func withCustomer(q omnicart.CartQuery, id string) omnicart.CartQuery { q.CustomerID = id; return q }

func rowOf(c *omnicart.Cart) cartRow {
	counts := map[omnicart.Status]int{}
	var order []omnicart.Status
	for i := range c.Items {
		st := c.Items[i].ReportedStatus()
		if counts[st] == 0 {
			order = append(order, st)
		}
		counts[st]++
	}
	var parts []string
	for _, st := range order {
		parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
	}
	return cartRow{ID: c.ID, Customer: c.CustomerID, Currency: c.Currency, Created: c.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"),
		Total: Money(c.Currency, c.Totals(c.All()).Current), Statuses: strings.Join(parts, ", ")}
}

// The cart page, and its actions through the use cases of the Merchant API
// (gateway.Service.Act and Modify), each behind a confirmation page:
//
//	GET  /panel/carts/{cartId}                 items, capture windows, timers, payment attempts,
//	                                           timeline with causes, callbacks, Panel actions
//	GET  /panel/carts/{cartId}/confirm?action= capture|cancel|refund (whole cart, &item= or &tag=),
//	                                           amount&item=[&amount=&quantity=] (partial cancel/refund),
//	                                           start|pause|stop&item= (the item's timer)
//	POST /panel/carts/{cartId}/act             the same actions, confirmed: the form carries what
//	                                           the confirmation showed (itemIds and total; an amount
//	                                           change's from, fromQuantity, to), and the action is
//	                                           done only if the cart still matches it

// cartStamp formats a moment for the cart pages.
func cartStamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// durationText writes a duration for people: "2d 3h", "3h 05m", "4m 10s",
// "45s" (its magnitude; callers say whether it is ahead or past).
func durationText(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Second)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	hrs := d / time.Hour
	d -= hrs * time.Hour
	mins := d / time.Minute
	secs := (d - mins*time.Minute) / time.Second
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hrs)
	case hrs > 0:
		return fmt.Sprintf("%dh %02dm", hrs, mins)
	case mins > 0:
		return fmt.Sprintf("%dm %02ds", mins, secs)
	}
	return fmt.Sprintf("%ds", secs)
}

// untilText says how far at is from now: "in 3h 05m", "now", or "due 20s
// ago" (a deadline the scheduler is about to fire).
func untilText(at, now time.Time) string {
	d := at.Sub(now)
	switch {
	case d >= time.Second:
		return "in " + durationText(d)
	case d > -time.Second:
		return "now"
	}
	return "due " + durationText(d) + " ago"
}

// autoActionText names a capture window's auto action.
func autoActionText(a omnicart.AutoAction) string {
	if a == omnicart.AutoComplete {
		return "auto-capture"
	}
	return "auto-cancel"
}

// clockText describes the merchant's clock when a test clock moved it.
func clockText(m *omnicart.Merchant) string {
	if m.ClockOffset <= 0 {
		return ""
	}
	return "test clock " + durationText(m.ClockOffset) + " ahead of real time"
}

// timerText describes an item timer at now (merchant time).
func timerText(t *omnicart.Timer, now time.Time) string {
	trigger := "starts when the item is " + t.Trigger
	if t.Trigger == omnicart.TriggerManual {
		trigger = "starts by hand"
	}
	length := "no end"
	if !t.Infinite {
		length = durationText(t.Left)
	}
	switch t.StatusAt(now) {
	case omnicart.TimerPending:
		return "pending (" + trigger + "): " + length + " once started"
	case omnicart.TimerStarted:
		if t.Infinite {
			return "started, no end"
		}
		d, _ := t.Deadline()
		return "started: " + durationText(d.Sub(now)) + " left, elapses " + cartStamp(d)
	case omnicart.TimerPaused:
		if t.Infinite {
			return "paused, no end"
		}
		return "paused: " + durationText(t.Left) + " left"
	case omnicart.TimerStopped:
		if t.Infinite {
			return "stopped"
		}
		return "stopped with " + durationText(t.Left) + " left"
	}
	return "elapsed"
}

type itemRow struct {
	ID, Tag, Status                        string
	Initiated, Captured, Refunded, Current string
	// Pricing shows a calculated item's amount × quantity × modifier.
	Pricing string
	// Window is an authorized item's capture window; WindowSoon marks one
	// that ends within 24 hours.
	Window                                      string
	WindowSoon                                  bool
	Timer                                       string
	CanCapture, CanCancel, CanRefund, CanAmount bool
	CanStart, CanPause, CanStop                 bool
}

type cartEventRow struct {
	ID, At, Type, Detail, Cause string
	Seq                         int64
}

type cartDeliveryRow struct {
	EventID, Event, EndpointID, Endpoint, Status, Attempts, Result, When string
}

type cartActionRow struct{ At, Actor, Action, Detail string }

type paymentData struct {
	Card, AuthRef, AuthorizedAt string
	Declines                    []string
	MaxDeclines                 int
	Challenge                   bool
}

type cartData struct {
	CartID, Customer, Currency, Created, Expires, Now, Clock string
	Items                                                    []itemRow
	Total                                                    itemRow
	Tags                                                     []string
	Events                                                   []cartEventRow
	EventsNote                                               string
	Deliveries                                               []cartDeliveryRow
	DeliveriesNote                                           string
	Actions                                                  []cartActionRow
	ActionsNote                                              string
	Payment                                                  paymentData
	CanAct                                                   bool
	AnyCapture, AnyCancel, AnyRefund                         bool
}

func (h *Handler) loadCart(w http.ResponseWriter, r *http.Request, s *signedIn) (*omnicart.Cart, time.Time, bool) {
	cartID := r.PathValue("cartId")
	if !omnicart.ValidCartID(cartID) {
		// No cart has such an id; the database is not asked (PostgreSQL
		// refuses text that is not valid UTF-8).
		h.message(w, r, s, http.StatusNotFound, "Cart not found", "This merchant has no cart with that cartId.")
		return nil, time.Time{}, false
	}
	res, err := h.Service.Status(r.Context(), s.merchant, cartID, omnicart.Filter{}, omnicart.StagedProblems{})
	var de *omnicart.Error
	if errors.As(err, &de) {
		h.message(w, r, s, http.StatusNotFound, "Cart not found", "This merchant has no cart with that cartId.")
		return nil, time.Time{}, false
	}
	if err != nil {
		h.fail(w, r, s, err)
		return nil, time.Time{}, false
	}
	return res.Cart, res.Now, true
}

// cartItemRow is one line of the items table at now (merchant time).
func cartItemRow(c *omnicart.Cart, it *omnicart.Item, now time.Time) itemRow {
	a := it.Amounts()
	row := itemRow{ID: it.ID, Tag: it.Tag, Status: string(it.ReportedStatus()),
		Initiated: Money(c.Currency, a.Initiated), Captured: Money(c.Currency, a.Captured),
		Refunded: Money(c.Currency, a.Refunded), Current: Money(c.Currency, a.Current)}
	if it.Payment.Mode == omnicart.AmountCalculated {
		row.Pricing = Money(c.Currency, it.Payment.Amount) + " × " + it.Payment.Quantity.String() + " × " + it.Payment.Modifier.String()
	}
	if it.Pending == nil {
		row.CanCapture = it.Status == omnicart.StatusAuthorized
		row.CanCancel = it.Status == omnicart.StatusAuthorized
		row.CanRefund = it.Status == omnicart.StatusCompleted
		row.CanAmount = it.Status == omnicart.StatusInitiated || it.Status == omnicart.StatusAuthorized || it.Status == omnicart.StatusCompleted
	}
	if !it.CaptureDueAt.IsZero() && it.Status == omnicart.StatusAuthorized {
		row.Window = autoActionText(it.Capture.AutoAction) + " " + untilText(it.CaptureDueAt, now) + ", at " + cartStamp(it.CaptureDueAt)
		row.WindowSoon = it.CaptureDueAt.Sub(now) <= 24*time.Hour
	}
	if t := it.Timer; t != nil {
		row.Timer = timerText(t, now)
		switch t.StatusAt(now) {
		case omnicart.TimerPending:
			row.CanStart = true
		case omnicart.TimerStarted:
			row.CanPause, row.CanStop = true, true
		case omnicart.TimerPaused:
			row.CanStart, row.CanStop = true, true
		}
	}
	return row
}

func (h *Handler) cart(w http.ResponseWriter, r *http.Request, s *signedIn) {
	c, now, ok := h.loadCart(w, r, s)
	if !ok {
		return
	}
	d := cartData{CartID: c.ID, Customer: c.CustomerID, Currency: c.Currency, Created: cartStamp(c.CreatedAt),
		Expires: cartStamp(c.ExpiresAt), Now: cartStamp(now), Clock: clockText(s.merchant), CanAct: s.user.Role.CanAct()}
	for i := range c.Items {
		it := &c.Items[i]
		if it.Status == omnicart.StatusInitiated && it.Pending == nil {
			d.Expires += " (" + untilText(c.ExpiresAt, now) + ")"
			break
		}
	}
	for i := range c.Items {
		it := &c.Items[i]
		row := cartItemRow(c, it, now)
		d.AnyCapture = d.AnyCapture || row.CanCapture
		d.AnyCancel = d.AnyCancel || row.CanCancel
		d.AnyRefund = d.AnyRefund || row.CanRefund
		d.Items = append(d.Items, row)
		if it.Tag != "" && !slices.Contains(d.Tags, it.Tag) {
			d.Tags = append(d.Tags, it.Tag)
		}
	}
	t := c.Totals(c.All())
	d.Total = itemRow{Initiated: Money(c.Currency, t.Initiated), Captured: Money(c.Currency, t.Captured),
		Refunded: Money(c.Currency, t.Refunded), Current: Money(c.Currency, t.Current)}
	d.Payment = paymentData{MaxDeclines: s.merchant.MaxDeclines, Challenge: c.Challenge != nil, AuthRef: c.AuthRef}
	if d.Payment.MaxDeclines <= 0 {
		d.Payment.MaxDeclines = omnicart.DefaultMaxDeclines
	}
	if c.Card != nil {
		d.Payment.Card = strings.TrimSpace(c.Card.Brand + " ending " + c.Card.Last4)
	}
	for _, dc := range c.Declines {
		d.Payment.Declines = append(d.Payment.Declines, cartStamp(dc.At)+": "+dc.Reason)
	}
	var actors map[int64]string
	d.Actions, actors, d.ActionsNote = h.cartActions(r, s, c)
	d.Events, d.EventsNote, d.Payment.AuthorizedAt = h.cartTimeline(r, s, c, actors)
	d.Deliveries, d.DeliveriesNote = h.cartDeliveries(r, s, d.Events)
	p := page{Title: "Cart " + c.ID, User: s.user, CSRF: s.csrf, Nav: "carts", Data: d, Notice: doneNotice(h.notice(r, s), c)}
	h.render(w, "cart", http.StatusOK, p)
}

// doneNotice is the notice of an action just done (the redirect after it
// names the action, its items and, for a timer action that changed
// nothing, the API's info code), from the parameters h.notice verified
// (none: no notice). Only items of the cart are repeated.
func doneNotice(q url.Values, c *omnicart.Cart) string {
	var items []string
	for _, id := range strings.Split(q.Get("items"), ", ") {
		if c.Item(id) != nil {
			items = append(items, id)
		}
	}
	list := strings.Join(items, ", ")
	switch done := q.Get("done"); done {
	case "capture", "cancel", "refund":
		return "Done: " + done + " of " + list + "."
	case "amount":
		if len(items) == 1 {
			it := c.Item(items[0])
			return "Done: the current amount of " + it.ID + " is now " + Money(c.Currency, it.Amounts().Current) + "."
		}
	case "start", "pause", "stop":
		if info := omnicart.Code(q.Get("info")); info.IsInfo() && len(items) > 0 {
			return "Nothing changed: " + string(info) + " " + omnicart.RenderMessage(info, "", nil, items) + " (the API answers the same)."
		}
		return "Done: " + done + " of the timer of " + list + "."
	}
	return ""
}

// auditSeqs finds, at the end of the audit detail of a Panel action that
// was done, the range of cart events it produced (" (events 3–4)", which
// act appends last).
var auditSeqs = regexp.MustCompile(`\(events (\d+)–(\d+)\)$`)

// doneCartActions are the audit actions of the cart actions the Panel did
// (not their refusals): only their details name the events they produced.
var doneCartActions = []string{"cart.capture", "cart.cancel", "cart.refund", "cart.amount", "cart.timer.start", "cart.timer.pause", "cart.timer.stop"}

// maxAuditInput bounds, in characters, the user input an audit entry repeats.
const maxAuditInput = 200

// auditInput is user input (a form field, a URL) as an audit entry may
// repeat it: valid UTF-8 (the databases refuse anything else), at most
// maxAuditInput characters, and never holding the marker of the events of
// a Panel action ("(events 3–4)": its en dash becomes a hyphen).
func auditInput(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "–", "-")
	if utf8.RuneCountInString(s) > maxAuditInput {
		s = string([]rune(s)[:maxAuditInput]) + "…"
	}
	return s
}

// cartAuditScan bounds the audit entries read for one cart page.
const cartAuditScan = 1000

// cartActions lists the Panel's actions on the cart from the audit log
// (newest first), and which Panel user caused which event sequence. The
// log is read from the newest entry back to the cart's creation, at most
// cartAuditScan entries.
func (h *Handler) cartActions(r *http.Request, s *signedIn, c *omnicart.Cart) ([]cartActionRow, map[int64]string, string) {
	ctx := r.Context()
	target := "cart " + c.ID
	// The cart was created in real time no earlier than this: test clocks
	// only move forward. A minute of margin for clocks of other nodes.
	since := c.CreatedAt.Add(-s.merchant.ClockOffset).Add(-time.Minute)
	var rows []cartActionRow
	actors := map[int64]string{}
	var before int64
	scanned, complete := 0, false
	for !complete && scanned < cartAuditScan {
		es, err := h.Store.Audit(ctx, s.merchant.ID, before, 500)
		if err != nil {
			h.Log.ErrorContext(ctx, "panel: audit for cart", "err", err)
			return nil, actors, "The Panel's actions could not be read."
		}
		for _, e := range es {
			scanned++
			if e.At.Before(since) {
				complete = true
				break
			}
			if e.Target != target {
				continue
			}
			rows = append(rows, cartActionRow{At: cartStamp(e.At), Actor: e.Actor, Action: e.Action, Detail: e.Detail})
			if !slices.Contains(doneCartActions, e.Action) {
				continue // a refusal produced no event, and repeats user input
			}
			if m := auditSeqs.FindStringSubmatch(e.Detail); m != nil {
				from, _ := strconv.ParseInt(m[1], 10, 64)
				to, _ := strconv.ParseInt(m[2], 10, 64)
				for q := from; q <= to && q-from < 1000; q++ {
					actors[q] = e.Actor
				}
			}
		}
		if len(es) < 500 {
			complete = true
		} else {
			before = es[len(es)-1].ID
		}
	}
	note := "Dated by the server's clock (real time)."
	if !complete {
		note += fmt.Sprintf(" Only the newest %d entries of the audit log were searched.", cartAuditScan)
	}
	return rows, actors, note
}

// cartPayload is a published callback body, as the timeline reads it.
type cartPayload struct {
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"createdAt"`
	Sequence  int64           `json:"sequence"`
	Changes   []cartChange    `json:"changes"`
	Data      json.RawMessage `json:"data"`
}

// cartChange is one entry of a payload's changes, of any event type.
type cartChange struct {
	ItemID        string `json:"itemId"`
	From          string `json:"from"`
	To            string `json:"to"`
	RemainingSecs *int64 `json:"remainingSecs"`
	AutoAction    string `json:"autoAction"`
	DueAt         string `json:"dueAt"`
}

// cartTimelineCap is how many events the timeline shows at most.
const cartTimelineCap = 200

// cartTimeline lists the cart's published events, oldest first, each
// with its cause, and returns when the payment was authorized.
func (h *Handler) cartTimeline(r *http.Request, s *signedIn, c *omnicart.Cart, actors map[int64]string) ([]cartEventRow, string, string) {
	if h.Callbacks == nil {
		return nil, "The event timeline is not available on this server (no callback store).", ""
	}
	evs, err := h.Callbacks.Events(r.Context(), s.merchant.ID, omnicart.CallbackEventQuery{CartID: c.ID, Limit: cartTimelineCap})
	if err != nil {
		h.Log.ErrorContext(r.Context(), "panel: timeline", "err", err)
		return nil, "The event timeline could not be read.", ""
	}
	slices.SortFunc(evs, func(a, b omnicart.CallbackEventRecord) int { return cmp.Compare(a.Sequence, b.Sequence) })
	note := "Every payment status and timer change, oldest first, in merchant time. Events appear once published for callbacks (within about a second of the change). " +
		"Who or what caused each: a timer, the customer, a Panel user, or a Merchant API request with the prefix of its API key (not recorded for changes made before OmniCart recorded keys)."
	if len(evs) == cartTimelineCap {
		note += fmt.Sprintf(" Only the newest %d events are shown.", cartTimelineCap)
	}
	var newest int64
	if len(evs) > 0 {
		newest = evs[len(evs)-1].Sequence
	}
	if pending := c.Sequence - newest; pending > 0 {
		note += fmt.Sprintf(" %d newer event(s) are still being published.", pending)
	}
	stored, err := h.eventActors(r, s, c, evs)
	if err != nil {
		h.Log.ErrorContext(r.Context(), "panel: timeline actors", "err", err)
		note += " Who made each request could not be read."
	}
	ct := newCauseTracker()
	var rows []cartEventRow
	var authorizedAt string
	for _, e := range evs {
		row := cartEventRow{ID: e.ID, At: cartStamp(e.CreatedAt), Type: e.Type, Seq: e.Sequence}
		var p cartPayload
		if err := json.Unmarshal(e.Payload, &p); err == nil {
			row.At, row.Detail = cartStamp(p.CreatedAt), payloadDetail(&p)
			row.Cause = ct.cause(&p, stored, actors)
			if authorizedAt == "" && p.Type == omnicart.EventPaymentStatusChanged {
				for _, ch := range p.Changes {
					if ch.To == string(omnicart.StatusAuthorized) {
						authorizedAt = row.At
					}
				}
			}
		}
		rows = append(rows, row)
	}
	return rows, note, authorizedAt
}

// eventActors reads who made the requests behind the events evs (sorted
// by sequence): the actors stored with them.
func (h *Handler) eventActors(r *http.Request, s *signedIn, c *omnicart.Cart, evs []omnicart.CallbackEventRecord) (map[int64]omnicart.Actor, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	var out map[int64]omnicart.Actor
	err := h.Service.Store.View(r.Context(), func(tx omnicart.Tx) error {
		var err error
		out, err = tx.EventActors(r.Context(), s.merchant.ID, c.ID, evs[0].Sequence, evs[len(evs)-1].Sequence)
		return err
	})
	return out, err
}

// requestCause names who made the request behind the event with sequence
// seq: the actor stored with the event, else the Panel user the audit
// log names, else a Merchant API request whose key was not recorded.
func requestCause(seq int64, stored map[int64]omnicart.Actor, audited map[int64]string) string {
	a := stored[seq]
	if p, ok := a.KeyPrefix(); ok {
		return "Merchant API request with key " + p + "…"
	}
	if who, ok := a.PanelUser(); ok {
		return "Panel: " + who
	}
	if a != "" {
		return a.Label()
	}
	if who := audited[seq]; who != "" {
		return "Panel: " + who
	}
	return "Merchant API request"
}

// payloadDetail summarizes the changes of an event.
func payloadDetail(p *cartPayload) string {
	var parts []string
	switch p.Type {
	case omnicart.EventPaymentStatusChanged:
		// One item may pass several statuses in one event (captured, then
		// completed): written as one path.
		for _, ch := range p.Changes {
			if n := len(parts); n > 0 && strings.HasPrefix(parts[n-1], ch.ItemID+": ") && strings.HasSuffix(parts[n-1], " → "+ch.From) {
				parts[n-1] += " → " + ch.To
				continue
			}
			parts = append(parts, ch.ItemID+": "+ch.From+" → "+ch.To)
		}
	case omnicart.EventTimerStatusChanged:
		for _, ch := range p.Changes {
			from, to := ch.From, ch.To
			if from == "" {
				from = "no timer"
			}
			if to == "" {
				to = "no timer"
			}
			part := ch.ItemID + " timer: " + from + " → " + to
			if ch.RemainingSecs != nil && ch.To != string(omnicart.TimerElapsed) && ch.To != "" {
				part += ", " + durationText(time.Duration(*ch.RemainingSecs)*time.Second) + " left"
			}
			parts = append(parts, part)
		}
	case omnicart.EventAutoActionPending:
		for _, ch := range p.Changes {
			due, _ := time.Parse(time.RFC3339, ch.DueAt)
			parts = append(parts, ch.ItemID+": "+autoActionText(omnicart.AutoAction(ch.AutoAction))+" at "+cartStamp(due))
		}
	}
	return strings.Join(parts, "; ")
}

// causeTracker works out what caused each event of a cart, reading the
// events in sequence. Events carry no cause: deadlines are recognized by
// their moment (a capture window's auto action happens at its end, which
// the previous events' status data tells), the customer by the statuses
// only a payment reaches, and a request is a Panel user's when the audit
// log recorded the events of the Panel's action; the actor stored with an
// event names the API key or Panel user whose request made it.
type causeTracker struct {
	captureDue   map[string]time.Time
	authorizedAt map[string]time.Time
	movedAt      map[string]time.Time
}

func newCauseTracker() *causeTracker {
	return &causeTracker{captureDue: map[string]time.Time{}, authorizedAt: map[string]time.Time{}, movedAt: map[string]time.Time{}}
}

// cause names what caused the event p: stored are the actors stored with
// the events, audited the Panel users the audit log names, by sequence.
func (ct *causeTracker) cause(p *cartPayload, stored map[int64]omnicart.Actor, audited map[int64]string) string {
	at := p.CreatedAt
	request := false
	label := ""
	set := func(l string) {
		if label == "" {
			label = l
		}
	}
	switch p.Type {
	case omnicart.EventAutoActionPending:
		set("Timer: capture window warning")
		for _, ch := range p.Changes {
			if due, err := time.Parse(time.RFC3339, ch.DueAt); err == nil {
				ct.captureDue[ch.ItemID] = due
			}
		}
	case omnicart.EventTimerStatusChanged:
		for _, ch := range p.Changes {
			switch {
			case ch.To == string(omnicart.TimerElapsed):
				set("Timer: item timer elapsed")
			case ch.From == string(omnicart.TimerPending) && ch.To == string(omnicart.TimerStarted) && ct.movedAt[ch.ItemID].Equal(at):
				set("Payment status reached the timer's trigger")
			default:
				request = true
			}
		}
	case omnicart.EventPaymentStatusChanged:
		for _, ch := range p.Changes {
			due, hasDue := ct.captureDue[ch.ItemID]
			from, to := omnicart.Status(ch.From), omnicart.Status(ch.To)
			switch {
			case from == omnicart.StatusInitiated && to == omnicart.StatusAuthorized:
				set("Customer: payment authorized")
				ct.authorizedAt[ch.ItemID] = at
			case to == omnicart.StatusRejected:
				set("Customer: too many declined payments")
			case to == omnicart.StatusExpired:
				set("Timer: cart expiry")
			case from == omnicart.StatusCaptured && to == omnicart.StatusCompleted:
				// Settlement of the capture that precedes it.
			case from == omnicart.StatusAuthorized && (to == omnicart.StatusCanceled || to == omnicart.StatusCaptured) &&
				hasDue && !at.Before(due.Add(-time.Second)):
				if to == omnicart.StatusCanceled {
					set("Timer: capture window ended (auto-cancel)")
				} else {
					set("Timer: capture window ended (auto-capture)")
				}
			case from == omnicart.StatusAuthorized && to == omnicart.StatusCaptured && !hasDue && ct.authorizedAt[ch.ItemID].Equal(at):
				set("Payment: one-step capture")
			default:
				request = true
			}
			ct.movedAt[ch.ItemID] = at
		}
	}
	ct.observe(p)
	if request {
		return requestCause(p.Sequence, stored, audited)
	}
	if label == "" {
		return "OmniCart (settlement)"
	}
	return label
}

// observe records the capture windows of the status data as of an event.
func (ct *causeTracker) observe(p *cartPayload) {
	var v omnicart.StatusView
	if len(p.Data) == 0 || json.Unmarshal(p.Data, &v) != nil {
		return
	}
	for _, m := range v.Items {
		for id, iv := range m {
			if iv.CaptureSnapshot == nil {
				delete(ct.captureDue, id)
				continue
			}
			due := p.CreatedAt.Add(time.Duration(iv.CaptureSnapshot.RemainingSecs) * time.Second)
			// remainingSecs is rounded up: an exact moment (from a warning)
			// within that second is kept.
			if old, ok := ct.captureDue[id]; !ok || due.Sub(old) >= time.Second || old.Sub(due) >= time.Second {
				ct.captureDue[id] = due
			}
		}
	}
}

// cartDeliveryEvents bounds the events whose deliveries the cart page
// reads (the newest ones).
const cartDeliveryEvents = 50

// cartDeliveries lists the callbacks sent for the cart's newest events and
// their results, oldest event first.
func (h *Handler) cartDeliveries(r *http.Request, s *signedIn, events []cartEventRow) ([]cartDeliveryRow, string) {
	if h.Callbacks == nil {
		return nil, "Callbacks are not available on this server."
	}
	ctx := r.Context()
	eps, err := h.Callbacks.Endpoints(ctx, s.merchant.ID)
	if err != nil {
		h.Log.ErrorContext(ctx, "panel: endpoints for cart", "err", err)
		return nil, "The callbacks could not be read."
	}
	urls := map[string]string{}
	for _, e := range eps {
		urls[e.ID] = e.URL
	}
	var rows []cartDeliveryRow
	first := max(0, len(events)-cartDeliveryEvents)
	for _, ev := range events[first:] {
		ds, err := h.Callbacks.Store.Deliveries(ctx, s.merchant.ID, ev.ID)
		if err != nil {
			h.Log.ErrorContext(ctx, "panel: deliveries for cart", "err", err)
			return rows, "The callbacks could not be read."
		}
		for _, x := range ds {
			row := cartDeliveryRow{EventID: ev.ID, Event: fmt.Sprintf("#%d %s", ev.Seq, ev.Type), EndpointID: x.EndpointID,
				Endpoint: urls[x.EndpointID], Status: x.Status, Attempts: strconv.Itoa(x.Attempts)}
			if row.Endpoint == "" {
				row.Endpoint = x.EndpointID + " (removed)"
			}
			switch {
			case x.LastStatus != 0 && x.LastError != "":
				row.Result = "HTTP " + strconv.Itoa(x.LastStatus) + ": " + x.LastError
			case x.LastStatus != 0:
				row.Result = "HTTP " + strconv.Itoa(x.LastStatus)
			case x.LastError != "":
				row.Result = x.LastError
			case x.Attempts == 0:
				row.Result = "not sent yet"
			}
			if x.Status == omnicart.DeliveryPending {
				row.When = "next attempt " + cartStamp(x.NextAttemptAt)
			} else {
				row.When = cartStamp(x.FinishedAt)
			}
			rows = append(rows, row)
		}
	}
	note := "Dated by the server's clock (real time). A delivery is retried with backoff for up to 3 days."
	switch {
	case len(eps) == 0:
		note = "No callback endpoint is set up: events are kept, and an endpoint added later can be sent any of them again."
	case first > 0:
		note += fmt.Sprintf(" The callbacks of the newest %d events are shown.", cartDeliveryEvents)
	}
	return rows, note
}

// Actions.

// cartAction is a confirmed action of the cart page.
type cartAction string

const (
	actCapture cartAction = "capture"
	actCancel  cartAction = "cancel"
	actRefund  cartAction = "refund"
	actAmount  cartAction = "amount"
	actStart   cartAction = "start"
	actPause   cartAction = "pause"
	actStop    cartAction = "stop"
)

func parseCartAction(s string) (cartAction, bool) {
	switch a := cartAction(s); a {
	case actCapture, actCancel, actRefund, actAmount, actStart, actPause, actStop:
		return a, true
	}
	return "", false
}

// money reports whether a is a capture, cancel or refund (gateway.Service.Act).
func (a cartAction) money() bool { return a == actCapture || a == actCancel || a == actRefund }

// timer reports whether a is a manual timer action.
func (a cartAction) timer() bool { return a == actStart || a == actPause || a == actStop }

// verb is how pages name the action.
func (a cartAction) verb() string {
	switch {
	case a == actAmount:
		return "amount change"
	case a.timer():
		return "timer " + string(a)
	}
	return string(a)
}

const unknownActionText = "The action must be capture, cancel, refund, amount, start, pause or stop."

type confirmData struct {
	CartID, Action, Verb, Item, Tag string
	Items                           []string
	Amount                          string
	// Total is Amount in minor units: the form posts it with the items
	// (itemIds), and the action is done only if both are still so.
	Total string
	// Code and Message are a refusal's, as the Merchant API answers it.
	Code, Message string
	// Changed says why a confirmed action was not done: the cart changed
	// since its confirmation page was shown (this page confirms again).
	Changed string
	// Amount changes: the form (AmountForm) or its confirmation.
	AmountForm                 bool
	Calculated                 bool
	Currency, Exponent         string
	AmountInput, QuantityInput string
	FieldError                 string
	NewAmount, NewQuantity     string
	From, To, Effect           string
	// FromMinor and FromQuantity are the item's current amount and
	// quantity as confirmed, ToMinor the amount confirmed: the form posts
	// them, and the change is done only if they still hold.
	FromMinor, FromQuantity, ToMinor string
	// Timer actions.
	TimerState string
	Warning    string
}

// actionScope returns the items a capture, cancel or refund would act on
// (every item, one item, or the items carrying a tag) and their amount,
// as the page sees the cart now (the use case decides for real).
func actionScope(c *omnicart.Cart, a omnicart.Action, item, tag string) ([]string, int64) {
	var ids []string
	var sum int64
	for i := range c.Items {
		it := &c.Items[i]
		if (item != "" && it.ID != item) || (tag != "" && it.Tag != tag) {
			continue
		}
		am := it.Amounts()
		switch {
		case it.Pending != nil:
		case (a == omnicart.ActionCapture || a == omnicart.ActionCancel) && it.Status == omnicart.StatusAuthorized:
			ids, sum = append(ids, it.ID), sum+am.Current
		case a == omnicart.ActionRefund && it.Status == omnicart.StatusCompleted:
			ids, sum = append(ids, it.ID), sum+am.Current
		}
	}
	return ids, sum
}

// parseMajor reads an amount typed in a currency's major unit ("7.50" in
// EUR) as minor units. ok is false for anything else than digits with at
// most the currency's number of decimals.
func parseMajor(s string, exponent int) (int64, bool) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	if len(frac) > exponent || len(whole) > 16 || strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" ||
		(strings.Contains(s, ".") && frac == "") {
		return 0, false
	}
	n, err := strconv.ParseInt(whole+frac+strings.Repeat("0", exponent-len(frac)), 10, 64)
	if err != nil || n > omnicart.MaxAmount {
		return 0, false
	}
	return n, true
}

func exponentOf(currency string) int {
	if c, ok := omnicart.LookupCurrency(currency); ok {
		return c.MinorUnits
	}
	return 0
}

// majorText writes minor units as the amount field shows them ("7.50").
func majorText(currency string, minor int64) string {
	if c, ok := omnicart.LookupCurrency(currency); ok {
		return c.FormatAmount(minor)
	}
	return strconv.FormatInt(minor, 10)
}

func (h *Handler) notAllowed(w http.ResponseWriter, r *http.Request, s *signedIn) bool {
	if s.user.Role.CanAct() {
		return false
	}
	h.message(w, r, s, http.StatusForbidden, "Not allowed", "Your role (viewer) can read carts but not act on them.")
	return true
}

func (h *Handler) confirm(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if h.notAllowed(w, r, s) {
		return
	}
	q := r.URL.Query()
	a, ok := parseCartAction(q.Get("action"))
	if !ok {
		h.message(w, r, s, http.StatusBadRequest, "Unknown action", unknownActionText)
		return
	}
	c, now, ok := h.loadCart(w, r, s)
	if !ok {
		return
	}
	item := q.Get("item")
	if !a.money() && item == "" {
		h.message(w, r, s, http.StatusBadRequest, "Choose an item", "A "+a.verb()+" applies to one item: choose it on the cart page.")
		return
	}
	d, title := confirmFor(c, now, a, item, q.Get("tag"), q.Get("amount"), q.Get("quantity"), q.Has("amount"))
	h.render(w, "confirm", http.StatusOK, page{Title: title, User: s.user, CSRF: s.csrf, Nav: "carts", Data: d})
}

// confirmFor is the confirmation page of action a on the cart as it is at
// now (merchant time), and its title. A capture, cancel or refund covers
// one item, the items carrying tag, or the whole cart; an amount change
// shows its form until amount is typed (typed), then its preview.
func confirmFor(c *omnicart.Cart, now time.Time, a cartAction, item, tag, amount, quantity string, typed bool) (confirmData, string) {
	d := confirmData{CartID: c.ID, Action: string(a), Verb: a.verb(), Item: item, Tag: tag}
	title := "Confirm " + a.verb()
	if !a.money() || item != "" {
		d.Tag = ""
	}
	it := c.Item(item)
	switch {
	case a.money():
		ids, sum := actionScope(c, omnicart.Action(a), item, d.Tag)
		d.Items, d.Amount, d.Total = ids, Money(c.Currency, sum), strconv.FormatInt(sum, 10)
	case it == nil:
		// Going on shows the API's answer (124005).
		d.Warning = "The cart has no item " + item + "."
	case a == actAmount:
		title = "Change an amount"
		d.Currency, d.Exponent = c.Currency, strconv.Itoa(exponentOf(c.Currency))
		d.Calculated = it.Payment.Mode == omnicart.AmountCalculated
		d.From = Money(c.Currency, it.Amounts().Current)
		d.AmountInput, d.QuantityInput = amount, quantity
		if !typed {
			d.AmountForm = true
			d.AmountInput = majorText(c.Currency, it.Payment.Amount)
			if d.Calculated {
				d.QuantityInput = it.Payment.Quantity.String()
			}
			break
		}
		previewAmount(&d, c, it)
	default:
		if it.Timer == nil {
			d.TimerState = "no timer"
		} else {
			d.TimerState = timerText(it.Timer, now)
		}
		switch a {
		case actStart:
			d.Warning = "A started timer runs from now with the time it has left."
		case actPause:
			d.Warning = "A paused timer keeps the time it has left until it is started again."
		case actStop:
			d.Warning = "A stopped timer cannot be started again, and frees the customer to open another cart with this item."
		}
	}
	return d, title
}

// previewAmount checks the typed amount and quantity of an amount change
// and states what the change will do, or sends the form back with the
// field's error.
func previewAmount(d *confirmData, c *omnicart.Cart, it *omnicart.Item) {
	exp := exponentOf(c.Currency)
	minor, ok := parseMajor(d.AmountInput, exp)
	if !ok || minor < 1 {
		d.AmountForm = true
		d.FieldError = fmt.Sprintf("Type the amount in %s with at most %d decimals, for example %s.", c.Currency, exp, majorText(c.Currency, max(1, it.Payment.Amount/2)))
		return
	}
	snap := it.Payment
	snap.Amount = minor
	d.NewAmount = strconv.FormatInt(minor, 10)
	if d.Calculated {
		// The quantity is always posted (the one typed, or the item's
		// own): the change is the one confirmed even if the quantity
		// changes meanwhile.
		d.FromQuantity = it.Payment.Quantity.String()
		if d.QuantityInput != "" {
			qty, err := omnicart.ParseDecimal(strings.TrimSpace(d.QuantityInput))
			if err != nil || qty.Micros() < 10_000 {
				d.AmountForm = true
				d.FieldError = "Type the quantity as a number of at least 0.01 with at most 6 decimals."
				return
			}
			snap.Quantity = qty
		}
		d.NewQuantity = snap.Quantity.String()
	}
	cur := it.Amounts().Current
	d.FromMinor = strconv.FormatInt(cur, 10)
	full, ok := snap.FullAmount()
	if !ok {
		d.Warning = "This pricing gives no valid amount; going on shows the API's answer."
		return
	}
	d.To, d.ToMinor = Money(c.Currency, full), strconv.FormatInt(full, 10)
	diff := cur - full
	switch {
	case full > cur:
		d.Warning = "This is more than the current amount: an amount can only be lowered (the API refuses a raise), so going on shows the API's answer."
	case diff == 0:
		d.Effect = "The amount stays the same: no money moves."
	case it.Status == omnicart.StatusAuthorized:
		d.Effect = Money(c.Currency, diff) + " is released from the customer's hold (a partial cancellation); the item stays authorized."
	case it.Status == omnicart.StatusCompleted:
		d.Effect = Money(c.Currency, diff) + " is refunded to the customer (a partial refund); the item stays completed."
	case it.Status == omnicart.StatusInitiated:
		d.Effect = "The item is not paid yet: the customer will be asked for the new amount."
	default:
		d.Warning = "The item is " + string(it.ReportedStatus()) + ": its amount cannot change now, so going on shows the API's answer."
	}
}

// peekCart reads a cart as stored (nil when it cannot be read): the event
// sequence before and after a Panel action tells which events the action
// produced.
func (h *Handler) peekCart(r *http.Request, merchantID, cartID string) *omnicart.Cart {
	var c *omnicart.Cart
	err := h.Service.Store.Read(r.Context(), func(tx omnicart.Tx) error {
		var err error
		c, err = tx.Cart(r.Context(), merchantID, cartID)
		return err
	})
	if err != nil {
		return nil
	}
	return c
}

func sequenceOf(c *omnicart.Cart) int64 {
	if c == nil {
		return 0
	}
	return c.Sequence
}

// act does a confirmed action. A capture, cancel or refund acts on exactly
// the items its confirmation page listed (the form's itemIds, passed to
// the use case as its itemIds filter), and only if the action would now
// cover exactly them for the total shown; an amount change is done only
// if the item's amount (and quantity) are still those confirmed.
// Otherwise nothing is done and a fresh confirmation is shown (409): an
// action confirmed for some items never covers others that changed status
// meanwhile.
func (h *Handler) act(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if h.notAllowed(w, r, s) {
		return
	}
	a, ok := parseCartAction(r.PostFormValue("action"))
	if !ok {
		h.message(w, r, s, http.StatusBadRequest, "Unknown action", unknownActionText)
		return
	}
	cartID, item, tag := r.PathValue("cartId"), r.PostFormValue("item"), r.PostFormValue("tag")
	if !a.money() && item == "" {
		h.message(w, r, s, http.StatusBadRequest, "Choose an item", "A "+a.verb()+" applies to one item: choose it on the cart page.")
		return
	}
	if !a.money() || item != "" {
		tag = ""
	}
	// The cart as it is now (what was due on it fired first): the
	// confirmed action is checked against it, and its event sequence
	// tells which events the action produced.
	before, now, ok := h.loadCart(w, r, s)
	if !ok {
		return
	}
	var (
		ids    []string
		scope  string
		detail string
		info   omnicart.Code
		err    error
	)
	switch {
	case a.money():
		var f omnicart.Filter
		var sp omnicart.StagedProblems
		scope = "whole cart"
		switch {
		case item != "":
			scope = "item " + auditInput(item)
			f.ItemIDs = []string{item}
			if !omnicart.ValidItemID(item) {
				sp.Add(omnicart.StageValues, omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: "filterBox.itemIds"})
			}
		case tag != "":
			scope = "tag " + auditInput(tag)
			f.Tags = []string{tag}
			if !omnicart.ValidTag(tag) {
				sp.Add(omnicart.StageValues, omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: "filterBox.tags"})
			}
		}
		confirmed := uniqueStrings(r.PostForm["itemIds"])
		cur, sum := actionScope(before, omnicart.Action(a), item, tag)
		switch {
		case len(confirmed) == 0 && len(cur) == 0:
			// Confirmed with nothing to act on: the API's answer to the
			// same request, found without acting (nothing matches).
			err = dryRunAction(before, omnicart.Action(a), f, sp)
			if err == nil {
				h.reconfirm(w, r, s, before, now, a, item, tag, "", "", "The cart changed since the confirmation page was shown.")
				return
			}
		case !sameStrings(confirmed, cur) || r.PostFormValue("total") != strconv.FormatInt(sum, 10):
			why := "The cart changed since the confirmation page was shown: the " + a.verb() + " would now cover "
			if len(cur) == 0 {
				why += "no item"
			} else {
				why += strings.Join(cur, ", ") + " for " + Money(before.Currency, sum)
			}
			if len(confirmed) > 0 {
				why += ", not the confirmed " + strings.Join(confirmed, ", ")
			}
			h.reconfirm(w, r, s, before, now, a, item, tag, "", "", why+".")
			return
		default:
			// Exactly the confirmed items: a change between this check
			// and the use case can only leave some of them out.
			ids, err = h.Service.Act(r.Context(), s.merchant, omnicart.Action(a), cartID, omnicart.Filter{ItemIDs: confirmed}, omnicart.StagedProblems{})
			detail = scope + ": items " + strings.Join(ids, ", ")
			if err == nil && !sameStrings(ids, confirmed) {
				detail += " (confirmed: " + strings.Join(confirmed, ", ") + ")"
			}
		}
	case a == actAmount:
		scope = "item " + auditInput(item)
		amount, quantity := r.PostFormValue("amount"), r.PostFormValue("quantity")
		if why := amountChanged(before, item, r.PostForm); why != "" {
			typed := amount
			if n, perr := omnicart.ParseAmount(amount); perr == nil {
				typed = majorText(before.Currency, n)
			}
			h.reconfirm(w, r, s, before, now, a, item, "", typed, quantity, why)
			return
		}
		spec, sp := amountSpec(item, amount, quantity)
		var res *omnicart.ModifyResult
		if res, err = h.Service.Modify(r.Context(), s.merchant, cartID, spec, sp); err == nil {
			ids = []string{item}
			detail = scope + ": amount " + auditInput(amount)
			if quantity != "" {
				detail += ", quantity " + auditInput(quantity)
			}
			if it := before.Item(item); it != nil {
				detail = scope + ": current amount " + Money(before.Currency, it.Amounts().Current) + " → "
				if after := h.peekCart(r, s.merchant.ID, cartID); after != nil && after.Item(item) != nil {
					detail += Money(after.Currency, after.Item(item).Amounts().Current)
				}
			}
			if len(res.ModifiedAmounts) == 0 {
				detail += " (no change)"
			}
		}
	default:
		scope = "item " + auditInput(item)
		action := string(a)
		var sp omnicart.StagedProblems
		if !omnicart.ValidItemID(item) {
			sp.Add(omnicart.StageValues, omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: item})
		}
		spec := &omnicart.ModifySpec{Items: []omnicart.ModifyItem{{ID: item, Timer: &omnicart.TimerChangeSpec{Action: &action}}}}
		var res *omnicart.ModifyResult
		if res, err = h.Service.Modify(r.Context(), s.merchant, cartID, spec, sp); err == nil {
			ids = []string{item}
			detail = scope + ": timer " + action
			if len(res.Infos) > 0 {
				info = res.Infos[0].Code
				detail += ": " + string(info) + " " + res.Infos[0].Message()
			}
		}
	}
	audit := "cart." + string(a)
	if a.timer() {
		audit = "cart.timer." + string(a)
	}
	var de *omnicart.Error
	if errors.As(err, &de) && len(de.Problems) > 0 {
		p := de.Problems[0]
		// The API's message may repeat the input (a tag, itemIds...).
		h.record(r.Context(), r, s.merchant.ID, s.user.Email, audit+".refused", "cart "+cartID, scope+": "+string(p.Code)+" "+auditInput(p.Message()))
		if p.Code == omnicart.CodeCartNotFound {
			h.message(w, r, s, http.StatusNotFound, "Cart not found", "This merchant has no cart with that cartId.")
			return
		}
		d := confirmData{CartID: cartID, Action: string(a), Verb: a.verb(), Item: item, Tag: tag, Code: string(p.Code), Message: p.Message()}
		h.render(w, "confirm", http.StatusUnprocessableEntity, page{Title: "Refused", User: s.user, CSRF: s.csrf, Nav: "carts", Data: d})
		return
	}
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	// The events the action produced, for the timeline's causes.
	if after := h.peekCart(r, s.merchant.ID, cartID); sequenceOf(after) > before.Sequence {
		detail += fmt.Sprintf(" (events %d–%d)", before.Sequence+1, after.Sequence)
	}
	h.record(r.Context(), r, s.merchant.ID, s.user.Email, audit, "cart "+cartID, detail)
	q := url.Values{"done": {string(a)}, "items": {strings.Join(ids, ", ")}}
	if info != "" {
		q.Set("info", string(info))
	}
	http.Redirect(w, r, h.noticeURL(s, Prefix+"carts/"+url.PathEscape(cartID), q), http.StatusSeeOther)
}

// reconfirm answers a confirmed action that was not done because the cart
// changed since its confirmation page: the confirmation of the same
// action as the cart is now, with why (409).
func (h *Handler) reconfirm(w http.ResponseWriter, r *http.Request, s *signedIn, c *omnicart.Cart, now time.Time, a cartAction, item, tag, amount, quantity, why string) {
	d, _ := confirmFor(c, now, a, item, tag, amount, quantity, a == actAmount)
	d.Changed = why
	h.render(w, "confirm", http.StatusConflict, page{Title: "Confirm again", User: s.user, CSRF: s.csrf, Nav: "carts", Data: d})
}

// amountChanged compares the item of an amount change with the amount
// (from), quantity (fromQuantity) and result (to) its confirmation showed,
// as the form posts them; it says what changed ("" when nothing did, or
// when the cart has no such item: the API answers that).
func amountChanged(c *omnicart.Cart, item string, form url.Values) string {
	it := c.Item(item)
	if it == nil {
		return ""
	}
	cur := it.Amounts().Current
	if form.Get("from") != strconv.FormatInt(cur, 10) {
		return "The amount of " + item + " changed since the confirmation page was shown: it is now " + Money(c.Currency, cur) + "."
	}
	if it.Payment.Mode != omnicart.AmountCalculated {
		return ""
	}
	if form.Get("fromQuantity") != it.Payment.Quantity.String() || form.Get("quantity") == "" {
		return "The quantity of " + item + " changed since the confirmation page was shown: it is now " + it.Payment.Quantity.String() + "."
	}
	// The same unit amount and quantity give the confirmed amount unless
	// the item's modifier changed.
	snap := it.Payment
	n, err1 := omnicart.ParseAmount(form.Get("amount"))
	q, err2 := omnicart.ParseDecimal(form.Get("quantity"))
	if err1 != nil || err2 != nil {
		return "" // the API refuses the values
	}
	snap.Amount, snap.Quantity = n, q
	if full, ok := snap.FullAmount(); ok && form.Get("to") != strconv.FormatInt(full, 10) {
		return "The pricing of " + item + " changed since the confirmation page was shown: the change now gives " + Money(c.Currency, full) + "."
	}
	return ""
}

// dryRunAction is the refusal the use case answers to action a with
// filter f and the staged problems sp, found on a copy of the cart
// without acting; nil when the action would act on some item.
func dryRunAction(c *omnicart.Cart, a omnicart.Action, f omnicart.Filter, sp omnicart.StagedProblems) error {
	if sp.HasErrors() {
		return &omnicart.Error{Problems: sp.Ordered()}
	}
	cc := c.Clone()
	idx, err := cc.SelectForAction(f)
	if err != nil {
		return err
	}
	_, _, err = cc.BeginAction(a, idx, func() string { return "dry-run" })
	return err
}

// uniqueStrings returns ss without empty and repeated values, in order.
func uniqueStrings(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// sameStrings reports whether a and b hold the same values, in any order.
func sameStrings(a, b []string) bool {
	a, b = uniqueStrings(a), uniqueStrings(b)
	if len(a) != len(b) {
		return false
	}
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

// amountSpec is the modify request of an amount change, with the problems
// the Merchant API's decoder would find in the same values (the form
// carries minor units, as the API's JSON does).
func amountSpec(item, amount, quantity string) (*omnicart.ModifySpec, omnicart.StagedProblems) {
	var sp omnicart.StagedProblems
	if !omnicart.ValidItemID(item) {
		sp.Add(omnicart.StageValues, omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: item})
	}
	ac := &omnicart.AmountChange{}
	bad := func(err error, key string) {
		code := omnicart.CodeInvalidItemValue
		if errors.Is(err, omnicart.ErrDecimalSyntax) {
			code = omnicart.CodeInvalidItemFormat
		}
		sp.Add(omnicart.StageValues, omnicart.Problem{Code: code, Arg: "modifyAmount." + key, Items: []string{item}})
	}
	if amount != "" {
		if n, err := omnicart.ParseAmount(amount); err != nil {
			bad(err, "amount")
		} else {
			ac.Amount = &n
		}
	}
	if quantity != "" {
		d, err := omnicart.ParseDecimal(quantity)
		switch {
		case err == nil && d.Micros() < 10_000:
			bad(omnicart.ErrDecimalRange, "quantity")
		case err != nil:
			bad(err, "quantity")
		default:
			ac.Quantity = &d
		}
	}
	return &omnicart.ModifySpec{Items: []omnicart.ModifyItem{{ID: item, Amount: ac}}}, sp
}
