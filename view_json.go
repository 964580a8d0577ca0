package omnicart

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/omnicart/omnicart/internal/jsonw"
)

// AppendJSON appends the view as JSON: the bytes encoding/json writes for it
// with HTML escaping off, field for field (TestStatusViewAppendJSON holds
// the two together), without reflection or the sorting of one-key maps.
// GET /status writes every answer through it.
func (v StatusView) AppendJSON(b []byte) []byte {
	b = append(b, `{"cartId":`...)
	b = jsonw.String(b, v.CartID)
	if v.CustomerID != "" {
		b = append(b, `,"customerId":`...)
		b = jsonw.String(b, v.CustomerID)
	}
	b = append(b, `,"currency":`...)
	b = jsonw.String(b, v.Currency)
	b = append(b, `,"totalAmounts":`...)
	b = v.TotalAmounts.appendJSON(b)
	b = append(b, `,"items":`...)
	if v.Items == nil {
		return append(b, "null}"...)
	}
	b = append(b, '[')
	for i, m := range v.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendItemMap(b, m)
	}
	return append(b, "]}"...)
}

// MarshalJSON writes AppendJSON's bytes (callback payloads carry the view
// too).
func (v StatusView) MarshalJSON() ([]byte, error) { return v.AppendJSON(nil), nil }

// appendItemMap writes one entry of Items: an object keyed by item id
// (one key in practice; more are written in key order, as encoding/json
// sorts map keys).
func appendItemMap(b []byte, m map[string]ItemView) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	if len(m) == 1 {
		for id, iv := range m {
			b = jsonw.Key(b, id)
			b = iv.appendJSON(b)
		}
		return append(b, '}')
	}
	keys := make([]string, 0, len(m))
	for id := range m {
		keys = append(keys, id)
	}
	slices.Sort(keys)
	for i, id := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonw.Key(b, id)
		b = m[id].appendJSON(b)
	}
	return append(b, '}')
}

func (iv ItemView) appendJSON(b []byte) []byte {
	b = append(b, `{"paymentStatus":`...)
	b = jsonw.String(b, string(iv.PaymentStatus))
	b = append(b, `,"itemAmounts":`...)
	b = iv.ItemAmounts.appendJSON(b)
	if iv.Tag != "" {
		b = append(b, `,"tag":`...)
		b = jsonw.String(b, iv.Tag)
	}
	p := iv.PaymentSnapshot
	b = append(b, `,"paymentSnapshot":{"amount":`...)
	b = jsonw.Int(b, p.Amount)
	b = append(b, `,"amountMode":`...)
	b = jsonw.String(b, string(p.Mode))
	b = append(b, `,"quantity":`...)
	b = p.Quantity.appendJSON(b)
	b = append(b, `,"amountModifier":`...)
	b = p.Modifier.appendJSON(b)
	b = append(b, '}')
	if t := iv.TimerSnapshot; t != nil {
		b = append(b, `,"timerSnapshot":{"triggerEvent":`...)
		b = jsonw.String(b, t.TriggerEvent)
		b = append(b, `,"timerStatus":`...)
		b = jsonw.String(b, string(t.TimerStatus))
		b = append(b, `,"remainingSecs":`...)
		if t.RemainingSecs == nil {
			b = append(b, "null"...)
		} else {
			b = jsonw.Int(b, *t.RemainingSecs)
		}
		b = append(b, '}')
	}
	if c := iv.CaptureSnapshot; c != nil {
		b = append(b, `,"captureSnapshot":{"autoAction":`...)
		b = jsonw.String(b, string(c.AutoAction))
		b = append(b, `,"remainingSecs":`...)
		b = jsonw.Int(b, c.RemainingSecs)
		b = append(b, '}')
	}
	return append(b, '}')
}

func (a Amounts) appendJSON(b []byte) []byte {
	b = append(b, `{"initiated":`...)
	b = jsonw.Int(b, a.Initiated)
	b = append(b, `,"captured":`...)
	b = jsonw.Int(b, a.Captured)
	b = append(b, `,"refunded":`...)
	b = jsonw.Int(b, a.Refunded)
	b = append(b, `,"current":`...)
	b = jsonw.Int(b, a.Current)
	return append(b, '}')
}

// appendJSON appends the decimal as MarshalJSON writes it.
func (d Decimal) appendJSON(b []byte) []byte {
	if d.micros%decimalUnit == 0 {
		return jsonw.Int(b, d.micros/decimalUnit)
	}
	return append(b, d.String()...)
}

// MarshalEvent is json.Marshal(e), the bytes the stores keep for an
// event, without encoding/json re-reading the status data: json.Marshal
// validates and compacts what a MarshalJSON method returns, which costs
// more than writing the view. The event's other members go through
// json.Marshal; the data, its last member, is appended to them. Data
// holding '<', '>' or '&' (which json.Marshal escapes as \u003c, …)
// goes through json.Marshal whole. AppendJSON writes valid JSON for
// every view (negative decimals included), so the check json.Marshal
// would make finds nothing; TestMarshalEvent holds the two to the same
// bytes.
func MarshalEvent(e Event) ([]byte, error) {
	data := e.Data
	if data == nil {
		return json.Marshal(e)
	}
	e.Data = nil // omitted (omitempty)
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	b = append(b[:len(b)-1], `,"data":`...)
	n := len(b)
	b = data.AppendJSON(b)
	if bytes.ContainsAny(b[n:], "<>&") {
		e.Data = data
		return json.Marshal(e)
	}
	return append(b, '}'), nil
}
