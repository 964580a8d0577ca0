package omnicart

import "time"

// TimerSnapshot is an item timer as the status reports it.
type TimerSnapshot struct {
	TriggerEvent  string      `json:"triggerEvent"`
	TimerStatus   TimerStatus `json:"timerStatus"`
	RemainingSecs *int64      `json:"remainingSecs"`
}

// CaptureSnapshot is an authorized item's capture window as the status
// reports it.
type CaptureSnapshot struct {
	AutoAction    AutoAction `json:"autoAction"`
	RemainingSecs int64      `json:"remainingSecs"`
}

// ItemView is one item as the status reports it.
type ItemView struct {
	PaymentStatus   Status           `json:"paymentStatus"`
	ItemAmounts     Amounts          `json:"itemAmounts"`
	Tag             string           `json:"tag,omitempty"`
	PaymentSnapshot PaymentSnapshot  `json:"paymentSnapshot"`
	TimerSnapshot   *TimerSnapshot   `json:"timerSnapshot,omitempty"`
	CaptureSnapshot *CaptureSnapshot `json:"captureSnapshot,omitempty"`
}

// StatusView is the data of a status response (and of callback events).
type StatusView struct {
	CartID       string                `json:"cartId"`
	CustomerID   string                `json:"customerId,omitempty"`
	Currency     string                `json:"currency"`
	TotalAmounts Amounts               `json:"totalAmounts"`
	Items        []map[string]ItemView `json:"items"`
}

func ceilSecs(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// View renders the items at idx (every item when idx is nil) as of now.
func (c *Cart) View(idx []int, now time.Time) StatusView {
	if idx == nil {
		idx = c.All()
	}
	v := StatusView{CartID: c.ID, CustomerID: c.CustomerID, Currency: c.Currency, TotalAmounts: c.Totals(idx),
		Items: make([]map[string]ItemView, 0, len(idx))}
	for _, i := range idx {
		it := &c.Items[i]
		iv := ItemView{PaymentStatus: it.ReportedStatus(), ItemAmounts: it.Amounts(), Tag: it.Tag, PaymentSnapshot: it.Payment}
		if t := it.Timer; t != nil {
			iv.TimerSnapshot = &TimerSnapshot{TriggerEvent: t.Trigger, TimerStatus: t.StatusAt(now), RemainingSecs: t.RemainingAt(now)}
		}
		if it.Status == StatusAuthorized && !it.CaptureDueAt.IsZero() {
			iv.CaptureSnapshot = &CaptureSnapshot{AutoAction: it.Capture.AutoAction, RemainingSecs: ceilSecs(it.CaptureDueAt.Sub(now))}
		}
		v.Items = append(v.Items, map[string]ItemView{it.ID: iv})
	}
	return v
}
