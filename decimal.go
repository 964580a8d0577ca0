package omnicart

import (
	"errors"
	"math/big"
	"strconv"
	"strings"
)

// DecimalScale is the number of fractional digits a Decimal keeps.
const DecimalScale = 6

const decimalUnit = 1_000_000 // 10^DecimalScale

// MaxDecimal is the largest quantity or amountModifier accepted (10^9).
const MaxDecimal = 1_000_000_000

// MaxAmount is the largest amount in minor units OmniCart accepts (10^15).
const MaxAmount int64 = 1_000_000_000_000_000

// Decimal is an exact non-negative decimal number with at most six
// fractional digits, stored as an integer count of millionths. It is used for
// quantities and amount modifiers; it never goes through binary floating
// point.
type Decimal struct{ micros int64 }

// Errors returned by ParseDecimal.
var (
	// ErrDecimalSyntax means the text is not a JSON number.
	ErrDecimalSyntax = errors.New("not a decimal number")
	// ErrDecimalRange means the number is well formed but negative, has more
	// than six fractional digits, or is larger than MaxDecimal.
	ErrDecimalRange = errors.New("decimal out of range")
)

// One is the decimal 1.
func One() Decimal { return Decimal{micros: decimalUnit} }

// DecimalFromMicros returns the decimal micros × 10^-6.
func DecimalFromMicros(micros int64) Decimal { return Decimal{micros: micros} }

// Micros returns the value in millionths.
func (d Decimal) Micros() int64 { return d.micros }

// ParseDecimal parses a JSON number literal (such as "0.7", "18", "2.5e-1")
// exactly. It returns ErrDecimalSyntax for anything that is not a JSON number
// and ErrDecimalRange for negative numbers, more than six fractional digits
// or values above MaxDecimal.
func ParseDecimal(s string) (Decimal, error) {
	mant, exp, neg, ok := splitNumber(s)
	if !ok {
		return Decimal{}, ErrDecimalSyntax
	}
	if neg && strings.Trim(mant, "0") != "" {
		return Decimal{}, ErrDecimalRange
	}
	// value = mant × 10^exp; we want micros = mant × 10^(exp+6).
	shift := exp + DecimalScale
	mant = strings.TrimLeft(mant, "0")
	if mant == "" {
		return Decimal{}, nil
	}
	if shift < 0 {
		// Dropping digits: they must all be zero.
		if -shift > len(mant) {
			return Decimal{}, ErrDecimalRange
		}
		cut := len(mant) + shift
		if strings.Trim(mant[cut:], "0") != "" {
			return Decimal{}, ErrDecimalRange
		}
		mant = mant[:cut]
		shift = 0
	}
	if len(mant)+shift > 16 { // certainly above MaxDecimal × 10^6
		return Decimal{}, ErrDecimalRange
	}
	v, err := strconv.ParseInt(mant+strings.Repeat("0", shift), 10, 64)
	if err != nil || v > MaxDecimal*decimalUnit {
		return Decimal{}, ErrDecimalRange
	}
	return Decimal{micros: v}, nil
}

// splitNumber splits a JSON number literal into its digits (integer and
// fraction concatenated), the power of ten they are scaled by, and the sign.
func splitNumber(s string) (mant string, exp int, neg bool, ok bool) {
	if s == "" {
		return "", 0, false, false
	}
	if s[0] == '-' {
		neg = true
		s = s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intPart := s[:i]
	if intPart == "" || (len(intPart) > 1 && intPart[0] == '0') {
		return "", 0, false, false
	}
	s = s[i:]
	frac := ""
	if len(s) > 0 && s[0] == '.' {
		j := 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		frac = s[1:j]
		if frac == "" {
			return "", 0, false, false
		}
		s = s[j:]
	}
	if len(s) > 0 && (s[0] == 'e' || s[0] == 'E') {
		e, err := strconv.Atoi(strings.TrimPrefix(s[1:], "+"))
		if err != nil || strings.HasPrefix(s[1:], "+-") || e > 1000 || e < -1000 {
			return "", 0, false, false
		}
		exp = e
		s = ""
	}
	if s != "" {
		return "", 0, false, false
	}
	if len(intPart)+len(frac) > 1000 {
		return "", 0, false, false
	}
	return intPart + frac, exp - len(frac), neg, true
}

// String renders the decimal in its shortest exact form: "1", "0.7",
// "18.25", "-0.5" (no API value is negative, but the form stays valid
// JSON whatever the value).
func (d Decimal) String() string {
	sign, u := "", uint64(d.micros)
	if d.micros < 0 {
		sign, u = "-", -u // two's complement: the magnitude, MinInt64's too
	}
	whole, frac := u/decimalUnit, u%decimalUnit
	if frac == 0 {
		return sign + strconv.FormatUint(whole, 10)
	}
	fs := strconv.FormatUint(frac+decimalUnit, 10)[1:]
	return sign + strconv.FormatUint(whole, 10) + "." + strings.TrimRight(fs, "0")
}

// Cmp compares two decimals: -1, 0 or +1.
func (d Decimal) Cmp(o Decimal) int {
	switch {
	case d.micros < o.micros:
		return -1
	case d.micros > o.micros:
		return 1
	}
	return 0
}

// IsZero reports whether d is zero.
func (d Decimal) IsZero() bool { return d.micros == 0 }

// CalculateAmount returns amount × quantity × modifier rounded to the nearest
// integer, halves away from zero, computed exactly. ok is false when the
// result is larger than MaxAmount.
func CalculateAmount(amount int64, quantity, modifier Decimal) (int64, bool) {
	p := new(big.Int).SetInt64(amount)
	p.Mul(p, big.NewInt(quantity.micros))
	p.Mul(p, big.NewInt(modifier.micros))
	den := big.NewInt(decimalUnit * decimalUnit)
	q, r := new(big.Int).QuoRem(p, den, new(big.Int))
	// Round half away from zero (all operands are non-negative).
	if r.Lsh(r, 1).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() || q.Int64() > MaxAmount {
		return 0, false
	}
	return q.Int64(), true
}

// ParseAmount parses a JSON number literal that must be a plain integer
// (no fraction, no exponent). It returns ErrDecimalSyntax for anything else
// and ErrDecimalRange for integers below 1 or above MaxAmount.
func ParseAmount(s string) (int64, error) {
	t := strings.TrimPrefix(s, "-")
	if t == "" || strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' }) >= 0 || (len(t) > 1 && t[0] == '0') {
		return 0, ErrDecimalSyntax
	}
	if s[0] == '-' || strings.Trim(t, "0") == "" {
		return 0, ErrDecimalRange
	}
	if len(t) > 16 {
		return 0, ErrDecimalRange
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v > MaxAmount {
		return 0, ErrDecimalRange
	}
	return v, nil
}

// MarshalJSON renders the decimal as an exact JSON number.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalJSON parses an exact JSON number.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	v, err := ParseDecimal(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
