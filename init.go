package omnicart

import (
	"strconv"
	"time"
)

// NewCart builds a cart from an init request for merchant m at now. It checks
// amounts, timer settings, the customerId rule and privileges, and reports
// what it finds in sp; the cart is nil when any error was found. Catalog and
// existence checks need storage and are the caller's. Items that set no
// capture window get the merchant's default (Merchant.CaptureWindowDefault).
// Timers whose trigger the item has already reached start at once, and the
// cart carries a timer.status_changed event for them.
func NewCart(spec *InitSpec, m *Merchant, now time.Time, sp *StagedProblems) *Cart {
	tagLevels := make(map[string]*Level, len(spec.Tags))
	for i := range spec.Tags {
		tagLevels[spec.Tags[i].Name] = &spec.Tags[i].Level
	}
	expiry := m.CartExpirySecs
	if spec.CartExpiry != nil {
		expiry = *spec.CartExpiry
		if !m.Privileges.CartExpiry {
			sp.Add(StagePrivileges, Problem{Code: CodeNoPermission, Arg: "cartExpiry"})
		}
	}
	c := &Cart{
		MerchantID:  m.ID,
		ID:          spec.CartID,
		CustomerID:  spec.CustomerID,
		Currency:    spec.Currency,
		CreatedAt:   now,
		ExpiresAt:   now.Add(time.Duration(expiry) * time.Second),
		PaymentForm: spec.PaymentForm,
	}
	scopeAmount := spec.Cart.SetsAmount()
	scopeTimer := spec.Cart.SetsTimer()
	for _, t := range spec.Tags {
		scopeAmount = scopeAmount || t.Level.SetsAmount()
		scopeTimer = scopeTimer || t.Level.SetsTimer()
	}
	pv := m.Privileges
	if scopeAmount && !pv.AmountSettings {
		sp.Add(StagePrivileges, Problem{Code: CodeNoAmountPerm})
	}
	if scopeTimer && !pv.Timers {
		sp.Add(StagePrivileges, Problem{Code: CodeNoTimerPerm})
	}
	defaultWindow := m.CaptureWindowDefault()
	var timed, undefinedTag []string
	var started []TimerChange // timers whose trigger was already reached
	oneStepDenied := false    // 132003 has no item list: report it once
	usedTags := map[string]bool{}
	for k := range spec.Items {
		is := &spec.Items[k]
		tag := tagLevels[is.Tag]
		if is.Tag != "" {
			usedTags[is.Tag] = true
			if tag == nil {
				undefinedTag = append(undefinedTag, is.ID)
			}
		}
		r := resolve(is, tag, &spec.Cart, defaultWindow)
		full, ok := r.Payment.FullAmount()
		if !ok && is.Amount > 0 { // a missing or malformed amount is already reported
			sp.Add(StageValues, Problem{Code: CodeInvalidItemValue, Arg: "amount", Items: []string{is.ID}})
		}
		it := Item{ID: is.ID, Tag: is.Tag, Status: StatusInitiated, Reached: []Status{StatusInitiated},
			Payment: r.Payment, Capture: r.Capture, Initiated: full, Full: full}
		if r.EnableTimer {
			timed = append(timed, is.ID)
			switch {
			case r.Trigger == nil:
				sp.Add(StageValues, Problem{Code: CodeInvalidItemValue, Arg: "timer.triggerEvent", Items: []string{is.ID}})
			case r.TimerValue == nil:
				sp.Add(StageValues, Problem{Code: CodeInvalidItemValue, Arg: "timer.value", Items: []string{is.ID}})
			default:
				it.Timer = NewTimer(*r.Trigger, *r.TimerValue)
				if tc, ok := it.Timer.arm(now, &it); ok {
					tc.ItemID = it.ID
					started = append(started, tc)
				}
			}
		}
		if is.Level.SetsAmount() && !pv.AmountSettings {
			sp.Add(StagePrivileges, Problem{Code: CodeNoItemAmountPerm, Items: []string{is.ID}})
		}
		if is.Level.SetsTimer() && !pv.Timers {
			sp.Add(StagePrivileges, Problem{Code: CodeNoItemTimerPerm, Items: []string{is.ID}})
		}
		if !r.Capture.TwoStep && !pv.OneStep && !oneStepDenied {
			oneStepDenied = true
			sp.Add(StagePrivileges, Problem{Code: CodeNoModifyPerm, Arg: "capture"})
		}
		if r.Capture.TwoStep {
			if r.Capture.AutoAction == AutoComplete && !pv.AutoComplete {
				sp.Add(StagePrivileges, Problem{Code: CodeOutOfRange, Arg: "captureSettings.autoAction", Args: []string{string(AutoComplete)}, Items: []string{is.ID}})
			}
			if w := r.Capture.WindowSecs; w < pv.CaptureMinSecs || w > pv.CaptureMaxSecs {
				sp.Add(StagePrivileges, Problem{Code: CodeOutOfRange, Arg: "captureSettings.value", Args: []string{strconv.FormatInt(w, 10)}, Items: []string{is.ID}})
			}
		}
		c.Items = append(c.Items, it)
	}
	// The cart's total is one payment: it obeys the same bound as an item.
	var total int64
	for i := range c.Items {
		total += c.Items[i].Initiated // each ≤ 10^15: no overflow for any item count the body limit allows
		if total > MaxAmount {
			sp.Add(StageValues, Problem{Code: CodeInvalidValue, Arg: "items"})
			break
		}
	}
	if len(timed) > 0 && spec.CustomerID == "" {
		sp.Add(StageTimers, Problem{Code: CodeCustomerIDRequired, Items: timed})
	}
	var unused []string
	for _, t := range spec.Tags {
		if !usedTags[t.Name] {
			unused = append(unused, t.Name)
		}
	}
	if len(unused) > 0 {
		sp.Add(StageConflicts, Problem{Code: CodeTagsUnused, Items: unused})
	}
	if len(undefinedTag) > 0 {
		sp.Add(StageConflicts, Problem{Code: CodeTagsUndefined, Items: undefinedTag})
	}
	if sp.HasErrors() {
		return nil
	}
	// A timer that starts at once is a status the merchant can observe:
	// announce it like any other timer change (pending → started).
	if len(started) > 0 {
		c.emit(Event{Type: EventTimerStatusChanged, At: now, Timers: started})
	}
	return c
}
