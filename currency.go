package omnicart

import "strconv"

// Currency is an ISO 4217 alphabetic code known to OmniCart.
//
// MinorUnits is the ISO 4217 minor-unit exponent: an amount of n minor
// units is n / 10^MinorUnits major units (USD 2: 1 dollar = 100 cents).
type Currency struct {
	Code       string
	MinorUnits int
}

// LookupCurrency returns the currency for an exact, upper-case ISO 4217
// alphabetic code; ok is false for anything else (lower case, unknown,
// historic).
//
// The table is ISO 4217 List One (current currency and funds codes) as
// published by the maintenance agency on 2026-01-01: 178 codes. ANG, BGN,
// CUC, SLL and ZWL are historic and rejected. Codes whose ISO minor unit is
// "N.A." (precious metals, bond-market units, XDR, XSU, XUA, XTS, XXX) have
// MinorUnits 0.
func LookupCurrency(code string) (Currency, bool) {
	n, ok := currencyMinorUnits(code)
	if !ok {
		return Currency{}, false
	}
	return Currency{Code: code, MinorUnits: n}, true
}

// LookupPayableCurrency returns the currency for a code a cart may be paid
// in: every code LookupCurrency knows except XXX ("no currency involved") and
// XTS ("reserved for testing"), which ISO 4217 defines as not being money.
// Merchants who want a test payment use a real currency in test mode.
func LookupPayableCurrency(code string) (Currency, bool) {
	if code == "XXX" || code == "XTS" {
		return Currency{}, false
	}
	return LookupCurrency(code)
}

// currencyMinorUnits is the ISO 4217 table. Each group is sorted
// alphabetically; the compiler rejects a code listed twice.
func currencyMinorUnits(code string) (int, bool) {
	switch code {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
		"UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0, true
	case "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM",
		"BBD", "BDT", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP",
		"BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CNY", "COP", "COU",
		"CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB",
		"EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD",
		"HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES",
		"KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
		"MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
		"MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR",
		"NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD",
		"RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS",
		"SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP",
		"TRY", "TTD", "TWD", "TZS", "UAH", "USD", "USN", "UYU", "UZS", "VED",
		"VES", "WST", "XAD", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG":
		return 2, true
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3, true
	case "CLF", "UYW":
		return 4, true
	// ISO minor unit "N.A.": precious metals, bond-market units, special
	// drawing rights and other units of account, testing and "no currency".
	case "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XDR", "XPD", "XPT", "XSU",
		"XTS", "XUA", "XXX":
		return 0, true
	}
	return 0, false
}

// FormatAmount renders an amount in minor units as a decimal string in the
// currency's major unit, e.g. 123456 in USD is "1234.56", 500 in JPY is
// "500", 1005 in KWD is "1.005" and -5 in USD is "-0.05". It uses integer
// arithmetic only and is exact for every int64. A MinorUnits of 0 or less
// prints the amount as an integer.
func (c Currency) FormatAmount(minor int64) string {
	// Magnitude as uint64: negating in unsigned arithmetic is exact even
	// for math.MinInt64, whose magnitude does not fit in an int64.
	mag := uint64(minor)
	if minor < 0 {
		mag = -mag
	}
	digits := strconv.FormatUint(mag, 10)

	scale := c.MinorUnits
	if scale < 0 {
		scale = 0
	}
	intLen := len(digits) - scale
	if intLen < 1 {
		intLen = 1
	}

	// sign + integer part + '.' + fraction
	buf := make([]byte, 0, 1+intLen+1+scale)
	if minor < 0 {
		buf = append(buf, '-')
	}
	if scale == 0 {
		return string(append(buf, digits...))
	}
	if len(digits) <= scale {
		// Left-pad so there is a single leading zero before the point.
		buf = append(buf, '0', '.')
		for i := len(digits); i < scale; i++ {
			buf = append(buf, '0')
		}
		return string(append(buf, digits...))
	}
	buf = append(buf, digits[:intLen]...)
	buf = append(buf, '.')
	return string(append(buf, digits[intLen:]...))
}
