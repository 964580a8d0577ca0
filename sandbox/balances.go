package sandbox

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Balances returns the balance of every account in every currency, ordered
// by account then currency. Errors are the ledger's.
func (i *Issuer) Balances(ctx context.Context) ([]Balance, error) {
	b, err := i.ledger.Balances(ctx)
	if err != nil {
		return nil, fmt.Errorf("sandbox: balances: %w", err)
	}
	return b, nil
}

// Balance returns the balance of account in currency (0 for an account
// never posted to). Errors are the ledger's.
func (i *Issuer) Balance(ctx context.Context, account, currency string) (int64, error) {
	b, err := i.ledger.Balance(ctx, account, currency)
	if err != nil {
		return 0, fmt.Errorf("sandbox: balance of %s in %s: %w", account, currency, err)
	}
	return b, nil
}

// Held returns what remains on the hold of authorization authRef. It
// returns an error wrapping ErrUnknownAuthorization if there is no such
// authorization.
func (i *Issuer) Held(ctx context.Context, authRef string) (int64, error) {
	h, err := i.ledger.Hold(ctx, authRef)
	if errors.Is(err, ErrNotFound) {
		return 0, fmt.Errorf("sandbox: hold %q: %w", authRef, ErrUnknownAuthorization)
	}
	if err != nil {
		return 0, fmt.Errorf("sandbox: hold %q: %w", authRef, err)
	}
	return i.Balance(ctx, HoldAccount(authRef), h.Currency)
}

// MerchantBalance returns what the merchant has captured minus refunded in
// currency.
func (i *Issuer) MerchantBalance(ctx context.Context, merchantID, currency string) (int64, error) {
	return i.Balance(ctx, MerchantAccount(merchantID), currency)
}

// CardBalance returns the balance of the card number in currency (0 before
// its first use). It returns an error wrapping ErrInvalidOperation when the
// number is not made of digits.
func (i *Issuer) CardBalance(ctx context.Context, number, currency string) (int64, error) {
	info, ok := i.CardInfo(number)
	if !ok {
		return 0, fmt.Errorf("sandbox: card balance: not a card number: %w", ErrInvalidOperation)
	}
	return i.Balance(ctx, CardAccount(info.Fingerprint), currency)
}

// CheckInvariants checks the ledger's balances with CheckBalances.
func (i *Issuer) CheckInvariants(ctx context.Context) error {
	b, err := i.Balances(ctx)
	if err != nil {
		return err
	}
	return CheckBalances(b)
}

// CheckBalances checks the invariants of a set of balances: per currency
// they sum to zero (money is conserved: the funding accounts are as
// negative as the rest is positive), and no account but a funding account is
// negative. Its error lists every violation and wraps ErrInvariant.
func CheckBalances(bs []Balance) error {
	sums := map[string]int64{}
	var bad []string
	for _, b := range bs {
		s, ok := AddAmounts(sums[b.Currency], b.Amount)
		if !ok {
			bad = append(bad, "overflow summing "+b.Currency)
		}
		sums[b.Currency] = s
		if b.Amount < 0 && !MayGoNegative(b.Account) {
			bad = append(bad, fmt.Sprintf("%s is %d %s", b.Account, b.Amount, b.Currency))
		}
	}
	for cur, s := range sums {
		if s != 0 {
			bad = append(bad, fmt.Sprintf("%s balances sum to %d", cur, s))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("%s: %w", strings.Join(bad, "; "), ErrInvariant)
}
