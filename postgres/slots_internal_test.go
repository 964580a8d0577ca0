package postgres

import (
	"errors"
	"testing"

	"github.com/omnicart/omnicart"
)

// TestSpread checks how a journal's change is placed on the slots of a
// balance: a credit on its journal's slot, a funding account's change on
// slot 0, a debit on the funded slots from its journal's slot onwards,
// wrapping round, each taking no more than it has, and a share of what
// the first other slot with funds keeps moved to the journal's slot.
func TestSpread(t *testing.T) {
	const card, cur = "card:fp", "EUR"
	key := func(s int) balanceKey { return balanceKey{card, cur, int16(s)} }
	id := "op_debit"
	first := slotOf(id)
	prev, next := (first+slots-1)%slots, (first+1)%slots

	out := map[balanceKey]int64{}
	if err := spread(out, omnicart.Entry{Account: card, Currency: cur, Amount: 500}, id, nil); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[key(first)] != 500 {
		t.Errorf("a credit: %v, want 500 on slot %d", out, first)
	}

	out = map[balanceKey]int64{}
	funding := omnicart.FundingPrefix + cur
	if err := spread(out, omnicart.Entry{Account: funding, Currency: cur, Amount: -900}, id, nil); err != nil {
		t.Fatal(err)
	}
	if want := (balanceKey{funding, cur, 0}); len(out) != 1 || out[want] != -900 {
		t.Errorf("a funding debit: %v, want -900 on slot 0", out)
	}

	// Funds: 30 on the journal's slot, 0 on the next, 50 on the one
	// after, 1000 on the slot before it (reached last).
	have := map[balanceKey]int64{key(first): 30, key((first + 2) % slots): 50, key(prev): 1000}
	out = map[balanceKey]int64{}
	if err := spread(out, omnicart.Entry{Account: card, Currency: cur, Amount: -100}, id, func(k balanceKey) int64 { return have[k] }); err != nil {
		t.Fatal(err)
	}
	// The slot before keeps 980 after giving 20: 980/moveShare of it
	// moves to the journal's slot. (The slot two on gave all it had.)
	m := int64(980 / moveShare)
	want := map[balanceKey]int64{key(first): -30 + m, key((first + 2) % slots): -50, key(prev): -20 - m}
	if len(out) != len(want) {
		t.Errorf("a debit of 100: %v, want %v", out, want)
	}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("a debit of 100: slot %d changed by %d, want %d", k.slot, out[k], v)
		}
	}
	if out[key(next)] != 0 {
		t.Errorf("the empty slot %d was debited", next)
	}

	// More than the slots hold: refused, not placed on a slot without
	// funds.
	out = map[balanceKey]int64{}
	err := spread(out, omnicart.Entry{Account: card, Currency: cur, Amount: -1081}, id, func(k balanceKey) int64 { return have[k] })
	if err == nil || errors.Is(err, omnicart.ErrInsufficientFunds) {
		t.Errorf("a debit beyond the slots: %v, want an error", err)
	}
}
