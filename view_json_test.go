package omnicart

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
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

func randomView(rng *rand.Rand) StatusView {
	alphabet := []string{"a", "Z", "9", "_", "-", " ", `"`, `\`, "\n", "\x01", "é", "\u2028", "🎉", "\xff", "<", "&"}
	str := func(max int) string {
		var b []byte
		for range rng.IntN(max + 1) {
			b = append(b, alphabet[rng.IntN(len(alphabet))]...)
		}
		return string(b)
	}
	amounts := func() Amounts {
		return Amounts{rng.Int64N(1e12) - 5e11, rng.Int64N(1e6), rng.Int64N(1e6), rng.Int64()}
	}
	dec := func() Decimal {
		if rng.IntN(2) == 0 {
			return DecimalFromMicros(rng.Int64N(1e4) * decimalUnit)
		}
		return DecimalFromMicros(rng.Int64N(1e12))
	}
	v := StatusView{CartID: str(10), CustomerID: str(3), Currency: str(3), TotalAmounts: amounts()}
	if rng.IntN(10) == 0 {
		return v // Items nil
	}
	v.Items = []map[string]ItemView{}
	for range rng.IntN(5) {
		if rng.IntN(20) == 0 {
			v.Items = append(v.Items, nil)
			continue
		}
		m := map[string]ItemView{}
		for range 1 + rng.IntN(3)/2*rng.IntN(4) {
			iv := ItemView{PaymentStatus: Status(str(4)), ItemAmounts: amounts(), Tag: str(2),
				PaymentSnapshot: PaymentSnapshot{Amount: rng.Int64N(1e9), Mode: AmountMode(str(2)), Quantity: dec(), Modifier: dec()}}
			if rng.IntN(2) == 0 {
				iv.TimerSnapshot = &TimerSnapshot{TriggerEvent: str(3), TimerStatus: TimerStatus(str(2))}
				if rng.IntN(2) == 0 {
					n := rng.Int64N(1e6)
					iv.TimerSnapshot.RemainingSecs = &n
				}
			}
			if rng.IntN(2) == 0 {
				iv.CaptureSnapshot = &CaptureSnapshot{AutoAction: AutoAction(str(2)), RemainingSecs: rng.Int64N(1e6)}
			}
			m[str(6)] = iv
		}
		v.Items = append(v.Items, m)
	}
	return v
}

func TestStatusViewAppendJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for range 5000 {
		v := randomView(rng)
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
