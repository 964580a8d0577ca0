package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/omnicart/omnicart"
)

// Ledger is the sandbox issuer's double-entry ledger (omnicart.Ledger) in
// the tables of migration 0002_ledger, each call its own transaction: a
// Post is one transaction, reads see committed state. Inside a Store
// transaction, Tx.Ledger gives the same ledger joined to that transaction.
//
// Balances are changed at the end of a transaction, not when a journal is
// posted, so that a busy account (a merchant's, a test card used by every
// request) is locked only from that last statement to the commit:
//
//   - Post reads the balances the journal changes (committed values plus
//     what this transaction posted before) without locking them, checks
//     each new balance in Go (omnicart.NewBalance), then records the
//     journal, its entries and its hold in one statement (a journal id
//     recorded before, or being recorded by a transaction still running,
//     makes it a no-op once that one commits), and keeps the balance
//     changes in the transaction;
//   - at commit, every balance the transaction changed is locked in one
//     statement, in (account, currency) order, so two transactions never
//     deadlock on balances, and updated; the CHECK of ledger_accounts
//     refuses a balance that went negative because a concurrent
//     transaction spent the same funds after the check, and the whole
//     transaction then runs again (errBalanceRace), when its check sees
//     the funds gone and refuses the journal.
//
// A balance is spread over slots rows (migration 0011_ledger_slots): a
// credit goes to the slot its journal's id picks, a debit takes from the
// slots that have the funds, starting at that one (spread). Two journals
// on one busy account then change different rows and do not wait for each
// other's commit; the whole balance is still checked at post, each slot
// by the CHECK at commit.
type Ledger struct {
	db *DB
}

var _ omnicart.Ledger = (*Ledger)(nil)

// NewLedger returns the ledger kept in db.
func NewLedger(db *DB) *Ledger { return &Ledger{db: db} }

// Post applies j atomically unless a journal with its id was recorded
// before, in which case it returns posted false and changes nothing. Errors
// wrap omnicart.ErrInvalidJournal (malformed journal, balance overflow),
// omnicart.ErrInsufficientFunds (an account that may not go negative
// would), or the server's error; nothing is applied then. A post the
// server aborts for a deadlock, or that lost a race for the same funds, is
// run again (see Store.Tx).
func (l *Ledger) Post(ctx context.Context, j omnicart.Journal) (posted bool, err error) {
	if err := j.Validate(); err != nil {
		return false, err
	}
	lock := false
	err = retry(ctx, func() error {
		err := pgx.BeginTxFunc(ctx, l.db.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
			d := deltas{lock: lock}
			var err error
			if posted, err = postJournal(ctx, tx, &d, j); err != nil {
				return err
			}
			return d.apply(ctx, tx)
		})
		lock = lock || errors.Is(err, errBalanceRace)
		return err
	})
	if err != nil {
		return false, err
	}
	return posted, nil
}

// Journal returns the journal recorded under id, with its entries and
// hold, or an error wrapping omnicart.ErrNoJournal.
func (l *Ledger) Journal(ctx context.Context, id string) (omnicart.Journal, error) {
	return readJournal(ctx, l.db.pool, id)
}

// Hold returns the hold of authorization ref, or an error wrapping
// omnicart.ErrNoJournal.
func (l *Ledger) Hold(ctx context.Context, ref string) (omnicart.Hold, error) {
	return readHold(ctx, l.db.pool, ref)
}

// Balance returns the balance of account in currency, 0 for an account
// never posted to. Errors are the server's.
func (l *Ledger) Balance(ctx context.Context, account, currency string) (int64, error) {
	return readBalance(ctx, l.db.pool, account, currency)
}

// Balances returns every account's balance, ordered by account then
// currency, read in one statement so that the set is consistent. Errors are
// the server's.
func (l *Ledger) Balances(ctx context.Context) ([]omnicart.Balance, error) {
	return readBalances(ctx, l.db.pool)
}

// slots is how many rows one balance is spread over (migration
// 0011_ledger_slots): ledger_accounts' own balance is slot 0, the rows of
// ledger_account_slots slots 1 to slots-1, and the balance their sum.
const slots = 16

// balanceKey names one slot of a balance.
type balanceKey struct {
	account, currency string
	slot              int16
}

// compare orders slots by account, currency, then slot: the order in
// which rows are created and locked.
func (a balanceKey) compare(b balanceKey) int {
	return cmp.Or(strings.Compare(a.account, b.account), strings.Compare(a.currency, b.currency), cmp.Compare(a.slot, b.slot))
}

// moveShare: a debit that takes funds from another slot than its own
// moves 1/moveShare of what that slot keeps to its own (see spread).
const moveShare = 64

// slotOf is the slot a journal credits, and debits first: one of 1 to
// slots-1, so that only the issuer's funding changes ledger_accounts' own
// balance (slot 0, which then holds what was there before the slots) and
// a busy account's row is never locked.
func slotOf(journalID string) int {
	h := fnv.New32a()
	h.Write([]byte(journalID))
	return 1 + int(h.Sum32()%(slots-1))
}

// spread places the net change e of journal j on the slots of its
// balance, into out: a credit on the slot j's id picks; a debit on the
// slots that hold the funds, from that slot onwards, each taking what it
// has (have: its balance now, committed and pending), 1/moveShare of what
// the first other slot keeps moved to j's slot; any change of an account that
// may go negative (the issuer's funding) on slot 0. The
// caller has checked the whole balance, which the slots of an account that
// may not go negative hold between them (none is negative).
func spread(out map[balanceKey]int64, e omnicart.Entry, journalID string, have func(balanceKey) int64) error {
	first := slotOf(journalID)
	if omnicart.MayGoNegative(e.Account) {
		first = 0
	}
	if e.Amount > 0 || omnicart.MayGoNegative(e.Account) {
		out[balanceKey{e.Account, e.Currency, int16(first)}] += e.Amount
		return nil
	}
	need := -e.Amount
	own := balanceKey{e.Account, e.Currency, int16(first)}
	moved := false
	for i := range slots {
		k := balanceKey{e.Account, e.Currency, int16((first + i) % slots)}
		h := have(k)
		if take := min(need, h); take > 0 {
			out[k] -= take
			need -= take
			// Funds found on another slot: a share of what it keeps moves
			// to the journal's own slot (rows this change locks anyway), so
			// that a balance credited on one slot (a card's funding)
			// spreads over the slots as it is spent, and later debits
			// find funds on their own slot. The share is small so that
			// debits running at once on the same slot, each moving its
			// share of the balance it read, cannot together take more
			// than the slot has (which would fail its CHECK at commit and
			// run the transaction again, locking every slot) unless
			// moveShare of them do.
			if extra := (h - take) / moveShare; i > 0 && !moved && extra > 0 {
				out[k] -= extra
				out[own] += extra
				moved = true
			}
		}
		if need == 0 {
			return nil
		}
	}
	return fmt.Errorf("ledger: journal %s: the slots of %s in %s hold less than its balance", journalID, e.Account, e.Currency)
}

// deltas are the balance changes a transaction posted and has not applied
// yet (see Ledger).
type deltas struct {
	m map[balanceKey]int64
	// lock makes posts lock the balances they check (FOR NO KEY UPDATE,
	// held to the commit), so that the commit cannot find them spent: a
	// transaction that lost a race for funds runs again this way, and
	// cannot lose it twice.
	lock bool
}

// of returns the pending change of slot k.
func (d *deltas) of(k balanceKey) int64 { return d.m[k] }

// total returns the pending change of a balance, all its slots.
func (d *deltas) total(account, currency string) int64 {
	var sum int64
	for s := range slots {
		sum += d.m[balanceKey{account, currency, int16(s)}]
	}
	return sum
}

// add records the changes of a posted journal, by slot.
func (d *deltas) add(changes map[balanceKey]int64) {
	if d.m == nil {
		d.m = make(map[balanceKey]int64, len(changes))
	}
	for k, v := range changes {
		// The balance with it was checked by postJournal (NewBalance), and
		// a slot holds part of it, so this cannot overflow.
		d.m[k] += v
	}
}

// snapshot returns a copy to restore when a savepoint rolls back.
func (d *deltas) snapshot() map[balanceKey]int64 { return maps.Clone(d.m) }

// restore puts back what snapshot returned.
func (d *deltas) restore(m map[balanceKey]int64) { d.m = m }

// errBalanceRace is returned at commit when a balance would go negative:
// another transaction spent the funds this one checked. Store.Tx runs the
// transaction again.
var errBalanceRace = errors.New("ledger: funds spent by a concurrent transaction")

// queue adds to b the statements that lock the changed slots and update
// them, and forgets the changes: the ledger_accounts rows (slot 0) in
// (account, currency) order, then the ledger_account_slots rows in
// (account, currency, slot) order, a missing one created. They return no
// rows; an error they cause is told apart by balanceError.
func (d *deltas) queue(b *pgx.Batch) {
	keys := make([]balanceKey, 0, len(d.m))
	for k, v := range d.m {
		if v != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, balanceKey.compare)
	var main, rest struct {
		accounts, currencies []string
		slots                []int16
		amounts              []int64
		negative             []bool
	}
	for _, k := range keys {
		c := &rest
		if k.slot == 0 {
			c = &main
		}
		c.accounts, c.currencies = append(c.accounts, k.account), append(c.currencies, k.currency)
		c.slots, c.amounts = append(c.slots, k.slot), append(c.amounts, d.m[k])
		c.negative = append(c.negative, omnicart.MayGoNegative(k.account))
	}
	d.m = nil
	// FOR NO KEY UPDATE: the row lock an UPDATE of a non-key column takes,
	// which does not wait for the key-share locks that other transactions'
	// entries (their foreign keys) hold on the same accounts.
	if len(main.accounts) > 0 {
		b.Queue(`SELECT 1 FROM ledger_accounts
			WHERE (account, currency) IN (SELECT * FROM unnest($1::text[], $2::text[]))
			ORDER BY account, currency FOR NO KEY UPDATE`, main.accounts, main.currencies)
		b.Queue(`UPDATE ledger_accounts a SET balance = a.balance + v.delta
			FROM unnest($1::text[], $2::text[], $3::bigint[]) AS v(account, currency, delta)
			WHERE a.account = v.account AND a.currency = v.currency`, main.accounts, main.currencies, main.amounts)
	}
	if len(rest.accounts) > 0 {
		b.Queue(`SELECT 1 FROM ledger_account_slots
			WHERE (account, currency, slot) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::smallint[]))
			ORDER BY account, currency, slot FOR NO KEY UPDATE`, rest.accounts, rest.currencies, rest.slots)
		// Credits: a slot without a row gets one, in the same order (a
		// debit only takes from slots that have funds, so has a row).
		// Debits apart: an INSERT's CHECK is evaluated on the row it would
		// insert, before the conflict, so a negative one would fail it.
		b.Queue(`INSERT INTO ledger_account_slots AS s (account, currency, slot, balance, may_go_negative)
			SELECT * FROM unnest($1::text[], $2::text[], $3::smallint[], $4::bigint[], $5::boolean[]) AS v(a, c, n, delta, neg)
			WHERE v.delta > 0
			ORDER BY 1, 2, 3
			ON CONFLICT (account, currency, slot) DO UPDATE SET balance = s.balance + EXCLUDED.balance`,
			rest.accounts, rest.currencies, rest.slots, rest.amounts, rest.negative)
		b.Queue(`UPDATE ledger_account_slots s SET balance = s.balance + v.delta
			FROM unnest($1::text[], $2::text[], $3::smallint[], $4::bigint[]) AS v(account, currency, slot, delta)
			WHERE v.delta < 0 AND s.account = v.account AND s.currency = v.currency AND s.slot = v.slot`,
			rest.accounts, rest.currencies, rest.slots, rest.amounts)
	}
}

// apply runs what queue adds, in one round trip.
func (d *deltas) apply(ctx context.Context, q querier) error {
	b := &pgx.Batch{}
	d.queue(b)
	if b.Len() == 0 {
		return nil
	}
	return balanceError(execBatch(ctx, q, b))
}

// balanceError marks the CHECK violation of a balance gone negative as
// errBalanceRace.
func balanceError(err error) error {
	if ownCode(err, "23514") {
		return fmt.Errorf("%w: %w", errBalanceRace, err)
	}
	return err
}

// txLedger is the ledger inside a Store transaction: what it posts commits
// or rolls back with that transaction.
type txLedger struct{ t *txn }

// Ledger returns the sandbox ledger joined to the transaction.
func (t *txn) Ledger() omnicart.Ledger { return txLedger{t} }

// Post applies j in the transaction (its balances change at commit, see
// Ledger). A refused journal writes nothing and the transaction goes on.
// It returns an error in a View or a Read.
func (l txLedger) Post(ctx context.Context, j omnicart.Journal) (bool, error) {
	if err := l.t.writable("ledger: post"); err != nil {
		return false, err
	}
	if err := j.Validate(); err != nil {
		return false, err
	}
	return postJournal(ctx, l.t.q, &l.t.deltas, j)
}

func (l txLedger) Journal(ctx context.Context, id string) (omnicart.Journal, error) {
	return readJournal(ctx, l.t.q, id)
}

func (l txLedger) Hold(ctx context.Context, ref string) (omnicart.Hold, error) {
	return readHold(ctx, l.t.q, ref)
}

func (l txLedger) Balance(ctx context.Context, account, currency string) (int64, error) {
	b, err := readBalance(ctx, l.t.q, account, currency)
	if err != nil {
		return 0, err
	}
	return b + l.t.deltas.total(account, currency), nil
}

func (l txLedger) Balances(ctx context.Context) ([]omnicart.Balance, error) {
	out, err := readBalances(ctx, l.t.q)
	if err != nil {
		return nil, err
	}
	for i, b := range out {
		out[i].Amount += l.t.deltas.total(b.Account, b.Currency)
	}
	return out, nil
}

// postJournal records the valid journal j in q's transaction unless its
// id is recorded, and adds its balance changes to d (see Ledger). A
// journal with entries takes two round trips: the check (is the id
// recorded? the balances it changes), then the writes.
func postJournal(ctx context.Context, q querier, d *deltas, j omnicart.Journal) (bool, error) {
	var changes map[balanceKey]int64
	var current map[balanceKey]int64
	if len(j.Entries) > 0 {
		var recorded bool
		var err error
		recorded, current, err = readForPost(ctx, q, j, d.lock)
		if err != nil {
			return false, err
		}
		if recorded {
			return false, nil
		}
		changes = map[balanceKey]int64{}
		for _, e := range j.Net() {
			// Each slot's committed balance and pending change are in
			// range; their sums are checked like the new balance.
			var base int64
			ok := true
			for s := range slots {
				k := balanceKey{e.Account, e.Currency, int16(s)}
				if base, ok = omnicart.AddAmounts(base, current[k]); ok {
					base, ok = omnicart.AddAmounts(base, d.of(k))
				}
				if !ok {
					return false, fmt.Errorf("ledger: post %s: balance of %s in %s overflows: %w", j.ID, e.Account, e.Currency, omnicart.ErrInvalidJournal)
				}
			}
			if _, err := omnicart.NewBalance(e.Account, e.Currency, base, e.Amount); err != nil {
				return false, fmt.Errorf("ledger: post %s: %w", j.ID, err)
			}
			if err := spread(changes, e, j.ID, func(k balanceKey) int64 { return current[k] + d.of(k) }); err != nil {
				return false, err
			}
		}
	}
	var refusal *string
	if j.Refusal != "" {
		refusal = &j.Refusal
	}
	n := len(j.Entries)
	lines, accounts, currencies, amounts := make([]int32, n), make([]string, n), make([]string, n), make([]int64, n)
	for i, e := range j.Entries {
		lines[i], accounts[i], currencies[i], amounts[i] = int32(i), e.Account, e.Currency, e.Amount
	}
	var hold struct {
		ref, card, currency, brand, last4, fp *string
		amount                                *int64
	}
	if h := j.Hold; h != nil {
		hold.ref, hold.card, hold.currency, hold.amount = &h.Ref, &h.CardAccount, &h.Currency, &h.Amount
		hold.brand, hold.last4, hold.fp = &h.Card.Brand, &h.Card.Last4, &h.Card.Fingerprint
	}
	b := &pgx.Batch{}
	if missing := missingAccounts(j.Entries, current); len(missing.accounts) > 0 {
		// Every account an entry names gets its row (the entries' foreign
		// key), in a fixed order. Only missing ones: inserting a row that
		// exists would wait for every transaction that changed its balance
		// and has not committed yet (the unique index check does).
		b.Queue(`INSERT INTO ledger_accounts(account, currency, balance, may_go_negative)
			SELECT a.account, a.currency, 0, a.negative FROM unnest($1::text[], $2::text[], $3::boolean[]) AS a(account, currency, negative)
			ORDER BY a.account, a.currency
			ON CONFLICT (account, currency) DO NOTHING`, missing.accounts, missing.currencies, missing.negative)
	}
	// The journal, its entries and its hold in one statement: the entries
	// and the hold are written only when the journal row is (a recorded id
	// returns no row). Foreign keys are checked at the statement's end.
	b.Queue(`WITH j AS (
			INSERT INTO ledger_journals(id, kind, refusal) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO NOTHING RETURNING seq
		), e AS (
			INSERT INTO ledger_entries(journal_seq, line, account, currency, amount)
			SELECT j.seq, e.* FROM j, unnest($4::integer[], $5::text[], $6::text[], $7::bigint[]) AS e
		), h AS (
			INSERT INTO sandbox_authorizations(ref, card_account, currency, amount, brand, last4, fingerprint)
			SELECT $8, $9, $10, $11, $12, $13, $14 FROM j WHERE $8::text IS NOT NULL
		)
		SELECT seq FROM j`,
		j.ID, j.Kind, refusal, lines, accounts, currencies, amounts,
		hold.ref, hold.card, hold.currency, hold.amount, hold.brand, hold.last4, hold.fp)
	br := q.SendBatch(ctx, b)
	defer br.Close()
	if b.Len() > 1 {
		if _, err := br.Exec(); err != nil {
			return false, fmt.Errorf("ledger: accounts of %s: %w", j.ID, err)
		}
	}
	var seq int64
	err := br.QueryRow().Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, br.Close() // recorded meanwhile
	}
	if err != nil {
		return false, fmt.Errorf("ledger: record %s: %w", j.ID, err)
	}
	if err := br.Close(); err != nil {
		return false, fmt.Errorf("ledger: record %s: %w", j.ID, err)
	}
	d.add(changes)
	return true, nil
}

// newAccounts are the columns of ledger_accounts rows to create.
type newAccounts struct {
	accounts, currencies []string
	negative             []bool
}

// missingAccounts returns the accounts entries name that have no row (are
// not in existing), each once, sorted.
func missingAccounts(entries []omnicart.Entry, existing map[balanceKey]int64) newAccounts {
	var keys []balanceKey
	for _, e := range entries {
		k := balanceKey{e.Account, e.Currency, 0}
		if _, ok := existing[k]; !ok && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, balanceKey.compare)
	var out newAccounts
	for _, k := range keys {
		out.accounts = append(out.accounts, k.account)
		out.currencies = append(out.currencies, k.currency)
		out.negative = append(out.negative, omnicart.MayGoNegative(k.account))
	}
	return out
}

// readForPost reports whether a journal with j's id is recorded and reads
// the committed balances of the accounts j names (0 for an account without
// a row), in one round trip, without locking.
func readForPost(ctx context.Context, q querier, j omnicart.Journal, lock bool) (bool, map[balanceKey]int64, error) {
	accounts, currencies := make([]string, len(j.Entries)), make([]string, len(j.Entries))
	for i, e := range j.Entries {
		accounts[i], currencies[i] = e.Account, e.Currency
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT EXISTS (SELECT 1 FROM ledger_journals WHERE id = $1)`, j.ID)
	read := `SELECT account, currency, 0::smallint, balance FROM ledger_accounts
		WHERE (account, currency) IN (SELECT * FROM unnest($1::text[], $2::text[]))`
	readSlots := `SELECT account, currency, slot, balance FROM ledger_account_slots
		WHERE (account, currency) IN (SELECT * FROM unnest($1::text[], $2::text[]))`
	args := []any{accounts, currencies}
	if lock {
		// A journal recorded already needs no balances: none are locked
		// then (the funding post of a card funded long ago would hold the
		// issuer's funding row until commit for nothing).
		unrecorded := ` AND NOT EXISTS (SELECT 1 FROM ledger_journals WHERE id = $3)`
		read += unrecorded + ` ORDER BY account, currency FOR NO KEY UPDATE`
		readSlots += unrecorded + ` ORDER BY account, currency, slot FOR NO KEY UPDATE`
		args = append(args, j.ID)
	}
	b.Queue(read, args...)
	b.Queue(readSlots, args...)
	br := q.SendBatch(ctx, b)
	defer br.Close()
	var recorded bool
	if err := br.QueryRow().Scan(&recorded); err != nil {
		return false, nil, fmt.Errorf("ledger: journal %s: %w", j.ID, err)
	}
	current := make(map[balanceKey]int64, len(j.Entries))
	for range 2 { // the accounts' rows (slot 0), then their other slots
		rows, err := br.Query()
		if err != nil {
			return false, nil, fmt.Errorf("ledger: balances for %s: %w", j.ID, err)
		}
		for rows.Next() {
			var k balanceKey
			var v int64
			if err := rows.Scan(&k.account, &k.currency, &k.slot, &v); err != nil {
				rows.Close()
				return false, nil, fmt.Errorf("ledger: balances for %s: %w", j.ID, err)
			}
			current[k] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return false, nil, fmt.Errorf("ledger: balances for %s: %w", j.ID, err)
		}
	}
	if err := br.Close(); err != nil {
		return false, nil, fmt.Errorf("ledger: balances for %s: %w", j.ID, err)
	}
	return recorded, current, nil
}

// execBatch runs the statements of b, which return no rows.
func execBatch(ctx context.Context, q querier, b *pgx.Batch) error {
	br := q.SendBatch(ctx, b)
	var err error
	for i := 0; i < b.Len() && err == nil; i++ {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// readJournal returns the journal recorded under id, with its entries in
// the order posted and its hold, or an error wrapping omnicart.ErrNoJournal.
func readJournal(ctx context.Context, q querier, id string) (omnicart.Journal, error) {
	var (
		kind, refusal, card, cur, brand, last4, fp *string
		amount                                     *int64
		account, currency                          *string
		entry                                      *int64
	)
	j := omnicart.Journal{ID: id}
	// The journal, its hold if any, and its entries, in one statement: one
	// row per entry (one row with NULL entry columns for none).
	rows, err := q.Query(ctx, `SELECT j.kind, j.refusal, a.card_account, a.currency, a.amount, a.brand, a.last4, a.fingerprint,
			e.account, e.currency, e.amount
		FROM ledger_journals j
		LEFT JOIN sandbox_authorizations a ON a.ref = j.id
		LEFT JOIN ledger_entries e ON e.journal_seq = j.seq
		WHERE j.id = $1 ORDER BY e.line`, id)
	if err != nil {
		return omnicart.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, err)
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		if err := rows.Scan(&kind, &refusal, &card, &cur, &amount, &brand, &last4, &fp, &account, &currency, &entry); err != nil {
			return omnicart.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, err)
		}
		if !found {
			found = true
			j.Kind = *kind
			if refusal != nil {
				j.Refusal = *refusal
			}
			if card != nil {
				j.Hold = &omnicart.Hold{Ref: id, CardAccount: *card, Currency: *cur, Amount: *amount,
					Card: omnicart.CardInfo{Brand: *brand, Last4: *last4, Fingerprint: *fp}}
			}
		}
		if entry != nil {
			j.Entries = append(j.Entries, omnicart.Entry{Account: *account, Currency: *currency, Amount: *entry})
		}
	}
	if err := rows.Err(); err != nil {
		return omnicart.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, err)
	}
	if !found {
		return omnicart.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, omnicart.ErrNoJournal)
	}
	return j, nil
}

func readHold(ctx context.Context, q querier, ref string) (omnicart.Hold, error) {
	h := omnicart.Hold{Ref: ref}
	err := q.QueryRow(ctx, `SELECT card_account, currency, amount, brand, last4, fingerprint FROM sandbox_authorizations WHERE ref = $1`, ref).
		Scan(&h.CardAccount, &h.Currency, &h.Amount, &h.Card.Brand, &h.Card.Last4, &h.Card.Fingerprint)
	if errors.Is(err, pgx.ErrNoRows) {
		return omnicart.Hold{}, fmt.Errorf("ledger: hold %q: %w", ref, omnicart.ErrNoJournal)
	}
	if err != nil {
		return omnicart.Hold{}, fmt.Errorf("ledger: hold %q: %w", ref, err)
	}
	return h, nil
}

func readBalance(ctx context.Context, q querier, account, currency string) (int64, error) {
	var b int64
	err := q.QueryRow(ctx, `SELECT balance FROM ledger_balances WHERE account = $1 AND currency = $2`, account, currency).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: balance of %s in %s: %w", account, currency, err)
	}
	return b, nil
}

func readBalances(ctx context.Context, q querier) ([]omnicart.Balance, error) {
	rows, err := q.Query(ctx, `SELECT account, currency, balance FROM ledger_balances ORDER BY account, currency`)
	if err != nil {
		return nil, fmt.Errorf("ledger: balances: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (omnicart.Balance, error) {
		var b omnicart.Balance
		err := row.Scan(&b.Account, &b.Currency, &b.Amount)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: balances: %w", err)
	}
	return out, nil
}
