package omnicart

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// The sandbox issuer's double-entry ledger is a storage port like the
// others: its data types and the interface every engine implements live
// here, its rules (which journal moves what) in package sandbox.

// Errors of a Ledger. Inspect them with errors.Is.
var (
	// ErrInsufficientFunds: applying a journal would make an account that
	// may not go negative negative. Nothing was applied.
	ErrInsufficientFunds = errors.New("sandbox: insufficient funds")
	// ErrInvalidJournal: the journal is malformed (no id, unbalanced
	// entries, zero amounts, overflow). Nothing was applied.
	ErrInvalidJournal = errors.New("sandbox: invalid journal")
	// ErrNoJournal: no journal or hold with that id.
	ErrNoJournal = errors.New("sandbox: not found")
)

// FundingPrefix starts the names of the issuer's funding accounts, the only
// accounts that may go negative.
const FundingPrefix = "issuer:funding:"

// MayGoNegative reports whether account may have a negative balance: only the
// issuer's funding accounts may. Ledger implementations call it.
func MayGoNegative(account string) bool { return strings.HasPrefix(account, FundingPrefix) }

// Entry is one line of a journal: Amount (minor units, non-zero) is added to
// the balance of Account in Currency. A debit is a negative Amount.
type Entry struct {
	Account  string
	Currency string
	Amount   int64
}

// Hold records an authorization with the journal that opens it, so that
// later captures, releases and refunds know the card and currency.
type Hold struct {
	Ref         string // the authorization's OpID; its funds sit on HoldAccount(Ref)
	CardAccount string
	Currency    string
	Amount      int64 // amount authorized
	Card        CardInfo
}

// Journal is an atomic, idempotent posting: its entries sum to zero per
// currency, and a journal id is applied at most once.
//
// A journal with a Refusal records a refused operation under its id: it
// carries no entries and no hold, and makes a later journal with the same id
// a no-op, so that a retried operation gets the same refusal.
type Journal struct {
	ID      string
	Kind    string
	Entries []Entry
	Hold    *Hold  // set by an authorization; Hold.Ref is ID
	Refusal string // reason of a refused operation
}

// Balance is the balance of an account in one currency.
type Balance struct {
	Account  string
	Currency string
	Amount   int64
}

// Ledger stores journals and balances. Implementations must apply each
// Post atomically and be safe for concurrent use.
type Ledger interface {
	// Post applies j unless a journal with j.ID was already recorded: it
	// validates j (Journal.Validate), adds its entries to the balances,
	// records j and its Hold, all in one transaction. posted is false, and
	// nothing is applied, when j.ID was already recorded. It returns an
	// error wrapping ErrInvalidJournal for a malformed journal and
	// ErrInsufficientFunds when an account for which MayGoNegative is false
	// would end negative (see NewBalance); nothing is applied or recorded
	// then.
	Post(ctx context.Context, j Journal) (posted bool, err error)
	// Journal returns the recorded journal with that id, with its entries
	// and hold, or an error wrapping ErrNoJournal.
	Journal(ctx context.Context, id string) (Journal, error)
	// Hold returns the hold recorded for authorization ref, or an error
	// wrapping ErrNoJournal.
	Hold(ctx context.Context, ref string) (Hold, error)
	// Balance returns the balance of account in currency; an account never
	// posted to has balance 0.
	Balance(ctx context.Context, account, currency string) (int64, error)
	// Balances returns every account's balance in every currency it was
	// posted to, ordered by account then currency.
	Balances(ctx context.Context) ([]Balance, error)
}

// Validate checks that j is well formed: an id and a kind; entries with an
// account, a currency and a non-zero amount that sum to zero per currency
// without overflow; a refusal with neither entries nor hold; a complete hold
// whose Ref is the journal's id.
// Its errors wrap ErrInvalidJournal.
func (j Journal) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("journal %q: %s: %w", j.ID, fmt.Sprintf(format, a...), ErrInvalidJournal)
	}
	if j.ID == "" {
		return bad("no id")
	}
	if j.Kind == "" {
		return bad("no kind")
	}
	if j.Refusal != "" && (len(j.Entries) > 0 || j.Hold != nil) {
		return bad("a refusal moves nothing")
	}
	sums := map[string]int64{}
	for _, e := range j.Entries {
		if e.Account == "" || e.Currency == "" {
			return bad("entry without account or currency")
		}
		if e.Amount == 0 {
			return bad("zero entry on %s", e.Account)
		}
		s, ok := AddAmounts(sums[e.Currency], e.Amount)
		if !ok {
			return bad("overflow in %s", e.Currency)
		}
		sums[e.Currency] = s
	}
	for cur, s := range sums {
		if s != 0 {
			return bad("entries in %s sum to %d, not 0", cur, s)
		}
	}
	if h := j.Hold; h != nil && (h.Ref != j.ID || h.CardAccount == "" || h.Currency == "" || h.Amount < 0) {
		return bad("hold incomplete or not named after the journal")
	}
	return nil
}

// Net returns the entries of j summed per account and currency, ordered by
// account then currency, without the accounts whose sum is zero. It assumes
// j is valid.
func (j Journal) Net() []Entry {
	type key struct{ account, currency string }
	sums := map[key]int64{}
	for _, e := range j.Entries {
		k := key{e.Account, e.Currency}
		sums[k] += e.Amount
	}
	out := make([]Entry, 0, len(sums))
	for k, s := range sums {
		if s != 0 {
			out = append(out, Entry{Account: k.account, Currency: k.currency, Amount: s})
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Account != out[b].Account {
			return out[a].Account < out[b].Account
		}
		return out[a].Currency < out[b].Currency
	})
	return out
}

// NewBalance returns balance+delta for account in currency. It returns an
// error wrapping ErrInsufficientFunds when the result is negative and the
// account may not go negative, and one wrapping ErrInvalidJournal on
// overflow. Ledger implementations call it for each Net entry.
func NewBalance(account, currency string, balance, delta int64) (int64, error) {
	b, ok := AddAmounts(balance, delta)
	if !ok {
		return 0, fmt.Errorf("balance of %s in %s overflows: %w", account, currency, ErrInvalidJournal)
	}
	if b < 0 && !MayGoNegative(account) {
		return 0, fmt.Errorf("%s has %d %s, needs %d: %w", account, balance, currency, -delta, ErrInsufficientFunds)
	}
	return b, nil
}

// AddAmounts returns a+b and whether it did not overflow.
func AddAmounts(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}
