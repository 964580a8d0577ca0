package webhook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/omnicart/omnicart"
)

// EventID is the public id of the event with this per-cart sequence: "evt_"
// and 32 hex digits derived from the merchant, cart and sequence, so that
// it is the same whoever computes it and whenever.
func EventID(merchantID, cartID string, sequence int64) string {
	h := sha256.New()
	h.Write([]byte(merchantID))
	h.Write([]byte{0})
	h.Write([]byte(cartID))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, sequence, 10))
	return "evt_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// storedEvent is omnicart.Event as the store saved it, with the status data
// kept as raw JSON so that it is passed on byte for byte.
type storedEvent struct {
	Type        string                      `json:"type"`
	CartID      string                      `json:"cartId"`
	Sequence    int64                       `json:"sequence"`
	At          time.Time                   `json:"createdAt"`
	Changes     []omnicart.Change           `json:"changes"`
	Timers      []omnicart.TimerChange      `json:"timers"`
	AutoActions []omnicart.AutoActionNotice `json:"autoActions"`
	Data        json.RawMessage             `json:"data"`
}

// PaymentChange is one item's payment status transition in a
// payment.status_changed event, with the item's amounts after it.
type PaymentChange struct {
	ItemID      string            `json:"itemId"`
	From        omnicart.Status   `json:"from"`
	To          omnicart.Status   `json:"to"`
	ItemAmounts *omnicart.Amounts `json:"itemAmounts,omitempty"`
}

// TimerChange is one item timer's transition in a timer.status_changed
// event. RemainingSecs is null for an infinite or removed timer.
type TimerChange struct {
	ItemID        string               `json:"itemId"`
	From          omnicart.TimerStatus `json:"from"`
	To            omnicart.TimerStatus `json:"to"`
	RemainingSecs *int64               `json:"remainingSecs"`
}

// AutoActionChange announces a capture window's auto action in a
// payment.auto_action_pending event.
type AutoActionChange struct {
	ItemID     string              `json:"itemId"`
	AutoAction omnicart.AutoAction `json:"autoAction"`
	DueAt      string              `json:"dueAt"`
}

// Payload is the JSON body of a callback, in the order of its properties.
type Payload struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt string          `json:"createdAt"`
	CartID    string          `json:"cartId"`
	Sequence  int64           `json:"sequence"`
	Changes   any             `json:"changes"`
	Data      json.RawMessage `json:"data"`
}

// Stamp formats a time as the API does: UTC, RFC 3339 with milliseconds.
func Stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// BuildPayload turns an event as the store saved it (the JSON of an
// omnicart.Event) into the callback body for the merchant's cart: id,
// type, createdAt, cartId, sequence, changes and data (the cart's status
// data as of the event). It returns the event's public id and the body.
func BuildPayload(merchantID, cartID string, stored []byte) (id string, body []byte, err error) {
	var ev storedEvent
	if err := json.Unmarshal(stored, &ev); err != nil {
		return "", nil, fmt.Errorf("decode stored event: %w", err)
	}
	if ev.CartID == "" {
		ev.CartID = cartID
	}
	p := Payload{ID: EventID(merchantID, cartID, ev.Sequence), Type: ev.Type, CreatedAt: Stamp(ev.At),
		CartID: ev.CartID, Sequence: ev.Sequence, Data: ev.Data}
	if len(p.Data) == 0 {
		p.Data = json.RawMessage("null")
	}
	switch ev.Type {
	case omnicart.EventPaymentStatusChanged:
		amounts := itemAmounts(ev.Data)
		ch := make([]PaymentChange, 0, len(ev.Changes))
		for _, c := range ev.Changes {
			pc := PaymentChange{ItemID: c.ItemID, From: c.From, To: c.To}
			if a, ok := amounts[c.ItemID]; ok {
				pc.ItemAmounts = &a
			}
			ch = append(ch, pc)
		}
		p.Changes = ch
	case omnicart.EventTimerStatusChanged:
		ch := make([]TimerChange, 0, len(ev.Timers))
		for _, t := range ev.Timers {
			ch = append(ch, TimerChange{ItemID: t.ItemID, From: t.From, To: t.To, RemainingSecs: t.RemainingSecs})
		}
		p.Changes = ch
	case omnicart.EventAutoActionPending:
		ch := make([]AutoActionChange, 0, len(ev.AutoActions))
		for _, a := range ev.AutoActions {
			ch = append(ch, AutoActionChange{ItemID: a.ItemID, AutoAction: a.AutoAction, DueAt: Stamp(a.DueAt)})
		}
		p.Changes = ch
	default:
		return "", nil, fmt.Errorf("unknown event type %q", ev.Type)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return "", nil, fmt.Errorf("encode payload: %w", err)
	}
	return p.ID, bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// itemAmounts reads each item's amounts from status data.
func itemAmounts(data json.RawMessage) map[string]omnicart.Amounts {
	var v struct {
		Items []map[string]struct {
			ItemAmounts omnicart.Amounts `json:"itemAmounts"`
		} `json:"items"`
	}
	out := map[string]omnicart.Amounts{}
	if len(data) == 0 || json.Unmarshal(data, &v) != nil {
		return out
	}
	for _, m := range v.Items {
		for id, it := range m {
			out[id] = it.ItemAmounts
		}
	}
	return out
}
