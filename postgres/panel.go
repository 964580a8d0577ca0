package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/internal/cartdoc"
)

// Panel is the Merchant Panel's store (omnicart.PanelStore) in the tables
// of migration 0005_panel. Every method is one statement on the pool.
type Panel struct {
	db *DB
}

var _ omnicart.PanelStore = (*Panel)(nil)

// NewPanel returns the Panel store kept in db.
func NewPanel(db *DB) *Panel { return &Panel{db: db} }

const userCols = `id, merchant_id, email, role, password_hash, created_at`

func scanUser(row pgx.Row) (*omnicart.User, error) {
	var u omnicart.User
	var role string
	var created int64
	if err := row.Scan(&u.ID, &u.MerchantID, &u.Email, &role, &u.PasswordHash, &created); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("panel user: %w", omnicart.ErrNotFound)
		}
		return nil, wrap("load panel user", err)
	}
	u.Role, u.CreatedAt = omnicart.Role(role), fromMs(created)
	return &u, nil
}

func (p *Panel) CreateUser(ctx context.Context, u *omnicart.User) error {
	_, err := p.db.pool.Exec(ctx, `INSERT INTO panel_users(`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		u.ID, u.MerchantID, u.Email, string(u.Role), u.PasswordHash, ms(u.CreatedAt))
	switch {
	case isUnique(err):
		return fmt.Errorf("panel user %s: %w", u.Email, omnicart.ErrConflict)
	case ownCode(err, "23503"):
		return fmt.Errorf("merchant %s: %w", u.MerchantID, omnicart.ErrNotFound)
	}
	return wrap("create panel user", err)
}

func (p *Panel) User(ctx context.Context, id string) (*omnicart.User, error) {
	return scanUser(p.db.pool.QueryRow(ctx, `SELECT `+userCols+` FROM panel_users WHERE id = $1`, id))
}

func (p *Panel) UserByEmail(ctx context.Context, email string) (*omnicart.User, error) {
	return scanUser(p.db.pool.QueryRow(ctx, `SELECT `+userCols+` FROM panel_users WHERE email = $1`, email))
}

func (p *Panel) Users(ctx context.Context, merchantID string) ([]*omnicart.User, error) {
	rows, err := p.db.pool.Query(ctx, `SELECT `+userCols+` FROM panel_users WHERE $1 = '' OR merchant_id = $1 ORDER BY created_at, id`, merchantID)
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
	// Sessions go with the user (ON DELETE CASCADE).
	tag, err := p.db.pool.Exec(ctx, `DELETE FROM panel_users WHERE id = $1 AND merchant_id = $2`, id, merchantID)
	if err != nil {
		return wrap("remove panel user", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("panel user %s: %w", id, omnicart.ErrNotFound)
	}
	return nil
}

func (p *Panel) AddFailedSignIn(ctx context.Context, email, remoteAddr string, at time.Time) error {
	_, err := p.db.pool.Exec(ctx, `INSERT INTO panel_failed_signins(email, remote_addr, at) VALUES ($1, $2, $3)`, email, remoteAddr, ms(at))
	return wrap("record failed sign-in", err)
}

func (p *Panel) FailedSignIns(ctx context.Context, email string, since time.Time) (int, time.Time, error) {
	var n int
	var first *int64
	err := p.db.pool.QueryRow(ctx, `SELECT count(*), min(at) FROM panel_failed_signins WHERE email = $1 AND at >= $2`, email, ms(since)).Scan(&n, &first)
	if err != nil {
		return 0, time.Time{}, wrap("count failed sign-ins", err)
	}
	var t time.Time
	if first != nil {
		t = fromMs(*first)
	}
	return n, t, nil
}

func (p *Panel) ClearFailedSignIns(ctx context.Context, email string) error {
	_, err := p.db.pool.Exec(ctx, `DELETE FROM panel_failed_signins WHERE email = $1`, email)
	return wrap("clear failed sign-ins", err)
}

func (p *Panel) CreateSession(ctx context.Context, s *omnicart.Session) error {
	_, err := p.db.pool.Exec(ctx, `INSERT INTO panel_sessions(hash, user_id, created_at, last_seen_at, remote_addr) VALUES ($1, $2, $3, $4, $5)`,
		s.Hash, s.UserID, ms(s.CreatedAt), ms(s.LastSeenAt), s.RemoteAddr)
	if ownCode(err, "23503") {
		return fmt.Errorf("panel user %s: %w", s.UserID, omnicart.ErrNotFound)
	}
	return wrap("create session", err)
}

func (p *Panel) Session(ctx context.Context, hash []byte) (*omnicart.Session, error) {
	s := omnicart.Session{Hash: hash}
	var created, seen int64
	err := p.db.pool.QueryRow(ctx, `SELECT user_id, created_at, last_seen_at, remote_addr FROM panel_sessions WHERE hash = $1`, hash).
		Scan(&s.UserID, &created, &seen, &s.RemoteAddr)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("session: %w", omnicart.ErrNotFound)
	}
	if err != nil {
		return nil, wrap("load session", err)
	}
	s.CreatedAt, s.LastSeenAt = fromMs(created), fromMs(seen)
	return &s, nil
}

func (p *Panel) TouchSession(ctx context.Context, hash []byte, at time.Time) error {
	_, err := p.db.pool.Exec(ctx, `UPDATE panel_sessions SET last_seen_at = GREATEST(last_seen_at, $1) WHERE hash = $2`, ms(at), hash)
	return wrap("touch session", err)
}

func (p *Panel) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := p.db.pool.Exec(ctx, `DELETE FROM panel_sessions WHERE hash = $1`, hash)
	return wrap("delete session", err)
}

func (p *Panel) AppendAudit(ctx context.Context, e *omnicart.AuditEntry) error {
	return wrap("append audit", p.db.pool.QueryRow(ctx, `INSERT INTO panel_audit(merchant_id, actor, action, target, detail, remote_addr, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, e.MerchantID, e.Actor, e.Action, e.Target, e.Detail, e.RemoteAddr, ms(e.At)).Scan(&e.ID))
}

func (p *Panel) Audit(ctx context.Context, merchantID string, before int64, limit int) ([]omnicart.AuditEntry, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := p.db.pool.Query(ctx, `SELECT id, merchant_id, actor, action, target, detail, remote_addr, at FROM panel_audit
		WHERE merchant_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, merchantID, before, limit)
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
	from, order := "carts c", "c.pk"
	where := []string{"c.merchant_id = $1"}
	args := []any{q.MerchantID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	byStatus := q.Status != "" && q.CartID == "" && q.CustomerID == ""
	if byStatus {
		from, order = "cart_item_statuses s JOIN carts c ON c.pk = s.cart_pk", "s.cart_pk"
		where = append(where, "s.merchant_id = $1")
		add("s.status = ?", string(q.Status))
	}
	if q.CartID != "" {
		add("c.cart_id = ?", q.CartID)
	}
	if q.CustomerID != "" {
		add("c.customer_id = ?", q.CustomerID)
	}
	if q.Currency != "" {
		add("c.currency = ?", q.Currency)
	}
	if q.Status != "" && !byStatus {
		add("EXISTS (SELECT 1 FROM cart_item_statuses s WHERE s.merchant_id = c.merchant_id AND s.status = ? AND s.cart_pk = c.pk)", string(q.Status))
	}
	if !q.CreatedFrom.IsZero() {
		add("c.created_at >= ?", ms(q.CreatedFrom))
	}
	if !q.CreatedTo.IsZero() {
		add("c.created_at < ?", ms(q.CreatedTo))
	}
	if q.After > 0 {
		add(order+" < ?", q.After)
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	args = append(args, q.Limit)
	sql := `SELECT c.pk, c.doc FROM ` + from + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + order + ` DESC LIMIT $` + strconv.Itoa(len(args))
	if q.Status != "" {
		// Planned for the status given, not once for all (a cached
		// statement's generic plan): a status no cart has, a rare one and
		// one most carts have are walked best on different indexes.
		args = append([]any{pgx.QueryExecModeExec}, args...)
	}
	rows, err := p.db.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, wrap("list carts", err)
	}
	defer rows.Close()
	listed, err := cartdoc.ScanListed(rows)
	return listed, wrap("list carts", err)
}

// MoneyDays adds up the totals and the moves not folded into them yet of
// the days asked for (migration 0009: a trigger writes a move for each
// operation that settles as succeeded; see rollup.go), in one statement.
func (p *Panel) MoneyDays(ctx context.Context, merchantID string, from, to time.Time) ([]omnicart.MoneyDay, error) {
	rows, err := p.db.pool.Query(ctx, `SELECT day, currency, sum(authorized)::bigint, sum(captured)::bigint, sum(released)::bigint, sum(refunded)::bigint
		FROM (SELECT day, currency, authorized, captured, released, refunded FROM money_days
				WHERE merchant_id = $1 AND day BETWEEN $2 AND $3
			UNION ALL
			SELECT day, currency, authorized, captured, released, refunded FROM money_day_moves
				WHERE merchant_id = $1 AND day BETWEEN $2 AND $3) m
		GROUP BY day, currency ORDER BY day, currency`,
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

// CartStatusCounts adds up the merchant's counts of carts by status and
// the moves not folded into them yet (triggers on cart_item_statuses
// write them; see rollup.go), in one statement.
func (p *Panel) CartStatusCounts(ctx context.Context, merchantID string) (map[omnicart.Status]int, error) {
	rows, err := p.db.pool.Query(ctx, `SELECT status, sum(n)::bigint
		FROM (SELECT status, n FROM cart_status_counts WHERE merchant_id = $1
			UNION ALL
			SELECT status, n FROM cart_status_moves WHERE merchant_id = $1) c
		GROUP BY status HAVING sum(n) > 0`, merchantID)
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
	rows, err := p.db.pool.Query(ctx, `SELECT pk, doc FROM carts WHERE merchant_id = $1 AND next_due_at <= $2
		ORDER BY next_due_at, pk LIMIT $3`, merchantID, ms(until), limit)
	if err != nil {
		return nil, wrap("list due carts", err)
	}
	defer rows.Close()
	carts, err := cartdoc.ScanCarts(rows)
	return carts, wrap("list due carts", err)
}
