package panel

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

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
func CartQueryFrom(merchantID string, v url.Values) (omnicart.CartQuery, string) {
	q := omnicart.CartQuery{MerchantID: merchantID, CartID: v.Get("cartId"), CustomerID: v.Get("customerId"),
		Currency: strings.ToUpper(v.Get("currency")), Limit: pageSize}
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

type itemRow struct {
	ID, Tag, Status                        string
	Initiated, Captured, Refunded, Current string
	Window                                 string
	CanCapture, CanCancel, CanRefund       bool
}

type eventRow struct{ At, Type, Detail string }

type cartData struct {
	CartID, Customer, Currency, Created, Expires string
	Items                                        []itemRow
	Total                                        itemRow
	Events                                       []eventRow
	EventsNote                                   string
	Declines                                     []string
	CanAct                                       bool
	AnyCapture, AnyCancel, AnyRefund             bool
}

func (h *Handler) loadCart(w http.ResponseWriter, r *http.Request, s *signedIn) (*omnicart.Cart, time.Time, bool) {
	res, err := h.Service.Status(r.Context(), s.merchant, r.PathValue("cartId"), omnicart.Filter{}, omnicart.StagedProblems{})
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

func (h *Handler) cart(w http.ResponseWriter, r *http.Request, s *signedIn) {
	c, now, ok := h.loadCart(w, r, s)
	if !ok {
		return
	}
	d := cartData{CartID: c.ID, Customer: c.CustomerID, Currency: c.Currency, Created: c.CreatedAt.UTC().Format(time.RFC3339),
		Expires: c.ExpiresAt.UTC().Format(time.RFC3339), CanAct: s.user.Role.CanAct()}
	for i := range c.Items {
		it := &c.Items[i]
		a := it.Amounts()
		row := itemRow{ID: it.ID, Tag: it.Tag, Status: string(it.ReportedStatus()),
			Initiated: Money(c.Currency, a.Initiated), Captured: Money(c.Currency, a.Captured),
			Refunded: Money(c.Currency, a.Refunded), Current: Money(c.Currency, a.Current)}
		if it.Pending == nil {
			row.CanCapture = it.Status == omnicart.StatusAuthorized
			row.CanCancel = it.Status == omnicart.StatusAuthorized
			row.CanRefund = it.Status == omnicart.StatusCompleted
		}
		if !it.CaptureDueAt.IsZero() && it.Status == omnicart.StatusAuthorized {
			row.Window = fmt.Sprintf("auto %s at %s (in %s)", it.Capture.AutoAction, it.CaptureDueAt.UTC().Format("2006-01-02 15:04 UTC"),
				it.CaptureDueAt.Sub(now).Round(time.Minute))
		}
		d.AnyCapture = d.AnyCapture || row.CanCapture
		d.AnyCancel = d.AnyCancel || row.CanCancel
		d.AnyRefund = d.AnyRefund || row.CanRefund
		d.Items = append(d.Items, row)
	}
	t := c.Totals(c.All())
	d.Total = itemRow{Initiated: Money(c.Currency, t.Initiated), Captured: Money(c.Currency, t.Captured),
		Refunded: Money(c.Currency, t.Refunded), Current: Money(c.Currency, t.Current)}
	for _, dc := range c.Declines {
		d.Declines = append(d.Declines, dc.At.UTC().Format(time.RFC3339)+": "+dc.Reason)
	}
	d.Events, d.EventsNote = h.timeline(r, s, c.ID)
	p := page{Title: "Cart " + c.ID, User: s.user, CSRF: s.csrf, Nav: "carts", Data: d}
	switch r.URL.Query().Get("done") {
	case "capture", "cancel", "refund":
		p.Notice = "Done: " + r.URL.Query().Get("done") + " of " + r.URL.Query().Get("items") + "."
	}
	h.render(w, "cart", http.StatusOK, p)
}

// timeline lists the cart's published events, oldest first.
func (h *Handler) timeline(r *http.Request, s *signedIn, cartID string) ([]eventRow, string) {
	if h.Callbacks == nil {
		return nil, "The event timeline is not available on this server (no callback store)."
	}
	evs, err := h.Callbacks.Events(r.Context(), s.merchant.ID, omnicart.CallbackEventQuery{CartID: cartID, Limit: 200})
	if err != nil {
		h.Log.ErrorContext(r.Context(), "panel: timeline", "err", err)
		return nil, "The event timeline could not be read."
	}
	var out []eventRow
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		out = append(out, eventRow{At: e.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC"), Type: e.Type, Detail: eventDetail(e.Payload)})
	}
	return out, "Events appear here once published for callbacks (within about a second of the change)."
}

// eventDetail summarizes the status changes of a callback payload.
func eventDetail(payload []byte) string {
	var body struct {
		Data struct {
			Changes []struct {
				ItemID string `json:"itemId"`
				From   string `json:"from"`
				To     string `json:"to"`
			} `json:"changes"`
		} `json:"data"`
	}
	if json.Unmarshal(payload, &body) != nil {
		return ""
	}
	var parts []string
	for _, c := range body.Data.Changes {
		parts = append(parts, fmt.Sprintf("%s: %s → %s", c.ItemID, c.From, c.To))
	}
	return strings.Join(parts, "; ")
}

type confirmData struct {
	CartID, Action, Item string
	Items                []string
	Amount               string
	Code, Message        string
}

// actionScope returns the items an action would act on and their amount,
// as the page sees the cart now (the use case decides for real).
func actionScope(c *omnicart.Cart, a omnicart.Action, item string) ([]string, int64) {
	var ids []string
	var sum int64
	for i := range c.Items {
		it := &c.Items[i]
		if item != "" && it.ID != item {
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

func parseAction(s string) (omnicart.Action, bool) {
	switch a := omnicart.Action(s); a {
	case omnicart.ActionCapture, omnicart.ActionCancel, omnicart.ActionRefund:
		return a, true
	}
	return "", false
}

func (h *Handler) confirm(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if !s.user.Role.CanAct() {
		h.message(w, r, s, http.StatusForbidden, "Not allowed", "Your role (viewer) can read carts but not act on them.")
		return
	}
	a, ok := parseAction(r.URL.Query().Get("action"))
	if !ok {
		h.message(w, r, s, http.StatusBadRequest, "Unknown action", "The action must be capture, cancel or refund.")
		return
	}
	c, _, ok := h.loadCart(w, r, s)
	if !ok {
		return
	}
	item := r.URL.Query().Get("item")
	ids, sum := actionScope(c, a, item)
	d := confirmData{CartID: c.ID, Action: string(a), Item: item, Items: ids, Amount: Money(c.Currency, sum)}
	h.render(w, "confirm", http.StatusOK, page{Title: "Confirm " + string(a), User: s.user, CSRF: s.csrf, Nav: "carts", Data: d})
}

func (h *Handler) act(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if !s.user.Role.CanAct() {
		h.message(w, r, s, http.StatusForbidden, "Not allowed", "Your role (viewer) can read carts but not act on them.")
		return
	}
	a, ok := parseAction(r.PostFormValue("action"))
	if !ok {
		h.message(w, r, s, http.StatusBadRequest, "Unknown action", "The action must be capture, cancel or refund.")
		return
	}
	cartID, item := r.PathValue("cartId"), r.PostFormValue("item")
	var f omnicart.Filter
	if item != "" {
		f.ItemIDs = []string{item}
	}
	scope := "whole cart"
	if item != "" {
		scope = "item " + item
	}
	ids, err := h.Service.Act(r.Context(), s.merchant, a, cartID, f, omnicart.StagedProblems{})
	var de *omnicart.Error
	if errors.As(err, &de) && len(de.Problems) > 0 {
		p := de.Problems[0]
		h.record(r.Context(), r, s.merchant.ID, s.user.Email, "cart."+string(a)+".refused", "cart "+cartID, scope+": "+string(p.Code)+" "+p.Message())
		if p.Code == omnicart.CodeCartNotFound {
			h.message(w, r, s, http.StatusNotFound, "Cart not found", "This merchant has no cart with that cartId.")
			return
		}
		d := confirmData{CartID: cartID, Action: string(a), Item: item, Code: string(p.Code), Message: p.Message()}
		h.render(w, "confirm", http.StatusUnprocessableEntity, page{Title: "Refused", User: s.user, CSRF: s.csrf, Nav: "carts", Data: d})
		return
	}
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.record(r.Context(), r, s.merchant.ID, s.user.Email, "cart."+string(a), "cart "+cartID, scope+": items "+strings.Join(ids, ", "))
	q := url.Values{"done": {string(a)}, "items": {strings.Join(ids, ", ")}}
	http.Redirect(w, r, Prefix+"carts/"+url.PathEscape(cartID)+"?"+q.Encode(), http.StatusSeeOther)
}
