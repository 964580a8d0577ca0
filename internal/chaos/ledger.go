package chaos

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	_ "modernc.org/sqlite" // a pure-Go reader of the server's database file
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
	OpID       string   `json:"opId"`
	Kind       string   `json:"kind"`
	MerchantID string   `json:"merchantId"`
	CartID     string   `json:"cartId"`
	Currency   string   `json:"currency"`
	Amount     int64    `json:"amount"`
	AuthRef    string   `json:"authRef"`
	ItemIDs    []string `json:"itemIds"`
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

	// Money per cart and per item, from the journals of its operations.
	merchants := map[string]bool{c.merchantID: true, c.other.merchantID: true}
	type cartKey struct{ merchant, cart string }
	type itemKey struct {
		cartKey
		item string
	}
	type itemMoney struct {
		captures         int // capture journals that moved money
		captured, refund int64
	}
	perCart := map[cartKey]*moneyByCart{}
	perItem := map[itemKey]*itemMoney{}
	get := func(k cartKey) *moneyByCart {
		if perCart[k] == nil {
			perCart[k] = &moneyByCart{}
		}
		return perCart[k]
	}
	movedByMerchant := map[[2]string]int64{} // merchant, currency → captures − refunds
	var ids []string
	for id := range journals {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	multiItem := 0
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
		case !merchants[op.MerchantID]:
			fail("journal %s moved money for merchant %s, which the campaign never created", id, op.MerchantID)
			continue
		}
		k := cartKey{op.MerchantID, op.CartID}
		m := get(k)
		account := "merchant:" + op.MerchantID
		for _, e := range journals[id] {
			if e.account != account {
				continue
			}
			var im *itemMoney
			if (kind == "capture" || kind == "refund") && len(op.ItemIDs) == 1 {
				ik := itemKey{k, op.ItemIDs[0]}
				if perItem[ik] == nil {
					perItem[ik] = &itemMoney{}
				}
				im = perItem[ik]
			} else if kind == "capture" || kind == "refund" {
				multiItem++
			}
			switch kind {
			case "capture":
				m.captured += e.amount
				if im != nil {
					im.captures++
					im.captured += e.amount
				}
			case "refund":
				m.refunded -= e.amount
				if im != nil {
					im.refund -= e.amount
				}
			default:
				fail("journal %s (%s) touches the merchant's account: %v", id, kind, journals[id])
			}
			if kind == "capture" || kind == "refund" {
				movedByMerchant[[2]string{op.MerchantID, e.currency}] += e.amount
			}
		}
	}
	// Nothing captured twice, nothing refunded beyond what was captured.
	for k, im := range perItem {
		if im.captures > 1 {
			fail("cart %s item %s of merchant %s was captured %d times (%d in all)", k.cart, k.item, k.merchant, im.captures, im.captured)
		}
		if im.refund > im.captured {
			fail("cart %s item %s of merchant %s: %d refunded, but only %d captured", k.cart, k.item, k.merchant, im.refund, im.captured)
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
		if op.Kind == "authorize" {
			bal := balances[[2]string{holdPrefix + op.OpID, op.Currency}]
			get(cartKey{op.MerchantID, op.CartID}).held += bal
			cartHolds += bal
		}
	}
	if allHolds != cartHolds {
		fail("holds total %d, but the holds of recorded authorizations total %d", allHolds, cartHolds)
	}

	// Per cart, the ledger against the final status.
	compared, skipped := 0, 0
	known := map[cartKey]bool{}
	wantMerchant := map[[2]string]int64{} // merchant, currency
	compare := func(k cartKey, final *cartStatus) {
		known[k] = true
		m := perCart[k]
		if m == nil {
			m = &moneyByCart{}
		}
		if final == nil {
			if *m != (moneyByCart{}) {
				fail("cart %s has no status, but the ledger holds %d, captured %d, refunded %d for it", k.cart, m.held, m.captured, m.refunded)
			}
			return
		}
		if len(final.ongoing()) > 0 {
			skipped++
			return
		}
		compared++
		var want moneyByCart
		for itemID, it := range final.byID {
			want.captured += it.ItemAmounts.Captured
			want.refunded += it.ItemAmounts.Refunded
			if it.PaymentStatus == stAuthorized {
				want.held += it.ItemAmounts.Current
			}
			if im := perItem[itemKey{k, itemID}]; im != nil && (im.captured != it.ItemAmounts.Captured || im.refund != it.ItemAmounts.Refunded) {
				fail("cart %s item %s: the ledger captured %d and refunded %d, /status says captured %d refunded %d",
					k.cart, itemID, im.captured, im.refund, it.ItemAmounts.Captured, it.ItemAmounts.Refunded)
			}
		}
		wantMerchant[[2]string{k.merchant, final.Currency}] += want.captured - want.refunded
		if *m != want {
			fail("cart %s: ledger holds %d, captured %d, refunded %d; /status says held (authorized current) %d, captured %d, refunded %d: %s",
				k.cart, m.held, m.captured, m.refunded, want.held, want.captured, want.refunded, final.statuses())
		}
	}
	for _, ct := range c.snapshotCarts() {
		compare(cartKey{c.merchantID, ct.ID}, ct.final)
	}
	for _, x := range c.extra {
		compare(cartKey{x.merchantID, x.id}, x.final)
	}
	for k, m := range perCart {
		if !known[k] {
			fail("the ledger moved money for cart %s of merchant %s, which the campaign does not know: %+v", k.cart, k.merchant, *m)
		}
	}
	for k, moved := range movedByMerchant {
		bal := balances[[2]string{"merchant:" + k[0], k[1]}]
		if bal != moved {
			fail("merchant %s's %s balance is %d, but its captures minus refunds in the journals are %d", k[0], k[1], bal, moved)
		}
	}
	for k, bal := range balances {
		if mid, ok := strings.CutPrefix(k[0], "merchant:"); ok {
			if _, seen := movedByMerchant[[2]string{mid, k[1]}]; !seen && bal != 0 {
				fail("merchant %s's %s balance is %d without any capture or refund", mid, k[1], bal)
			}
		}
	}
	if skipped == 0 {
		for k, want := range wantMerchant {
			if bal := balances[[2]string{"merchant:" + k[0], k[1]}]; bal != want {
				fail("merchant %s's %s balance is %d, but its carts' captured − refunded is %d", k[0], k[1], bal, want)
			}
		}
	}
	c.stats.set("ledger", "carts compared with /status", compared)
	c.stats.set("ledger", "carts skipped (items ongoing)", skipped)
	c.stats.set("ledger", "items with captures or refunds checked", len(perItem))
	c.stats.set("ledger", "merchant balance", int(balances[[2]string{"merchant:" + c.merchantID, "EUR"}]))
	c.stats.set("ledger", "held", int(allHolds))
	if multiItem > 0 {
		c.stats.set("ledger", "capture/refund entries of several items (not checked per item)", multiItem)
	}
	c.logf("ledger: %d accounts, %d journals, %d operations; %d carts compared, %d skipped", len(balances), len(journals), len(ops), compared, skipped)
	return nil
}
