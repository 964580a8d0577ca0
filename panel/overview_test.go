package panel

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
)

// moneyRowHTML is the overview's table row of a period.
func moneyRowHTML(period, authorized, captured, refunded, canceled string) string {
	return "<td>" + period + `</td><td class="amt">` + authorized + `</td><td class="amt">` + captured +
		`</td><td class="amt">` + refunded + `</td><td class="amt">` + canceled + "</td>"
}

// TestOverviewMoneyByDay checks the overview's money: what was
// authorized, captured, refunded and canceled today and in the last 30
// days per currency, counted on the day (of the merchant's clock) it
// succeeded, the day chart, and the carts by item status.
func TestOverviewMoneyByDay(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleViewer)
	ctx := context.Background()
	tp.pay(tp.initCart("cart-money-01", omnicart.ItemSpec{ID: "pegasus", Amount: 1000}, omnicart.ItemSpec{ID: "naga", Amount: 250}))
	if _, err := tp.service.Act(ctx, tp.merchant, omnicart.ActionCapture, "cart-money-01", omnicart.Filter{ItemIDs: []string{"pegasus"}}, omnicart.StagedProblems{}); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.service.Act(ctx, tp.merchant, omnicart.ActionCancel, "cart-money-01", omnicart.Filter{ItemIDs: []string{"naga"}}, omnicart.StagedProblems{}); err != nil {
		t.Fatal(err)
	}
	res, err := tp.service.Init(ctx, tp.merchant, &omnicart.InitSpec{CartID: "cart-money-02", Currency: "JPY",
		Items: []omnicart.ItemSpec{{ID: "pegasus", Amount: 4200}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tp.pay(res.PayToken)
	tp.initCart("cart-money-03") // unpaid: moves no money

	page := tp.get("/panel/overview")
	tp.wantStatus(page, http.StatusOK)
	tp.wantBody(page,
		moneyRowHTML("Today", "12.50 EUR", "10.00 EUR", "0.00 EUR", "2.50 EUR"),
		moneyRowHTML("30 days", "12.50 EUR", "10.00 EUR", "0.00 EUR", "2.50 EUR"),
		moneyRowHTML("Today", Money("JPY", 4200), Money("JPY", 0), Money("JPY", 0), Money("JPY", 0)),
		"2 Jan: 12.50 EUR authorized, 10.00 EUR captured",
		"Carts by item status: initiated 1; authorized 1; ")

	// Two days later on the merchant's clock: today is empty, the month
	// keeps them; a refund counts on its own day.
	if _, err := tp.service.AdvanceClock(ctx, tp.merchant, 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.service.Act(ctx, tp.merchant, omnicart.ActionRefund, "cart-money-01", omnicart.Filter{ItemIDs: []string{"pegasus"}}, omnicart.StagedProblems{}); err != nil {
		t.Fatal(err)
	}
	page = tp.get("/panel/overview")
	tp.wantBody(page,
		moneyRowHTML("Today", "0.00 EUR", "0.00 EUR", "10.00 EUR", "0.00 EUR"),
		moneyRowHTML("30 days", "12.50 EUR", "10.00 EUR", "10.00 EUR", "2.50 EUR"),
		"Money moved today (4 Jan 2030, merchant time, UTC)")

	// A month later nothing of it is in the last 30 days.
	if _, err := tp.service.AdvanceClock(ctx, tp.merchant, 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	page = tp.get("/panel/overview")
	tp.wantBody(page, "No money moved in the last 30 days.")
	tp.wantNoBody(page, "12.50 EUR")
}

// TestOverviewChartsAuthorizationsAndCaptures checks that a currency is
// charted only when it had authorizations or captures in the 30 days (a
// refund alone is in the table, not drawn as an empty chart), and that
// the chart's days are also listed as a table.
func TestOverviewChartsAuthorizationsAndCaptures(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleViewer)
	ctx := context.Background()
	tp.pay(tp.initCart("cart-chart-01", omnicart.ItemSpec{ID: "pegasus", Amount: 1000}))
	if _, err := tp.service.Act(ctx, tp.merchant, omnicart.ActionCapture, "cart-chart-01", omnicart.Filter{}, omnicart.StagedProblems{}); err != nil {
		t.Fatal(err)
	}
	page := tp.get("/panel/overview")
	tp.wantBody(page, "EUR per day since", "<summary>Daily figures, EUR</summary>",
		`<tr><td>2 Jan</td><td class="amt">10.00 EUR</td><td class="amt">10.00 EUR</td></tr>`)

	if _, err := tp.service.AdvanceClock(ctx, tp.merchant, 31*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.service.Act(ctx, tp.merchant, omnicart.ActionRefund, "cart-chart-01", omnicart.Filter{}, omnicart.StagedProblems{}); err != nil {
		t.Fatal(err)
	}
	page = tp.get("/panel/overview")
	tp.wantStatus(page, http.StatusOK)
	tp.wantBody(page, moneyRowHTML("Today", "0.00 EUR", "0.00 EUR", "10.00 EUR", "0.00 EUR"))
	tp.wantNoBody(page, "EUR per day since", "tallest bar")
}
