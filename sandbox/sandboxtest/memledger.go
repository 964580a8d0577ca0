package sandboxtest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/omnicart/omnicart/sandbox"
)

// MemLedger is a sandbox.Ledger in memory, for tests. Its zero value is not
// usable; build it with NewMemLedger.
type MemLedger struct {
	mu       sync.Mutex
	balances map[accountKey]int64
	journals map[string]sandbox.Journal
	holds    map[string]sandbox.Hold
}

type accountKey struct{ account, currency string }

var _ sandbox.Ledger = (*MemLedger)(nil)

// NewMemLedger returns an empty ledger.
func NewMemLedger() *MemLedger {
	return &MemLedger{
		balances: map[accountKey]int64{},
		journals: map[string]sandbox.Journal{},
		holds:    map[string]sandbox.Hold{},
	}
}

// Post implements sandbox.Ledger.
func (m *MemLedger) Post(ctx context.Context, j sandbox.Journal) (bool, error) {
	if err := j.Validate(); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.journals[j.ID]; ok {
		return false, nil
	}
	net := j.Net()
	next := make([]int64, len(net))
	for n, e := range net {
		b, err := sandbox.NewBalance(e.Account, e.Currency, m.balances[accountKey{e.Account, e.Currency}], e.Amount)
		if err != nil {
			return false, fmt.Errorf("post %s: %w", j.ID, err)
		}
		next[n] = b
	}
	for n, e := range net {
		m.balances[accountKey{e.Account, e.Currency}] = next[n]
	}
	for _, e := range j.Entries {
		// Touch every account, so Balances lists it even at zero.
		k := accountKey{e.Account, e.Currency}
		m.balances[k] += 0
	}
	j.Entries = slices.Clone(j.Entries)
	if j.Hold != nil {
		h := *j.Hold
		m.holds[h.Ref] = h
		j.Hold = &h
	}
	m.journals[j.ID] = j
	return true, nil
}

// Journal implements sandbox.Ledger.
func (m *MemLedger) Journal(_ context.Context, id string) (sandbox.Journal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.journals[id]
	if !ok {
		return sandbox.Journal{}, fmt.Errorf("journal %q: %w", id, sandbox.ErrNotFound)
	}
	j.Entries = slices.Clone(j.Entries)
	if j.Hold != nil {
		h := *j.Hold
		j.Hold = &h
	}
	return j, nil
}

// Hold implements sandbox.Ledger.
func (m *MemLedger) Hold(_ context.Context, ref string) (sandbox.Hold, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.holds[ref]
	if !ok {
		return sandbox.Hold{}, fmt.Errorf("hold %q: %w", ref, sandbox.ErrNotFound)
	}
	return h, nil
}

// Balance implements sandbox.Ledger.
func (m *MemLedger) Balance(_ context.Context, account, currency string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.balances[accountKey{account, currency}], nil
}

// Balances implements sandbox.Ledger.
func (m *MemLedger) Balances(_ context.Context) ([]sandbox.Balance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]sandbox.Balance, 0, len(m.balances))
	for k, b := range m.balances {
		out = append(out, sandbox.Balance{Account: k.account, Currency: k.currency, Amount: b})
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Account != out[b].Account {
			return out[a].Account < out[b].Account
		}
		return out[a].Currency < out[b].Currency
	})
	return out, nil
}
