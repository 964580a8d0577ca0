package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/omnicart/omnicart"
)

// Store implements omnicart.Store.
type Store struct {
	*DB
}

// NewStore returns the store of db.
func NewStore(db *DB) *Store { return &Store{DB: db} }

var _ omnicart.Store = (*Store)(nil)

// Tx runs fn as one unit of the group-commit writer (see DB.WriteTx): it
// returns once what fn did is committed and synced, or rolled back when fn
// returns an error.
func (s *Store) Tx(ctx context.Context, fn func(omnicart.Tx) error) error {
	return s.WriteTx(ctx, func(tx *sql.Tx) error {
		t := &txn{tx: tx, db: s.DB, cache: &s.wstmts}
		err := fn(t)
		if err == nil && t.broken != nil {
			return t.broken // whatever fn made of it, the unit is rolled back
		}
		return err
	})
}

// View runs fn in a read transaction on the read-only pool: it sees a
// consistent committed snapshot and never waits for the writer.
func (s *Store) View(ctx context.Context, fn func(omnicart.Tx) error) error {
	tx, err := s.ro.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(&txn{tx: tx, db: s.DB, cache: &s.rstmts, readOnly: true})
}

// Read runs fn with reads on the read-only pool, each statement on its own:
// every read sees committed state, but two reads may see different
// moments. It costs no transaction, for hot paths whose reads need no
// common snapshot (authentication, a status).
func (s *Store) Read(ctx context.Context, fn func(omnicart.Tx) error) error {
	return fn(&txn{db: s.DB, cache: &s.rstmts, readOnly: true})
}

// stmtRunner runs statements, prepared once per connection and cached.
type stmtRunner interface {
	exec(ctx context.Context, q string, args ...any) (sql.Result, error)
	query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	queryRow(ctx context.Context, q string, args ...any) *sql.Row
}

type txn struct {
	tx       *sql.Tx
	db       *DB
	cache    *stmtCache
	readOnly bool
	// timerless marks the carts loaded in this transaction with no timer,
	// whose saves need not touch item_timers while they still have none.
	timerless map[int64]bool
	// statuses are the item statuses (statusSet) that cart_item_statuses
	// holds for the carts created or loaded in this write transaction, so
	// that a save that leaves them unchanged writes no row there.
	statuses map[int64][]string
	// merchantRead is the merchant row read with an API key, which the
	// Merchant call that follows in authentication reads instead of
	// running a statement of its own.
	merchantRead *merchantRow
	// pks are the rows of the carts created or loaded in this write
	// transaction, by merchant and cart id, so that a save updates its
	// row by pk without asking for the pk back (an UPDATE … RETURNING
	// read through the driver costs about twice a plain one).
	pks map[[2]string]int64
	// broken is the error of a ledger post that failed other than by a
	// refusal (posts keep no savepoint of their own, so some of it may be
	// written): the unit of work fails with it, and what was written is
	// rolled back, even if the caller went on.
	broken error
}

// merchantRow is a merchant's row as read with an API key.
type merchantRow struct {
	id, doc string
	offset  int64
}

// exec, query and queryRow run a statement prepared once per connection
// and cached (parsing SQL is a large share of a small transaction's cost),
// or the plain query until it is prepared. A write transaction is shared
// by the units of a batch: a request's cancellation must not interrupt a
// statement (SQLite would roll the whole transaction back), so its
// statements run without it. A txn without tx (Store.Read) runs each
// statement on the read pool on its own.
func (t *txn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx = t.stmtCtx(ctx)
	if t.tx == nil {
		return pool{db: t.db.ro, cache: t.cache}.exec(ctx, q, args...)
	}
	if st := t.cache.get(q); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}

func (t *txn) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx = t.stmtCtx(ctx)
	if t.tx == nil {
		return pool{db: t.db.ro, cache: t.cache}.query(ctx, q, args...)
	}
	if st := t.cache.get(q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}

func (t *txn) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	// A one-row read is short: it runs to its end even if ctx is
	// cancelled or past its deadline, which spares the driver its
	// interrupt hook per read and, outside a transaction (Store.Read:
	// authentication, GET /status), database/sql the goroutine that
	// watches a cancellable context.
	ctx = context.WithoutCancel(ctx)
	if t.tx == nil {
		return pool{db: t.db.ro, cache: t.cache}.queryRow(ctx, q, args...)
	}
	if st := t.cache.get(q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

func (t *txn) stmtCtx(ctx context.Context) context.Context {
	if t.readOnly {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// pool runs single statements on the read-only pool.
type pool struct {
	db    *sql.DB
	cache *stmtCache
}

func (d *DB) reader() pool { return pool{db: d.ro, cache: &d.rstmts} }

func (p pool) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := p.cache.get(q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.db.ExecContext(ctx, q, args...)
}

func (p pool) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := p.cache.get(q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, q, args...)
}

func (p pool) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := p.cache.get(q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, q, args...)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func (t *txn) CreateMerchant(ctx context.Context, m *omnicart.Merchant) error {
	doc, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO merchants(id, name, doc, created_at) VALUES (?, ?, ?, ?)`,
		m.ID, m.Name, string(doc), ms(m.CreatedAt))
	if isUnique(err) {
		return omnicart.ErrConflict
	}
	return wrap("create merchant", err)
}

func (t *txn) Merchant(ctx context.Context, id string) (*omnicart.Merchant, error) {
	var doc string
	var offset int64
	if r := t.merchantRead; r != nil && r.id == id && t.readOnly {
		// Read with the key by this read-only txn: in a View the same
		// snapshot, in a Read as current as a statement of its own (a
		// write transaction, which may change the merchant, reads again).
		doc, offset = r.doc, r.offset
	} else {
		err := t.queryRow(ctx, `SELECT doc, clock_offset_ms FROM merchants WHERE id = ?`, id).Scan(&doc, &offset)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, omnicart.ErrNotFound
		}
		if err != nil {
			return nil, wrap("load merchant", err)
		}
	}
	m, err := t.db.decodeMerchant(id, doc)
	if err != nil {
		return nil, err
	}
	m.ClockOffset = time.Duration(offset) * time.Millisecond
	return &m, nil
}

// parsedMerchant is a merchant document and its decoded value.
type parsedMerchant struct {
	doc string
	m   omnicart.Merchant
}

// decodeMerchant decodes a merchant document, reusing the value decoded
// from the same text last time (a merchant is read by every request; its
// document rarely changes). Merchant holds only values, so the copy
// returned shares nothing with the cache.
func (d *DB) decodeMerchant(id, doc string) (omnicart.Merchant, error) {
	if v, ok := d.merchants.Load(id); ok && v.(*parsedMerchant).doc == doc {
		return v.(*parsedMerchant).m, nil
	}
	var m omnicart.Merchant
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		return m, fmt.Errorf("decode merchant %s: %w", id, err)
	}
	d.merchants.Store(id, &parsedMerchant{doc: doc, m: m})
	return m, nil
}

func (t *txn) Merchants(ctx context.Context) ([]*omnicart.Merchant, error) {
	rows, err := t.query(ctx, `SELECT doc, clock_offset_ms FROM merchants ORDER BY created_at, id`)
	if err != nil {
		return nil, wrap("list merchants", err)
	}
	defer rows.Close()
	var out []*omnicart.Merchant
	for rows.Next() {
		var doc string
		var offset int64
		if err := rows.Scan(&doc, &offset); err != nil {
			return nil, err
		}
		var m omnicart.Merchant
		if err := json.Unmarshal([]byte(doc), &m); err != nil {
			return nil, err
		}
		m.ClockOffset = time.Duration(offset) * time.Millisecond
		out = append(out, &m)
	}
	return out, rows.Err()
}

func (t *txn) CreateAPIKey(ctx context.Context, k *omnicart.APIKey) error {
	_, err := t.exec(ctx, `INSERT INTO api_keys(hash, prefix, merchant_id, methods, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)`,
		k.Hash, k.Prefix, k.MerchantID, strings.Join(k.Methods, ","), ms(k.CreatedAt), string(k.CreatedBy))
	if isUnique(err) {
		return omnicart.ErrConflict
	}
	return wrap("create api key", err)
}

// scanKey scans a key's columns (keyColumns), then into more.
func scanKey(sc interface{ Scan(...any) error }, more ...any) (*omnicart.APIKey, error) {
	var k omnicart.APIKey
	var methods string
	var created int64
	var revoked, used sql.NullInt64
	var createdBy string // a plain string: rawRow scans it without reflection
	if err := sc.Scan(append([]any{&k.Hash, &k.Prefix, &k.MerchantID, &methods, &created, &revoked, &used, &createdBy}, more...)...); err != nil {
		return nil, err
	}
	k.CreatedBy = omnicart.Actor(createdBy)
	if methods != "" {
		k.Methods = strings.Split(methods, ",")
	}
	k.CreatedAt = fromMs(created)
	if revoked.Valid {
		r := fromMs(revoked.Int64)
		k.RevokedAt = &r
	}
	if used.Valid {
		u := fromMs(used.Int64)
		k.LastUsedAt = &u
	}
	return &k, nil
}

// keyColumns are the columns scanKey reads, of api_keys as k.
const keyColumns = `k.hash, k.prefix, k.merchant_id, k.methods, k.created_at, k.revoked_at, k.last_used_at, k.created_by`

// APIKeyByHash reads the key with its merchant's row in one statement
// (authentication reads the merchant next: see merchantRead). In a Read
// asked for a cart (omnicart.CartPrefetch, GET /status) the same
// statement reads that cart of the key's merchant, which the Cart call
// that follows takes; a transaction reads its carts itself. The rows
// are read by scalar subqueries, not joins: SQLite runs these in well
// under half the time of the same statement written with joins.
func (t *txn) APIKeyByHash(ctx context.Context, hash []byte) (*omnicart.APIKey, error) {
	const keyAndMerchant = `SELECT ` + keyColumns + `,
		(SELECT doc FROM merchants WHERE id = k.merchant_id),
		(SELECT clock_offset_ms FROM merchants WHERE id = k.merchant_id)`
	const where = ` FROM api_keys k WHERE k.hash = ?1 AND k.revoked_at IS NULL`
	pre := omnicart.CartPrefetchOf(ctx)
	if t.tx != nil {
		pre = nil
	}
	var m merchantRow
	var mdoc sql.NullString
	var offset sql.NullInt64
	var k *omnicart.APIKey
	var err error
	var doc []byte
	// Outside a transaction (authentication) the read runs through the
	// driver directly (rawReads); in one, as the transaction's other reads.
	row := func(q string, args ...any) interface{ Scan(...any) error } {
		if t.tx == nil {
			return t.db.raw.queryRow(q, args...)
		}
		return t.queryRow(ctx, q, args...)
	}
	if pre != nil {
		k, err = scanKey(row(keyAndMerchant+`,
			(SELECT doc FROM carts WHERE merchant_id = k.merchant_id AND cart_id = ?2)`+where, hash, pre.CartID()), &mdoc, &offset, &doc)
	} else {
		k, err = scanKey(row(keyAndMerchant+where, hash), &mdoc, &offset)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, omnicart.ErrNotFound
	}
	if err != nil {
		return nil, wrap("load api key", err)
	}
	if mdoc.Valid && offset.Valid { // else the key's merchant is gone: Merchant says so
		m.id, m.doc, m.offset = k.MerchantID, mdoc.String, offset.Int64
		t.merchantRead = &m
	}
	if pre != nil {
		var decode func() (*omnicart.Cart, error)
		if doc != nil {
			decode = func() (*omnicart.Cart, error) {
				c, err := t.db.carts.Decode(doc)
				if err != nil {
					return nil, fmt.Errorf("decode cart %s: %w", pre.CartID(), err)
				}
				return c, nil
			}
		}
		pre.Keep(k.MerchantID, decode)
	}
	return k, nil
}

func (t *txn) APIKeys(ctx context.Context, merchantID string) ([]*omnicart.APIKey, error) {
	rows, err := t.query(ctx, `SELECT `+keyColumns+` FROM api_keys k WHERE merchant_id = ? ORDER BY created_at`, merchantID)
	if err != nil {
		return nil, wrap("list api keys", err)
	}
	defer rows.Close()
	var out []*omnicart.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (t *txn) TouchAPIKey(ctx context.Context, hash []byte, at time.Time) error {
	_, err := t.exec(ctx, `UPDATE api_keys SET last_used_at = ? WHERE hash = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
		ms(at), hash, ms(at))
	return wrap("touch api key", err)
}

func (t *txn) RevokeAPIKey(ctx context.Context, merchantID, prefix string, at time.Time) error {
	if prefix == "" {
		return omnicart.ErrNotFound
	}
	rows, err := t.query(ctx, `SELECT hash FROM api_keys WHERE merchant_id = ? AND revoked_at IS NULL AND substr(prefix, 1, ?) = ?`,
		merchantID, len(prefix), prefix)
	if err != nil {
		return wrap("find api key", err)
	}
	var hashes [][]byte
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return err
		}
		hashes = append(hashes, h)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return wrap("find api key", err)
	}
	rows.Close()
	switch {
	case len(hashes) == 0:
		return omnicart.ErrNotFound
	case len(hashes) > 1:
		return omnicart.ErrConflict
	}
	_, err = t.exec(ctx, `UPDATE api_keys SET revoked_at = ? WHERE hash = ?`, ms(at), hashes[0])
	return wrap("revoke api key", err)
}

func (t *txn) PutCatalogItems(ctx context.Context, merchantID string, items []omnicart.CatalogItem) error {
	for _, it := range items {
		_, err := t.exec(ctx, `INSERT INTO catalog_items(merchant_id, item_id, display_name) VALUES (?, ?, ?)
			ON CONFLICT(merchant_id, item_id) DO UPDATE SET display_name = excluded.display_name`, merchantID, it.ItemID, it.DisplayName)
		if err != nil {
			return wrap("put catalog item", err)
		}
	}
	return nil
}

func (t *txn) CatalogItems(ctx context.Context, merchantID string, ids []string) ([]omnicart.CatalogItem, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, merchantID)
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := t.query(ctx, `SELECT item_id, display_name FROM catalog_items WHERE merchant_id = ? AND item_id IN (`+
		placeholders(len(ids), "?")+`)`, args...)
	if err != nil {
		return nil, wrap("load catalog items", err)
	}
	defer rows.Close()
	var out []omnicart.CatalogItem
	for rows.Next() {
		var it omnicart.CatalogItem
		if err := rows.Scan(&it.ItemID, &it.DisplayName); err != nil {
			return nil, wrap("load catalog items", err)
		}
		out = append(out, it)
	}
	return out, wrap("load catalog items", rows.Err())
}

func (t *txn) CartExists(ctx context.Context, merchantID, cartID string) (bool, error) {
	var one int
	err := t.queryRow(ctx, `SELECT 1 FROM carts WHERE merchant_id = ? AND cart_id = ?`, merchantID, cartID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrap("find cart", err)
}

func (t *txn) CreateCart(ctx context.Context, c *omnicart.Cart, tokenHash []byte, due time.Time) error {
	doc, err := json.Marshal(c)
	if err != nil {
		return err
	}
	res, err := t.exec(ctx, `INSERT INTO carts(merchant_id, cart_id, token_hash, doc, next_due_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.MerchantID, c.ID, tokenHash, string(doc), dueMs(due), ms(c.CreatedAt), ms(c.CreatedAt))
	if isUnique(err) {
		return omnicart.ErrConflict
	}
	if err != nil {
		return wrap("create cart", err)
	}
	pk, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if !t.readOnly {
		if t.timerless == nil {
			t.timerless = map[int64]bool{}
		}
		t.timerless[pk] = true  // a new cart has no timer rows yet
		t.knowStatuses(pk, nil) // nor item status rows
		t.knowPK(c, pk)
	}
	return t.afterSave(ctx, pk, c)
}

func (t *txn) loadCart(ctx context.Context, where string, args ...any) (*omnicart.Cart, int64, error) {
	var pk int64
	var doc []byte
	err := t.queryRow(ctx, `SELECT pk, doc FROM carts WHERE `+where, args...).Scan(&pk, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, omnicart.ErrNotFound
	}
	if err != nil {
		return nil, 0, wrap("load cart", err)
	}
	c, err := t.db.carts.Decode(doc)
	if err != nil {
		return nil, 0, fmt.Errorf("decode cart %d: %w", pk, err)
	}
	if !t.readOnly && !hasTimers(c) {
		if t.timerless == nil {
			t.timerless = map[int64]bool{}
		}
		t.timerless[pk] = true
	}
	t.knowStatuses(pk, statusSet(c))
	t.knowPK(c, pk)
	return c, pk, nil
}

func (t *txn) LockCart(ctx context.Context, merchantID, cartID string) (*omnicart.Cart, error) {
	// The write transaction already holds SQLite's database-wide write lock.
	c, _, err := t.loadCart(ctx, `merchant_id = ? AND cart_id = ?`, merchantID, cartID)
	return c, err
}

// ClaimCart is LockCart: the writer already holds SQLite's database-wide
// write lock, so no other transaction can hold the cart.
func (t *txn) ClaimCart(ctx context.Context, merchantID, cartID string) (*omnicart.Cart, error) {
	return t.LockCart(ctx, merchantID, cartID)
}

func (t *txn) LockCartByToken(ctx context.Context, tokenHash []byte) (*omnicart.Cart, error) {
	c, _, err := t.loadCart(ctx, `token_hash = ?`, tokenHash)
	return c, err
}

func (t *txn) Cart(ctx context.Context, merchantID, cartID string) (*omnicart.Cart, error) {
	if pre := omnicart.CartPrefetchOf(ctx); pre != nil && t.tx == nil {
		// Read with the request's API key (see APIKeyByHash); not in a
		// transaction, whose reads share one snapshot.
		if c, ok, err := pre.TakeCart(merchantID, cartID); ok {
			return c, err
		}
	}
	c, _, err := t.loadCart(ctx, `merchant_id = ? AND cart_id = ?`, merchantID, cartID)
	return c, err
}

func (t *txn) SaveCart(ctx context.Context, c *omnicart.Cart, due time.Time) error {
	doc, err := json.Marshal(c)
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	if pk, ok := t.pks[[2]string{c.MerchantID, c.ID}]; ok {
		res, err := t.exec(ctx, `UPDATE carts SET doc = ?, next_due_at = ?, updated_at = ? WHERE pk = ? AND merchant_id = ? AND cart_id = ?`,
			string(doc), dueMs(due), now, pk, c.MerchantID, c.ID)
		if err != nil {
			return wrap("save cart", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			return t.afterSave(ctx, pk, c)
		}
		// Not that row any more: look the cart up below.
	}
	var pk int64
	err = t.queryRow(ctx, `UPDATE carts SET doc = ?, next_due_at = ?, updated_at = ?
		WHERE merchant_id = ? AND cart_id = ? RETURNING pk`,
		string(doc), dueMs(due), now, c.MerchantID, c.ID).Scan(&pk)
	if errors.Is(err, sql.ErrNoRows) {
		return omnicart.ErrNotFound
	}
	if err != nil {
		return wrap("save cart", err)
	}
	t.knowPK(c, pk)
	return t.afterSave(ctx, pk, c)
}

// EventActors returns the actors recorded with the cart's events from..to.
func (t *txn) EventActors(ctx context.Context, merchantID, cartID string, from, to int64) (map[int64]omnicart.Actor, error) {
	rows, err := t.query(ctx, `SELECT e.sequence, e.actor FROM carts c JOIN events e ON e.cart_pk = c.pk
		WHERE c.merchant_id = ? AND c.cart_id = ? AND e.sequence BETWEEN ? AND ? AND e.actor <> ''`, merchantID, cartID, from, to)
	if err != nil {
		return nil, wrap("event actors", err)
	}
	defer rows.Close()
	out := map[int64]omnicart.Actor{}
	for rows.Next() {
		var seq int64
		var a string
		if err := rows.Scan(&seq, &a); err != nil {
			return nil, wrap("event actors", err)
		}
		out[seq] = omnicart.Actor(a)
	}
	return out, wrap("event actors", rows.Err())
}

// afterSave writes the cart's new events and refreshes its timer and item
// status index rows.
func (t *txn) afterSave(ctx context.Context, pk int64, c *omnicart.Cart) error {
	for _, e := range c.TakeEvents() {
		body, err := omnicart.MarshalEvent(e)
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, `INSERT INTO events(cart_pk, sequence, type, body, created_at, actor) VALUES (?, ?, ?, ?, ?, ?)`,
			pk, e.Sequence, e.Type, string(body), ms(e.At), string(e.Actor)); err != nil {
			return wrap("save event", err)
		}
	}
	if err := t.saveStatuses(ctx, pk, c); err != nil {
		return err
	}
	if !hasTimers(c) && t.timerless[pk] {
		return nil // no timer rows before, none now
	}
	delete(t.timerless, pk) // rows may exist after this save
	if _, err := t.exec(ctx, `DELETE FROM item_timers WHERE cart_pk = ?`, pk); err != nil {
		return wrap("clear timers", err)
	}
	if c.CustomerID == "" {
		return nil
	}
	for i := range c.Items {
		tm := c.Items[i].Timer
		if tm == nil || (tm.Status != omnicart.TimerPending && tm.Status != omnicart.TimerStarted && tm.Status != omnicart.TimerPaused) {
			continue
		}
		var until any
		if d, ok := tm.Deadline(); ok {
			until = ms(d)
		}
		if _, err := t.exec(ctx, `INSERT INTO item_timers(merchant_id, customer_id, item_id, cart_pk, active_until) VALUES (?, ?, ?, ?, ?)`,
			c.MerchantID, c.CustomerID, c.Items[i].ID, pk, until); err != nil {
			return wrap("save timer", err)
		}
	}
	return nil
}

// saveStatuses brings the cart's cart_item_statuses rows in step with its
// items: nothing when the set of statuses this transaction knows the rows
// hold is unchanged, else the new statuses inserted and those gone
// deleted; all of the cart's rows rewritten when the transaction does not
// know them (a cart saved without being loaded).
func (t *txn) saveStatuses(ctx context.Context, pk int64, c *omnicart.Cart) error {
	set := statusSet(c)
	old, known := t.statuses[pk]
	if known && slices.Equal(old, set) {
		return nil
	}
	delete(t.statuses, pk) // unknown until written
	if !known {
		if _, err := t.exec(ctx, `DELETE FROM cart_item_statuses WHERE cart_pk = ?`, pk); err != nil {
			return wrap("clear item statuses", err)
		}
	}
	var added, gone []string
	for _, st := range set {
		if !slices.Contains(old, st) {
			added = append(added, st)
		}
	}
	for _, st := range old {
		if !slices.Contains(set, st) {
			gone = append(gone, st)
		}
	}
	// A status that replaces another moves its row (one statement; the
	// counts follow by trigger, migration 0015); the others are inserted
	// or deleted.
	for len(added) > 0 && len(gone) > 0 {
		res, err := t.exec(ctx, `UPDATE cart_item_statuses SET status = ? WHERE merchant_id = ? AND status = ? AND cart_pk = ?`,
			added[0], c.MerchantID, gone[0], pk)
		if err != nil {
			return wrap("move item status", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			break // no row to move (should not happen): insert below
		}
		added, gone = added[1:], gone[1:]
	}
	for _, st := range added {
		if _, err := t.exec(ctx, `INSERT INTO cart_item_statuses(merchant_id, status, cart_pk) VALUES (?, ?, ?)`,
			c.MerchantID, st, pk); err != nil {
			return wrap("save item status", err)
		}
	}
	for _, st := range gone {
		if _, err := t.exec(ctx, `DELETE FROM cart_item_statuses WHERE merchant_id = ? AND status = ? AND cart_pk = ?`,
			c.MerchantID, st, pk); err != nil {
			return wrap("clear item status", err)
		}
	}
	t.knowStatuses(pk, set)
	return nil
}

// knowPK notes the row of a cart created or loaded in a write transaction.
func (t *txn) knowPK(c *omnicart.Cart, pk int64) {
	if t.readOnly || t.tx == nil {
		return
	}
	if t.pks == nil {
		t.pks = map[[2]string]int64{}
	}
	t.pks[[2]string{c.MerchantID, c.ID}] = pk
}

// knowStatuses records that the cart's cart_item_statuses rows hold set
// (in a write transaction).
func (t *txn) knowStatuses(pk int64, set []string) {
	if t.readOnly {
		return
	}
	if t.statuses == nil {
		t.statuses = map[int64][]string{}
	}
	t.statuses[pk] = set
}

// statusSet is the sorted set of c's item statuses (empty ones left out),
// the statuses of its cart_item_statuses rows.
func statusSet(c *omnicart.Cart) []string {
	var set []string
	for i := range c.Items {
		if st := string(c.Items[i].Status); st != "" && !slices.Contains(set, st) {
			set = append(set, st)
		}
	}
	slices.Sort(set)
	return set
}

// hasTimers reports whether some item of c has a timer (and so, maybe, a
// row in item_timers).
func hasTimers(c *omnicart.Cart) bool {
	for i := range c.Items {
		if c.Items[i].Timer != nil {
			return true
		}
	}
	return false
}

// dueMs is a deadline in milliseconds, or NULL for none.
func dueMs(due time.Time) any {
	if due.IsZero() {
		return nil
	}
	return ms(due)
}

func (t *txn) DueCarts(ctx context.Context, now time.Time, merchantID string, limit int) ([]omnicart.CartKey, error) {
	q := `SELECT merchant_id, cart_id FROM carts WHERE next_due_at <= ? ORDER BY next_due_at LIMIT ?`
	args := []any{ms(now), limit}
	if merchantID != "" {
		q = `SELECT merchant_id, cart_id FROM carts WHERE merchant_id = ? AND next_due_at <= ? ORDER BY next_due_at LIMIT ?`
		args = []any{merchantID, ms(now), limit}
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, wrap("due carts", err)
	}
	defer rows.Close()
	var out []omnicart.CartKey
	for rows.Next() {
		var k omnicart.CartKey
		if err := rows.Scan(&k.MerchantID, &k.CartID); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (t *txn) AdvanceClock(ctx context.Context, merchantID string, d time.Duration) error {
	n := d.Milliseconds()
	res, err := t.exec(ctx, `UPDATE merchants SET clock_offset_ms = clock_offset_ms + ? WHERE id = ?`, n, merchantID)
	if err != nil {
		return wrap("advance clock", err)
	}
	if k, _ := res.RowsAffected(); k == 0 {
		return omnicart.ErrNotFound
	}
	_, err = t.exec(ctx, `UPDATE carts SET next_due_at = next_due_at - ? WHERE merchant_id = ? AND next_due_at IS NOT NULL`, n, merchantID)
	return wrap("shift deadlines", err)
}

func (t *txn) ActiveTimer(ctx context.Context, merchantID, customerID, itemID string, now time.Time, exceptCartID string) (string, bool, error) {
	var cartID string
	err := t.queryRow(ctx, `SELECT c.cart_id FROM item_timers t JOIN carts c ON c.pk = t.cart_pk
		WHERE t.merchant_id = ? AND t.customer_id = ? AND t.item_id = ? AND (t.active_until IS NULL OR t.active_until > ?)
		AND c.cart_id <> ? ORDER BY c.pk LIMIT 1`, merchantID, customerID, itemID, ms(now), exceptCartID).Scan(&cartID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, wrap("find active timer", err)
	}
	return cartID, true, nil
}

func (t *txn) CreateOperations(ctx context.Context, ops []omnicart.Operation, at time.Time) error {
	for _, op := range ops {
		body, err := json.Marshal(op)
		if err != nil {
			return err
		}
		if _, err := t.exec(ctx, `INSERT INTO operations(op_id, cart_pk, body, created_at)
			VALUES (?, (SELECT pk FROM carts WHERE merchant_id = ? AND cart_id = ?), ?, ?)`,
			op.OpID, op.MerchantID, op.CartID, string(body), ms(at)); err != nil {
			return wrap("create operation", err)
		}
	}
	return nil
}

func (t *txn) FinishOperation(ctx context.Context, opID, outcome string, at time.Time) error {
	_, err := t.exec(ctx, `UPDATE operations SET outcome = ?, settled_at = ? WHERE op_id = ? AND outcome IS NULL`, outcome, ms(at), opID)
	return wrap("finish operation", err)
}

func (t *txn) UnfinishedOperations(ctx context.Context, before time.Time, limit int) ([]omnicart.Operation, error) {
	rows, err := t.query(ctx, `SELECT body FROM operations WHERE outcome IS NULL AND created_at < ? ORDER BY created_at, op_id LIMIT ?`, ms(before), limit)
	if err != nil {
		return nil, wrap("list operations", err)
	}
	defer rows.Close()
	var out []omnicart.Operation
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var op omnicart.Operation
		if err := json.Unmarshal([]byte(body), &op); err != nil {
			return nil, err
		}
		out = append(out, op)
	}
	return out, rows.Err()
}

// ClaimUnfinishedOperations leases the unsettled operations recovery
// may retry (see omnicart.Tx). On SQLite the writer holds the database's
// write lock, so no other transaction can claim meanwhile; the lease keeps
// other processes on the same file (and this one's next passes) off them.
func (t *txn) ClaimUnfinishedOperations(ctx context.Context, now, before, leaseUntil time.Time, limit int) ([]omnicart.Operation, error) {
	if t.readOnly {
		return nil, errors.New("claim operations: write outside a write transaction")
	}
	rows, err := t.query(ctx, `UPDATE operations SET claimed_until = ?
		WHERE op_id IN (SELECT op_id FROM operations
			WHERE outcome IS NULL AND created_at < ? AND (claimed_until IS NULL OR claimed_until <= ?)
			ORDER BY created_at, op_id LIMIT ?)
		RETURNING op_id, created_at, body`, ms(leaseUntil), ms(before), ms(now), limit)
	if err != nil {
		return nil, wrap("claim operations", err)
	}
	defer rows.Close()
	type claimed struct {
		id, body string
		at       int64
	}
	var got []claimed
	for rows.Next() {
		var c claimed
		if err := rows.Scan(&c.id, &c.at, &c.body); err != nil {
			return nil, wrap("claim operations", err)
		}
		got = append(got, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("claim operations", err)
	}
	// RETURNING gives the rows in no particular order.
	sort.Slice(got, func(i, j int) bool {
		if got[i].at != got[j].at {
			return got[i].at < got[j].at
		}
		return got[i].id < got[j].id
	})
	out := make([]omnicart.Operation, len(got))
	for i, c := range got {
		if err := json.Unmarshal([]byte(c.body), &out[i]); err != nil {
			return nil, fmt.Errorf("decode operation %s: %w", c.id, err)
		}
	}
	return out, nil
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Savepoint runs fn inside a savepoint (see omnicart.Tx). Its statements
// run without ctx's cancellation, like every statement of a write
// transaction.
func (t *txn) Savepoint(ctx context.Context, fn func() error) error {
	if t.tx == nil {
		return fn()
	}
	c := context.WithoutCancel(ctx)
	if _, err := t.exec(c, "SAVEPOINT part"); err != nil {
		return wrap("savepoint", err)
	}
	if err := fn(); err != nil {
		// The item status rows fn wrote roll back: what this transaction
		// knew of them may be wrong now.
		t.statuses = nil
		t.pks = nil
		t.timerless = nil
		if _, rerr := t.exec(c, "ROLLBACK TO part"); rerr != nil {
			return fmt.Errorf("%w (rolling back to the savepoint: %v)", err, rerr)
		}
		if _, rerr := t.exec(c, "RELEASE part"); rerr != nil {
			return fmt.Errorf("%w (releasing the savepoint: %v)", err, rerr)
		}
		return err
	}
	_, err := t.exec(c, "RELEASE part")
	return wrap("release savepoint", err)
}
