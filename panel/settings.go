package panel

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/omnicart/omnicart"
)

// The settings page shows the merchant's settings to every role, read
// only: the operator changes them with the CLI (omnicart merchant
// update). A test-mode merchant's page also has the test clock (its time,
// how far it is ahead of real time, and, for owners and operators, a form
// that moves it forward through gateway.Service.AdvanceClock, the use case
// of POST /sandbox/clock) and the sandbox outbox (the payment links that
// would have gone out by email, SMS or push: gateway.Service.SandboxOutbox,
// as GET /sandbox/outbox).

func (h *Handler) settingsRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /panel/settings", h.auth(h.settings))
	m.HandleFunc("POST /panel/settings/clock", h.auth(h.advanceClock))
}

const (
	// outboxShown is how many outbox messages the page shows.
	outboxShown = 50
	// maxClockStep is the most one advance moves the clock, as the API
	// allows (advanceSecs up to ten years).
	maxClockStep = 10 * 365 * 24 * time.Hour
)

type settingsRow struct{ Name, Value, Note string }

type settingsOutboxRow struct {
	Sent, Channel, Recipient, CartID, Amount, State, Link string
}

type settingsData struct {
	MerchantID, Name, Mode, Created string
	Test                            bool
	Settings, Privileges            []settingsRow
	// The test clock.
	MerchantNow, RealNow, Offset string
	CanAdvance                   bool
	Amount, Unit                 string // the advance form's values
	Units                        []string
	// The sandbox outbox.
	Outbox     []settingsOutboxRow
	OutboxNote string
}

// clockUnits are the advance form's units.
var clockUnits = []struct {
	name string
	d    time.Duration
}{{"minutes", time.Minute}, {"hours", time.Hour}, {"days", 24 * time.Hour}}

// settingsDuration writes d in days, hours, minutes and seconds ("2 days",
// "1 hour 30 minutes"); zero is "0 seconds".
func settingsDuration(d time.Duration) string {
	if d < 0 {
		return "−" + settingsDuration(-d)
	}
	secs := int64(d / time.Second)
	if secs == 0 {
		return "0 seconds"
	}
	var parts []string
	for _, u := range []struct {
		n    int64
		name string
	}{{86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}} {
		if k := secs / u.n; k > 0 {
			name := u.name
			if k != 1 {
				name += "s"
			}
			parts = append(parts, fmt.Sprintf("%d %s", k, name))
			secs -= k * u.n
		}
	}
	return strings.Join(parts, " ")
}

// secsText writes a setting given in seconds: "2 days (172800 s)".
func secsText(secs int64) string {
	return settingsDuration(time.Duration(secs)*time.Second) + " (" + strconv.FormatInt(secs, 10) + " s)"
}

func privilegeText(b bool) string {
	if b {
		return "allowed"
	}
	return "not allowed"
}

const settingsStamp = "2006-01-02 15:04:05 UTC"

func (h *Handler) settingsData(r *http.Request, s *signedIn) (settingsData, error) {
	m := s.merchant
	pv := m.Privileges
	d := settingsData{MerchantID: m.ID, Name: m.Name, Mode: string(m.Mode), Created: m.CreatedAt.UTC().Format(settingsStamp),
		Test: m.Mode == omnicart.ModeTest}
	window := secsText(pv.CaptureMinSecs) + " to "
	if pv.CaptureMaxSecs > 0 {
		window += secsText(pv.CaptureMaxSecs)
	} else {
		window += "no maximum"
	}
	d.Settings = []settingsRow{
		{"Cart expiry", secsText(m.CartExpirySecs), "How long a new cart can be paid, unless its /init sets cartExpiry (a privilege below)."},
		{"Maximum declines", strconv.Itoa(m.MaxDeclines), "Declined payment attempts after which a cart's items are rejected."},
		{"Capture window range", window, "The capture windows (captureSettings.windowSecs) an /init may set; outside it: 133200."},
		{"Default capture window", secsText(m.CaptureWindowDefault()), "The capture window of a two-step item whose /init sets none."},
		{"Auto-action warning lead time", settingsDuration(m.AutoActionLead()) + " (" + strconv.FormatInt(int64(m.AutoActionLead()/time.Second), 10) + " s)",
			"How long before a capture window's automatic capture or cancel the payment.auto_action_pending callback is sent."},
	}
	d.Privileges = []settingsRow{
		{"Cart expiry per cart (cartExpiry)", privilegeText(pv.CartExpiry), "Without it, an /init that sets cartExpiry gets 133000."},
		{"Automatic capture at the end of a capture window (autoAction complete)", privilegeText(pv.AutoComplete), "Without it, only automatic cancel."},
		{"Timers (timer settings)", privilegeText(pv.Timers), "Without it: 133102."},
		{"Amount settings (amountMode, modifier)", privilegeText(pv.AmountSettings), "Without it: 133101."},
		{"One-step payments (capture false)", privilegeText(pv.OneStep), "Without it, every item is captured in a second step."},
	}
	if !d.Test {
		return d, nil
	}
	real := h.now()
	d.MerchantNow = m.Now(real).UTC().Format(settingsStamp)
	d.RealNow = real.UTC().Format(settingsStamp)
	if m.ClockOffset > 0 {
		d.Offset = settingsDuration(m.ClockOffset.Truncate(time.Second)) + " ahead of real time"
	} else {
		d.Offset = "none: the clock shows real time"
	}
	d.CanAdvance = s.user.Role.CanAct()
	d.Unit = "hours"
	for _, u := range clockUnits {
		d.Units = append(d.Units, u.name)
	}
	msgs, err := h.Service.SandboxOutbox(r.Context(), m.ID, outboxShown)
	if err != nil {
		return d, err
	}
	for _, n := range msgs {
		at := n.SentAt
		if at.IsZero() {
			at = n.CreatedAt
		}
		row := settingsOutboxRow{Sent: at.UTC().Format(settingsStamp), Channel: n.Channel, Recipient: n.Recipient, CartID: n.CartID,
			Amount: Money(n.Currency, n.Amount), State: n.State}
		if n.PayToken != "" && h.PublicURL != "" {
			row.Link = strings.TrimRight(h.PublicURL, "/") + "/pay/" + n.PayToken
		}
		d.Outbox = append(d.Outbox, row)
	}
	if len(msgs) == outboxShown {
		d.OutboxNote = fmt.Sprintf("The newest %d messages.", outboxShown)
	}
	return d, nil
}

func (h *Handler) settings(w http.ResponseWriter, r *http.Request, s *signedIn) {
	d, err := h.settingsData(r, s)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	p := page{Title: "Settings", User: s.user, CSRF: s.csrf, Nav: "settings", Data: d}
	if by := h.notice(r, s).Get("advanced"); by != "" && d.Test {
		p.Notice = "The test clock moved forward by " + by + "; what fell due has fired. Merchant time is now " + d.MerchantNow + "."
	}
	h.render(w, "settings", http.StatusOK, p)
}

// clockStep reads the advance form: a whole number of a unit, more than
// zero and at most maxClockStep.
func clockStep(amount, unit string) (time.Duration, string) {
	n, err := strconv.ParseInt(strings.TrimSpace(amount), 10, 64)
	if err != nil || n <= 0 {
		return 0, "Give a whole number greater than zero."
	}
	for _, u := range clockUnits {
		if u.name == unit {
			if n > int64(maxClockStep/u.d) {
				return 0, fmt.Sprintf("One step moves the clock by at most %s; move it in several steps.", settingsDuration(maxClockStep))
			}
			return time.Duration(n) * u.d, ""
		}
	}
	return 0, "Choose minutes, hours or days."
}

func (h *Handler) advanceClock(w http.ResponseWriter, r *http.Request, s *signedIn) {
	if !s.user.Role.CanAct() {
		h.message(w, r, s, http.StatusForbidden, "Not allowed", "Your role (viewer) can read the test clock but not move it. Nothing was changed.")
		return
	}
	if s.merchant.Mode != omnicart.ModeTest {
		h.message(w, r, s, http.StatusForbidden, "Not allowed", "Only a test-mode merchant has a test clock; a live merchant's time is real time. Nothing was changed.")
		return
	}
	amount, unit := r.PostFormValue("amount"), r.PostFormValue("unit")
	step, bad := clockStep(amount, unit)
	if bad != "" {
		d, err := h.settingsData(r, s)
		if err != nil {
			h.fail(w, r, s, err)
			return
		}
		d.Amount, d.Unit = amount, unit
		h.render(w, "settings", http.StatusBadRequest, page{Title: "Settings", User: s.user, CSRF: s.csrf, Nav: "settings",
			Error: "The clock was not moved: " + bad, Data: d})
		return
	}
	before := s.merchant.Now(h.now())
	now, err := h.Service.AdvanceClock(r.Context(), s.merchant, step)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.record(r.Context(), r, s.merchant.ID, s.user.Email, "clock.advance", "test clock",
		fmt.Sprintf("by %s: %s → %s", settingsDuration(step), before.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	http.Redirect(w, r, h.noticeURL(s, Prefix+"settings", url.Values{"advanced": {settingsDuration(step)}}), http.StatusSeeOther)
}
