package httpapi

import (
	"net/mail"
	"net/url"
	"strings"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/jsontree"
)

// paymentKeys are the payment settings, allowed in paymentBox or directly on
// a level object.
func paymentKeys() []string {
	return []string{"amountMode", "amountModifier", "capture", "captureSettings"}
}

// levelKeys are the keys every level object (cart, tag, item) may carry
// besides payment settings.
func levelKeys() []string { return []string{"paymentBox", "enableTimer", "timer"} }

// triggers are the accepted timer trigger events.
func triggers() []string {
	return []string{"initiated", "rejected", "authorized", "canceled", "captured", "completed", "refunded", "expired", omnicart.TriggerManual}
}

// paymentFields reads payment settings from obj (a paymentBox, or a level
// object that carries them directly) into l.
func (r *reader) paymentFields(a at, obj *jsontree.Value, l *omnicart.Level) {
	if s := r.enum(a, obj, "amountMode", string(omnicart.AmountDeclared), string(omnicart.AmountCalculated)); s != nil {
		m := omnicart.AmountMode(*s)
		l.AmountMode = &m
	}
	l.Modifier = r.decimal(a, obj, "amountModifier")
	l.Capture = r.boolean(a, obj, "capture")
	if cs := obj.Get("captureSettings"); cs != nil && r.object(a, "captureSettings", cs, "autoAction", "value") {
		ca := a.sub("captureSettings")
		if s := r.enum(ca, cs, "autoAction", string(omnicart.AutoCancel), string(omnicart.AutoComplete)); s != nil {
			act := omnicart.AutoAction(*s)
			l.AutoAction = &act
		}
		l.WindowSecs = r.integer(ca, cs, "value", -omnicart.MaxAmount, omnicart.MaxAmount)
	}
}

// timerBlock records where a level gave a well-formed timer block, so that a
// block no enabled timer uses can be refused (checkTimerBlocks).
type timerBlock struct {
	given     bool // a timer object was given
	enableBad bool // enableTimer was given but malformed (already reported)
	a         at   // where the level is
}

// level reads the settings of a cart, tag or item object: payment settings
// in paymentBox or directly on the object (both equal if both given), and
// timer settings.
func (r *reader) level(a at, obj *jsontree.Value) (omnicart.Level, timerBlock) {
	var direct, boxed omnicart.Level
	r.paymentFields(a, obj, &direct)
	if pb := obj.Get("paymentBox"); pb != nil && r.object(a, "paymentBox", pb, paymentKeys()...) {
		r.paymentFields(a.sub("paymentBox"), pb, &boxed)
	}
	l := direct
	l.AmountMode = r.same(a, "amountMode", direct.AmountMode, boxed.AmountMode)
	l.Modifier = sameDecimal(r, a, direct.Modifier, boxed.Modifier)
	l.Capture = r.sameBool(a, "capture", direct.Capture, boxed.Capture)
	l.AutoAction = sameAction(r, a, direct.AutoAction, boxed.AutoAction)
	l.WindowSecs = sameInt(r, a, "captureSettings.value", direct.WindowSecs, boxed.WindowSecs)
	l.EnableTimer = r.boolean(a, obj, "enableTimer")
	tb := timerBlock{a: a, enableBad: obj.Get("enableTimer") != nil && l.EnableTimer == nil}
	if t := obj.Get("timer"); t != nil && r.object(a, "timer", t, "triggerEvent", "value") {
		tb.given = true
		ta := a.sub("timer")
		if tv := t.Get("triggerEvent"); tv != nil && tv.Kind == jsontree.Null {
			m := omnicart.TriggerManual
			l.Trigger = &m
		} else {
			l.Trigger = r.enum(ta, t, "triggerEvent", triggers()...)
		}
		l.TimerValue = r.integer(ta, t, "value", 0, omnicart.MaxAmount)
	}
	return l, tb
}

func (r *reader) same(a at, key string, x, y *omnicart.AmountMode) *omnicart.AmountMode {
	if x != nil && y != nil && *x != *y {
		r.value(a, key)
	}
	if x != nil {
		return x
	}
	return y
}

func (r *reader) sameBool(a at, key string, x, y *bool) *bool {
	if x != nil && y != nil && *x != *y {
		r.value(a, key)
	}
	if x != nil {
		return x
	}
	return y
}

func sameDecimal(r *reader, a at, x, y *omnicart.Decimal) *omnicart.Decimal {
	if x != nil && y != nil && *x != *y {
		r.value(a, "amountModifier")
	}
	if x != nil {
		return x
	}
	return y
}

func sameAction(r *reader, a at, x, y *omnicart.AutoAction) *omnicart.AutoAction {
	if x != nil && y != nil && *x != *y {
		r.value(a, "captureSettings.autoAction")
	}
	if x != nil {
		return x
	}
	return y
}

func sameInt(r *reader, a at, key string, x, y *int64) *int64 {
	if x != nil && y != nil && *x != *y {
		r.value(a, key)
	}
	if x != nil {
		return x
	}
	return y
}

func keysWith(base []string, more ...string) []string {
	out := append([]string{}, base...)
	out = append(out, paymentKeys()...)
	return append(out, more...)
}

// parseInit decodes an init request body.
func parseInit(root *jsontree.Value) (*omnicart.InitSpec, *reader) {
	r := &reader{}
	spec := &omnicart.InitSpec{}
	root0 := at{stage: omnicart.StageValues}
	r.object(root0, "", root, "cartId", "customerId", "currency", "cartExpiry", "scope", "items", "paymentForm", "debug")
	spec.CartID = r.cartID(root)
	cur := root.Get("currency")
	switch {
	case cur == nil:
		r.sp.Add(omnicart.StageCurrency, omnicart.Problem{Code: omnicart.CodeUnknownCurrency})
	case cur.Kind != jsontree.String:
		r.sp.Add(omnicart.StageCurrency, omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: "currency"})
	default:
		if _, ok := omnicart.LookupPayableCurrency(cur.Text); !ok {
			r.sp.Add(omnicart.StageCurrency, omnicart.Problem{Code: omnicart.CodeUnknownCurrency})
		} else {
			spec.Currency = cur.Text
		}
	}
	if s := r.str(root0, root, "customerId"); s != nil {
		if omnicart.ValidCustomerID(*s) {
			spec.CustomerID = *s
		} else {
			r.format(root0, "customerId")
		}
	}
	spec.CartExpiry = r.integer(root0, root, "cartExpiry", 60, 30*24*3600)
	var cartTimer timerBlock
	var tagTimers, itemTimers []timerBlock
	if sc := root.Get("scope"); sc != nil && r.object(root0, "scope", sc, "cart", "tags") {
		sa := root0.sub("scope")
		if c := sc.Get("cart"); c != nil && r.object(sa, "cart", c, keysWith(levelKeys())...) {
			spec.Cart, cartTimer = r.level(sa.sub("cart"), c)
		}
		spec.Tags, tagTimers = r.scopeTags(sa, sc)
	}
	spec.Items, itemTimers = r.initItems(root)
	r.checkTimerBlocks(spec, cartTimer, tagTimers, itemTimers)
	spec.PaymentForm = r.paymentForm(root0, root)
	return spec, r
}

// scopeTags reads scope.tags; the timer blocks are parallel to the tags.
func (r *reader) scopeTags(sa at, sc *jsontree.Value) ([]omnicart.TagSpec, []timerBlock) {
	tv := sc.Get("tags")
	if tv == nil {
		return nil, nil
	}
	if tv.Kind != jsontree.Array {
		r.format(sa, "tags")
		return nil, nil
	}
	var tags []omnicart.TagSpec
	var timers []timerBlock
	for _, el := range tv.Items {
		if el.Kind != jsontree.Object {
			r.format(sa, "tags")
			continue
		}
		for _, m := range el.Members {
			ta := sa.sub("tags")
			if !omnicart.ValidTag(m.Key) {
				r.format(ta, m.Key)
				continue
			}
			dup := false
			for _, t := range tags {
				dup = dup || t.Name == m.Key
			}
			if dup {
				r.value(sa, "tags")
				continue
			}
			if !r.object(ta, m.Key, m.Value, keysWith(levelKeys())...) {
				continue
			}
			l, tb := r.level(ta.sub(m.Key), m.Value)
			tags = append(tags, omnicart.TagSpec{Name: m.Key, Level: l})
			timers = append(timers, tb)
		}
	}
	return tags, timers
}

// initItems reads items; the timer blocks are parallel to the items.
func (r *reader) initItems(root *jsontree.Value) ([]omnicart.ItemSpec, []timerBlock) {
	a := at{stage: omnicart.StageValues}
	iv := root.Get("items")
	switch {
	case iv == nil:
		r.format(a, "items")
		return nil, nil
	case iv.Kind != jsontree.Array:
		r.format(a, "items")
		return nil, nil
	case len(iv.Items) == 0:
		r.value(a, "items")
		return nil, nil
	}
	var items []omnicart.ItemSpec
	var timers []timerBlock
	seen := map[string]bool{}
	for _, el := range iv.Items {
		if el.Kind != jsontree.Object || len(el.Members) == 0 {
			r.format(a, "items")
			continue
		}
		for _, m := range el.Members {
			if !omnicart.ValidItemID(m.Key) {
				r.format(a, m.Key)
				continue
			}
			if seen[m.Key] {
				r.sp.Add(omnicart.StageValues, omnicart.Problem{Code: omnicart.CodeInvalidItemValue, Arg: "itemId", Items: []string{m.Key}})
				continue
			}
			seen[m.Key] = true
			ia := at{item: m.Key, stage: omnicart.StageValues}
			obj := m.Value
			if obj.Kind != jsontree.Object {
				r.format(a, m.Key)
				continue
			}
			r.object(ia, "", obj, keysWith(levelKeys(), "tag", "amount", "quantity")...)
			is := omnicart.ItemSpec{ID: m.Key}
			if tag := r.str(ia, obj, "tag"); tag != nil {
				if omnicart.ValidTag(*tag) {
					is.Tag = *tag
				} else {
					r.format(ia, "tag")
				}
			}
			if amt := r.amount(ia, obj, "amount"); amt != nil {
				is.Amount = *amt
			} else if obj.Get("amount") == nil {
				r.format(ia, "amount")
			}
			is.Quantity = r.decimal(ia, obj, "quantity")
			var tb timerBlock
			is.Level, tb = r.level(ia, obj)
			items = append(items, is)
			timers = append(timers, tb)
		}
	}
	return items, timers
}

// checkTimerBlocks refuses timer blocks that no timer would use, so that a
// merchant never believes a timer exists when none does: a timer block next
// to "enableTimer": false, and a timer block without enableTimer that no item
// inheriting from it enables (an item's timer is enabled by its own
// enableTimer, else its tag's, else the cart's). The block is named as
// written: 123003 scope.cart.timer / scope.tags.<tag>.timer has invalid
// value, 123002 timer has invalid value for item(s) [...].
func (r *reader) checkTimerBlocks(spec *omnicart.InitSpec, cart timerBlock, tags, items []timerBlock) {
	tagLevels := make(map[string]*omnicart.Level, len(spec.Tags))
	for i := range spec.Tags {
		tagLevels[spec.Tags[i].Name] = &spec.Tags[i].Level
	}
	enabled := make([]bool, len(spec.Items))
	for i := range spec.Items {
		enabled[i] = omnicart.Resolve(&spec.Items[i], tagLevels[spec.Items[i].Tag], &spec.Cart).EnableTimer
	}
	// unused reports whether the block of level l is refused; reaches says
	// whether item i inherits from l.
	unused := func(tb timerBlock, l *omnicart.Level, reaches func(i int) bool) bool {
		if !tb.given || tb.enableBad {
			return false
		}
		if l.EnableTimer != nil {
			return !*l.EnableTimer
		}
		for i := range spec.Items {
			if enabled[i] && reaches(i) {
				return false
			}
		}
		return true
	}
	if unused(cart, &spec.Cart, func(int) bool { return true }) {
		r.value(cart.a, "timer")
	}
	for k := range spec.Tags {
		name := spec.Tags[k].Name
		if unused(tags[k], &spec.Tags[k].Level, func(i int) bool { return spec.Items[i].Tag == name }) {
			r.value(tags[k].a, "timer")
		}
	}
	for k := range spec.Items {
		if unused(items[k], &spec.Items[k].Level, func(i int) bool { return i == k }) {
			r.value(items[k].a, "timer")
		}
	}
}

func (r *reader) paymentForm(a at, root *jsontree.Value) omnicart.PaymentForm {
	pf := omnicart.PaymentForm{DeliveryOption: "redirect"}
	v := root.Get("paymentForm")
	if v == nil || !r.object(a, "paymentForm", v, "deliveryOption", "value") {
		return pf
	}
	pa := a.sub("paymentForm")
	opt := r.str(pa, v, "deliveryOption")
	if opt == nil {
		if v.Get("deliveryOption") == nil {
			r.format(pa, "deliveryOption")
		}
		return pf
	}
	if !contains([]string{"redirect", "email", "sms", "push"}, *opt) {
		r.value(pa, "deliveryOption")
		return pf
	}
	pf.DeliveryOption = *opt
	val := r.str(pa, v, "value")
	if val == nil {
		if *opt != "redirect" {
			r.format(pa, "value")
		}
		return pf
	}
	if !validDeliveryValue(*opt, *val) {
		r.format(pa, "value")
		return pf
	}
	pf.Value = *val
	return pf
}

// validDeliveryValue checks a paymentForm value for its channel: an absolute
// http(s) URL, an email address, an E.164 number, or a 1–4096 character push
// token.
func validDeliveryValue(opt, v string) bool {
	switch opt {
	case "redirect":
		u, err := url.Parse(v)
		return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(v) <= 2048
	case "email":
		a, err := mail.ParseAddress(v)
		return err == nil && a.Address == v && a.Name == "" && len(v) <= 254 && strings.Contains(v[strings.LastIndex(v, "@"):], ".")
	case "sms":
		if len(v) < 3 || len(v) > 16 || v[0] != '+' || v[1] == '0' {
			return false
		}
		for i := 1; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return false
			}
		}
		return true
	case "push":
		return len(v) >= 1 && len(v) <= 4096 && strings.TrimSpace(v) == v
	}
	return false
}
