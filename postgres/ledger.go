package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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
// A Post records the journal's id first (INSERT ... ON CONFLICT DO
// NOTHING: a journal posted before, or being posted by a transaction still
// running, makes it a no-op once that one commits), then locks the
// balances it changes FOR UPDATE in (account, currency) order, so that
// posts sharing accounts wait for each other instead of deadlocking, and
// checks every new balance in Go (omnicart.NewBalance) before writing it.
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
// server aborts for a deadlock is run again (see Store.Tx).
func (l *Ledger) Post(ctx context.Context, j omnicart.Journal) (posted bool, err error) {
	if err := j.Validate(); err != nil {
		return false, err
	}
	err = retry(ctx, func() error {
		return pgx.BeginTxFunc(ctx, l.db.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
			var err error
			posted, err = postJournal(ctx, tx, j)
			return err
		})
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

// txLedger is the ledger inside a Store transaction: what it posts commits
// or rolls back with that transaction.
type txLedger struct{ t *txn }

// Ledger returns the sandbox ledger joined to the transaction.
func (t *txn) Ledger() omnicart.Ledger { return txLedger{t} }

// Post applies j in the transaction, inside a savepoint: a refused or
// failed journal leaves nothing behind while the transaction goes on. It
// returns an error in a View or a Read.
func (l txLedger) Post(ctx context.Context, j omnicart.Journal) (bool, error) {
	if err := l.t.writable("ledger: post"); err != nil {
		return false, err
	}
	if err := j.Validate(); err != nil {
		return false, err
	}
	// pgx runs a nested Begin as a savepoint.
	sp, err := l.t.tx.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("ledger: post %s: %w", j.ID, err)
	}
	posted, err := postJournal(ctx, sp, j)
	if err != nil {
		if rerr := sp.Rollback(context.WithoutCancel(ctx)); rerr != nil {
			return false, fmt.Errorf("ledger: post %s: %w (rolling back: %v)", j.ID, err, rerr)
		}
		return false, err
	}
	if err := sp.Commit(ctx); err != nil {
		return false, fmt.Errorf("ledger: post %s: %w", j.ID, err)
	}
	return posted, nil
}

func (l txLedger) Journal(ctx context.Context, id string) (omnicart.Journal, error) {
	return readJournal(ctx, l.t.q, id)
}

func (l txLedger) Hold(ctx context.Context, ref string) (omnicart.Hold, error) {
	return readHold(ctx, l.t.q, ref)
}

func (l txLedger) Balance(ctx context.Context, account, currency string) (int64, error) {
	return readBalance(ctx, l.t.q, account, currency)
}

func (l txLedger) Balances(ctx context.Context) ([]omnicart.Balance, error) {
	return readBalances(ctx, l.t.q)
}

// postJournal applies the valid journal j in q's transaction unless its id
// is recorded. On an error the caller rolls the transaction (or its
// savepoint) back: the journal row may already be written.
func postJournal(ctx context.Context, q querier, j omnicart.Journal) (bool, error) {
	var refusal *string
	if j.Refusal != "" {
		refusal = &j.Refusal
	}
	var seq int64
	err := q.QueryRow(ctx, `INSERT INTO ledger_journals(id, kind, refusal) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING RETURNING seq`,
		j.ID, j.Kind, refusal).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // recorded before
	}
	if err != nil {
		return false, fmt.Errorf("ledger: record %s: %w", j.ID, err)
	}
	next, err := lockBalances(ctx, q, j)
	if err != nil {
		return false, err
	}
	b := &pgx.Batch{}
	if len(next.accounts) > 0 {
		b.Queue(`UPDATE ledger_accounts a SET balance = v.balance
			FROM unnest($1::text[], $2::text[], $3::bigint[]) AS v(account, currency, balance)
			WHERE a.account = v.account AND a.currency = v.currency`, next.accounts, next.currencies, next.balances)
	}
	if n := len(j.Entries); n > 0 {
		lines, accounts, currencies, amounts := make([]int32, n), make([]string, n), make([]string, n), make([]int64, n)
		for i, e := range j.Entries {
			lines[i], accounts[i], currencies[i], amounts[i] = int32(i), e.Account, e.Currency, e.Amount
		}
		b.Queue(`INSERT INTO ledger_entries(journal_seq, line, account, currency, amount)
			SELECT $1, e.* FROM unnest($2::integer[], $3::text[], $4::text[], $5::bigint[]) AS e`, seq, lines, accounts, currencies, amounts)
	}
	if h := j.Hold; h != nil {
		b.Queue(`INSERT INTO sandbox_authorizations(ref, card_account, currency, amount, brand, last4, fingerprint)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			h.Ref, h.CardAccount, h.Currency, h.Amount, h.Card.Brand, h.Card.Last4, h.Card.Fingerprint)
	}
	if b.Len() > 0 {
		if err := execBatch(ctx, q, b); err != nil {
			return false, fmt.Errorf("ledger: record %s: %w", j.ID, err)
		}
	}
	return true, nil
}

// balances are new balances, as the columns of their rows.
type balances struct {
	accounts, currencies []string
	balances             []int64
}

// lockBalances makes sure every account j names has a row, locks the rows
// of the accounts whose balance j changes FOR UPDATE, in (account,
// currency) order, and returns their new balances after checking each
// (omnicart.NewBalance). One round trip.
func lockBalances(ctx context.Context, q querier, j omnicart.Journal) (balances, error) {
	net := j.Net()
	if len(j.Entries) == 0 {
		return balances{}, nil
	}
	// Every account an entry names, even one whose entries cancel out, so
	// that each entry's account exists; created in a fixed order too.
	type key struct{ account, currency string }
	seen := map[key]bool{}
	var all []key
	for _, e := range j.Entries {
		if k := (key{e.Account, e.Currency}); !seen[k] {
			seen[k] = true
			all = append(all, k)
		}
	}
	slices.SortFunc(all, func(a, b key) int {
		return cmp.Or(strings.Compare(a.account, b.account), strings.Compare(a.currency, b.currency))
	})
	accounts, currencies, negative := make([]string, len(all)), make([]string, len(all)), make([]bool, len(all))
	for i, k := range all {
		accounts[i], currencies[i], negative[i] = k.account, k.currency, omnicart.MayGoNegative(k.account)
	}
	netAccounts, netCurrencies := make([]string, len(net)), make([]string, len(net))
	for i, e := range net {
		netAccounts[i], netCurrencies[i] = e.Account, e.Currency
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO ledger_accounts(account, currency, balance, may_go_negative)
		SELECT a.account, a.currency, 0, a.negative FROM unnest($1::text[], $2::text[], $3::boolean[]) AS a(account, currency, negative)
		ORDER BY a.account, a.currency
		ON CONFLICT (account, currency) DO NOTHING`, accounts, currencies, negative)
	b.Queue(`SELECT account, currency, balance FROM ledger_accounts
		WHERE (account, currency) IN (SELECT * FROM unnest($1::text[], $2::text[]))
		ORDER BY account, currency FOR UPDATE`, netAccounts, netCurrencies)
	br := q.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return balances{}, fmt.Errorf("ledger: accounts of %s: %w", j.ID, err)
	}
	rows, err := br.Query()
	if err != nil {
		return balances{}, fmt.Errorf("ledger: balances for %s: %w", j.ID, err)
	}
	current := make(map[key]int64, len(net))
	for rows.Next() {
		var k key
		var v int64
		if err := rows.Scan(&k.account, &k.currency, &v); err != nil {
			rows.Close()
			return balances{}, fmt.Errorf("ledger: balances for %s: %w", j.ID, err)
		}
		current[k] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return balances{}, fmt.Errorf("ledger: balances for %s: %w", j.ID, err)
	}
	if err := br.Close(); err != nil {
		return balances{}, fmt.Errorf("ledger: balances for %s: %w", j.ID, err)
	}
	next := balances{netAccounts, netCurrencies, make([]int64, len(net))}
	for i, e := range net {
		v, err := omnicart.NewBalance(e.Account, e.Currency, current[key{e.Account, e.Currency}], e.Amount)
		if err != nil {
			return balances{}, fmt.Errorf("ledger: post %s: %w", j.ID, err)
		}
		next.balances[i] = v
	}
	return next, nil
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
		seq     int64
		refusal *string
		card    *string
		cur     *string
		amount  *int64
		brand   *string
		last4   *string
		fp      *string
	)
	j := omnicart.Journal{ID: id}
	// The journal and its hold, if any, in one statement.
	err := q.QueryRow(ctx, `SELECT j.seq, j.kind, j.refusal, a.card_account, a.currency, a.amount, a.brand, a.last4, a.fingerprint
		FROM ledger_journals j LEFT JOIN sandbox_authorizations a ON a.ref = j.id WHERE j.id = $1`, id).
		Scan(&seq, &j.Kind, &refusal, &card, &cur, &amount, &brand, &last4, &fp)
	if errors.Is(err, pgx.ErrNoRows) {
		return omnicart.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, omnicart.ErrNoJournal)
	}
	if err != nil {
		return omnicart.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, err)
	}
	if refusal != nil {
		j.Refusal = *refusal
	}
	if card != nil {
		j.Hold = &omnicart.Hold{Ref: id, CardAccount: *card, Currency: *cur, Amount: *amount,
			Card: omnicart.CardInfo{Brand: *brand, Last4: *last4, Fingerprint: *fp}}
	}
	rows, err := q.Query(ctx, `SELECT account, currency, amount FROM ledger_entries WHERE journal_seq = $1 ORDER BY line`, seq)
	if err != nil {
		return omnicart.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, err)
	}
	j.Entries, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (omnicart.Entry, error) {
		var e omnicart.Entry
		err := row.Scan(&e.Account, &e.Currency, &e.Amount)
		return e, err
	})
	if err != nil {
		return omnicart.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, err)
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
	err := q.QueryRow(ctx, `SELECT balance FROM ledger_accounts WHERE account = $1 AND currency = $2`, account, currency).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: balance of %s in %s: %w", account, currency, err)
	}
	return b, nil
}

func readBalances(ctx context.Context, q querier) ([]omnicart.Balance, error) {
	rows, err := q.Query(ctx, `SELECT account, currency, balance FROM ledger_accounts ORDER BY account, currency`)
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
