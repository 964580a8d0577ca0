package httpapi

import (
	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/jsontree"
)

// parseModify decodes a modify request body.
func parseModify(root *jsontree.Value) (string, *omnicart.ModifySpec, *reader) {
	r := &reader{}
	spec := &omnicart.ModifySpec{}
	a := at{stage: omnicart.StageValues}
	r.object(a, "", root, "cartId", "modifyBox", "debug")
	cartID := r.cartID(root)
	box := root.Get("modifyBox")
	if box == nil || !r.object(a, "modifyBox", box, "customerId", "scope", "items") {
		return cartID, spec, r
	}
	ba := a.sub("modifyBox")
	if s := r.str(ba, box, "customerId"); s != nil {
		if omnicart.ValidCustomerID(*s) {
			spec.CustomerID = s
		} else {
			r.format(ba, "customerId")
		}
	}
	if sc := box.Get("scope"); sc != nil && r.object(ba, "scope", sc, "cart", "tags") {
		sa := ba.sub("scope")
		if c := sc.Get("cart"); c != nil && r.object(sa, "cart", c, "modifyAmount", "modifyTimer") {
			spec.Cart = r.modifyLevel(sa.sub("cart"), c)
		}
		if tv := sc.Get("tags"); tv != nil {
			if tv.Kind != jsontree.Array {
				r.format(sa, "tags")
			} else {
				ta := sa.sub("tags")
				for _, el := range tv.Items {
					if el.Kind != jsontree.Object {
						r.format(sa, "tags")
						continue
					}
					for _, m := range el.Members {
						if !omnicart.ValidTag(m.Key) {
							r.format(ta, m.Key)
							continue
						}
						if !r.object(ta, m.Key, m.Value, "modifyAmount", "modifyTimer") {
							continue
						}
						spec.Tags = append(spec.Tags, omnicart.ModifyTag{Name: m.Key, ModifyLevel: r.modifyLevel(ta.sub(m.Key), m.Value)})
					}
				}
			}
		}
	}
	if iv := box.Get("items"); iv != nil {
		if iv.Kind != jsontree.Array {
			r.format(ba, "items")
		} else {
			spec.Items = r.modifyItems(ba, iv)
		}
	}
	return cartID, spec, r
}

func (r *reader) modifyLevel(a at, obj *jsontree.Value) omnicart.ModifyLevel {
	var l omnicart.ModifyLevel
	if ma := obj.Get("modifyAmount"); ma != nil && r.object(a, "modifyAmount", ma, "amountMode", "amountModifier") {
		l.Amount = r.amountChange(a.sub("modifyAmount"), ma)
	}
	l.Timer = r.timerChange(a, obj)
	return l
}

func (r *reader) amountChange(a at, ma *jsontree.Value) *omnicart.AmountChange {
	ac := &omnicart.AmountChange{}
	ac.Amount = r.amount(a, ma, "amount")
	if s := r.enum(a, ma, "amountMode", string(omnicart.AmountDeclared), string(omnicart.AmountCalculated)); s != nil {
		m := omnicart.AmountMode(*s)
		ac.Mode = &m
	}
	ac.Quantity = r.decimal(a, ma, "quantity")
	ac.Modifier = r.decimal(a, ma, "amountModifier")
	return ac
}

func (r *reader) timerChange(a at, obj *jsontree.Value) *omnicart.TimerChangeSpec {
	mt := obj.Get("modifyTimer")
	if mt == nil || !r.object(a, "modifyTimer", mt, "triggerEvent", "manualAction", "timerValue") {
		return nil
	}
	ta := a.sub("modifyTimer")
	tc := &omnicart.TimerChangeSpec{}
	if tv := mt.Get("triggerEvent"); tv != nil && tv.Kind == jsontree.Null {
		m := omnicart.TriggerManual
		tc.Trigger = &m
	} else {
		tc.Trigger = r.enum(ta, mt, "triggerEvent", triggers()...)
	}
	tc.Action = r.enum(ta, mt, "manualAction", omnicart.ActionStart, omnicart.ActionPause, omnicart.ActionStop)
	tc.Value = r.integer(ta, mt, "timerValue", 0, omnicart.MaxAmount)
	return tc
}

func (r *reader) modifyItems(ba at, iv *jsontree.Value) []omnicart.ModifyItem {
	var items []omnicart.ModifyItem
	seen := map[string]bool{}
	for _, el := range iv.Items {
		if el.Kind != jsontree.Object {
			r.format(ba, "items")
			continue
		}
		for _, m := range el.Members {
			if !omnicart.ValidItemID(m.Key) {
				r.format(at{stage: omnicart.StageValues}, m.Key) // the key as written, as in init
				continue
			}
			if seen[m.Key] {
				r.sp.Add(omnicart.StageValues, omnicart.Problem{Code: omnicart.CodeInvalidItemValue, Arg: "itemId", Items: []string{m.Key}})
				continue
			}
			seen[m.Key] = true
			ia := at{item: m.Key, stage: omnicart.StageValues}
			if m.Value.Kind != jsontree.Object {
				r.format(at{stage: omnicart.StageValues}, m.Key) // the key as written, as in init
				continue
			}
			obj := m.Value
			r.object(ia, "", obj, "tag", "modifyAmount", "modifyTimer", "enableTimer")
			mi := omnicart.ModifyItem{ID: m.Key}
			if tag := r.str(ia, obj, "tag"); tag != nil {
				if omnicart.ValidTag(*tag) {
					mi.Tag = tag
				} else {
					r.format(ia, "tag")
				}
			}
			if ma := obj.Get("modifyAmount"); ma != nil && r.object(ia, "modifyAmount", ma, "amount", "amountMode", "quantity", "amountModifier") {
				mi.Amount = r.amountChange(ia.sub("modifyAmount"), ma)
			}
			mi.Timer = r.timerChange(ia, obj)
			mi.EnableTimer = r.boolean(ia, obj, "enableTimer")
			if mi.EnableTimer != nil && !*mi.EnableTimer && mi.Timer != nil {
				// "enableTimer": false removes the timer: a modifyTimer
				// next to it would be silently dropped.
				r.value(ia, "modifyTimer")
			}
			items = append(items, mi)
		}
	}
	return items
}
