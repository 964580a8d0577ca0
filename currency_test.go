package omnicart

import (
	"math"
	"strings"
	"testing"
)

// iso4217ListOne is ISO 4217 List One (published 2026-01-01) written out
// independently of the switch in currency.go: "CODE:minor-units", with the
// "N.A." codes as 0.
const iso4217ListOne = `
AED:2 AFN:2 ALL:2 AMD:2 AOA:2 ARS:2 AUD:2 AWG:2 AZN:2 BAM:2 BBD:2 BDT:2
BHD:3 BIF:0 BMD:2 BND:2 BOB:2 BOV:2 BRL:2 BSD:2 BTN:2 BWP:2 BYN:2 BZD:2
CAD:2 CDF:2 CHE:2 CHF:2 CHW:2 CLF:4 CLP:0 CNY:2 COP:2 COU:2 CRC:2 CUP:2
CVE:2 CZK:2 DJF:0 DKK:2 DOP:2 DZD:2 EGP:2 ERN:2 ETB:2 EUR:2 FJD:2 FKP:2
GBP:2 GEL:2 GHS:2 GIP:2 GMD:2 GNF:0 GTQ:2 GYD:2 HKD:2 HNL:2 HTG:2 HUF:2
IDR:2 ILS:2 INR:2 IQD:3 IRR:2 ISK:0 JMD:2 JOD:3 JPY:0 KES:2 KGS:2 KHR:2
KMF:0 KPW:2 KRW:0 KWD:3 KYD:2 KZT:2 LAK:2 LBP:2 LKR:2 LRD:2 LSL:2 LYD:3
MAD:2 MDL:2 MGA:2 MKD:2 MMK:2 MNT:2 MOP:2 MRU:2 MUR:2 MVR:2 MWK:2 MXN:2
MXV:2 MYR:2 MZN:2 NAD:2 NGN:2 NIO:2 NOK:2 NPR:2 NZD:2 OMR:3 PAB:2 PEN:2
PGK:2 PHP:2 PKR:2 PLN:2 PYG:0 QAR:2 RON:2 RSD:2 RUB:2 RWF:0 SAR:2 SBD:2
SCR:2 SDG:2 SEK:2 SGD:2 SHP:2 SLE:2 SOS:2 SRD:2 SSP:2 STN:2 SVC:2 SYP:2
SZL:2 THB:2 TJS:2 TMT:2 TND:3 TOP:2 TRY:2 TTD:2 TWD:2 TZS:2 UAH:2 UGX:0
USD:2 USN:2 UYI:0 UYU:2 UYW:4 UZS:2 VED:2 VES:2 VND:0 VUV:0 WST:2 XAD:2
XAF:0 XAG:0 XAU:0 XBA:0 XBB:0 XBC:0 XBD:0 XCD:2 XCG:2 XDR:0 XOF:0 XPD:0
XPF:0 XPT:0 XSU:0 XTS:0 XUA:0 XXX:0 YER:2 ZAR:2 ZMW:2 ZWG:2
`

func TestLookupCurrencyKnown(t *testing.T) {
	tests := []struct {
		code  string
		minor int
	}{
		{"USD", 2}, {"EUR", 2}, {"GBP", 2}, {"JPY", 0}, {"KRW", 0},
		{"ISK", 0}, {"VND", 0}, {"XAF", 0}, {"XOF", 0}, {"XPF", 0},
		{"KWD", 3}, {"BHD", 3}, {"OMR", 3}, {"TND", 3},
		{"CLF", 4}, {"UYW", 4},
		{"VES", 2}, {"VED", 2}, {"SLE", 2}, {"ZWG", 2}, {"XCG", 2}, {"XAD", 2},
		{"XAU", 0}, {"XAG", 0}, {"XPT", 0}, {"XPD", 0}, {"XDR", 0},
		{"XBA", 0}, {"XBB", 0}, {"XBC", 0}, {"XBD", 0},
		{"XSU", 0}, {"XUA", 0}, {"XTS", 0}, {"XXX", 0},
		{"BOV", 2}, {"COU", 2}, {"MXV", 2}, {"USN", 2}, {"UYI", 0},
		{"CHE", 2}, {"CHW", 2},
	}
	for _, tt := range tests {
		c, ok := LookupCurrency(tt.code)
		if !ok {
			t.Errorf("LookupCurrency(%q): ok = false, want true", tt.code)
			continue
		}
		if c != (Currency{Code: tt.code, MinorUnits: tt.minor}) {
			t.Errorf("LookupCurrency(%q) = %+v, want MinorUnits %d", tt.code, c, tt.minor)
		}
	}
}

func TestLookupPayableCurrency(t *testing.T) {
	for _, code := range []string{"XXX", "XTS", "xxx", "", "ABC"} {
		if c, ok := LookupPayableCurrency(code); ok || c != (Currency{}) {
			t.Errorf("LookupPayableCurrency(%q) = %+v, %v; want zero, false", code, c, ok)
		}
	}
	// Every other List One code is payable, with its minor units.
	for _, f := range strings.Fields(iso4217ListOne) {
		code, _, _ := strings.Cut(f, ":")
		if code == "XXX" || code == "XTS" {
			continue
		}
		want, _ := LookupCurrency(code)
		if c, ok := LookupPayableCurrency(code); !ok || c != want {
			t.Errorf("LookupPayableCurrency(%q) = %+v, %v; want %+v, true", code, c, ok, want)
		}
	}
}

func TestLookupCurrencyRejects(t *testing.T) {
	for _, code := range []string{
		"usd", "Usd", "uSD", "US", "USDX", "", "ABC", " USD", "USD ", "U D",
		"ＵＳＤ", "USD\x00",
		// Historic codes no longer in List One.
		"ANG", "BGN", "CUC", "SLL", "ZWL", "HRK", "VEF", "MRO", "STD", "BYR", "LTL",
	} {
		if c, ok := LookupCurrency(code); ok || c != (Currency{}) {
			t.Errorf("LookupCurrency(%q) = %+v, %v; want zero, false", code, c, ok)
		}
	}
}

// TestLookupCurrencyExactTable checks every possible upper-case
// three-letter code against the expected list, so the table can neither
// miss a code nor contain an extra one.
func TestLookupCurrencyExactTable(t *testing.T) {
	want := map[string]int{}
	for _, f := range strings.Fields(iso4217ListOne) {
		code, digit, ok := strings.Cut(f, ":")
		if !ok || len(code) != 3 || len(digit) != 1 {
			t.Fatalf("bad expected entry %q", f)
		}
		if _, dup := want[code]; dup {
			t.Fatalf("duplicate expected entry %q", code)
		}
		want[code] = int(digit[0] - '0')
	}
	if len(want) != 178 {
		t.Fatalf("expected list has %d codes, want 178", len(want))
	}

	found := 0
	b := []byte("AAA")
	for b[0] = 'A'; b[0] <= 'Z'; b[0]++ {
		for b[1] = 'A'; b[1] <= 'Z'; b[1]++ {
			for b[2] = 'A'; b[2] <= 'Z'; b[2]++ {
				code := string(b)
				c, ok := LookupCurrency(code)
				minor, expected := want[code]
				switch {
				case ok && !expected:
					t.Errorf("LookupCurrency(%q) = %+v, want not found", code, c)
				case !ok && expected:
					t.Errorf("LookupCurrency(%q) not found, want MinorUnits %d", code, minor)
				case ok:
					found++
					if c.Code != code || c.MinorUnits != minor {
						t.Errorf("LookupCurrency(%q) = %+v, want MinorUnits %d", code, c, minor)
					}
				}
			}
		}
	}
	if found != len(want) {
		t.Errorf("table has %d codes, want %d", found, len(want))
	}
}

func TestFormatAmount(t *testing.T) {
	mustLookup := func(code string) Currency {
		t.Helper()
		c, ok := LookupCurrency(code)
		if !ok {
			t.Fatalf("LookupCurrency(%q) not found", code)
		}
		return c
	}
	usd, jpy, kwd, clf, xau := mustLookup("USD"), mustLookup("JPY"), mustLookup("KWD"), mustLookup("CLF"), mustLookup("XAU")

	tests := []struct {
		c     Currency
		minor int64
		want  string
	}{
		{usd, 0, "0.00"},
		{usd, 5, "0.05"},
		{usd, 50, "0.50"},
		{usd, 99, "0.99"},
		{usd, 100, "1.00"},
		{usd, 123456, "1234.56"},
		{usd, -5, "-0.05"},
		{usd, -100, "-1.00"},
		{usd, -123456, "-1234.56"},
		{usd, math.MaxInt64, "92233720368547758.07"},
		{usd, math.MinInt64, "-92233720368547758.08"},
		{usd, math.MinInt64 + 1, "-92233720368547758.07"},

		{jpy, 0, "0"},
		{jpy, 500, "500"},
		{jpy, -500, "-500"},
		{jpy, math.MaxInt64, "9223372036854775807"},
		{jpy, math.MinInt64, "-9223372036854775808"},

		{kwd, 0, "0.000"},
		{kwd, 1, "0.001"},
		{kwd, 1005, "1.005"},
		{kwd, -1005, "-1.005"},
		{kwd, math.MaxInt64, "9223372036854775.807"},
		{kwd, math.MinInt64, "-9223372036854775.808"},

		{clf, 1, "0.0001"},
		{clf, 12345, "1.2345"},
		{clf, -10000, "-1.0000"},
		{clf, math.MinInt64, "-922337203685477.5808"},

		{xau, 7, "7"},
		{xau, -7, "-7"},

		// Hand-built values outside the table still format sensibly.
		{Currency{Code: "ZZZ", MinorUnits: 19}, math.MaxInt64, "0.9223372036854775807"},
		{Currency{Code: "ZZZ", MinorUnits: 20}, math.MinInt64, "-0.09223372036854775808"},
		{Currency{Code: "ZZZ", MinorUnits: -1}, 42, "42"},
		{Currency{}, -42, "-42"},
	}
	for _, tt := range tests {
		if got := tt.c.FormatAmount(tt.minor); got != tt.want {
			t.Errorf("%+v.FormatAmount(%d) = %q, want %q", tt.c, tt.minor, got, tt.want)
		}
	}
}

func BenchmarkLookupCurrency(b *testing.B) {
	for b.Loop() {
		LookupCurrency("USD")
		LookupCurrency("ZWG")
		LookupCurrency("usd")
	}
}
