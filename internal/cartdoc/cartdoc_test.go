package cartdoc

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
)

// TestDecodeAgreesWithEncodingJSON fills every exported field of carts
// with random values, writes them with encoding/json as the engines do,
// and checks that Decode reads back exactly what encoding/json.Unmarshal
// reads.
func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		var c omnicart.Cart
		fill(r, reflect.ValueOf(&c).Elem(), 0)
		doc, err := json.Marshal(&c)
		if err != nil {
			t.Fatalf("cart %d: marshal: %v", i, err)
		}
		var want, got omnicart.Cart
		if err := json.Unmarshal(doc, &want); err != nil {
			t.Fatalf("cart %d: encoding/json: %v", i, err)
		}
		if err := Decode(doc, &got); err != nil {
			t.Fatalf("cart %d: Decode: %v\n%s", i, err, doc)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("cart %d decodes differently:\nencoding/json %+v\nDecode        %+v\ndocument %s", i, want, got, doc)
		}
	}
}

// TestDecodeRefusesWhatEncodingJSONRefuses checks that a damaged document
// is an error for both.
func TestDecodeRefusesWhatEncodingJSONRefuses(t *testing.T) {
	for _, doc := range []string{``, `{`, `{"items":{}}`, `{"sequence":"x"}`, `{"createdAt":"yesterday"}`, `[]`} {
		var a, b omnicart.Cart
		errA, errB := json.Unmarshal([]byte(doc), &a), Decode([]byte(doc), &b)
		if (errA == nil) != (errB == nil) {
			t.Errorf("%q: encoding/json %v, Decode %v", doc, errA, errB)
		}
	}
}

var timeType = reflect.TypeFor[time.Time]()

// fill sets v's exported fields to random values: maps, slices and
// pointers are sometimes left empty, sometimes hold up to three values.
func fill(r *rand.Rand, v reflect.Value, depth int) {
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
				fill(r, v.Field(i), depth+1)
			}
		}
	case reflect.Pointer:
		if depth < 8 && r.IntN(2) == 0 {
			v.Set(reflect.New(v.Type().Elem()))
			fill(r, v.Elem(), depth+1)
		}
	case reflect.Slice:
		if depth < 8 && r.IntN(3) > 0 {
			n := r.IntN(3) + 1
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				fill(r, s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.Map:
		if depth < 8 && r.IntN(3) > 0 {
			m := reflect.MakeMap(v.Type())
			for range r.IntN(3) + 1 {
				k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
				fill(r, k, depth+1)
				fill(r, e, depth+1)
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

// BenchmarkDecode compares Decode with encoding/json on a freshly
// initiated two-item cart, the document a status reads most.
func BenchmarkDecode(b *testing.B) {
	doc := []byte(`{"merchantId":"mer_205fd9f13285bb5e","cartId":"lt-dna3950cm6vx-2","currency":"USD","createdAt":"2026-12-02T08:02:53.155039626Z","expiresAt":"2026-12-02T10:02:53.155039626Z","paymentForm":{"deliveryOption":"redirect"},"items":[{"id":"pegasus","status":"initiated","reached":["initiated"],"payment":{"amount":10000,"amountMode":"declared","quantity":1,"amountModifier":1},"captureSettings":{"capture":true,"autoAction":"cancel","windowSecs":172800},"initiated":10000,"full":10000,"captured":0,"refunded":0},{"id":"naga","tag":"rampart","status":"initiated","reached":["initiated"],"payment":{"amount":5000,"amountMode":"declared","quantity":1,"amountModifier":1},"captureSettings":{"capture":true,"autoAction":"cancel","windowSecs":172800},"initiated":5000,"full":5000,"captured":0,"refunded":0}],"sequence":0}`)
	b.Run("cartdoc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var c omnicart.Cart
			if err := Decode(doc, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var c omnicart.Cart
			if err := json.Unmarshal(doc, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
