package sandbox

import (
	"errors"

	"github.com/omnicart/omnicart"
)

// Errors of the ledger and the issuer. Inspect them with errors.Is.
var (
	// ErrInsufficientFunds: applying a journal would make an account that
	// may not go negative negative. Nothing was applied.
	ErrInsufficientFunds = omnicart.ErrInsufficientFunds
	// ErrInvalidJournal: the journal is malformed (no id, unbalanced
	// entries, zero amounts, overflow). Nothing was applied.
	ErrInvalidJournal = omnicart.ErrInvalidJournal
	// ErrNotFound: no journal or hold with that id.
	ErrNotFound = omnicart.ErrNoJournal
	// ErrUnknownAuthorization: an operation names an AuthRef the issuer
	// never authorized.
	ErrUnknownAuthorization = errors.New("sandbox: unknown authorization")
	// ErrConflict: an OpID was used before for another kind of operation.
	ErrConflict = errors.New("sandbox: operation id already used for another operation")
	// ErrInvalidOperation: the operation is malformed (no OpID, negative
	// amount, no currency, currency other than the authorization's).
	ErrInvalidOperation = errors.New("sandbox: invalid operation")
	// ErrInvariant: a ledger invariant does not hold (see CheckBalances).
	ErrInvariant = errors.New("sandbox: ledger invariant violated")
)

// Journal kinds.
const (
	KindFund      = "fund"
	KindAuthorize = string(omnicart.OpAuthorize)
	KindCapture   = string(omnicart.OpCapture)
	KindRelease   = string(omnicart.OpRelease)
	KindRefund    = string(omnicart.OpRefund)
	KindVoid      = "void"
)

// Account names.
const (
	fundingPrefix  = omnicart.FundingPrefix
	cardPrefix     = "card:"
	holdPrefix     = "hold:"
	merchantPrefix = "merchant:"
)

// FundingAccount is the issuer's account that funds test cards in currency.
func FundingAccount(currency string) string { return fundingPrefix + currency }

// CardAccount is the account of the card with fingerprint fp.
func CardAccount(fp string) string { return cardPrefix + fp }

// HoldAccount is the account holding the funds of authorization ref.
func HoldAccount(ref string) string { return holdPrefix + ref }

// MerchantAccount is the account receiving a merchant's captures.
func MerchantAccount(merchantID string) string { return merchantPrefix + merchantID }

// The ledger's data types and storage port live in the root package; these
// names keep the sandbox's vocabulary.
type (
	Entry   = omnicart.Entry
	Hold    = omnicart.Hold
	Journal = omnicart.Journal
	Balance = omnicart.Balance
	Ledger  = omnicart.Ledger
)

// MayGoNegative reports whether account may have a negative balance: only the
// issuer's funding accounts may.
func MayGoNegative(account string) bool { return omnicart.MayGoNegative(account) }

// NewBalance is omnicart.NewBalance.
func NewBalance(account, currency string, balance, delta int64) (int64, error) {
	return omnicart.NewBalance(account, currency, balance, delta)
}

// AddAmounts is omnicart.AddAmounts.
func AddAmounts(a, b int64) (int64, bool) { return omnicart.AddAmounts(a, b) }

// move returns the entries moving amount from one account to another, or
// none for a zero amount.
func move(from, to, currency string, amount int64) []Entry {
	if amount == 0 {
		return nil
	}
	return []Entry{
		{Account: from, Currency: currency, Amount: -amount},
		{Account: to, Currency: currency, Amount: amount},
	}
}
