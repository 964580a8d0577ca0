package panel

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
)

// merchantNow reads the merchant's clock from the store.
func (tp *testPanel) merchantNow() (time.Time, time.Duration) {
	tp.t.Helper()
	m, err := tp.service.Merchant(context.Background(), tp.merchant.ID)
	if err != nil {
		tp.t.Fatal(err)
	}
	return m.Now(tp.clock.Now()), m.ClockOffset
}

func TestSettingsVisibleToEveryRole(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleViewer)
	for _, u := range []*testPanel{tp, tp.as(omnicart.RoleOperator), tp.as(omnicart.RoleOwner)} {
		res := u.get("/panel/settings")
		u.wantStatus(res, http.StatusOK)
		u.wantBody(res, `aria-current="page">Settings`, "<code>mer_panel</code>", "Panel Test Shop",
			"Cart expiry</dt><dd>2 hours (7200 s)", "Maximum declines</dt><dd>3<",
			"Capture window range</dt><dd>10 minutes (600 s) to 7 days (604800 s)",
			"Default capture window</dt><dd>2 days (172800 s)", "Auto-action warning lead time</dt><dd>1 hour (3600 s)",
			"Cart expiry per cart (cartExpiry)</dt><dd><strong>allowed</strong>",
			"omnicart merchant update --merchant mer_panel", "read-only in the Panel",
			"Test clock", "Merchant time</dt><dd data-merchant-now>2030-01-02 10:00:00 UTC",
			"none: the clock shows real time", "Sandbox outbox", "The outbox is empty.")
		// Nothing on the page changes a setting.
		u.wantNoBody(res, `name="cartExpiry`, `name="maxDeclines`)
		if u.user.Role == omnicart.RoleViewer {
			u.wantNoBody(res, `action="/panel/settings/clock"`)
			u.wantBody(res, "Your role (viewer) can read the test clock but not move it.")
		} else {
			u.wantBody(res, `action="/panel/settings/clock"`, `<label for="clock-amount">`)
		}
	}
}

func TestSettingsClockAdvance(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOperator)
	// A paid cart whose capture window (the default, two days, then
	// cancel) the clock will run out.
	tp.pay(tp.initCart("cart-clock-1"))
	before, off := tp.merchantNow()
	if off != 0 {
		t.Fatalf("offset %v before any advance", off)
	}
	res := tp.post("/panel/settings/clock", url.Values{"amount": {"3"}, "unit": {"days"}})
	tp.wantStatus(res, http.StatusOK)
	after, off := tp.merchantNow()
	if off != 72*time.Hour || after.Sub(before) != 72*time.Hour {
		t.Fatalf("offset %v, merchant time %v → %v", off, before, after)
	}
	tp.wantBody(res, "The test clock moved forward by 3 days",
		"Merchant time</dt><dd data-merchant-now>2030-01-05 10:00:00 UTC", "Real time</dt><dd>2030-01-02 10:00:00 UTC",
		"3 days ahead of real time")
	// What fell due fired before the answer, as POST /sandbox/clock does.
	st, err := tp.service.Status(context.Background(), tp.merchant, "cart-clock-1", omnicart.Filter{}, omnicart.StagedProblems{})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Cart.Items[0].ReportedStatus(); got != omnicart.StatusCanceled {
		t.Fatalf("item after the capture window ran out: %s", got)
	}
	if e := tp.lastAudit(); e.Action != "clock.advance" || e.Actor != tp.user.Email ||
		!strings.Contains(e.Detail, "by 3 days: 2030-01-02T10:00:00Z → 2030-01-05T10:00:00Z") {
		t.Fatalf("audit: %+v", e)
	}
	// Bad steps are refused on the page, the clock unmoved.
	for _, f := range []url.Values{
		{"amount": {"0"}, "unit": {"hours"}},
		{"amount": {"-5"}, "unit": {"hours"}},
		{"amount": {"1.5"}, "unit": {"hours"}},
		{"amount": {"2"}, "unit": {"weeks"}},
		{"amount": {"4000"}, "unit": {"days"}},
		{"amount": {"99999999999999999999"}, "unit": {"minutes"}},
	} {
		res := tp.post("/panel/settings/clock", f)
		tp.wantStatus(res, http.StatusBadRequest)
		tp.wantBody(res, "The clock was not moved: ")
		if _, o := tp.merchantNow(); o != off {
			t.Fatalf("%v moved the clock to %v", f, o)
		}
	}
}

func TestSettingsClockRefused(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleViewer)
	res := tp.post("/panel/settings/clock", url.Values{"amount": {"1"}, "unit": {"hours"}})
	tp.wantStatus(res, http.StatusForbidden)
	tp.wantBody(res, "Not allowed")
	owner := tp.as(omnicart.RoleOwner)
	res = owner.postNoCSRF("/panel/settings/clock", url.Values{"amount": {"1"}, "unit": {"hours"}})
	tp.wantStatus(res, http.StatusForbidden)
	tp.wantBody(res, "Form refused")
	if _, off := tp.merchantNow(); off != 0 {
		t.Fatalf("the clock moved: %v", off)
	}
}

func TestSettingsOutbox(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleViewer)
	_, err := tp.service.Init(context.Background(), tp.merchant, &omnicart.InitSpec{CartID: "cart-outbox-1", Currency: "JPY",
		Items:       []omnicart.ItemSpec{{ID: "naga", Amount: 1500}},
		PaymentForm: omnicart.PaymentForm{DeliveryOption: omnicart.ChannelEmail, Value: "buyer@example.com"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Queued, not yet delivered: not in the outbox.
	tp.wantBody(tp.get("/panel/settings"), "The outbox is empty.")
	tp.deliverLinks()
	res := tp.get("/panel/settings")
	tp.wantBody(res, "<td>email</td><td>buyer@example.com</td>", `<a href="/panel/carts/cart-outbox-1">cart-outbox-1</a>`,
		"1500 JPY", `href="`+tp.srv.URL+`/pay/`, "Open the payment page")
}

func TestSettingsLiveMerchant(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	ctx := context.Background()
	m, _, err := tp.service.CreateMerchant(ctx, gateway.NewMerchant{ID: "mer_live", Name: "Live Shop", Mode: omnicart.ModeLive,
		Privileges: omnicart.DefaultPrivileges(), MaxDeclines: 5})
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := tp.handler.Accounts.Create(ctx, m.ID, "live-owner@example.com", omnicart.RoleOwner, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	live := *tp
	live.merchant, live.user, live.client = m, u, newTestBrowser(t)
	live.wantStatus(live.signIn(u.Email, testPassword), http.StatusOK)
	live.csrf = live.token(live.get("/panel/overview"))
	res := live.get("/panel/settings")
	live.wantStatus(res, http.StatusOK)
	live.wantBody(res, "Live Shop", "Maximum declines</dt><dd>5<", "Cart expiry per cart (cartExpiry)</dt><dd><strong>not allowed</strong>",
		"This merchant is in live mode")
	live.wantNoBody(res, `action="/panel/settings/clock"`, "Sandbox outbox</h2>")
	res = live.post("/panel/settings/clock", url.Values{"amount": {"1"}, "unit": {"hours"}})
	live.wantStatus(res, http.StatusForbidden)
	live.wantBody(res, "Only a test-mode merchant has a test clock")
}

func TestSettingsDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0 seconds", time.Second: "1 second", 90 * time.Minute: "1 hour 30 minutes",
		48 * time.Hour: "2 days", 25*time.Hour + 61*time.Second: "1 day 1 hour 1 minute 1 second",
	} {
		if got := settingsDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}
