package randfill

import (
	"math/rand/v2"
	"reflect"
	"strconv"
	"time"
)

var timeType = reflect.TypeFor[time.Time]()

// Setter sets v (settable) when it knows v's type, and says whether it
// did: a type whose fields are unexported (a decimal of its own) gets
// random values this way.
type Setter func(r *rand.Rand, v reflect.Value) bool

// Fill sets v's exported fields to random values: maps, slices and
// pointers are sometimes left nil, sometimes hold one to three values;
// times are whole nanoseconds in UTC, strings come from a small set that
// includes JSON's special characters. Unexported fields keep their value,
// unless one of setters sets the value holding them.
func Fill(r *rand.Rand, v reflect.Value, setters ...Setter) { (filler{r, setters}).fill(v, 0) }

type filler struct {
	r       *rand.Rand
	setters []Setter
}

func (f filler) fill(v reflect.Value, depth int) {
	r := f.r
	for _, set := range f.setters {
		if set(r, v) {
			return
		}
	}
	if v.Type() == timeType {
		if r.IntN(4) > 0 {
			v.Set(reflect.ValueOf(time.Unix(r.Int64N(4e9), r.Int64N(1e9)).UTC()))
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				f.fill(v.Field(i), depth+1)
			}
		}
	case reflect.Pointer:
		if depth < 8 && r.IntN(2) == 0 {
			v.Set(reflect.New(v.Type().Elem()))
			f.fill(v.Elem(), depth+1)
		}
	case reflect.Slice:
		if depth < 8 && r.IntN(3) > 0 {
			n := r.IntN(3) + 1
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				f.fill(s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.Map:
		if depth < 8 && r.IntN(3) > 0 {
			m := reflect.MakeMap(v.Type())
			for range r.IntN(3) + 1 {
				k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
				f.fill(k, depth+1)
				f.fill(e, depth+1)
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		}
	case reflect.String:
		words := []string{"", "pegasus", "naga", "authorized", "captured", "EUR", "ß→ü", "a\"b\\c", "<&>"}
		v.SetString(words[r.IntN(len(words))])
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(r.Int64N(1<<40) - 1<<39)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(r.Uint64N(1 << 30))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(r.IntN(1000)) / 8)
	}
}

// Aliased reports the path of the first slice backing array, map or
// pointer target that a and b (values of one type) share, or "" when
// they share none: a deep copy shares nothing with its original.
func Aliased(a, b reflect.Value) string { return aliased(a, b, "") }

func aliased(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return ""
		}
		return aliased(a.Elem(), b.Elem(), path)
	case reflect.Array:
		for i := range a.Len() {
			if p := aliased(a.Index(i), b.Index(i), path+"["+strconv.Itoa(i)+"]"); p != "" {
				return p
			}
		}
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return ""
		}
		if a.Pointer() == b.Pointer() {
			return path
		}
		return aliased(a.Elem(), b.Elem(), path)
	case reflect.Slice:
		if a.Len() > 0 && b.Len() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
		for i := range min(a.Len(), b.Len()) {
			if p := aliased(a.Index(i), b.Index(i), path+"["+strconv.Itoa(i)+"]"); p != "" {
				return p
			}
		}
	case reflect.Map:
		if !a.IsNil() && !b.IsNil() && a.Pointer() == b.Pointer() {
			return path
		}
	case reflect.Struct:
		if a.Type() == timeType {
			return ""
		}
		for i := range a.NumField() {
			if p := aliased(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); p != "" {
				return p
			}
		}
	}
	return ""
}
