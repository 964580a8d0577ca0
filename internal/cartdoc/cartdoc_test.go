package cartdoc

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/internal/randfill"
)

// TestDecodeAgreesWithEncodingJSON fills every exported field of carts
// with random values, writes them with encoding/json as the engines do,
// and checks that Decode reads back exactly what encoding/json.Unmarshal
// reads.
func TestDecodeAgreesWithEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		c := randomCart(r)
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

// BenchmarkDecode compares Decode with encoding/json on a freshly
// initiated two-item cart, the document a status reads most.
func BenchmarkDecode(b *testing.B) {
	doc := []byte(statusDoc)
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

// statusDoc is a freshly initiated two-item cart, the document a status
// reads most.
const statusDoc = `{"merchantId":"mer_205fd9f13285bb5e","cartId":"lt-dna3950cm6vx-2","currency":"USD","createdAt":"2026-12-02T08:02:53.155039626Z","expiresAt":"2026-12-02T10:02:53.155039626Z","paymentForm":{"deliveryOption":"redirect"},"items":[{"id":"pegasus","status":"initiated","reached":["initiated"],"payment":{"amount":10000,"amountMode":"declared","quantity":1,"amountModifier":1},"captureSettings":{"capture":true,"autoAction":"cancel","windowSecs":172800},"initiated":10000,"full":10000,"captured":0,"refunded":0},{"id":"naga","tag":"rampart","status":"initiated","reached":["initiated"],"payment":{"amount":5000,"amountMode":"declared","quantity":1,"amountModifier":1},"captureSettings":{"capture":true,"autoAction":"cancel","windowSecs":172800},"initiated":5000,"full":5000,"captured":0,"refunded":0}],"sequence":0}`

// randomCart is a cart whose every exported field, and every decimal
// (quantities, modifiers: their one field is unexported), is random.
func randomCart(r *rand.Rand) omnicart.Cart {
	var c omnicart.Cart
	decimals := func(r *rand.Rand, v reflect.Value) bool {
		if v.Type() != reflect.TypeFor[omnicart.Decimal]() {
			return false
		}
		v.Set(reflect.ValueOf(omnicart.DecimalFromMicros(r.Int64N(1e15))))
		return true
	}
	randfill.Fill(r, reflect.ValueOf(&c).Elem(), decimals)
	return c
}
