package omnicart

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/omnicart/omnicart/internal/randfill"
)

// plainView has StatusView's fields and tags but not its methods:
// encoding/json writes it by reflection, as it wrote StatusView before
// AppendJSON.
type plainView StatusView

func reflectJSON(t *testing.T, v any, escapeHTML bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// randomView fills every exported field of a view (internal/randfill, so
// a field added later is covered too), with strings drawn from an
// alphabet dense in what JSON escapes and decimals both whole and not.
func randomView(rng *rand.Rand) StatusView {
	return randomViewOf(rng, viewAlphabet, false)
}

var viewAlphabet = []string{"a", "Z", "9", "_", "-", " ", `"`, `\`, "\n", "\x01", "é", "\u2028", "🎉", "\xff", "<", "&"}

// randomViewOf is randomView with strings drawn from alphabet, and
// decimals negative too when negative is set.
func randomViewOf(rng *rand.Rand, alphabet []string, negative bool) StatusView {
	strs := func(r *rand.Rand, v reflect.Value) bool {
		if v.Kind() != reflect.String {
			return false
		}
		var b []byte
		for range r.IntN(6) {
			b = append(b, alphabet[r.IntN(len(alphabet))]...)
		}
		v.SetString(string(b))
		return true
	}
	decimals := func(r *rand.Rand, v reflect.Value) bool {
		if v.Type() != reflect.TypeFor[Decimal]() {
			return false
		}
		var d int64
		if r.IntN(2) == 0 {
			d = r.Int64N(1e4) * decimalUnit
		} else {
			d = r.Int64N(1e12)
		}
		if negative && r.IntN(2) == 0 {
			d = -d
		}
		v.Set(reflect.ValueOf(DecimalFromMicros(d)))
		return true
	}
	var v StatusView
	randfill.Fill(rng, reflect.ValueOf(&v).Elem(), strs, decimals)
	return v
}

func TestStatusViewAppendJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	edges := []StatusView{{}, {Items: []map[string]ItemView{}}, {Items: []map[string]ItemView{{}, nil}}}
	for i := range 5000 + len(edges) {
		v := randomView(rng)
		if i >= 5000 {
			v = edges[i-5000] // what random filling never makes: empty, not nil
		}
		want := reflectJSON(t, plainView(v), false)
		if got := v.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON:\n got %s\nwant %s", got, want)
		}
		// Through encoding/json (MarshalJSON), HTML escaping on, as a
		// callback payload is written.
		want = reflectJSON(t, plainView(v), true)
		if got := reflectJSON(t, v, true); !bytes.Equal(got, want) {
			t.Fatalf("MarshalJSON:\n got %s\nwant %s", got, want)
		}
	}
}

// A view rendered from a real cart, field by field.
func TestStatusViewAppendJSONOfACart(t *testing.T) {
	secs := int64(42)
	v := StatusView{CartID: "cart-00001", Currency: "EUR", TotalAmounts: Amounts{Initiated: 250, Current: 250},
		Items: []map[string]ItemView{{"pegasus": {PaymentStatus: StatusAuthorized, ItemAmounts: Amounts{Initiated: 250, Current: 250},
			PaymentSnapshot: PaymentSnapshot{Amount: 250, Mode: AmountDeclared, Quantity: One(), Modifier: DecimalFromMicros(1_500_000)},
			TimerSnapshot:   &TimerSnapshot{TriggerEvent: "authorized", TimerStatus: "running", RemainingSecs: &secs}}}}}
	want := `{"cartId":"cart-00001","currency":"EUR","totalAmounts":{"initiated":250,"captured":0,"refunded":0,"current":250},` +
		`"items":[{"pegasus":{"paymentStatus":"authorized","itemAmounts":{"initiated":250,"captured":0,"refunded":0,"current":250},` +
		`"paymentSnapshot":{"amount":250,"amountMode":"declared","quantity":1,"amountModifier":1.5},` +
		`"timerSnapshot":{"triggerEvent":"authorized","timerStatus":"running","remainingSecs":42}}}]}`
	if got := string(v.AppendJSON(nil)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestMarshalEvent holds MarshalEvent to json.Marshal on random events
// (every exported field filled, the status data too, strings dense in
// what JSON and HTML escaping touch), with and without data.
func TestMarshalEvent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	alphabet := []string{"a", "Z", "9", "_", "-", " ", `"`, `\`, "\n", "é", "\u2028", "\xff", "<", "&"}
	strs := func(r *rand.Rand, v reflect.Value) bool {
		if v.Kind() != reflect.String {
			return false
		}
		var b []byte
		for range r.IntN(4) {
			// Mostly plain, so that most data takes the appending path.
			if r.IntN(4) == 0 {
				b = append(b, alphabet[r.IntN(len(alphabet))]...)
			} else {
				b = append(b, alphabet[r.IntN(4)]...)
			}
		}
		v.SetString(string(b))
		return true
	}
	var noHTML []string
	for _, a := range viewAlphabet {
		if a != "<" && a != "&" {
			noHTML = append(noHTML, a)
		}
	}
	appended := 0
	for i := range 3000 {
		var e Event
		randfill.Fill(rng, reflect.ValueOf(&e).Elem(), strs)
		if i%5 == 0 {
			e.Data = nil
		} else {
			var v StatusView
			switch i % 3 {
			case 0:
				v = randomView(rng)
			case 1:
				// Every escape but HTML's, negative decimals: the appending
				// path with the hardest strings.
				v = randomViewOf(rng, noHTML, true)
			default:
				v = StatusView{CartID: "cart-1", Currency: "EUR", Items: []map[string]ItemView{{"pegasus": {}}}}
			}
			e.Data = &v
		}
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := MarshalEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("event %d:\n got %s\nwant %s", i, got, want)
		}
		if e.Data != nil && !bytes.ContainsAny(e.Data.AppendJSON(nil), "<>&") {
			appended++
		}
	}
	if appended < 1000 {
		t.Fatalf("only %d events took the appending path", appended)
	}
}
