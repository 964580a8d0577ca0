package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/internal/cartdoc"
)

// Panel is the Merchant Panel's store (omnicart.PanelStore) in the tables
// of migration 0009_panel. Writes go through the group-commit writer;
// reads run on the read-only pool.
type Panel struct {
	db *DB
}

var _ omnicart.PanelStore = (*Panel)(nil)

// NewPanel returns the Panel store kept in db.
func NewPanel(db *DB) *Panel { return &Panel{db: db} }

func (p *Panel) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return p.db.WriteTx(ctx, fn)
}

const userCols = `id, merchant_id, email, role, password_hash, created_at`

func scanUser(sc interface{ Scan(...any) error }) (*omnicart.User, error) {
	var u omnicart.User
	var created int64
	if err := sc.Scan(&u.ID, &u.MerchantID, &u.Email, &u.Role, &u.PasswordHash, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("panel user: %w", omnicart.ErrNotFound)
		}
		return nil, wrap("load panel user", err)
	}
	u.CreatedAt = fromMs(created)
	return &u, nil
}

func (p *Panel) CreateUser(ctx context.Context, u *omnicart.User) error {
	return p.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM merchants WHERE id = ?`, u.MerchantID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("merchant %s: %w", u.MerchantID, omnicart.ErrNotFound)
		}
		if err != nil {
			return wrap("create panel user", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO panel_users(`+userCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
			u.ID, u.MerchantID, u.Email, string(u.Role), u.PasswordHash, ms(u.CreatedAt))
		if isUnique(err) {
			return fmt.Errorf("panel user %s: %w", u.Email, omnicart.ErrConflict)
		}
		return wrap("create panel user", err)
	})
}

func (p *Panel) User(ctx context.Context, id string) (*omnicart.User, error) {
	return scanUser(p.db.ro.QueryRowContext(ctx, `SELECT `+userCols+` FROM panel_users WHERE id = ?`, id))
}

func (p *Panel) UserByEmail(ctx context.Context, email string) (*omnicart.User, error) {
	return scanUser(p.db.ro.QueryRowContext(ctx, `SELECT `+userCols+` FROM panel_users WHERE email = ?`, email))
}

func (p *Panel) Users(ctx context.Context, merchantID string) ([]*omnicart.User, error) {
	rows, err := p.db.ro.QueryContext(ctx, `SELECT `+userCols+` FROM panel_users WHERE ? = '' OR merchant_id = ? ORDER BY created_at, id`, merchantID, merchantID)
	if err != nil {
		return nil, wrap("list panel users", err)
	}
	defer rows.Close()
	var out []*omnicart.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, wrap("list panel users", rows.Err())
}

func (p *Panel) RemoveUser(ctx context.Context, merchantID, id string) error {
	return p.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM panel_sessions WHERE user_id IN (SELECT id FROM panel_users WHERE id = ? AND merchant_id = ?)`, id, merchantID); err != nil {
			return wrap("remove panel user", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM panel_users WHERE id = ? AND merchant_id = ?`, id, merchantID)
		if err != nil {
			return wrap("remove panel user", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("panel user %s: %w", id, omnicart.ErrNotFound)
		}
		return nil
	})
}

func (p *Panel) AddFailedSignIn(ctx context.Context, email, remoteAddr string, at time.Time) error {
	return p.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO panel_failed_signins(email, remote_addr, at) VALUES (?, ?, ?)`, email, remoteAddr, ms(at))
		return wrap("record failed sign-in", err)
	})
}

func (p *Panel) FailedSignIns(ctx context.Context, email string, since time.Time) (int, time.Time, error) {
	var n int
	var first sql.NullInt64
	err := p.db.ro.QueryRowContext(ctx, `SELECT count(*), min(at) FROM panel_failed_signins WHERE email = ? AND at >= ?`, email, ms(since)).Scan(&n, &first)
	if err != nil {
		return 0, time.Time{}, wrap("count failed sign-ins", err)
	}
	var t time.Time
	if first.Valid {
		t = fromMs(first.Int64)
	}
	return n, t, nil
}

func (p *Panel) ClearFailedSignIns(ctx context.Context, email string) error {
	return p.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM panel_failed_signins WHERE email = ?`, email)
		return wrap("clear failed sign-ins", err)
	})
}

func (p *Panel) CreateSession(ctx context.Context, s *omnicart.Session) error {
	return p.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO panel_sessions(hash, user_id, created_at, last_seen_at, remote_addr) VALUES (?, ?, ?, ?, ?)`,
			s.Hash, s.UserID, ms(s.CreatedAt), ms(s.LastSeenAt), s.RemoteAddr)
		if err != nil && strings.Contains(err.Error(), "FOREIGN KEY") {
			return fmt.Errorf("panel user %s: %w", s.UserID, omnicart.ErrNotFound)
		}
		return wrap("create session", err)
	})
}

func (p *Panel) Session(ctx context.Context, hash []byte) (*omnicart.Session, error) {
	s := omnicart.Session{Hash: hash}
	var created, seen int64
	err := p.db.ro.QueryRowContext(ctx, `SELECT user_id, created_at, last_seen_at, remote_addr FROM panel_sessions WHERE hash = ?`, hash).
		Scan(&s.UserID, &created, &seen, &s.RemoteAddr)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("session: %w", omnicart.ErrNotFound)
	}
	if err != nil {
		return nil, wrap("load session", err)
	}
	s.CreatedAt, s.LastSeenAt = fromMs(created), fromMs(seen)
	return &s, nil
}

func (p *Panel) TouchSession(ctx context.Context, hash []byte, at time.Time) error {
	return p.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE panel_sessions SET last_seen_at = max(last_seen_at, ?) WHERE hash = ?`, ms(at), hash)
		return wrap("touch session", err)
	})
}

func (p *Panel) DeleteSession(ctx context.Context, hash []byte) error {
	return p.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM panel_sessions WHERE hash = ?`, hash)
		return wrap("delete session", err)
	})
}

func (p *Panel) AppendAudit(ctx context.Context, e *omnicart.AuditEntry) error {
	return p.write(ctx, func(tx *sql.Tx) error {
		return wrap("append audit", tx.QueryRowContext(ctx, `INSERT INTO panel_audit(merchant_id, actor, action, target, detail, remote_addr, at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, e.MerchantID, e.Actor, e.Action, e.Target, e.Detail, e.RemoteAddr, ms(e.At)).Scan(&e.ID))
	})
}

func (p *Panel) Audit(ctx context.Context, merchantID string, before int64, limit int) ([]omnicart.AuditEntry, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := p.db.ro.QueryContext(ctx, `SELECT id, merchant_id, actor, action, target, detail, remote_addr, at FROM panel_audit
		WHERE merchant_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, merchantID, before, limit)
	if err != nil {
		return nil, wrap("read audit", err)
	}
	defer rows.Close()
	var out []omnicart.AuditEntry
	for rows.Next() {
		var e omnicart.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.MerchantID, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.RemoteAddr, &at); err != nil {
			return nil, wrap("read audit", err)
		}
		e.At = fromMs(at)
		out = append(out, e)
	}
	return out, wrap("read audit", rows.Err())
}

// ListCarts walks the merchant's carts newest first on one of the listing
// indexes (carts_list, carts_list_customer, carts_list_currency, or the
// unique cartId), the date and currency filters checked on the rows the
// index yields. An item-status filter walks the cart_item_statuses rows of
// the status instead (newest cart first, from the cursor), unless a cartId
// or customerId narrows the walk more: then each cart's row there is
// looked up.
func (p *Panel) ListCarts(ctx context.Context, q omnicart.CartQuery) ([]omnicart.ListedCart, error) {
	from := "carts c"
	order := "c.pk"
	where := []string{"c.merchant_id = ?"}
	args := []any{q.MerchantID}
	if q.Status != "" && q.CartID == "" && q.CustomerID == "" {
		// CROSS JOIN: SQLite keeps the order, the status rows outside.
		from, order = "cart_item_statuses s CROSS JOIN carts c ON c.pk = s.cart_pk", "s.cart_pk"
		where = []string{"s.merchant_id = ?", "s.status = ?", "c.merchant_id = ?"}
		args = []any{q.MerchantID, string(q.Status), q.MerchantID}
	}
	if q.CartID != "" {
		where, args = append(where, "c.cart_id = ?"), append(args, q.CartID)
	}
	if q.CustomerID != "" {
		where, args = append(where, "c.customer_id = ?"), append(args, q.CustomerID)
	}
	if q.Currency != "" {
		where, args = append(where, "c.currency = ?"), append(args, q.Currency)
	}
	if q.Status != "" && order == "c.pk" {
		where = append(where, "EXISTS (SELECT 1 FROM cart_item_statuses s WHERE s.merchant_id = c.merchant_id AND s.status = ? AND s.cart_pk = c.pk)")
		args = append(args, string(q.Status))
	}
	if !q.CreatedFrom.IsZero() {
		where, args = append(where, "c.created_at >= ?"), append(args, ms(q.CreatedFrom))
	}
	if !q.CreatedTo.IsZero() {
		where, args = append(where, "c.created_at < ?"), append(args, ms(q.CreatedTo))
	}
	if q.After > 0 {
		where, args = append(where, order+" < ?"), append(args, q.After)
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	args = append(args, q.Limit)
	rows, err := p.db.ro.QueryContext(ctx, `SELECT c.pk, c.doc FROM `+from+` WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+order+` DESC LIMIT ?`, args...)
	if err != nil {
		return nil, wrap("list carts", err)
	}
	defer rows.Close()
	listed, err := cartdoc.ScanListed(rows)
	return listed, wrap("list carts", err)
}

// MoneyDays reads the money_days rows of the days asked for (migration
// 0013: a trigger adds each operation that settles as succeeded).
func (p *Panel) MoneyDays(ctx context.Context, merchantID string, from, to time.Time) ([]omnicart.MoneyDay, error) {
	rows, err := p.db.ro.QueryContext(ctx, `SELECT day, currency, sum(authorized), sum(captured), sum(released), sum(refunded)
		FROM money_days WHERE merchant_id = ? AND day BETWEEN ? AND ? GROUP BY day, currency ORDER BY day, currency`,
		merchantID, omnicart.DayNumber(from), omnicart.DayNumber(to))
	if err != nil {
		return nil, wrap("read money days", err)
	}
	defer rows.Close()
	var out []omnicart.MoneyDay
	for rows.Next() {
		var d omnicart.MoneyDay
		var day int64
		if err := rows.Scan(&day, &d.Currency, &d.Authorized, &d.Captured, &d.Released, &d.Refunded); err != nil {
			return nil, wrap("read money days", err)
		}
		d.Day = omnicart.DayOf(day)
		out = append(out, d)
	}
	return out, wrap("read money days", rows.Err())
}

// CartStatusCounts reads the merchant's counts of carts by status, which
// triggers keep in step with cart_item_statuses (one row per cart and
// status).
func (p *Panel) CartStatusCounts(ctx context.Context, merchantID string) (map[omnicart.Status]int, error) {
	rows, err := p.db.ro.QueryContext(ctx, `SELECT status, sum(n) FROM cart_status_counts WHERE merchant_id = ? GROUP BY status HAVING sum(n) > 0`, merchantID)
	if err != nil {
		return nil, wrap("count carts by status", err)
	}
	defer rows.Close()
	out := map[omnicart.Status]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, wrap("count carts by status", err)
		}
		out[omnicart.Status(st)] = n
	}
	return out, wrap("count carts by status", rows.Err())
}

// CartsDue reads the merchant's carts by next deadline on the
// carts_due_merchant index, documents and all, in one query.
func (p *Panel) CartsDue(ctx context.Context, merchantID string, until time.Time, limit int) ([]*omnicart.Cart, error) {
	rows, err := p.db.ro.QueryContext(ctx, `SELECT pk, doc FROM carts WHERE merchant_id = ? AND next_due_at <= ?
		ORDER BY next_due_at, pk LIMIT ?`, merchantID, ms(until), limit)
	if err != nil {
		return nil, wrap("list due carts", err)
	}
	defer rows.Close()
	carts, err := cartdoc.ScanCarts(rows)
	return carts, wrap("list due carts", err)
}
