package panel

import (
	"cmp"
	"fmt"
	"maps"
	"math/bits"
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

// overviewDays is how many days (today included) the overview adds up.
const overviewDays = 30

// chartCurrencies bounds the currencies charted day by day (those with
// the most money moved); the table lists them all.
const chartCurrencies = 3

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

// dayChart is one currency's money of the last overviewDays days, drawn
// as an SVG bar pair per day (authorized, captured).
type dayChart struct {
	Currency string
	Max      string // the tallest bar's amount
	First    string // the first day's date
	Days     []dayBar
	Title    string // what the chart shows, for assistive technology
	Width    int
	BaseY    int
}

type dayBar struct {
	Date                 string
	Authorized, Captured string
	X, CapX, AuthH, CapH int
	AuthY, CapY          int
	Moved                bool // some authorization or capture that day
}

type overviewData struct {
	Due     []dueRow
	DueNote string
	Money   []moneyRow
	Charts  []dayChart
	Bars    []bar
	Height  int
	Today   string
	BarW    int
}

type sums struct{ authorized, captured, refunded, canceled int64 }

func (m *sums) add(d omnicart.MoneyDay) {
	m.authorized += d.Authorized
	m.captured += d.Captured
	m.refunded += d.Refunded
	m.canceled += d.Released
}

// overview shows the money moved today and in the last 30 days per
// currency (the daily roll-up the store keeps: a few rows per day, however
// many carts), a chart of it day by day, the carts by item status and the
// auto-actions of the next 24 hours. Days are UTC days of the merchant's
// clock (its test clock in test mode), as the operations record them.
func (h *Handler) overview(w http.ResponseWriter, r *http.Request, s *signedIn) {
	now := s.merchant.Now(h.now()).UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	first := today.AddDate(0, 0, 1-overviewDays)
	days, err := h.Store.MoneyDays(r.Context(), s.merchant.ID, first, today)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	counts, err := h.Store.CartStatusCounts(r.Context(), s.merchant.ID)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	d := overviewData{Today: today.Format("2 Jan 2006"), BarW: chartBarW}
	d.Due, d.DueNote, err = h.dueSoon(r, s)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	month, day := map[string]*sums{}, map[string]*sums{}
	byCur := map[string][]omnicart.MoneyDay{}
	for _, md := range days {
		if month[md.Currency] == nil {
			month[md.Currency], day[md.Currency] = &sums{}, &sums{}
		}
		month[md.Currency].add(md)
		if md.Day.Equal(today) {
			day[md.Currency].add(md)
		}
		byCur[md.Currency] = append(byCur[md.Currency], md)
	}
	curs := slices.Sorted(maps.Keys(month))
	for _, c := range curs {
		m, t := month[c], day[c]
		d.Money = append(d.Money, moneyRow{Currency: c,
			Authorized: Money(c, m.authorized), Captured: Money(c, m.captured), Refunded: Money(c, m.refunded), Canceled: Money(c, m.canceled),
			TodayAuthorized: Money(c, t.authorized), TodayCaptured: Money(c, t.captured), TodayRefunded: Money(c, t.refunded), TodayCanceled: Money(c, t.canceled)})
	}
	// Charted: the currencies with authorizations or captures, those
	// active on the most days first (amounts of different currencies do
	// not compare), ties by code.
	active := map[string]int{}
	for _, md := range days {
		if md.Authorized > 0 || md.Captured > 0 {
			active[md.Currency]++
		}
	}
	charted := slices.DeleteFunc(slices.Clone(curs), func(c string) bool { return active[c] == 0 })
	slices.SortStableFunc(charted, func(a, b string) int { return cmp.Compare(active[b], active[a]) })
	for _, c := range charted[:min(len(charted), chartCurrencies)] {
		d.Charts = append(d.Charts, chartOf(c, byCur[c], first))
	}
	d.Bars, d.Height = statusBars(counts)
	h.render(w, "overview", http.StatusOK, page{Title: "Overview", User: s.user, CSRF: s.csrf, Nav: "overview", Data: d})
}

// Geometry of a day chart (SVG user units).
const (
	chartDayW   = 16
	chartBarW   = 6
	chartHeight = 64
	chartLeft   = 4
)

// chartOf draws a currency's days from first on: a bar pair per day,
// authorized then captured, scaled to the tallest (days holds some
// authorization or capture), with the days' figures for a table.
func chartOf(currency string, days []omnicart.MoneyDay, first time.Time) dayChart {
	ch := dayChart{Currency: currency, First: first.Format("2 Jan"), Width: chartLeft + overviewDays*chartDayW, BaseY: chartHeight}
	var top int64 // > 0: only currencies with authorizations or captures are charted
	for _, md := range days {
		top = max(top, md.Authorized, md.Captured)
	}
	ch.Max = Money(currency, top)
	at := map[int64]omnicart.MoneyDay{}
	for _, md := range days {
		at[omnicart.DayNumber(md.Day)] = md
	}
	var title strings.Builder
	fmt.Fprintf(&title, "%s authorized and captured per day from %s:", currency, ch.First)
	for i := range overviewDays {
		date := first.AddDate(0, 0, i)
		md := at[omnicart.DayNumber(date)]
		// Heights in whole units, from integers (a 128-bit product: sums
		// may be large); a day with money shows at least one unit.
		height := func(v int64) int {
			if v <= 0 {
				return 0
			}
			hi, lo := bits.Mul64(uint64(v), chartHeight)
			q, _ := bits.Div64(hi, lo, uint64(top))
			return max(1, int(q))
		}
		b := dayBar{Date: date.Format("2 Jan"), Authorized: Money(currency, md.Authorized), Captured: Money(currency, md.Captured),
			X: chartLeft + i*chartDayW, CapX: chartLeft + i*chartDayW + chartBarW + 1, AuthH: height(md.Authorized), CapH: height(md.Captured)}
		b.AuthY, b.CapY = chartHeight-b.AuthH, chartHeight-b.CapH
		b.Moved = md.Authorized != 0 || md.Captured != 0
		ch.Days = append(ch.Days, b)
		if md.Authorized != 0 || md.Captured != 0 {
			fmt.Fprintf(&title, " %s %s authorized, %s captured;", b.Date, b.Authorized, b.Captured)
		}
	}
	ch.Title = title.String()
	return ch
}

// statusBars draws the carts by item status as horizontal bars.
func statusBars(counts map[omnicart.Status]int) ([]bar, int) {
	maxN := 1
	for _, n := range counts {
		maxN = max(maxN, n)
	}
	var bars []bar
	for _, st := range listStatuses {
		n := counts[st]
		if n == 0 {
			continue
		}
		b := bar{Label: string(st), Count: n, Y: len(bars) * 28, W: max(2, n*300/maxN)}
		b.TextX = 110 + b.W + 6
		bars = append(bars, b)
	}
	return bars, max(28, len(bars)*28)
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
// are found by their next deadline (PanelStore.CartsDue, on an index of
// the merchant's carts by it): a cart with anything due in the window has
// its next deadline in it. They are read in one query, which takes no
// lock.
func (h *Handler) dueSoon(r *http.Request, s *signedIn) ([]dueRow, string, error) {
	ctx := r.Context()
	real := h.now()
	now := s.merchant.Now(real)
	until := now.Add(dueWindow)
	carts, err := h.Store.CartsDue(ctx, s.merchant.ID, real.Add(dueWindow), dueCap)
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
