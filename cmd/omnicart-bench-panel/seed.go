package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/clock"
	"github.com/omnicart/omnicart/webhook"
)

// catalog is the seeded merchant's catalog: item ids and their prices in
// hundredths of the currency (a JPY price is scaled to whole yen).
var catalog = []struct {
	ID, Name string
	Price    int64
}{
	{"tshirt", "T-shirt", 1990}, {"hoodie", "Hoodie", 4990}, {"cap", "Cap", 1490},
	{"mug", "Mug", 990}, {"poster", "Poster", 1290}, {"stickers", "Sticker pack", 390},
	{"backpack", "Backpack", 7990}, {"bottle", "Bottle", 2490}, {"socks", "Socks", 890},
	{"gift-card", "Gift card", 5000}, {"shipping", "Shipping", 590}, {"express", "Express shipping", 1490},
}

// currencies, weighted: most carts in EUR, some in USD, GBP and JPY
// (exponent 0).
var currencies = []struct {
	Code   string
	Weight float64
	Scale  float64 // price factor from the catalog's hundredths
}{{"EUR", 0.6, 1}, {"USD", 0.25, 1.1}, {"GBP", 0.1, 0.85}, {"JPY", 0.05, 1.6}}

var declineReasons = []string{"insufficient_funds", "card_declined", "expired_card", "do_not_honor", "incorrect_cvc"}

// generator builds carts with realistic histories: each cart is created at
// its time and lived through with the domain's own transitions (payment,
// declines, captures, cancels, refunds, expiry, capture windows running
// out) up to now, so that what is stored is what the server would have
// stored, with its events, and nothing is left due in the past.
type generator struct {
	r         *rand.Rand
	now       time.Time
	customers int
	opSeq     int
	ops       []seedOp                // the current cart's settled operations
	mix       map[omnicart.Status]int // item statuses of the seeded carts
}

func (g *generator) newID() string {
	g.opSeq++
	return fmt.Sprintf("op_bench_%08x", g.opSeq)
}

func (g *generator) between(a, b time.Duration) time.Duration {
	return a + time.Duration(g.r.Int64N(int64(b-a)+1))
}

func ptr[T any](v T) *T { return &v }

// cart builds cart cartID of m, created at createdAt, and returns it with
// its next deadline (zero for none).
func (g *generator) cart(m *omnicart.Merchant, cartID string, createdAt time.Time) (*omnicart.Cart, time.Time, error) {
	r := g.r
	cur := currencies[0]
	for u, i := r.Float64(), 0; i < len(currencies); i++ {
		if u < currencies[i].Weight || i == len(currencies)-1 {
			cur = currencies[i]
			break
		}
		u -= currencies[i].Weight
	}
	spec := &omnicart.InitSpec{CartID: cartID, Currency: cur.Code}
	if r.Float64() < 0.9 {
		spec.CustomerID = fmt.Sprintf("cus-%06d", r.IntN(g.customers))
	}
	n := 1
	switch u := r.Float64(); {
	case u < 0.1:
		n = 4
	case u < 0.3:
		n = 3
	case u < 0.6:
		n = 2
	}
	for _, k := range r.Perm(len(catalog))[:n] {
		it := catalog[k]
		amount := int64(float64(it.Price*int64(1+r.IntN(3))) * cur.Scale)
		if cur.Code == "JPY" {
			amount = amount / 100 * 10 // whole yen, rounded to ten
		}
		is := omnicart.ItemSpec{ID: it.ID, Amount: amount}
		switch u := r.Float64(); {
		case u < 0.2:
			is.Level.Capture = ptr(false) // one step: captured at payment
		case u < 0.35:
			is.Level.AutoAction = ptr(omnicart.AutoComplete)
		}
		if r.Float64() < 0.5 {
			is.Level.WindowSecs = ptr([]int64{3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400}[r.IntN(5)])
		}
		if it.ID == "shipping" || it.ID == "express" {
			is.Tag = "shipping"
		} else if r.Float64() < 0.15 {
			is.Tag = "gift"
		}
		spec.Items = append(spec.Items, is)
	}
	var sp omnicart.StagedProblems
	c := omnicart.NewCart(spec, m, createdAt, &sp)
	if c == nil {
		return nil, time.Time{}, fmt.Errorf("cart %s refused: %+v", cartID, sp)
	}
	lead := m.AutoActionLead()
	g.ops = g.ops[:0]
	settle := func(at time.Time, ops []omnicart.Operation) {
		if len(ops) == 0 {
			return
		}
		out := map[string]bool{}
		for _, op := range ops {
			out[op.OpID] = true
			g.ops = append(g.ops, seedOp{op, at})
		}
		c.SettleAll(at, out)
	}
	// advance fires what falls due up to t, as the scheduler would have.
	advance := func(t time.Time) {
		for range 20 {
			due, ok := c.NextDeadline(lead)
			if !ok || due.After(t) {
				return
			}
			settle(due.Add(time.Second), c.Tick(due, lead, g.newID))
		}
	}
	act := func(t time.Time, a omnicart.Action, idx []int) {
		if t.After(g.now) {
			return // not yet
		}
		advance(t)
		if ops, _, err := c.BeginAction(a, idx, g.newID); err == nil {
			settle(t.Add(time.Second), ops)
		}
	}
	payAt := createdAt.Add(g.between(20*time.Second, 15*time.Minute))
	paid := true
	switch u := r.Float64(); {
	case u < 0.12: // abandoned: the cart expires
		paid = false
	case u < 0.18: // declined one to three times; some pay after
		k := 1 + r.IntN(m.MaxDeclines)
		for j := range k {
			at := payAt.Add(time.Duration(j) * 40 * time.Second)
			if at.After(g.now) {
				break
			}
			if op, ok := c.BeginPayment(g.newID()); ok {
				c.PaymentDeclined(at, op.OpID, declineReasons[r.IntN(len(declineReasons))], m.MaxDeclines)
			}
		}
		payAt = payAt.Add(time.Duration(k) * 40 * time.Second)
		paid = k < m.MaxDeclines && r.Float64() < 0.5
	}
	if paid && !payAt.After(g.now) {
		if op, ok := c.BeginPayment(g.newID()); ok {
			brand := []string{"visa", "mastercard", "amex"}[r.IntN(3)]
			card := omnicart.CardInfo{Brand: brand, Last4: fmt.Sprintf("%04d", r.IntN(10000)), Fingerprint: fmt.Sprintf("fp_%012x", r.Int64N(1<<48))}
			g.ops = append(g.ops, seedOp{op, payAt})
			settle(payAt.Add(2*time.Second), c.PaymentAuthorized(payAt, op.OpID, "auth_"+op.OpID, card, g.newID))
			all := c.All()
			switch u := r.Float64(); {
			case u < 0.65:
				act(payAt.Add(g.between(10*time.Minute, 30*time.Hour)), omnicart.ActionCapture, all)
			case u < 0.75:
				act(payAt.Add(g.between(5*time.Minute, 5*time.Hour)), omnicart.ActionCancel, all)
			case u < 0.8:
				t := payAt.Add(g.between(time.Hour, 20*time.Hour))
				act(t, omnicart.ActionCapture, all[:1])
				act(t.Add(time.Minute), omnicart.ActionCancel, all[1:])
			default: // left to the capture window's auto action
			}
			if r.Float64() < 0.08 {
				idx := all
				if len(all) > 1 && r.Float64() < 0.7 {
					k := r.IntN(len(all))
					idx = all[k : k+1]
				}
				act(payAt.Add(g.between(24*time.Hour, 20*24*time.Hour)), omnicart.ActionRefund, idx)
			}
		}
	}
	advance(g.now)
	for i := range c.Items {
		g.mix[c.Items[i].ReportedStatus()]++
	}
	due, _ := c.NextDeadline(lead)
	return c, due, nil
}

// seedOp is an operation of a generated cart and when it succeeded.
type seedOp struct {
	op omnicart.Operation
	at time.Time
}

// seeded is what the load left for the measurements to pick from.
type seeded struct {
	cartIDs, customers []string
	events             int
	mix                map[omnicart.Status]int
}

// seed writes n carts of m (and other carts of another merchant,
// interleaved) through the store, created over the last `days` days in
// time order, `batch` per transaction, then publishes their events for
// the timeline as the server's fan-out would.
func seed(ctx context.Context, e *engineDB, m, other *omnicart.Merchant, n, nOther, days, batch int, now time.Time, progress io.Writer) (*seeded, error) {
	g := &generator{r: rand.New(rand.NewPCG(1, 2)), now: now, customers: max(10, n/5), mix: map[omnicart.Status]int{}}
	total := n + nOther
	span := time.Duration(days) * 24 * time.Hour
	start := now.Add(-span)
	s := &seeded{}
	mine, theirs := 0, 0
	t0 := time.Now()
	for i := 0; i < total; i += batch {
		err := e.store.Tx(ctx, func(tx omnicart.Tx) error {
			for j := i; j < i+batch && j < total; j++ {
				at := start.Add(time.Duration(float64(span) * (float64(j) + g.r.Float64()) / float64(total))).Truncate(time.Millisecond)
				mm, id := m, ""
				// The other merchant's carts are spread through the same
				// days: its rows sit between the measured merchant's.
				if mine >= n || theirs < (j+1)*nOther/total {
					mm, id = other, fmt.Sprintf("other-%07d", theirs)
					theirs++
				} else {
					id = fmt.Sprintf("ord-%07d", mine)
					mine++
				}
				c, due, err := g.cart(mm, id, at)
				if err != nil {
					return err
				}
				if mm == m {
					s.cartIDs = append(s.cartIDs, c.ID)
					if c.CustomerID != "" {
						s.customers = append(s.customers, c.CustomerID)
					}
				}
				tok := sha256.Sum256([]byte("bench token\x00" + mm.ID + "\x00" + id))
				if err := tx.CreateCart(ctx, c, tok[:], due); err != nil {
					return fmt.Errorf("cart %s: %w", id, err)
				}
				// Its money operations, settled as the gateway settles them
				// (the overview's daily roll-up counts them).
				for _, o := range g.ops {
					if err := tx.CreateOperations(ctx, []omnicart.Operation{o.op}, o.at); err != nil {
						return err
					}
					if err := tx.FinishOperation(ctx, o.op.OpID, "succeeded", o.at); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if (i/batch)%20 == 19 {
			// As autovacuum (or SQLite's checkpointer) would meanwhile: a
			// server whose autovacuum is off (some test machines) slows
			// down as the dead rows of updated operations pile up.
			if err := e.settle(ctx); err != nil {
				return nil, err
			}
		}
		if progress != nil && (i/batch)%20 == 19 {
			fmt.Fprintf(progress, "  %d of %d carts written (%.0f/s)\n", i+batch, total, float64(i+batch)/time.Since(t0).Seconds())
		}
	}
	s.mix = g.mix
	// Publish the events (the server's fan-out does this within a second
	// of each change; here all at once, before the server starts).
	d := &webhook.Dispatcher{Store: e.callbacks, Clock: clock.Real{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Batch: 1000}
	for {
		k, err := d.FanOut(ctx)
		if err != nil {
			return nil, fmt.Errorf("publish events: %w", err)
		}
		if k == 0 {
			break
		}
		s.events += k
	}
	return s, nil
}
