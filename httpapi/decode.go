package httpapi

import (
	"errors"
	"strconv"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/jsontree"
)

// reader turns a JSON tree into domain specs, collecting every problem it
// finds at the right stage instead of stopping at the first.
type reader struct {
	sp omnicart.StagedProblems
}

// at says where a property is: inside an item (item != "") or elsewhere, and
// the path to prefix property names with.
type at struct {
	item   string
	prefix string
	stage  int
}

func (a at) name(key string) string { return a.prefix + key }

func (a at) sub(key string) at { return at{item: a.item, prefix: a.prefix + key + ".", stage: a.stage} }

func (r *reader) format(a at, key string) {
	if a.item != "" {
		r.sp.Add(a.stage, omnicart.Problem{Code: omnicart.CodeInvalidItemFormat, Arg: a.name(key), Items: []string{a.item}})
		return
	}
	r.sp.Add(a.stage, omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: a.name(key)})
}

func (r *reader) value(a at, key string) {
	if a.item != "" {
		r.sp.Add(a.stage, omnicart.Problem{Code: omnicart.CodeInvalidItemValue, Arg: a.name(key), Items: []string{a.item}})
		return
	}
	r.sp.Add(a.stage, omnicart.Problem{Code: omnicart.CodeInvalidValue, Arg: a.name(key)})
}

// object checks that v is an object whose keys are all allowed, reporting
// unknown keys. It returns false when v is not an object.
func (r *reader) object(a at, key string, v *jsontree.Value, allowed ...string) bool {
	if v.Kind != jsontree.Object {
		r.format(a, key)
		return false
	}
	inner := a
	if key != "" {
		inner = a.sub(key)
	}
	for _, m := range v.Members {
		if !contains(allowed, m.Key) {
			r.format(inner, m.Key)
		}
	}
	return true
}

func (r *reader) str(a at, obj *jsontree.Value, key string) *string {
	v := obj.Get(key)
	if v == nil {
		return nil
	}
	if v.Kind != jsontree.String {
		r.format(a, key)
		return nil
	}
	return &v.Text
}

func (r *reader) boolean(a at, obj *jsontree.Value, key string) *bool {
	v := obj.Get(key)
	if v == nil {
		return nil
	}
	if v.Kind != jsontree.Bool {
		r.format(a, key)
		return nil
	}
	b := v.Bool
	return &b
}

// integer reads an integer literal; min bounds it from below (values below
// are invalid values), max from above.
func (r *reader) integer(a at, obj *jsontree.Value, key string, min, max int64) *int64 {
	v := obj.Get(key)
	if v == nil {
		return nil
	}
	n, ok, isInt := parseInteger(v)
	if !isInt {
		r.format(a, key)
		return nil
	}
	if !ok || n < min || n > max {
		r.value(a, key)
		return nil
	}
	return &n
}

// parseInteger reads a JSON integer literal. isInt is false for anything that
// is not a plain integer; ok is false when it is beyond ±10^15.
func parseInteger(v *jsontree.Value) (n int64, ok, isInt bool) {
	if v.Kind != jsontree.Number {
		return 0, false, false
	}
	t := v.Text
	neg := len(t) > 0 && t[0] == '-'
	if neg {
		t = t[1:]
	}
	if t == "" {
		return 0, false, false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return 0, false, false
		}
	}
	if len(t) > 16 {
		return 0, false, true
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n > omnicart.MaxAmount {
		return 0, false, true
	}
	if neg {
		n = -n
	}
	return n, true, true
}

// amount reads an item amount: an integer from 1 to 10^15.
func (r *reader) amount(a at, obj *jsontree.Value, key string) *int64 {
	v := obj.Get(key)
	if v == nil {
		return nil
	}
	if v.Kind != jsontree.Number {
		r.format(a, key)
		return nil
	}
	n, err := omnicart.ParseAmount(v.Text)
	switch {
	case errors.Is(err, omnicart.ErrDecimalSyntax):
		r.format(a, key)
		return nil
	case err != nil:
		r.value(a, key)
		return nil
	}
	return &n
}

// decimal reads a quantity or modifier: ≥ 0.01, at most six fractional
// digits, at most 10^9.
func (r *reader) decimal(a at, obj *jsontree.Value, key string) *omnicart.Decimal {
	v := obj.Get(key)
	if v == nil {
		return nil
	}
	if v.Kind != jsontree.Number {
		r.format(a, key)
		return nil
	}
	d, err := omnicart.ParseDecimal(v.Text)
	switch {
	case errors.Is(err, omnicart.ErrDecimalSyntax):
		r.format(a, key)
		return nil
	case err != nil || d.Micros() < 10_000:
		r.value(a, key)
		return nil
	}
	return &d
}

// enum reads a string that must be one of allowed.
func (r *reader) enum(a at, obj *jsontree.Value, key string, allowed ...string) *string {
	s := r.str(a, obj, key)
	if s == nil {
		return nil
	}
	if !contains(allowed, *s) {
		r.value(a, key)
		return nil
	}
	return s
}

// stringList reads an array of strings.
func (r *reader) stringList(a at, obj *jsontree.Value, key string, valid func(string) bool) []string {
	v := obj.Get(key)
	if v == nil {
		return nil
	}
	if v.Kind != jsontree.Array {
		r.format(a, key)
		return nil
	}
	out := make([]string, 0, len(v.Items))
	for _, it := range v.Items {
		if it.Kind != jsontree.String || !valid(it.Text) {
			r.format(a, key)
			return nil
		}
		out = append(out, it.Text)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// cartID reads the cartId of a request body.
func (r *reader) cartID(root *jsontree.Value) string {
	v := root.Get("cartId")
	switch {
	case v == nil || (v.Kind == jsontree.String && v.Text == ""):
		r.sp.Add(omnicart.StageCartID, omnicart.Problem{Code: omnicart.CodeCartIDEmpty})
	case v.Kind != jsontree.String || !omnicart.ValidCartID(v.Text):
		r.sp.Add(omnicart.StageCartID, omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: "cartId"})
	default:
		return v.Text
	}
	return ""
}

// debugFlag reads the debug property. A malformed debug is reported and
// taken as off.
func (r *reader) debugFlag(root *jsontree.Value) bool {
	b := r.boolean(at{stage: omnicart.StageBody}, root, "debug")
	return b != nil && *b
}

// filterBox reads the filterBox of capture, cancel and refund.
func (r *reader) filterBox(root *jsontree.Value) omnicart.Filter {
	var f omnicart.Filter
	v := root.Get("filterBox")
	a := at{stage: omnicart.StageValues}
	if v == nil || !r.object(a, "filterBox", v, "tags", "itemIds", "timerEnabled") {
		return f
	}
	a = a.sub("filterBox")
	f.Tags = r.filterList(a, v, "tags", omnicart.ValidTag)
	f.ItemIDs = r.filterList(a, v, "itemIds", omnicart.ValidItemID)
	f.TimerEnabled = r.boolean(a, v, "timerEnabled")
	return f
}

// filterList reads a filter list of filterBox. An empty list is refused like
// an empty list in the status query (?itemIds=): 122001 naming the field. An
// empty list selects nothing, and reading it as "no filter" would act on the
// whole cart.
func (r *reader) filterList(a at, obj *jsontree.Value, key string, valid func(string) bool) []string {
	list := r.stringList(a, obj, key, valid)
	if list != nil && len(list) == 0 {
		r.format(a, key)
		return nil
	}
	return list
}
