package omnicart

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"testing"
)

func TestCalculateAmount(t *testing.T) {
	t.Parallel()
	cases := []struct {
		amount   int64
		qty, mod string
		want     int64
		wantOK   bool
	}{
		{5000, "4", "0.7", 14000, true},
		{150, "18", "1", 2700, true},
		{1, "0.5", "1", 1, true},  // 0.5 rounds away from zero
		{1, "0.49", "1", 0, true}, // below one half rounds down
		{3, "0.5", "1", 2, true},  // 1.5 -> 2
		{333, "0.333333", "3", 333, true},
		{1000000000000000, "1", "1", 1000000000000000, true},
		{1000000000000000, "1.000001", "1", 0, false},
		{1000000000000000, "1000000000", "1000000000", 0, false},
		{100, "0.1", "0.1", 1, true},
		{10, "0.1", "0.7", 1, true}, // 0.7 -> 1
		{7, "0.1", "0.5", 0, true},  // 0.35 -> 0
	}
	for _, c := range cases {
		q, err := ParseDecimal(c.qty)
		if err != nil {
			t.Fatalf("ParseDecimal(%q): %v", c.qty, err)
		}
		m, err := ParseDecimal(c.mod)
		if err != nil {
			t.Fatalf("ParseDecimal(%q): %v", c.mod, err)
		}
		got, ok := CalculateAmount(c.amount, q, m)
		if got != c.want || ok != c.wantOK {
			t.Errorf("CalculateAmount(%d, %s, %s) = %d, %v; want %d, %v", c.amount, c.qty, c.mod, got, ok, c.want, c.wantOK)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      string
		want    string
		wantErr error
	}{
		{"0.7", "0.7", nil},
		{"18", "18", nil},
		{"2.50", "2.5", nil},
		{"2.5e-1", "0.25", nil},
		{"1E2", "100", nil},
		{"0.000001", "0.000001", nil},
		{"0.0000001", "", ErrDecimalRange},
		{"1e-7", "", ErrDecimalRange},
		{"-1", "", ErrDecimalRange},
		{"1e309", "", ErrDecimalRange},
		{"1000000000", "1000000000", nil},
		{"1000000000.000001", "", ErrDecimalRange},
		{"99999999999999999999999", "", ErrDecimalRange},
		{"01", "", ErrDecimalSyntax},
		{"1.", "", ErrDecimalSyntax},
		{".5", "", ErrDecimalSyntax},
		{"abc", "", ErrDecimalSyntax},
		{"1e", "", ErrDecimalSyntax},
		{"", "", ErrDecimalSyntax},
		{"0", "0", nil},
		{"1.10000000000", "1.1", nil},
	}
	for _, c := range cases {
		d, err := ParseDecimal(c.in)
		if !errors.Is(err, c.wantErr) {
			t.Errorf("ParseDecimal(%q) error = %v, want %v", c.in, err, c.wantErr)
			continue
		}
		if err == nil && d.String() != c.want {
			t.Errorf("ParseDecimal(%q) = %s, want %s", c.in, d, c.want)
		}
	}
}

func TestParseAmount(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      string
		want    int64
		wantErr error
	}{
		{"250", 250, nil},
		{"1", 1, nil},
		{"0", 0, ErrDecimalRange},
		{"-5", 0, ErrDecimalRange},
		{"1000000000000000", 1000000000000000, nil},
		{"1000000000000001", 0, ErrDecimalRange},
		{"9223372036854775808", 0, ErrDecimalRange},
		{"1.5", 0, ErrDecimalSyntax},
		{"1.0", 0, ErrDecimalSyntax},
		{"1e3", 0, ErrDecimalSyntax},
		{"1e309", 0, ErrDecimalSyntax},
		{"", 0, ErrDecimalSyntax},
	}
	for _, c := range cases {
		got, err := ParseAmount(c.in)
		if !errors.Is(err, c.wantErr) || got != c.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d, %v", c.in, got, err, c.want, c.wantErr)
		}
	}
}

func FuzzCalculateAmount(f *testing.F) {
	f.Add(int64(5000), "4", "0.7")
	f.Add(int64(150), "18", "1")
	f.Add(int64(1), "0.01", "0.01")
	f.Fuzz(func(t *testing.T, amount int64, qs, ms string) {
		q, err1 := ParseDecimal(qs)
		m, err2 := ParseDecimal(ms)
		if err1 != nil || err2 != nil || amount < 1 || amount > MaxAmount {
			return
		}
		got, ok := CalculateAmount(amount, q, m)
		if !ok {
			return
		}
		// The result must be within one half of the exact product:
		// |2*got*10^12 - 2*a*q*m| <= 10^12.
		exact := new(big.Int).Mul(big.NewInt(amount), big.NewInt(q.Micros()))
		exact.Mul(exact, big.NewInt(m.Micros()))
		diff := new(big.Int).Mul(big.NewInt(got), big.NewInt(1_000_000_000_000))
		diff.Sub(diff, exact)
		diff.Abs(diff).Lsh(diff, 1)
		if diff.Cmp(big.NewInt(1_000_000_000_000)) > 0 {
			t.Fatalf("CalculateAmount(%d, %s, %s) = %d is not the nearest integer", amount, q, m, got)
		}
		// Parsing the rendered decimal gives the same value back.
		if back, err := ParseDecimal(q.String()); err != nil || back != q {
			t.Fatalf("round trip of %s failed: %v %v", q, back, err)
		}
	})
}

// TestDecimalString: the shortest exact form, negative values included
// (none comes from the API, but what String writes must stay a JSON
// number: status data and events embed it).
func TestDecimalString(t *testing.T) {
	for micros, want := range map[int64]string{
		0: "0", 1: "0.000001", 700_000: "0.7", 18_250_000: "18.25", 3_000_000: "3",
		-500_000: "-0.5", -1_000_000: "-1", -1_250_000: "-1.25", -1: "-0.000001",
		math.MaxInt64: "9223372036854.775807", math.MinInt64: "-9223372036854.775808",
	} {
		got := DecimalFromMicros(micros).String()
		if got != want {
			t.Errorf("String(%d micros) = %q, want %q", micros, got, want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("String(%d micros) = %q: not a JSON number", micros, got)
		}
	}
}
