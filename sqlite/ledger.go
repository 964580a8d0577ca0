package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/omnicart/omnicart"
)

// Ledger is the sandbox issuer's double-entry ledger (omnicart.Ledger) in
// the tables of migration 0002_ledger, each call its own transaction: every
// Post is a unit of the group-commit writer, reads see committed state
// only. Inside a Store transaction, Tx.Ledger gives the same ledger joined
// to that transaction.
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
// would), or the database's error; nothing is applied then.
func (l *Ledger) Post(ctx context.Context, j omnicart.Journal) (posted bool, err error) {
	if err := j.Validate(); err != nil {
		return false, err
	}
	err = l.db.WriteTx(ctx, func(tx *sql.Tx) error {
		var err error
		posted, err = postJournal(ctx, &txn{tx: tx, db: l.db, cache: &l.db.wstmts}, j)
		return err
	})
	if err != nil {
		return false, err
	}
	return posted, nil
}

// Journal returns the journal recorded under id (see txLedger.Journal).
func (l *Ledger) Journal(ctx context.Context, id string) (omnicart.Journal, error) {
	return readJournal(ctx, l.db.reader(), id)
}

// Hold returns the hold of authorization ref, or an error wrapping
// omnicart.ErrNoJournal.
func (l *Ledger) Hold(ctx context.Context, ref string) (omnicart.Hold, error) {
	return readHold(ctx, l.db.reader(), ref)
}

// Balance returns the balance of account in currency, 0 for an account
// never posted to. Errors are the database's.
func (l *Ledger) Balance(ctx context.Context, account, currency string) (int64, error) {
	return readBalance(ctx, l.db.reader(), account, currency)
}

// Balances returns every account's balance, ordered by account then
// currency, read in one statement so that the set is consistent. Errors are
// the database's.
func (l *Ledger) Balances(ctx context.Context) ([]omnicart.Balance, error) {
	return readBalances(ctx, l.db.reader())
}

// txLedger is the ledger inside a Store transaction: what it posts commits
// or rolls back with that transaction.
type txLedger struct{ t *txn }

// Ledger returns the sandbox ledger joined to the transaction.
func (t *txn) Ledger() omnicart.Ledger { return txLedger{t} }

func (l txLedger) Post(ctx context.Context, j omnicart.Journal) (bool, error) {
	if err := j.Validate(); err != nil {
		return false, err
	}
	// No savepoint: postJournal refuses (funds, overflow) before it
	// writes anything, so a refused journal leaves nothing behind while
	// the rest of the transaction goes on. Any other error (the
	// database's, possibly after some of the journal was written, or
	// after SQLite rolled the whole transaction back itself) breaks the
	// transaction instead (see txn.broken), whatever the caller does next.
	posted, err := postJournal(context.WithoutCancel(ctx), l.t, j)
	if err != nil && !errors.Is(err, omnicart.ErrInsufficientFunds) && !errors.Is(err, omnicart.ErrInvalidJournal) {
		l.t.broken = err
	}
	return posted, err
}

func (l txLedger) Journal(ctx context.Context, id string) (omnicart.Journal, error) {
	return readJournal(ctx, l.t, id)
}

func (l txLedger) Hold(ctx context.Context, ref string) (omnicart.Hold, error) {
	return readHold(ctx, l.t, ref)
}

func (l txLedger) Balance(ctx context.Context, account, currency string) (int64, error) {
	return readBalance(ctx, l.t, account, currency)
}

func (l txLedger) Balances(ctx context.Context) ([]omnicart.Balance, error) {
	return readBalances(ctx, l.t)
}

// postJournal applies j in q's transaction unless its id is recorded. It
// reads and checks everything first (one statement: whether the id is
// recorded, and the balances j changes), so that a refusal writes nothing.
func postJournal(ctx context.Context, q stmtRunner, j omnicart.Journal) (bool, error) {
	net := j.Net()
	recorded, balances, err := readForPost(ctx, q, j.ID, net)
	if err != nil || recorded {
		return false, err
	}
	upsert := make([]any, 0, 4*len(net))
	for _, e := range net {
		next, err := omnicart.NewBalance(e.Account, e.Currency, balances[[2]string{e.Account, e.Currency}], e.Amount)
		if err != nil {
			return false, fmt.Errorf("ledger: post %s: %w", j.ID, err)
		}
		upsert = append(upsert, e.Account, e.Currency, next, omnicart.MayGoNegative(e.Account))
	}
	var refusal sql.NullString
	if j.Refusal != "" {
		refusal = sql.NullString{String: j.Refusal, Valid: true}
	}
	// An Exec, the journal's seq being its rowid (an INSERT … RETURNING
	// read through the driver costs about twice as much). The unique id
	// guards against a journal recorded since the read, which the write
	// lock held from BEGIN rules out.
	res, err := q.exec(ctx, `INSERT INTO ledger_journals(id, kind, refusal) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING`,
		j.ID, j.Kind, refusal)
	if err != nil {
		return false, fmt.Errorf("ledger: record %s: %w", j.ID, err)
	}
	// RowsAffected first: after a conflict LastInsertId is an earlier
	// row's.
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("ledger: record %s: %w", j.ID, err)
	}
	if n == 0 {
		return false, nil // recorded meanwhile, nothing written
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return false, fmt.Errorf("ledger: record %s: %w", j.ID, err)
	}
	if len(net) > 0 {
		if _, err := q.exec(ctx, `INSERT INTO ledger_accounts(account, currency, balance, may_go_negative) VALUES `+
			placeholders(len(net), "(?, ?, ?, ?)")+` ON CONFLICT (account, currency) DO UPDATE SET balance = excluded.balance`, upsert...); err != nil {
			return false, fmt.Errorf("ledger: update balances for %s: %w", j.ID, err)
		}
	}
	if err := record(ctx, q, j, seq); err != nil {
		return false, err
	}
	return true, nil
}

// readForPost reports whether a journal is recorded under id and reads the
// balances of the accounts of net (missing ones are 0), in one statement:
// the journal's row comes with a NULL account. The balances are an OR of
// primary-key equalities, which SQLite answers with one index search each
// (a row-value IN over VALUES would scan the table).
func readForPost(ctx context.Context, q stmtRunner, id string, net []omnicart.Entry) (bool, map[[2]string]int64, error) {
	query := `SELECT NULL, NULL, seq FROM ledger_journals WHERE id = ?`
	args := make([]any, 0, 1+2*len(net))
	args = append(args, id)
	if len(net) > 0 {
		query += ` UNION ALL SELECT account, currency, balance FROM ledger_accounts WHERE ` +
			strings.TrimSuffix(strings.Repeat("(account = ? AND currency = ?) OR ", len(net)), " OR ")
		for _, e := range net {
			args = append(args, e.Account, e.Currency)
		}
	}
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return false, nil, fmt.Errorf("ledger: balances for %s: %w", id, err)
	}
	recorded := false
	balances := make(map[[2]string]int64, len(net))
	for rows.Next() {
		var acc, cur sql.NullString
		var b int64
		if err := rows.Scan(&acc, &cur, &b); err != nil {
			rows.Close()
			return false, nil, fmt.Errorf("ledger: balances for %s: %w", id, err)
		}
		if !acc.Valid {
			recorded = true
			continue
		}
		balances[[2]string{acc.String, cur.String}] = b
	}
	// A read that failed part-way must not pass for balances of 0.
	if err := rows.Err(); err != nil {
		rows.Close()
		return false, nil, fmt.Errorf("ledger: balances for %s: %w", id, err)
	}
	if err := rows.Close(); err != nil {
		return false, nil, fmt.Errorf("ledger: balances for %s: %w", id, err)
	}
	return recorded, balances, nil
}

// record stores the entries and hold of j, recorded as journal seq.
// Accounts whose entries cancel out within j get a row too, so that every
// entry names an account.
func record(ctx context.Context, q stmtRunner, j omnicart.Journal, seq int64) error {
	if len(j.Entries) > 0 {
		net := map[[2]string]bool{}
		for _, e := range j.Net() {
			net[[2]string{e.Account, e.Currency}] = true
		}
		args := make([]any, 0, 5*len(j.Entries))
		for n, e := range j.Entries {
			if !net[[2]string{e.Account, e.Currency}] {
				if _, err := q.exec(ctx, `
			INSERT INTO ledger_accounts(account, currency, balance, may_go_negative) VALUES (?, ?, 0, ?)
			ON CONFLICT (account, currency) DO NOTHING`,
					e.Account, e.Currency, omnicart.MayGoNegative(e.Account)); err != nil {
					return fmt.Errorf("ledger: account %s: %w", e.Account, err)
				}
			}
			args = append(args, seq, n, e.Account, e.Currency, e.Amount)
		}
		if _, err := q.exec(ctx, `INSERT INTO ledger_entries(journal_seq, line, account, currency, amount) VALUES `+
			placeholders(len(j.Entries), "(?, ?, ?, ?, ?)"), args...); err != nil {
			return fmt.Errorf("ledger: record %s: %w", j.ID, err)
		}
	}
	if h := j.Hold; h != nil {
		if _, err := q.exec(ctx, `
			INSERT INTO sandbox_authorizations(ref, card_account, currency, amount, brand, last4, fingerprint)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			h.Ref, h.CardAccount, h.Currency, h.Amount, h.Card.Brand, h.Card.Last4, h.Card.Fingerprint); err != nil {
			return fmt.Errorf("ledger: record hold %s: %w", h.Ref, err)
		}
	}
	return nil
}

// placeholders repeats group n times, comma-separated.
func placeholders(n int, group string) string {
	return strings.TrimSuffix(strings.Repeat(group+", ", n), ", ")
}

// readJournal returns the journal recorded under id, with its entries in
// the order posted and its hold, or an error wrapping omnicart.ErrNoJournal.
func readJournal(ctx context.Context, q stmtRunner, id string) (omnicart.Journal, error) {
	var (
		seq     int64
		refusal sql.NullString
		card    sql.NullString
		h       = omnicart.Hold{Ref: id}
	)
	j := omnicart.Journal{ID: id}
	// The journal and its hold, if any, in one statement.
	err := q.queryRow(ctx, `SELECT j.seq, j.kind, j.refusal, a.card_account, a.currency, a.amount, a.brand, a.last4, a.fingerprint
		FROM ledger_journals j LEFT JOIN sandbox_authorizations a ON a.ref = j.id WHERE j.id = ?`, id).
		Scan(&seq, &j.Kind, &refusal, &card, nullString{&h.Currency}, nullInt{&h.Amount}, nullString{&h.Card.Brand},
			nullString{&h.Card.Last4}, nullString{&h.Card.Fingerprint})
	if errors.Is(err, sql.ErrNoRows) {
		return omnicart.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, omnicart.ErrNoJournal)
	}
	if err != nil {
		return omnicart.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, err)
	}
	j.Refusal = refusal.String
	if card.Valid {
		h.CardAccount = card.String
		j.Hold = &h
	}
	rows, err := q.query(ctx, `SELECT account, currency, amount FROM ledger_entries WHERE journal_seq = ? ORDER BY line`, seq)
	if err != nil {
		return omnicart.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e omnicart.Entry
		if err := rows.Scan(&e.Account, &e.Currency, &e.Amount); err != nil {
			return omnicart.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, err)
		}
		j.Entries = append(j.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return omnicart.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, err)
	}
	return j, nil
}

// nullString and nullInt scan a column that may be NULL (a LEFT JOIN that
// found nothing) into a plain string or integer, leaving it unset then.
type nullString struct{ p *string }

func (n nullString) Scan(v any) error {
	var s sql.NullString
	if err := s.Scan(v); err != nil {
		return err
	}
	*n.p = s.String
	return nil
}

type nullInt struct{ p *int64 }

func (n nullInt) Scan(v any) error {
	var i sql.NullInt64
	if err := i.Scan(v); err != nil {
		return err
	}
	*n.p = i.Int64
	return nil
}

func readHold(ctx context.Context, q stmtRunner, ref string) (omnicart.Hold, error) {
	h := omnicart.Hold{Ref: ref}
	err := q.queryRow(ctx, `
		SELECT card_account, currency, amount, brand, last4, fingerprint
		FROM sandbox_authorizations WHERE ref = ?`, ref).
		Scan(&h.CardAccount, &h.Currency, &h.Amount, &h.Card.Brand, &h.Card.Last4, &h.Card.Fingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		return omnicart.Hold{}, fmt.Errorf("ledger: hold %q: %w", ref, omnicart.ErrNoJournal)
	}
	if err != nil {
		return omnicart.Hold{}, fmt.Errorf("ledger: hold %q: %w", ref, err)
	}
	return h, nil
}

func readBalance(ctx context.Context, q stmtRunner, account, currency string) (int64, error) {
	var b int64
	err := q.queryRow(ctx, `SELECT balance FROM ledger_accounts WHERE account = ? AND currency = ?`,
		account, currency).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: balance of %s in %s: %w", account, currency, err)
	}
	return b, nil
}

func readBalances(ctx context.Context, q stmtRunner) ([]omnicart.Balance, error) {
	rows, err := q.query(ctx, `SELECT account, currency, balance FROM ledger_accounts ORDER BY account, currency`)
	if err != nil {
		return nil, fmt.Errorf("ledger: balances: %w", err)
	}
	defer rows.Close()
	var out []omnicart.Balance
	for rows.Next() {
		var b omnicart.Balance
		if err := rows.Scan(&b.Account, &b.Currency, &b.Amount); err != nil {
			return nil, fmt.Errorf("ledger: balances: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: balances: %w", err)
	}
	return out, nil
}
