package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/omnicart/omnicart"
)

// Decline reasons, safe to show to the customer.
const (
	ReasonAuthentication    = "Authentication failed (3-D Secure)"
	ReasonInsufficientFunds = "Insufficient funds"
	ReasonBlocked           = "Card blocked"
	ReasonUnknownCard       = "Unknown card: use a test card"
	// ReasonVoided is the outcome of an authorization whose OpID was voided
	// before the issuer saw it.
	ReasonVoided = "Authorization voided"
)

// FundedBalance is what a success test card holds, in every currency, on
// first use.
const FundedBalance int64 = 100_000_000_000_000_000 // 10^17

// testCard is how the issuer treats a test card number.
type testCard struct {
	decline   string // refused before the ledger is asked, with this reason
	opening   int64  // balance the card account is funded with on first use
	challenge bool   // asks for a 3-D Secure challenge
}

// testCardFor returns the behaviour of the card with these digits. Unknown
// numbers are declined.
func testCardFor(digits string) testCard {
	switch digits {
	case "4111111111111111", "4012888888881881",
		"5500000000000004", "5105105105105100",
		"6011000000000004", "6011111111111117",
		"3530111302000000", "3566111111111113":
		return testCard{opening: FundedBalance}
	case "4000000000003220":
		return testCard{opening: FundedBalance, challenge: true}
	case "4000000000000069":
		return testCard{opening: 0} // declined by the ledger's balance check
	case "4000000000000002":
		return testCard{decline: ReasonAuthentication}
	case "4000000000000259":
		return testCard{decline: ReasonBlocked}
	}
	return testCard{decline: ReasonUnknownCard}
}

// RequiresChallenge reports whether the card number is the test card that
// asks for a 3-D Secure challenge page.
func RequiresChallenge(number string) bool {
	d, ok := cardDigits(number)
	return ok && testCardFor(d).challenge
}

// cardDigits returns number without spaces and dashes, and whether what is
// left is a non-empty string of digits.
func cardDigits(number string) (string, bool) {
	d := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, number)
	if d == "" {
		return "", false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return "", false
		}
	}
	return d, true
}

// brand names the card network from the leading digits.
func brand(d string) string {
	prefix := func(n int) int {
		if len(d) < n {
			return -1
		}
		v := 0
		for i := 0; i < n; i++ {
			v = v*10 + int(d[i]-'0')
		}
		return v
	}
	p1, p2, p4 := prefix(1), prefix(2), prefix(4)
	switch {
	case p4 == 6011 || p2 == 65:
		return "discover"
	case p4 >= 3528 && p4 <= 3589:
		return "jcb"
	case p2 == 34 || p2 == 37:
		return "amex"
	case (p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720):
		return "mastercard"
	case p1 == 4:
		return "visa"
	}
	return "card"
}

// fingerprint is the keyed fingerprint of the card digits: the hex
// HMAC-SHA256 truncated to 32 hex characters.
func fingerprint(key []byte, digits string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(digits))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// cardInfo is what may be kept of the card with these digits.
func cardInfo(key []byte, digits string) omnicart.CardInfo {
	last4 := digits
	if len(last4) > 4 {
		last4 = last4[len(last4)-4:]
	}
	return omnicart.CardInfo{Brand: brand(digits), Last4: last4, Fingerprint: fingerprint(key, digits)}
}
