package panel

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
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
	Money  []moneyRow
	Bars   []bar
	Height int
	Carts  int
	Capped bool
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
