package panel

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/omnicart/omnicart"
)

func parseInt(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// overviewCap bounds the carts the overview adds up.
const overviewCap = 10000

type moneyRow struct {
	Currency                                                     string
	Authorized, Captured, Refunded, Canceled                     string
	TodayAuthorized, TodayCaptured, TodayRefunded, TodayCanceled string
}

type bar struct {
	Label       string
	Count       int
	Y, W, TextX int
}

type overviewData struct {
	Due     []dueRow
	DueNote string
	Money   []moneyRow
	Bars    []bar
	Height  int
	Carts   int
	Capped  bool
}

type sums struct{ authorized, captured, refunded, canceled int64 }

func (h *Handler) overview(w http.ResponseWriter, r *http.Request, s *signedIn) {
	now := h.now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	month, day := map[string]*sums{}, map[string]*sums{}
	statuses := map[omnicart.Status]int{}
	q := omnicart.CartQuery{MerchantID: s.merchant.ID, CreatedFrom: now.Add(-30 * 24 * time.Hour), Limit: 500}
	var d overviewData
	for d.Carts < overviewCap {
		list, err := h.Store.ListCarts(r.Context(), q)
		if err != nil {
			h.fail(w, r, s, err)
			return
		}
		for _, lc := range list {
			c := lc.Cart
			d.Carts++
			add := func(m map[string]*sums) {
				sm := m[c.Currency]
				if sm == nil {
					sm = &sums{}
					m[c.Currency] = sm
				}
				for i := range c.Items {
					it := &c.Items[i]
					a := it.Amounts()
					sm.captured += a.Captured
					sm.refunded += a.Refunded
					switch it.Status {
					case omnicart.StatusAuthorized:
						sm.authorized += a.Current
					case omnicart.StatusCanceled:
						sm.canceled += a.Initiated
					}
				}
			}
			add(month)
			if !c.CreatedAt.Before(today) {
				add(day)
			}
			for i := range c.Items {
				statuses[c.Items[i].ReportedStatus()]++
			}
		}
		if len(list) < q.Limit {
			break
		}
		q.After = list[len(list)-1].Cursor
	}
	d.Capped = d.Carts >= overviewCap
	due, dueNote, err := h.dueSoon(r, s)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	d.Due, d.DueNote = due, dueNote
	var curs []string
	for c := range month {
		curs = append(curs, c)
	}
	slices.Sort(curs)
	for _, c := range curs {
		m, t := month[c], day[c]
		if t == nil {
			t = &sums{}
		}
		d.Money = append(d.Money, moneyRow{Currency: c,
			Authorized: Money(c, m.authorized), Captured: Money(c, m.captured), Refunded: Money(c, m.refunded), Canceled: Money(c, m.canceled),
			TodayAuthorized: Money(c, t.authorized), TodayCaptured: Money(c, t.captured), TodayRefunded: Money(c, t.refunded), TodayCanceled: Money(c, t.canceled)})
	}
	maxN := 1
	for _, n := range statuses {
		maxN = max(maxN, n)
	}
	for _, st := range append(slices.Clone(listStatuses), omnicart.StatusOngoing) {
		n := statuses[st]
		if n == 0 {
			continue
		}
		b := bar{Label: string(st), Count: n, Y: len(d.Bars) * 28, W: max(2, n*300/maxN)}
		b.TextX = 110 + b.W + 6
		d.Bars = append(d.Bars, b)
	}
	d.Height = max(28, len(d.Bars)*28)
	p := page{Title: "Overview", User: s.user, CSRF: s.csrf, Nav: "overview", Data: d}
	if d.Capped {
		p.Notice = fmt.Sprintf("Only the newest %d carts of the last 30 days are added up here.", overviewCap)
	}
	h.render(w, "overview", http.StatusOK, p)
}

// dueCap bounds the carts the overview reads for the coming auto-actions.
const dueCap = 100

// dueWindow is how far ahead the overview lists auto-actions.
const dueWindow = 24 * time.Hour

// dueRow is an auto-action coming on a cart.
type dueRow struct {
	CartID, What, Items, Amount, At, In string
	// Urgent marks what a merchant must not miss: a capture window about
	// to release an authorized payment.
	Urgent bool
	at     time.Time
}

// dueSoon lists the auto-actions of the next dueWindow (merchant time),
// soonest first: capture windows about to auto-cancel or auto-capture,
// carts about to expire unpaid, item timers about to elapse. The carts
// are found with the index the scheduler uses (each cart's next deadline,
// Tx.DueCarts): a cart with anything due in the window has its next
// deadline in it. They are read in one read-only transaction, which takes
// no lock.
func (h *Handler) dueSoon(r *http.Request, s *signedIn) ([]dueRow, string, error) {
	ctx := r.Context()
	real := h.now()
	now := s.merchant.Now(real)
	until := now.Add(dueWindow)
	var carts []*omnicart.Cart
	err := h.Service.Store.View(ctx, func(tx omnicart.Tx) error {
		keys, err := tx.DueCarts(ctx, real.Add(dueWindow), s.merchant.ID, dueCap)
		if err != nil {
			return err
		}
		carts = carts[:0]
		for _, k := range keys {
			c, err := tx.Cart(ctx, k.MerchantID, k.CartID)
			if errors.Is(err, omnicart.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			carts = append(carts, c)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	var rows []dueRow
	add := func(c *omnicart.Cart, at time.Time, what string, items []string, amount int64, urgent bool) {
		rows = append(rows, dueRow{CartID: c.ID, What: what, Items: strings.Join(items, ", "), Amount: Money(c.Currency, amount),
			At: cartStamp(at), In: untilText(at, now), Urgent: urgent, at: at})
	}
	for _, c := range carts {
		var unpaid []string
		var unpaidSum int64
		for i := range c.Items {
			it := &c.Items[i]
			if it.Pending == nil && it.Status == omnicart.StatusInitiated && !c.ExpiresAt.After(until) {
				unpaid, unpaidSum = append(unpaid, it.ID), unpaidSum+it.Full
			}
			if it.Pending == nil && it.Status == omnicart.StatusAuthorized && !it.CaptureDueAt.IsZero() && !it.CaptureDueAt.After(until) {
				what := "Capture window ends: auto-capture"
				if it.Capture.AutoAction != omnicart.AutoComplete {
					what = "Capture window ends: auto-cancel, the hold is released"
				}
				add(c, it.CaptureDueAt, what, []string{it.ID}, it.Full, it.Capture.AutoAction != omnicart.AutoComplete)
			}
			if it.Timer != nil {
				if d, ok := it.Timer.Deadline(); ok && !d.After(until) {
					add(c, d, "Item timer elapses", []string{it.ID}, it.Amounts().Current, false)
				}
			}
		}
		if len(unpaid) > 0 {
			add(c, c.ExpiresAt, "Cart expires unpaid", unpaid, unpaidSum, false)
		}
	}
	slices.SortStableFunc(rows, func(a, b dueRow) int { return a.at.Compare(b.at) })
	note := "Merchant time"
	if ct := clockText(s.merchant); ct != "" {
		note += " (" + ct + ")"
	}
	note += ". Due moments fire within seconds; a capture window that ends releases the customer's hold unless it is set to auto-capture."
	if len(carts) == dueCap {
		note += fmt.Sprintf(" Only the %d carts due first are read.", dueCap)
	}
	return rows, note, nil
}
