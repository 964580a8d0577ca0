package chaos

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	_ "modernc.org/sqlite" // the driver the server uses
)

// Ledger account names and journal kinds (package sandbox).
const (
	fundingPrefix = "issuer:funding:"
	holdPrefix    = "hold:"
	voidPrefix    = "void:"
)

// operation is a row of the operations table: a money operation the
// gateway recorded before calling the issuer.
type operation struct {
	OpID       string `json:"opId"`
	Kind       string `json:"kind"`
	MerchantID string `json:"merchantId"`
	CartID     string `json:"cartId"`
	Currency   string `json:"currency"`
	Amount     int64  `json:"amount"`
	AuthRef    string `json:"authRef"`
}

type entry struct {
	account, currency string
	amount            int64
}

// moneyByCart is what the ledger says of one cart.
type moneyByCart struct {
	held, captured, refunded int64
}

// checkLedger reads the sandbox ledger from the database of the stopped
// server and checks its invariants and its agreement with the carts'
// final statuses.
func (c *campaign) checkLedger(ctx context.Context) error {
	db, err := sql.Open("sqlite", "file:"+c.srv.dbPath+"?_pragma=busy_timeout(30000)")
	if err != nil {
		return err
	}
	defer db.Close()
	fail := func(format string, args ...any) { c.fail(checkLedger, format, args...) }

	// Balances: money is conserved per currency, and only the issuer's
	// funding accounts are negative (sandbox.CheckBalances).
	balances := map[[2]string]int64{}
	rows, err := db.QueryContext(ctx, `SELECT account, currency, balance FROM ledger_accounts`)
	if err != nil {
		return err
	}
	sums := map[string]int64{}
	for rows.Next() {
		var acc, cur string
		var bal int64
		if err := rows.Scan(&acc, &cur, &bal); err != nil {
			rows.Close()
			return err
		}
		balances[[2]string{acc, cur}] = bal
		sums[cur] += bal
		if bal < 0 && !strings.HasPrefix(acc, fundingPrefix) {
			fail("account %s is %d %s: only the issuer's funding accounts may go negative", acc, bal, cur)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for cur, s := range sums {
		if s != 0 {
			fail("%s balances sum to %d, not 0: money was created or lost", cur, s)
		}
	}

	// Journals and their entries; every balance is the sum of its entries.
	journals := map[string][]entry{}
	kinds := map[string]string{}
	fromEntries := map[[2]string]int64{}
	rows, err = db.QueryContext(ctx, `SELECT j.id, j.kind, e.account, e.currency, e.amount
		FROM ledger_journals j JOIN ledger_entries e ON e.journal_seq = j.seq`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, kind string
		var e entry
		if err := rows.Scan(&id, &kind, &e.account, &e.currency, &e.amount); err != nil {
			rows.Close()
			return err
		}
		journals[id] = append(journals[id], e)
		kinds[id] = kind
		fromEntries[[2]string{e.account, e.currency}] += e.amount
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for k, bal := range balances {
		if fromEntries[k] != bal {
			fail("account %s has balance %d %s, but its entries sum to %d", k[0], bal, k[1], fromEntries[k])
		}
	}
	for k, s := range fromEntries {
		if _, ok := balances[k]; !ok {
			fail("entries of %s in %s sum to %d, but the account has no balance row", k[0], k[1], s)
		}
	}

	// Operations the gateway recorded.
	ops := map[string]operation{}
	rows, err = db.QueryContext(ctx, `SELECT body FROM operations`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			rows.Close()
			return err
		}
		var op operation
		if err := json.Unmarshal([]byte(body), &op); err != nil {
			rows.Close()
			return fmt.Errorf("operation %s: %w", body, err)
		}
		ops[op.OpID] = op
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	// Money per cart, from the journals of its operations.
	merchant := "merchant:" + c.merchantID
	perCart := map[string]*moneyByCart{}
	get := func(cartID string) *moneyByCart {
		if perCart[cartID] == nil {
			perCart[cartID] = &moneyByCart{}
		}
		return perCart[cartID]
	}
	var ids []string
	for id := range journals {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		kind := kinds[id]
		if kind == "fund" {
			continue
		}
		opID := strings.TrimPrefix(id, voidPrefix)
		op, ok := ops[opID]
		switch {
		case !ok:
			fail("journal %s (%s) moved money under an operation the gateway never recorded: %v", id, kind, journals[id])
			continue
		case kind == "void" && op.Kind != "authorize", kind != "void" && kind != op.Kind:
			fail("journal %s is a %s, but operation %s is a %s", id, kind, opID, op.Kind)
			continue
		case op.MerchantID != c.merchantID:
			continue
		}
		m := get(op.CartID)
		for _, e := range journals[id] {
			if e.account != merchant {
				continue
			}
			switch kind {
			case "capture":
				m.captured += e.amount
			case "refund":
				m.refunded -= e.amount
			default:
				fail("journal %s (%s) touches the merchant's account: %v", id, kind, journals[id])
			}
		}
	}
	var allHolds int64
	for k, bal := range balances {
		if strings.HasPrefix(k[0], holdPrefix) {
			allHolds += bal
		}
	}
	var cartHolds int64
	for _, op := range ops {
		if op.Kind == "authorize" && op.MerchantID == c.merchantID {
			bal := balances[[2]string{holdPrefix + op.OpID, op.Currency}]
			get(op.CartID).held += bal
			cartHolds += bal
		}
	}
	if allHolds != cartHolds {
		fail("holds total %d, but the holds of recorded authorizations total %d", allHolds, cartHolds)
	}

	// Per cart, the ledger against the final status.
	var wantMerchant, gotCaptured, gotRefunded int64
	compared, skipped := 0, 0
	for _, ct := range c.snapshotCarts() {
		m := perCart[ct.ID]
		if m == nil {
			m = &moneyByCart{}
		}
		gotCaptured += m.captured
		gotRefunded += m.refunded
		if ct.final == nil {
			if *m != (moneyByCart{}) {
				fail("cart %s has no status, but the ledger holds %d, captured %d, refunded %d for it", ct.ID, m.held, m.captured, m.refunded)
			}
			continue
		}
		if len(ct.final.ongoing()) > 0 {
			skipped++
			continue
		}
		compared++
		var want moneyByCart
		for _, it := range ct.final.byID {
			want.captured += it.ItemAmounts.Captured
			want.refunded += it.ItemAmounts.Refunded
			if it.PaymentStatus == stAuthorized {
				want.held += it.ItemAmounts.Current
			}
		}
		wantMerchant += want.captured - want.refunded
		if *m != want {
			fail("cart %s: ledger holds %d, captured %d, refunded %d; /status says held (authorized current) %d, captured %d, refunded %d: %s",
				ct.ID, m.held, m.captured, m.refunded, want.held, want.captured, want.refunded, ct.final.statuses())
		}
	}
	known := map[string]bool{}
	for _, ct := range c.snapshotCarts() {
		known[ct.ID] = true
	}
	for cartID, m := range perCart {
		if !known[cartID] {
			fail("the ledger moved money for cart %s, which no client opened: %+v", cartID, *m)
		}
	}
	bal := balances[[2]string{merchant, "EUR"}]
	if bal != gotCaptured-gotRefunded {
		fail("the merchant's balance is %d, but its captures minus refunds in the journals are %d", bal, gotCaptured-gotRefunded)
	}
	if skipped == 0 && bal != wantMerchant {
		fail("the merchant's balance is %d, but the carts' captured − refunded is %d", bal, wantMerchant)
	}
	c.stats.set("ledger", "carts compared with /status", compared)
	c.stats.set("ledger", "carts skipped (items ongoing)", skipped)
	c.stats.set("ledger", "merchant balance", int(bal))
	c.stats.set("ledger", "held", int(allHolds))
	c.logf("ledger: %d accounts, %d journals, %d operations; %d carts compared, %d skipped", len(balances), len(journals), len(ops), compared, skipped)
	return nil
}
