package sandboxtest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/sandbox"
)

// OpenLedger returns an empty ledger for one test; it cleans up after
// itself with tb.Cleanup.
type OpenLedger func(tb testing.TB) sandbox.Ledger

// RunLedger runs the conformance suite every sandbox.Ledger implementation
// must pass.
func RunLedger(t *testing.T, open OpenLedger) {
	t.Run("PostAndBalances", func(t *testing.T) { t.Parallel(); testPostAndBalances(t, open(t)) })
	t.Run("Idempotent", func(t *testing.T) { t.Parallel(); testIdempotent(t, open(t)) })
	t.Run("Invalid", func(t *testing.T) { t.Parallel(); testInvalid(t, open(t)) })
	t.Run("InsufficientFunds", func(t *testing.T) { t.Parallel(); testInsufficientFunds(t, open(t)) })
	t.Run("Currencies", func(t *testing.T) { t.Parallel(); testCurrencies(t, open(t)) })
	t.Run("Refusal", func(t *testing.T) { t.Parallel(); testRefusal(t, open(t)) })
	t.Run("Hold", func(t *testing.T) { t.Parallel(); testHold(t, open(t)) })
	t.Run("Overflow", func(t *testing.T) { t.Parallel(); testOverflow(t, open(t)) })
	t.Run("Concurrent", func(t *testing.T) { t.Parallel(); testConcurrent(t, open(t)) })
}

func transfer(id, from, to, currency string, amount int64) sandbox.Journal {
	return sandbox.Journal{ID: id, Kind: "test", Entries: []sandbox.Entry{
		{Account: from, Currency: currency, Amount: -amount},
		{Account: to, Currency: currency, Amount: amount},
	}}
}

// mustPost posts j and fails unless posted is want.
func mustPost(tb testing.TB, l sandbox.Ledger, j sandbox.Journal, want bool) {
	tb.Helper()
	posted, err := l.Post(tb.Context(), j)
	if err != nil {
		tb.Fatalf("post %s: %v", j.ID, err)
	}
	if posted != want {
		tb.Fatalf("post %s: posted = %v, want %v", j.ID, posted, want)
	}
}

// wantBalance fails unless account has want in currency.
func wantBalance(tb testing.TB, l sandbox.Ledger, account, currency string, want int64) {
	tb.Helper()
	got, err := l.Balance(tb.Context(), account, currency)
	if err != nil {
		tb.Fatalf("balance %s %s: %v", account, currency, err)
	}
	if got != want {
		tb.Errorf("balance %s %s = %d, want %d", account, currency, got, want)
	}
}

// balances returns the ledger's balances, checking their invariants.
func balances(tb testing.TB, l sandbox.Ledger) []sandbox.Balance {
	tb.Helper()
	bs, err := l.Balances(tb.Context())
	if err != nil {
		tb.Fatalf("balances: %v", err)
	}
	if err := sandbox.CheckBalances(bs); err != nil {
		tb.Errorf("invariants: %v", err)
	}
	return bs
}

// wantNoJournal fails if a journal id was recorded.
func wantNoJournal(tb testing.TB, l sandbox.Ledger, id string) {
	tb.Helper()
	if _, err := l.Journal(tb.Context(), id); !errors.Is(err, sandbox.ErrNotFound) {
		tb.Errorf("journal %s: err = %v, want ErrNotFound", id, err)
	}
}

func testPostAndBalances(t *testing.T, l sandbox.Ledger) {
	fund := sandbox.FundingAccount("EUR")
	mustPost(t, l, transfer("j1", fund, "card:a", "EUR", 1000), true)
	mustPost(t, l, transfer("j2", "card:a", "hold:h", "EUR", 300), true)
	wantBalance(t, l, fund, "EUR", -1000)
	wantBalance(t, l, "card:a", "EUR", 700)
	wantBalance(t, l, "hold:h", "EUR", 300)
	wantBalance(t, l, "card:a", "USD", 0)
	wantBalance(t, l, "card:never", "EUR", 0)
	want := []sandbox.Balance{
		{Account: "card:a", Currency: "EUR", Amount: 700},
		{Account: "hold:h", Currency: "EUR", Amount: 300},
		{Account: fund, Currency: "EUR", Amount: -1000},
	}
	if got := balances(t, l); !reflect.DeepEqual(got, want) {
		t.Errorf("balances = %+v, want %+v", got, want)
	}
	j, err := l.Journal(t.Context(), "j2")
	if err != nil {
		t.Fatalf("journal j2: %v", err)
	}
	if want := transfer("j2", "card:a", "hold:h", "EUR", 300); !reflect.DeepEqual(j, want) {
		t.Errorf("journal j2 = %+v, want %+v", j, want)
	}
	wantNoJournal(t, l, "j3")
}

func testIdempotent(t *testing.T, l sandbox.Ledger) {
	fund := sandbox.FundingAccount("EUR")
	mustPost(t, l, transfer("j1", fund, "card:a", "EUR", 1000), true)
	mustPost(t, l, transfer("j1", fund, "card:a", "EUR", 1000), false)
	// Same id, other entries: still the first journal, nothing moves.
	mustPost(t, l, transfer("j1", fund, "card:b", "EUR", 5), false)
	mustPost(t, l, sandbox.Journal{ID: "j1", Kind: "other", Refusal: "no"}, false)
	wantBalance(t, l, "card:a", "EUR", 1000)
	wantBalance(t, l, "card:b", "EUR", 0)
	j, err := l.Journal(t.Context(), "j1")
	if err != nil || j.Kind != "test" || j.Entries[1].Account != "card:a" {
		t.Errorf("journal j1 = %+v, %v; want the first one", j, err)
	}
	balances(t, l)
}

func testInvalid(t *testing.T, l sandbox.Ledger) {
	fund := sandbox.FundingAccount("EUR")
	hold := &sandbox.Hold{Ref: "auth", CardAccount: "card:a", Currency: "EUR", Amount: 1}
	for name, j := range map[string]sandbox.Journal{
		"no id":      transfer("", fund, "card:a", "EUR", 1),
		"no kind":    {ID: "bad", Entries: transfer("", fund, "card:a", "EUR", 1).Entries},
		"unbalanced": {ID: "bad", Kind: "test", Entries: []sandbox.Entry{{Account: fund, Currency: "EUR", Amount: -2}, {Account: "card:a", Currency: "EUR", Amount: 1}}},
		"one-sided":  {ID: "bad", Kind: "test", Entries: []sandbox.Entry{{Account: "card:a", Currency: "EUR", Amount: 1}}},
		"per currency": {ID: "bad", Kind: "test", Entries: []sandbox.Entry{
			{Account: fund, Currency: "EUR", Amount: -1}, {Account: "card:a", Currency: "USD", Amount: 1}}},
		"zero amount":      transfer("bad", fund, "card:a", "EUR", 0),
		"no account":       transfer("bad", fund, "", "EUR", 1),
		"no currency":      transfer("bad", fund, "card:a", "", 1),
		"refusal moves":    {ID: "bad", Kind: "test", Refusal: "no", Entries: transfer("", fund, "card:a", "EUR", 1).Entries},
		"refusal holds":    {ID: "bad", Kind: "test", Refusal: "no", Hold: hold},
		"hold not the id":  {ID: "bad", Kind: "test", Hold: hold},
		"hold no currency": {ID: "auth", Kind: "test", Hold: &sandbox.Hold{Ref: "auth", CardAccount: "card:a"}},
	} {
		_, err := l.Post(t.Context(), j)
		if !errors.Is(err, sandbox.ErrInvalidJournal) {
			t.Errorf("%s: err = %v, want ErrInvalidJournal", name, err)
		}
	}
	wantNoJournal(t, l, "bad")
	wantNoJournal(t, l, "auth")
	if bs := balances(t, l); len(bs) != 0 {
		t.Errorf("balances = %+v, want none", bs)
	}
}

func testInsufficientFunds(t *testing.T, l sandbox.Ledger) {
	fund := sandbox.FundingAccount("EUR")
	mustPost(t, l, transfer("fund", fund, "card:a", "EUR", 100), true)
	before := balances(t, l)
	over := sandbox.Journal{ID: "over", Kind: "test", Entries: []sandbox.Entry{
		{Account: fund, Currency: "EUR", Amount: -7},
		{Account: "card:c", Currency: "EUR", Amount: 7},
		{Account: "card:a", Currency: "EUR", Amount: -150},
		{Account: "card:b", Currency: "EUR", Amount: 150},
	}}
	if _, err := l.Post(t.Context(), over); !errors.Is(err, sandbox.ErrInsufficientFunds) {
		t.Fatalf("overdraw: err = %v, want ErrInsufficientFunds", err)
	}
	if after := balances(t, l); !reflect.DeepEqual(after, before) {
		t.Errorf("balances after refused post = %+v, want %+v", after, before)
	}
	wantNoJournal(t, l, "over")
	// An account ending non-negative is fine even if an entry alone would
	// overdraw it: the check is on the journal's net effect.
	mustPost(t, l, sandbox.Journal{ID: "net", Kind: "test", Entries: []sandbox.Entry{
		{Account: "card:a", Currency: "EUR", Amount: -150},
		{Account: "card:a", Currency: "EUR", Amount: 60},
		{Account: "card:b", Currency: "EUR", Amount: 90},
	}}, true)
	wantBalance(t, l, "card:a", "EUR", 10)
	// Exactly to zero is allowed.
	mustPost(t, l, transfer("zero", "card:a", "card:b", "EUR", 10), true)
	wantBalance(t, l, "card:a", "EUR", 0)
	// The refused id can be posted once it fits.
	mustPost(t, l, transfer("refill", fund, "card:a", "EUR", 150), true)
	mustPost(t, l, over, true)
	wantBalance(t, l, "card:a", "EUR", 0)
	wantBalance(t, l, "card:b", "EUR", 250)
	wantBalance(t, l, "card:c", "EUR", 7)
	balances(t, l)
}

func testCurrencies(t *testing.T, l sandbox.Ledger) {
	mustPost(t, l, sandbox.Journal{ID: "two", Kind: "test", Entries: []sandbox.Entry{
		{Account: sandbox.FundingAccount("EUR"), Currency: "EUR", Amount: -100},
		{Account: "card:a", Currency: "EUR", Amount: 100},
		{Account: sandbox.FundingAccount("USD"), Currency: "USD", Amount: -5},
		{Account: "card:a", Currency: "USD", Amount: 5},
	}}, true)
	if _, err := l.Post(t.Context(), transfer("usd", "card:a", "card:b", "USD", 6)); !errors.Is(err, sandbox.ErrInsufficientFunds) {
		t.Errorf("overdraw USD: err = %v, want ErrInsufficientFunds", err)
	}
	mustPost(t, l, transfer("eur", "card:a", "card:b", "EUR", 60), true)
	wantBalance(t, l, "card:a", "EUR", 40)
	wantBalance(t, l, "card:a", "USD", 5)
	wantBalance(t, l, "card:b", "EUR", 60)
	wantBalance(t, l, "card:b", "USD", 0)
	wantBalance(t, l, sandbox.FundingAccount("USD"), "USD", -5)
	balances(t, l)
}

func testRefusal(t *testing.T, l sandbox.Ledger) {
	want := sandbox.Journal{ID: "op", Kind: sandbox.KindAuthorize, Refusal: "Card blocked"}
	mustPost(t, l, want, true)
	mustPost(t, l, transfer("op", sandbox.FundingAccount("EUR"), "card:a", "EUR", 1), false)
	got, err := l.Journal(t.Context(), "op")
	if err != nil {
		t.Fatalf("journal: %v", err)
	}
	if got.Kind != want.Kind || got.Refusal != want.Refusal || len(got.Entries) != 0 || got.Hold != nil {
		t.Errorf("journal = %+v, want %+v", got, want)
	}
	if bs := balances(t, l); len(bs) != 0 {
		t.Errorf("balances = %+v, want none", bs)
	}
}

func testHold(t *testing.T, l sandbox.Ledger) {
	fund := sandbox.FundingAccount("JPY")
	mustPost(t, l, transfer("fund", fund, "card:fp", "JPY", 1000), true)
	h := sandbox.Hold{Ref: "auth-1", CardAccount: "card:fp", Currency: "JPY", Amount: 250,
		Card: omnicart.CardInfo{Brand: "visa", Last4: "1111", Fingerprint: "fp"}}
	j := transfer("auth-1", "card:fp", sandbox.HoldAccount("auth-1"), "JPY", 250)
	j.Kind, j.Hold = sandbox.KindAuthorize, &h
	mustPost(t, l, j, true)
	got, err := l.Hold(t.Context(), "auth-1")
	if err != nil || got != h {
		t.Errorf("hold = %+v, %v; want %+v", got, err, h)
	}
	gotJ, err := l.Journal(t.Context(), "auth-1")
	if err != nil || !reflect.DeepEqual(gotJ, j) {
		t.Errorf("journal = %+v, %v; want %+v", gotJ, err, j)
	}
	if _, err := l.Hold(t.Context(), "auth-2"); !errors.Is(err, sandbox.ErrNotFound) {
		t.Errorf("unknown hold: err = %v, want ErrNotFound", err)
	}
	if _, err := l.Hold(t.Context(), "fund"); !errors.Is(err, sandbox.ErrNotFound) {
		t.Errorf("hold of a journal without one: err = %v, want ErrNotFound", err)
	}
	wantBalance(t, l, sandbox.HoldAccount("auth-1"), "JPY", 250)
}

func testOverflow(t *testing.T, l sandbox.Ledger) {
	fund := sandbox.FundingAccount("EUR")
	mustPost(t, l, transfer("max", fund, "card:a", "EUR", math.MaxInt64), true)
	if _, err := l.Post(t.Context(), transfer("more", fund, "card:a", "EUR", 1)); !errors.Is(err, sandbox.ErrInvalidJournal) {
		t.Errorf("overflowing balance: err = %v, want ErrInvalidJournal", err)
	}
	big := sandbox.Journal{ID: "sum", Kind: "test", Entries: []sandbox.Entry{
		{Account: "card:b", Currency: "EUR", Amount: math.MaxInt64},
		{Account: "card:c", Currency: "EUR", Amount: math.MaxInt64},
		{Account: fund, Currency: "EUR", Amount: 2},
	}}
	if _, err := l.Post(t.Context(), big); !errors.Is(err, sandbox.ErrInvalidJournal) {
		t.Errorf("overflowing sum: err = %v, want ErrInvalidJournal", err)
	}
	wantBalance(t, l, "card:a", "EUR", math.MaxInt64)
	wantNoJournal(t, l, "more")
}

// testConcurrent has 20 goroutines move money between a few accounts at
// once, some moves overdrawing, some journals posted by several goroutines.
// Only ErrInsufficientFunds may fail a post, shared ids post once, and the
// final balances are those of the posted journals.
func testConcurrent(t *testing.T, l sandbox.Ledger) {
	const (
		workers = 20
		moves   = 25
		opening = 1000
	)
	accounts := []string{"card:a", "card:b", "card:c", "merchant:m", "hold:h"}
	fund := sandbox.FundingAccount("EUR")
	var (
		mu     sync.Mutex
		posted []sandbox.Journal
		wg     sync.WaitGroup
	)
	errs := make(chan error, workers*(moves+2))
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			// Every worker funds every card; each funding posts once.
			for _, a := range accounts[:3] {
				j := transfer("fund:"+a, fund, a, "EUR", opening)
				ok, err := l.Post(t.Context(), j)
				if err != nil {
					errs <- err
				}
				if ok {
					mu.Lock()
					posted = append(posted, j)
					mu.Unlock()
				}
			}
			for n := range moves {
				from, to := accounts[rng.IntN(len(accounts))], accounts[rng.IntN(len(accounts))]
				if from == to {
					continue
				}
				// Some ids are shared by two workers.
				id := fmt.Sprintf("w%d-%d", w, n)
				if n%5 == 0 {
					id = fmt.Sprintf("shared-%d-%d", w/2, n)
				}
				j := transfer(id, from, to, "EUR", 1+rng.Int64N(400))
				ok, err := l.Post(t.Context(), j)
				switch {
				case errors.Is(err, sandbox.ErrInsufficientFunds):
				case err != nil:
					errs <- fmt.Errorf("post %s: %w", id, err)
				case ok:
					mu.Lock()
					posted = append(posted, j)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := map[string]int64{}
	ids := map[string]bool{}
	for _, j := range posted {
		if ids[j.ID] {
			t.Errorf("journal %s posted twice", j.ID)
		}
		ids[j.ID] = true
		for _, e := range j.Entries {
			want[e.Account] += e.Amount
		}
	}
	var total int64
	for _, b := range balances(t, l) {
		if b.Amount != want[b.Account] {
			t.Errorf("%s = %d, want %d from the posted journals", b.Account, b.Amount, want[b.Account])
		}
		if b.Account != fund {
			total += b.Amount
		}
	}
	if total != 3*opening {
		t.Errorf("money outside funding = %d, want %d", total, 3*opening)
	}
}
