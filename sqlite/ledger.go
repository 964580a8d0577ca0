package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/omnicart/omnicart/sandbox"
)

// Ledger is the sandbox issuer's double-entry ledger (sandbox.Ledger) in the
// tables of migration 0002_ledger. It is safe for concurrent use: every Post
// is one write transaction, and reads see committed state only.
type Ledger struct {
	db *DB
}

var _ sandbox.Ledger = (*Ledger)(nil)

// NewLedger returns the ledger kept in db.
func NewLedger(db *DB) *Ledger { return &Ledger{db: db} }

// Post applies j atomically unless a journal with its id was recorded
// before, in which case it returns posted false and changes nothing. Errors
// wrap sandbox.ErrInvalidJournal (malformed journal, balance overflow),
// sandbox.ErrInsufficientFunds (an account that may not go negative would),
// or the database's error; nothing is applied then.
func (l *Ledger) Post(ctx context.Context, j sandbox.Journal) (posted bool, err error) {
	if err := j.Validate(); err != nil {
		return false, err
	}
	err = l.db.WriteTx(ctx, func(tx *sql.Tx) error {
		var seq int64
		err := tx.QueryRowContext(ctx, `SELECT seq FROM ledger_journals WHERE id = ?`, j.ID).Scan(&seq)
		if err == nil {
			return nil // already recorded
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("ledger: journal %s: %w", j.ID, err)
		}
		if err := applyNet(ctx, tx, j); err != nil {
			return err
		}
		if err := record(ctx, tx, j); err != nil {
			return err
		}
		posted = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return posted, nil
}

// applyNet adds the net effect of j to the balances, creating accounts as
// needed, after checking every new balance.
func applyNet(ctx context.Context, tx *sql.Tx, j sandbox.Journal) error {
	for _, e := range j.Net() {
		var balance int64
		err := tx.QueryRowContext(ctx, `SELECT balance FROM ledger_accounts WHERE account = ? AND currency = ?`,
			e.Account, e.Currency).Scan(&balance)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("ledger: balance of %s: %w", e.Account, err)
		}
		next, err := sandbox.NewBalance(e.Account, e.Currency, balance, e.Amount)
		if err != nil {
			return fmt.Errorf("ledger: post %s: %w", j.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO ledger_accounts(account, currency, balance, may_go_negative) VALUES (?, ?, ?, ?)
			ON CONFLICT (account, currency) DO UPDATE SET balance = excluded.balance`,
			e.Account, e.Currency, next, sandbox.MayGoNegative(e.Account)); err != nil {
			return fmt.Errorf("ledger: update %s: %w", e.Account, err)
		}
	}
	return nil
}

// record stores j, its entries and its hold. Accounts whose entries cancel
// out within j get a row too, so that every entry names an account.
func record(ctx context.Context, tx *sql.Tx, j sandbox.Journal) error {
	var refusal sql.NullString
	if j.Refusal != "" {
		refusal = sql.NullString{String: j.Refusal, Valid: true}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO ledger_journals(id, kind, refusal) VALUES (?, ?, ?)`, j.ID, j.Kind, refusal)
	if err != nil {
		return fmt.Errorf("ledger: record %s: %w", j.ID, err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("ledger: record %s: %w", j.ID, err)
	}
	for n, e := range j.Entries {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO ledger_accounts(account, currency, balance, may_go_negative) VALUES (?, ?, 0, ?)
			ON CONFLICT (account, currency) DO NOTHING`,
			e.Account, e.Currency, sandbox.MayGoNegative(e.Account)); err != nil {
			return fmt.Errorf("ledger: account %s: %w", e.Account, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_entries(journal_seq, line, account, currency, amount) VALUES (?, ?, ?, ?, ?)`,
			seq, n, e.Account, e.Currency, e.Amount); err != nil {
			return fmt.Errorf("ledger: record %s: %w", j.ID, err)
		}
	}
	if h := j.Hold; h != nil {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO sandbox_authorizations(ref, card_account, currency, amount, brand, last4, fingerprint)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			h.Ref, h.CardAccount, h.Currency, h.Amount, h.Card.Brand, h.Card.Last4, h.Card.Fingerprint); err != nil {
			return fmt.Errorf("ledger: record hold %s: %w", h.Ref, err)
		}
	}
	return nil
}

// Journal returns the journal recorded under id, with its entries in the
// order posted and its hold. It returns an error wrapping sandbox.ErrNotFound
// when there is none.
func (l *Ledger) Journal(ctx context.Context, id string) (sandbox.Journal, error) {
	db := l.db.SQL()
	var (
		seq     int64
		refusal sql.NullString
	)
	j := sandbox.Journal{ID: id}
	err := db.QueryRowContext(ctx, `SELECT seq, kind, refusal FROM ledger_journals WHERE id = ?`, id).Scan(&seq, &j.Kind, &refusal)
	if errors.Is(err, sql.ErrNoRows) {
		return sandbox.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, sandbox.ErrNotFound)
	}
	if err != nil {
		return sandbox.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, err)
	}
	j.Refusal = refusal.String
	rows, err := db.QueryContext(ctx, `SELECT account, currency, amount FROM ledger_entries WHERE journal_seq = ? ORDER BY line`, seq)
	if err != nil {
		return sandbox.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e sandbox.Entry
		if err := rows.Scan(&e.Account, &e.Currency, &e.Amount); err != nil {
			return sandbox.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, err)
		}
		j.Entries = append(j.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return sandbox.Journal{}, fmt.Errorf("ledger: journal %q: %w", id, err)
	}
	h, err := l.Hold(ctx, id)
	switch {
	case err == nil:
		j.Hold = &h
	case !errors.Is(err, sandbox.ErrNotFound):
		return sandbox.Journal{}, err
	}
	return j, nil
}

// Hold returns the hold of authorization ref, or an error wrapping
// sandbox.ErrNotFound.
func (l *Ledger) Hold(ctx context.Context, ref string) (sandbox.Hold, error) {
	h := sandbox.Hold{Ref: ref}
	err := l.db.SQL().QueryRowContext(ctx, `
		SELECT card_account, currency, amount, brand, last4, fingerprint
		FROM sandbox_authorizations WHERE ref = ?`, ref).
		Scan(&h.CardAccount, &h.Currency, &h.Amount, &h.Card.Brand, &h.Card.Last4, &h.Card.Fingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		return sandbox.Hold{}, fmt.Errorf("ledger: hold %q: %w", ref, sandbox.ErrNotFound)
	}
	if err != nil {
		return sandbox.Hold{}, fmt.Errorf("ledger: hold %q: %w", ref, err)
	}
	return h, nil
}

// Balance returns the balance of account in currency, 0 for an account
// never posted to. Errors are the database's.
func (l *Ledger) Balance(ctx context.Context, account, currency string) (int64, error) {
	var b int64
	err := l.db.SQL().QueryRowContext(ctx, `SELECT balance FROM ledger_accounts WHERE account = ? AND currency = ?`,
		account, currency).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: balance of %s in %s: %w", account, currency, err)
	}
	return b, nil
}

// Balances returns every account's balance, ordered by account then
// currency, read in one statement so that the set is consistent. Errors are
// the database's.
func (l *Ledger) Balances(ctx context.Context) ([]sandbox.Balance, error) {
	rows, err := l.db.SQL().QueryContext(ctx, `SELECT account, currency, balance FROM ledger_accounts ORDER BY account, currency`)
	if err != nil {
		return nil, fmt.Errorf("ledger: balances: %w", err)
	}
	defer rows.Close()
	var out []sandbox.Balance
	for rows.Next() {
		var b sandbox.Balance
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
