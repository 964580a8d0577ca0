package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/sandbox"
	"github.com/omnicart/omnicart/sqlite"
)

// The ledger property test drives random sequences of operations (init,
// pay with every kind of test card, 3-D Secure challenges answered right and
// wrong, capture, cancel, refund, partial cancellation and partial refund
// through modify, repricing, and test-clock advances that fire cart expiry
// and capture-window auto actions) through the real use cases
// (gateway.Service on SQLite with the sandbox issuer), and after every step
// checks the invariants of SPEC §6:
//
//   - money is conserved: per currency the balances sum to zero;
//   - no balance is negative (but the issuer's funding accounts);
//   - held funds equal the sum of the authorized (not captured) items'
//     amounts, for each cart's hold and for all holds together;
//   - each merchant's balance equals its items' captured minus refunded;
//   - no operation is left in flight, and item amounts stay consistent.
//
// Sequences share a database in groups ("worlds") so that cards and the
// issuer's accounts are shared as in production while the full balance
// scan after every step stays cheap. OMNICART_PROPERTY_SEQUENCES raises the
// count (default 10000) and OMNICART_PROPERTY_SEED replays a run.

const (
	defaultSequences  = 10000
	sequencesPerWorld = 100
)

var propT0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil && v > 0 {
		return v
	}
	return def
}

func TestLedgerProperties(t *testing.T) {
	t.Parallel()
	total := int(envInt("OMNICART_PROPERTY_SEQUENCES", defaultSequences))
	seed := uint64(envInt("OMNICART_PROPERTY_SEED", time.Now().UnixNano()))
	t.Logf("%d sequences, seed %d (replay with OMNICART_PROPERTY_SEED=%d)", total, seed, seed)
	worlds := (total + sequencesPerWorld - 1) / sequencesPerWorld
	var mu sync.Mutex
	steps, ran := 0, 0
	kinds := map[string]int{}
	// Two workers: the machine has two cores.
	for w := range 2 {
		t.Run(fmt.Sprintf("worker%d", w), func(t *testing.T) {
			t.Parallel()
			for k := w; k < worlds; k += 2 {
				n := min(sequencesPerWorld, total-k*sequencesPerWorld)
				s, seen := runWorld(t, seed, k, n)
				mu.Lock()
				steps += s
				ran += n
				for kind, c := range seen {
					kinds[kind] += c
				}
				mu.Unlock()
				if t.Failed() {
					return
				}
			}
		})
	}
	t.Cleanup(func() {
		if !t.Failed() {
			t.Logf("%d sequences, %d steps, invariants checked after each step; steps by outcome: %v", ran, steps, kinds)
			if ran < total {
				t.Errorf("ran %d sequences, want %d", ran, total)
			}
			// The run must have exercised every kind of operation.
			for _, k := range []string{"init", "pay:authorized", "pay:declined", "pay:rejected", "pay:challenge", "pay:expired",
				"answer:authorized", "answer:declined", "capture", "cancel", "refund", "modify", "advance"} {
				if kinds[k] == 0 && ran >= 1000 {
					t.Errorf("no step %q in %d sequences", k, ran)
				}
			}
		}
	})
}

// world is one database with its service and issuer.
type world struct {
	t      *testing.T
	svc    *gateway.Service
	issuer *sandbox.Issuer
	// held is what each cart of the world should have on hold, and
	// heldTotal their sum.
	held      map[string]int64
	heldTotal int64
}

func newWorld(t *testing.T, k int) *world {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(scratchDir(t), fmt.Sprintf("world%d.db", k)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	issuer := sandbox.New(sqlite.NewLedger(db), []byte("property-test-fingerprints"))
	svc := &gateway.Service{
		Store: sqlite.NewStore(db),
		Provider: func(m *omnicart.Merchant) (omnicart.Provider, error) {
			if m.Mode == omnicart.ModeTest {
				return issuer, nil
			}
			return nil, gateway.ErrNoProvider
		},
		Now:       func() time.Time { return propT0 },
		KeyPepper: []byte("pepper"),
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return &world{t: t, svc: svc, issuer: issuer, held: map[string]int64{}}
}

// scratchDir is a temporary directory for the worlds' databases: in memory
// (/dev/shm) where the machine has it, so that the run measures the use
// cases rather than the disk's fsync, else the test's temporary directory.
func scratchDir(t *testing.T) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "omnicart-property-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

func runWorld(t *testing.T, seed uint64, k, n int) (int, map[string]int) {
	w := newWorld(t, k)
	steps := 0
	kinds := map[string]int{}
	for i := range n {
		idx := k*sequencesPerWorld + i
		seq := &sequence{w: w, rng: rand.New(rand.NewPCG(seed, uint64(idx))), name: fmt.Sprintf("seq%d", idx)}
		s, err := seq.run(t.Context())
		steps += s
		for _, line := range seq.trace {
			kind, _, _ := strings.Cut(line, " ")
			if kind == "pay" || kind == "answer" {
				_, res, _ := strings.Cut(line, ": ")
				res, _, _ = strings.Cut(res, " ")
				kind += ":" + res
			}
			kinds[kind]++
		}
		if err != nil {
			t.Fatalf("sequence %d (seed %d): %v\nsteps:\n  %s", idx, seed, err, strings.Join(seq.trace, "\n  "))
		}
	}
	return steps, kinds
}

// sequence is one merchant's random run of 3–8 operations.
type sequence struct {
	w      *world
	rng    *rand.Rand
	name   string
	m      *omnicart.Merchant
	offset time.Duration // the merchant's test clock
	carts  []cartRef
	trace  []string
}

type cartRef struct {
	id    string
	token string
}

var (
	successCards = []string{"4111 1111 1111 1111", "4012 8888 8888 1881", "5500 0000 0000 0004", "5105 1051 0510 5100",
		"6011 0000 0000 0004", "6011 1111 1111 1117", "3530 1113 0200 0000", "3566 1111 1111 1113"}
	declineCards   = []string{"4000 0000 0000 0069", "4000 0000 0000 0002", "4000 0000 0000 0259", "4242 4242 4242 4242"}
	challengeCard  = "4000 0000 0000 3220"
	propCurrencies = []string{"EUR", "XAU", "JPY", "KWD", "USD"}
	propItems      = []string{"pegasus", "naga", "lich", "wight"}
)

func (q *sequence) logf(format string, a ...any) {
	q.trace = append(q.trace, fmt.Sprintf(format, a...))
}

func (q *sequence) run(ctx context.Context) (int, error) {
	var err error
	catalog := make([]omnicart.CatalogItem, len(propItems))
	for i, id := range propItems {
		catalog[i] = omnicart.CatalogItem{ItemID: id, DisplayName: id}
	}
	q.m, _, err = q.w.svc.CreateMerchant(ctx, gateway.NewMerchant{ID: "m-" + q.name, Name: q.name, Mode: omnicart.ModeTest,
		Privileges: omnicart.AllPrivileges(), Items: catalog})
	if err != nil {
		return 0, err
	}
	steps := 3 + q.rng.IntN(6)
	for s := range steps {
		if err := q.step(ctx); err != nil {
			return s, fmt.Errorf("step %d: %w", s+1, err)
		}
		if err := q.check(ctx); err != nil {
			return s, fmt.Errorf("invariant after step %d: %w", s+1, err)
		}
	}
	return steps, nil
}

func (q *sequence) now() time.Time { return propT0.Add(q.offset) }

// load returns the sequence's carts as stored.
func (q *sequence) load(ctx context.Context) ([]*omnicart.Cart, error) {
	out := make([]*omnicart.Cart, 0, len(q.carts))
	err := q.w.svc.Store.View(ctx, func(tx omnicart.Tx) error {
		for _, r := range q.carts {
			c, err := tx.Cart(ctx, q.m.ID, r.id)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

func hasStatus(c *omnicart.Cart, st omnicart.Status) []string {
	var ids []string
	for i := range c.Items {
		if c.Items[i].Status == st {
			ids = append(ids, c.Items[i].ID)
		}
	}
	return ids
}

// step picks an operation that applies to the current state and runs it.
func (q *sequence) step(ctx context.Context) error {
	carts, err := q.load(ctx)
	if err != nil {
		return err
	}
	type choice struct {
		weight int
		run    func() error
	}
	var choices []choice
	add := func(w int, f func() error) { choices = append(choices, choice{w, f}) }
	if len(carts) < 2 {
		add(4, func() error { return q.init(ctx) })
	}
	add(1, func() error { return q.advance(ctx) })
	for i, c := range carts {
		ref := q.carts[i]
		if payable, _ := c.Payable(); len(payable) > 0 {
			add(5, func() error { return q.pay(ctx, c, ref) })
			add(1, func() error { return q.modify(ctx, c, omnicart.StatusInitiated) })
		} else {
			// Paying a cart that has nothing left to pay: paid already
			// (answered authorized), or expired or rejected.
			add(1, func() error { return q.pay(ctx, c, ref) })
		}
		if c.Challenge != nil {
			add(5, func() error { return q.answer(ctx, c, ref) })
		}
		if ids := hasStatus(c, omnicart.StatusAuthorized); len(ids) > 0 {
			add(3, func() error { return q.act(ctx, c, omnicart.ActionCapture, ids) })
			add(2, func() error { return q.act(ctx, c, omnicart.ActionCancel, ids) })
			add(2, func() error { return q.modify(ctx, c, omnicart.StatusAuthorized) })
		}
		if ids := hasStatus(c, omnicart.StatusCompleted); len(ids) > 0 {
			add(2, func() error { return q.act(ctx, c, omnicart.ActionRefund, ids) })
			add(2, func() error { return q.modify(ctx, c, omnicart.StatusCompleted) })
		}
	}
	sum := 0
	for _, c := range choices {
		sum += c.weight
	}
	r := q.rng.IntN(sum)
	for _, c := range choices {
		if r < c.weight {
			return c.run()
		}
		r -= c.weight
	}
	panic("unreachable")
}

func ptr[T any](v T) *T { return &v }

func (q *sequence) init(ctx context.Context) error {
	id := fmt.Sprintf("%s-cart%d", q.name, len(q.carts))
	cur := propCurrencies[q.rng.IntN(len(propCurrencies))]
	spec := &omnicart.InitSpec{CartID: id, Currency: cur, CartExpiry: ptr(int64(60 + q.rng.IntN(7200)))}
	n := 1 + q.rng.IntN(3)
	for _, itemID := range propItems[:n] {
		amount := 1 + q.rng.Int64N(1_000_000)
		if q.rng.IntN(10) == 0 {
			amount = 1 + q.rng.Int64N(1_000_000_000_000)
		}
		lv := omnicart.Level{Capture: ptr(q.rng.IntN(4) != 0), WindowSecs: ptr(int64(600 + q.rng.IntN(7200))),
			AutoAction: ptr([]omnicart.AutoAction{omnicart.AutoCancel, omnicart.AutoComplete}[q.rng.IntN(2)])}
		spec.Items = append(spec.Items, omnicart.ItemSpec{ID: itemID, Amount: amount, Level: lv})
	}
	res, err := q.w.svc.Init(ctx, q.m, spec, nil)
	if err != nil {
		return fmt.Errorf("init %s: %w", id, err)
	}
	q.carts = append(q.carts, cartRef{id: id, token: res.PayToken})
	q.logf("init %s %s %d items, expiry %ds", id, cur, n, *spec.CartExpiry)
	return nil
}

func (q *sequence) advance(ctx context.Context) error {
	d := time.Duration([]int{30, 600, 1800, 3600, 7300, 90000}[q.rng.IntN(6)]) * time.Second
	if _, err := q.w.svc.AdvanceClock(ctx, q.m, d); err != nil {
		return fmt.Errorf("advance clock: %w", err)
	}
	q.offset += d
	q.logf("advance clock %v", d)
	return nil
}

// open reports whether a payment of c would be attempted now.
func (q *sequence) open(c *omnicart.Cart) bool {
	payable, _ := c.Payable()
	return len(payable) > 0 && q.now().Before(c.ExpiresAt)
}

func (q *sequence) pay(ctx context.Context, c *omnicart.Cart, ref cartRef) error {
	var card string
	var want []string
	switch r := q.rng.IntN(10); {
	case r < 5:
		card, want = successCards[q.rng.IntN(len(successCards))], []string{gateway.ResultAuthorized}
	case r < 8:
		card, want = declineCards[q.rng.IntN(len(declineCards))], []string{gateway.ResultDeclined, gateway.ResultRejected}
	default:
		card, want = challengeCard, []string{gateway.ResultChallenge}
	}
	if !q.open(c) {
		want = []string{gateway.ResultExpired}
	}
	if c.Paid() {
		// A repeated payment answers the one that succeeded and moves no
		// money (the invariants are checked after the step).
		want = []string{gateway.ResultAuthorized}
	}
	res, err := q.w.svc.Pay(ctx, ref.token, omnicart.Card{Number: strings.ReplaceAll(card, " ", ""), Expiry: "12/39", CVC: "123", Holder: "P"})
	if err != nil {
		return fmt.Errorf("pay %s with %s: %w", ref.id, card, err)
	}
	q.logf("pay %s with %s: %s %s", ref.id, card, res.Result, res.Reason)
	return checkResult(res, want, c)
}

func (q *sequence) answer(ctx context.Context, c *omnicart.Cart, ref cartRef) error {
	code, want := sandbox.ChallengeCode, []string{gateway.ResultAuthorized}
	if q.rng.IntN(3) == 0 {
		code, want = "000000", []string{gateway.ResultDeclined, gateway.ResultRejected}
	}
	if !q.open(c) {
		want = []string{gateway.ResultExpired}
	}
	if c.Paid() {
		want = []string{gateway.ResultAuthorized}
	}
	res, err := q.w.svc.CompleteChallenge(ctx, ref.token, code)
	if err != nil {
		return fmt.Errorf("answer challenge of %s: %w", ref.id, err)
	}
	q.logf("answer challenge of %s with %s: %s %s", ref.id, code, res.Result, res.Reason)
	return checkResult(res, want, c)
}

// checkResult checks a payment result against the expected ones, and that
// a decline rejects the items exactly when it is the merchant's last.
func checkResult(res *gateway.PayResult, want []string, before *omnicart.Cart) error {
	ok := false
	for _, w := range want {
		ok = ok || res.Result == w
	}
	if !ok {
		return fmt.Errorf("result %q, want one of %v", res.Result, want)
	}
	switch res.Result {
	case gateway.ResultDeclined, gateway.ResultRejected:
		last := len(before.Declines)+1 >= omnicart.DefaultMaxDeclines
		if last != (res.Result == gateway.ResultRejected) {
			return fmt.Errorf("result %s after %d earlier declines", res.Result, len(before.Declines))
		}
	}
	return nil
}

func (q *sequence) subset(ids []string) []string {
	if q.rng.IntN(2) == 0 {
		return nil // the whole cart
	}
	out := []string{ids[q.rng.IntN(len(ids))]}
	for _, id := range ids {
		if id != out[0] && q.rng.IntN(2) == 0 {
			out = append(out, id)
		}
	}
	return out
}

func isDomainError(err error) bool {
	var de *omnicart.Error
	return errors.As(err, &de)
}

func (q *sequence) act(ctx context.Context, c *omnicart.Cart, a omnicart.Action, ids []string) error {
	f := omnicart.Filter{ItemIDs: q.subset(ids)}
	got, err := q.w.svc.Act(ctx, q.m, a, c.ID, f, nil)
	if err != nil && !isDomainError(err) {
		return fmt.Errorf("%s %s %v: %w", a, c.ID, f.ItemIDs, err)
	}
	q.logf("%s %s %v: %v %v", a, c.ID, f.ItemIDs, got, err)
	return nil
}

// modify lowers the amount of one item in status st: repricing, partial
// cancellation or partial refund.
func (q *sequence) modify(ctx context.Context, c *omnicart.Cart, st omnicart.Status) error {
	ids := hasStatus(c, st)
	if len(ids) == 0 {
		return nil
	}
	it := c.Item(ids[q.rng.IntN(len(ids))])
	cur := it.Full
	if st == omnicart.StatusCompleted {
		cur = it.Captured - it.Refunded
	}
	if cur < 2 {
		return nil
	}
	amount := 1 + q.rng.Int64N(cur-1)
	spec := &omnicart.ModifySpec{Items: []omnicart.ModifyItem{{ID: it.ID,
		Amount: &omnicart.AmountChange{Amount: &amount, Mode: ptr(omnicart.AmountDeclared)}}}}
	_, err := q.w.svc.Modify(ctx, q.m, c.ID, spec, nil)
	if err != nil && !isDomainError(err) {
		return fmt.Errorf("modify %s %s to %d: %w", c.ID, it.ID, amount, err)
	}
	q.logf("modify %s %s (%s) %d -> %d: %v", c.ID, it.ID, st, cur, amount, err)
	return nil
}

// check verifies every invariant after a step.
func (q *sequence) check(ctx context.Context) error {
	w := q.w
	bs, err := w.issuer.Balances(ctx)
	if err != nil {
		return err
	}
	if err := sandbox.CheckBalances(bs); err != nil {
		return err // conservation and no negative balance
	}
	var heldAll int64
	merchant := map[string]int64{}
	for _, b := range bs {
		switch {
		case strings.HasPrefix(b.Account, "hold:"):
			heldAll += b.Amount
		case b.Account == sandbox.MerchantAccount(q.m.ID):
			merchant[b.Currency] = b.Amount
		}
	}
	carts, err := q.load(ctx)
	if err != nil {
		return err
	}
	want := map[string]int64{}
	for _, c := range carts {
		var authorized int64
		for i := range c.Items {
			it := &c.Items[i]
			if it.Pending != nil {
				return fmt.Errorf("%s/%s: operation %s left in flight", c.ID, it.ID, it.Pending.OpID)
			}
			if it.Status == omnicart.StatusAuthorized {
				authorized += it.Full
			}
			if it.Full < 0 || it.Full > it.Initiated || it.Refunded < 0 || it.Refunded > it.Captured || it.Captured > it.Initiated {
				return fmt.Errorf("%s/%s: amounts initiated %d full %d captured %d refunded %d", c.ID, it.ID, it.Initiated, it.Full, it.Captured, it.Refunded)
			}
			want[c.Currency] += it.Captured - it.Refunded
		}
		if c.AuthRef != "" {
			held, err := w.issuer.Held(ctx, c.AuthRef)
			if err != nil {
				return err
			}
			if held != authorized {
				return fmt.Errorf("%s: hold %s has %d, authorized items sum to %d", c.ID, c.AuthRef, held, authorized)
			}
		} else if authorized != 0 {
			return fmt.Errorf("%s: %d authorized without a hold", c.ID, authorized)
		}
		w.heldTotal += authorized - w.held[c.ID]
		w.held[c.ID] = authorized
	}
	if heldAll != w.heldTotal {
		return fmt.Errorf("all holds sum to %d, all authorized items to %d", heldAll, w.heldTotal)
	}
	for _, cur := range propCurrencies {
		if merchant[cur] != want[cur] {
			return fmt.Errorf("merchant balance in %s is %d, captured minus refunded is %d", cur, merchant[cur], want[cur])
		}
	}
	return nil
}
