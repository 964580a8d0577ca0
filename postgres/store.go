package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/omnicart/omnicart"
)

// Store implements omnicart.Store.
//
// Locks, so that nodes sharing the database never rely on an in-process
// lock:
//
//   - a write transaction (Tx) is one READ COMMITTED transaction;
//   - LockCart and LockCartByToken take the cart's merchant row FOR SHARE,
//     then the cart row FOR UPDATE; Merchant takes the merchant row FOR
//     SHARE; AdvanceClock updates the merchant row, then its carts. A cart
//     change and a test-clock advance of the same merchant therefore
//     serialize (the deadline a change stores is computed from a current
//     offset), and every path that waits takes the merchant before the
//     cart, so the two do not deadlock;
//   - DueCarts claims carts FOR UPDATE SKIP LOCKED, earliest due first, and
//     their merchants FOR SHARE SKIP LOCKED, and never waits: nodes share
//     the due carts, each deadline fires once, and a node that dies
//     mid-batch releases its claims with its connection;
//   - ActiveTimer takes a transaction-level advisory lock on (merchant,
//     customer), so that two /init requests checking the same customer's
//     timers serialize.
//
// View runs in a REPEATABLE READ, READ ONLY transaction (one snapshot);
// Read runs each statement on its own, on the pool. Neither locks.
type Store struct {
	*DB
}

// NewStore returns the store of db.
func NewStore(db *DB) *Store { return &Store{DB: db} }

var _ omnicart.Store = (*Store)(nil)

// maxAttempts bounds how often Tx runs fn when the server aborts the
// transaction for a deadlock or a serialization failure.
const maxAttempts = 5

// Tx runs fn in one READ COMMITTED transaction, committed when fn returns
// nil and rolled back otherwise. When the server aborts the transaction for
// a deadlock (SQLSTATE 40P01: it chose this transaction to break a cycle of
// row locks, as two scheduler batches or a batch and a request posting to
// the same ledger accounts in opposite orders can form) or a serialization
// failure (40001), nothing of it committed and Tx runs fn again, up to
// maxAttempts times: fn must have no effect outside the transaction that
// it does not redo. The commit itself is not interrupted by ctx, so that
// Tx knows whether it happened. Errors are fn's, or the server's.
func (s *Store) Tx(ctx context.Context, fn func(omnicart.Tx) error) error {
	lock := false // after a lost race for funds, balances are locked when checked
	return unavailable(retry(ctx, func() error {
		err := s.tx(ctx, fn, lock)
		lock = lock || errors.Is(err, errBalanceRace)
		return err
	}))
}

// retry runs attempt until it succeeds, fails otherwise than by a
// deadlock, a serialization failure, a lost race for funds or a COMMIT the
// server turned into a rollback (a statement had failed, a deadlock
// included, and the caller went on: nothing committed), or ran
// maxAttempts times. Before
// running it again it waits a few milliseconds, more each time, with
// jitter: the transaction the server let through was waiting for the locks
// the aborted one held, and must get them before the new attempt takes
// them again (or the two deadlock again).
func retry(ctx context.Context, attempt func() error) error {
	for n := 1; ; n++ {
		err := attempt()
		if err == nil || n == maxAttempts || !retryable(err) {
			return err
		}
		t := time.NewTimer(time.Duration(n) * (10*time.Millisecond + rand.N(40*time.Millisecond)))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

func (s *Store) tx(ctx context.Context, fn func(omnicart.Tx) error, lockBalances bool) error {
	x, err := beginPipe(ctx, s.pool, "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE")
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	committed := false
	defer func() { x.release(ctx, committed) }()
	t := &txn{q: x, tx: x, db: s.DB, write: true}
	t.deltas.lock = lockBalances
	if err := fn(t); err != nil {
		return err
	}
	// The sandbox ledger's balances are locked last, and committed in the
	// same round trip (see Ledger).
	last := &pgx.Batch{}
	t.deltas.queue(last)
	if err := x.commit(context.WithoutCancel(ctx), last); err != nil {
		return balanceError(err)
	}
	committed = true
	return nil
}

// View runs fn in a REPEATABLE READ, READ ONLY transaction: its reads see
// one snapshot, taken at its first statement, and take no lock. Errors are
// fn's, or the server's.
func (s *Store) View(ctx context.Context, fn func(omnicart.Tx) error) error {
	x, err := beginPipe(ctx, s.pool, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
	if err != nil {
		return unavailable(fmt.Errorf("postgres: begin read: %w", err))
	}
	defer x.release(ctx, false)
	return unavailable(fn(&txn{q: x, tx: x, db: s.DB}))
}

// Read runs fn with each statement on its own on the pool: every read sees
// committed state, two reads may see different moments. fn must not write.
func (s *Store) Read(ctx context.Context, fn func(omnicart.Tx) error) error {
	return unavailable(fn(&txn{q: s.pool, db: s.DB}))
}

// querier runs statements: a transaction (pgx.Tx) or the pool.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// txn is an omnicart.Tx: a write transaction (write), a View (tx set, not
// write) or Read (neither).
type txn struct {
	q querier
	// tx is the transaction of a Tx or a View (nil in a Read).
	tx    *pipeTx
	db    *DB
	write bool
	// carts are the carts this write transaction created or loaded, with
	// whether they may have item_timers rows (a save that finds none
	// before and none after skips the index) and the statuses their
	// cart_item_statuses rows hold (a save that keeps them skips those).
	carts map[omnicart.CartKey]*cartRow
	// timerLocks are the (merchant, customer) advisory locks taken.
	timerLocks map[[2]string]bool
	// deltas are the ledger balance changes applied at commit.
	deltas deltas
	// merchantRead is the merchant row read with an API key, which a
	// Read or a View answers Merchant with.
	merchantRead *merchantRow
	// merchantLocked is the merchant row a write transaction read FOR
	// SHARE with a cart it locked, which answers Merchant until the
	// transaction changes a merchant.
	merchantLocked *merchantRow
}

type cartRow struct {
	timerRows bool
	// statuses are the cart's cart_item_statuses rows (statusSet), when
	// statusesKnown.
	statuses      []string
	statusesKnown bool
}

// errReadOnly is returned by the write methods of a View or a Read.
var errReadOnly = errors.New("postgres: write outside a write transaction")

func (t *txn) writable(what string) error {
	if !t.write {
		return fmt.Errorf("%s: %w", what, errReadOnly)
	}
	return nil
}

func (t *txn) CreateMerchant(ctx context.Context, m *omnicart.Merchant) error {
	if err := t.writable("create merchant"); err != nil {
		return err
	}
	doc, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tag, err := t.q.Exec(ctx, `INSERT INTO merchants(id, name, doc, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		m.ID, m.Name, string(doc), ms(m.CreatedAt))
	if err == nil && tag.RowsAffected() == 0 || isUnique(err) {
		return omnicart.ErrConflict
	}
	return wrap("create merchant", err)
}

func (t *txn) Merchant(ctx context.Context, id string) (*omnicart.Merchant, error) {
	q := `SELECT doc, clock_offset_ms FROM merchants WHERE id = $1`
	if t.write {
		// Serializes with AdvanceClock (see Store).
		q += ` FOR SHARE`
	}
	var doc string
	var offset int64
	if r := t.merchantRead; r != nil && r.id == id && !t.write {
		doc, offset = r.doc, r.offset
	} else if r := t.merchantLocked; r != nil && r.id == id && t.write {
		doc, offset = r.doc, r.offset
	} else {
		err := t.q.QueryRow(ctx, q, id).Scan(&doc, &offset)
		if errors.Is(err, pgx.ErrNoRows) {
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
	rows, err := t.q.Query(ctx, `SELECT id, doc, clock_offset_ms FROM merchants ORDER BY created_at, id`)
	if err != nil {
		return nil, wrap("list merchants", err)
	}
	defer rows.Close()
	var out []*omnicart.Merchant
	for rows.Next() {
		var id, doc string
		var offset int64
		if err := rows.Scan(&id, &doc, &offset); err != nil {
			return nil, wrap("list merchants", err)
		}
		m, err := t.db.decodeMerchant(id, doc)
		if err != nil {
			return nil, err
		}
		m.ClockOffset = time.Duration(offset) * time.Millisecond
		out = append(out, &m)
	}
	return out, wrap("list merchants", rows.Err())
}

func (t *txn) CreateAPIKey(ctx context.Context, k *omnicart.APIKey) error {
	if err := t.writable("create api key"); err != nil {
		return err
	}
	tag, err := t.q.Exec(ctx, `INSERT INTO api_keys(hash, prefix, merchant_id, methods, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT DO NOTHING`,
		k.Hash, k.Prefix, k.MerchantID, strings.Join(k.Methods, ","), ms(k.CreatedAt), string(k.CreatedBy))
	if err == nil && tag.RowsAffected() == 0 || isUnique(err) {
		return omnicart.ErrConflict
	}
	return wrap("create api key", err)
}

const keyColumns = `hash, prefix, merchant_id, methods, created_at, revoked_at, last_used_at, created_by`

// scanKey scans the keyColumns, then extra.
func scanKey(sc pgx.Row, extra ...any) (*omnicart.APIKey, error) {
	var k omnicart.APIKey
	var methods string
	var created int64
	var revoked, used *int64
	if err := sc.Scan(append([]any{&k.Hash, &k.Prefix, &k.MerchantID, &methods, &created, &revoked, &used, &k.CreatedBy}, extra...)...); err != nil {
		return nil, err
	}
	if methods != "" {
		k.Methods = strings.Split(methods, ",")
	}
	k.CreatedAt = fromMs(created)
	if revoked != nil {
		r := fromMs(*revoked)
		k.RevokedAt = &r
	}
	if used != nil {
		u := fromMs(*used)
		k.LastUsedAt = &u
	}
	return &k, nil
}

// APIKeyByHash reads the key with its merchant's row, in one statement:
// authentication reads the merchant next, and in a Read or a View the
// Merchant call that follows is then answered from it (a write
// transaction reads the merchant again, FOR SHARE).
func (t *txn) APIKeyByHash(ctx context.Context, hash []byte) (*omnicart.APIKey, error) {
	var m merchantRow
	const q = `SELECT k.hash, k.prefix, k.merchant_id, k.methods, k.created_at, k.revoked_at, k.last_used_at, k.created_by, m.doc, m.clock_offset_ms`
	const from = ` FROM api_keys k JOIN merchants m ON m.id = k.merchant_id`
	pre := omnicart.CartPrefetchOf(ctx)
	if pre != nil && (t.write || t.tx != nil) {
		pre = nil // a change locks its cart, a View reads one snapshot: they read it themselves
	}
	var k *omnicart.APIKey
	var err error
	var doc *[]byte
	if pre != nil {
		// The cart of the request, if the key's merchant has it, in the
		// same statement (see omnicart.CartPrefetch).
		k, err = scanKey(t.q.QueryRow(ctx, q+`, c.doc`+from+
			` LEFT JOIN carts c ON c.merchant_id = k.merchant_id AND c.cart_id = $2
			WHERE k.hash = $1 AND k.revoked_at IS NULL`, hash, pre.CartID()), &m.doc, &m.offset, &doc)
	} else {
		k, err = scanKey(t.q.QueryRow(ctx, q+from+` WHERE k.hash = $1 AND k.revoked_at IS NULL`, hash), &m.doc, &m.offset)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, omnicart.ErrNotFound
	}
	if err != nil {
		return nil, wrap("load api key", err)
	}
	m.id = k.MerchantID
	t.merchantRead = &m
	if pre != nil {
		var decode func() (*omnicart.Cart, error)
		if doc != nil {
			raw := *doc
			decode = func() (*omnicart.Cart, error) {
				c, err := t.db.carts.Decode(raw)
				if err != nil {
					return nil, fmt.Errorf("decode cart: %w", err)
				}
				return c, nil
			}
		}
		pre.Keep(k.MerchantID, decode)
	}
	return k, nil
}

// merchantRow is a merchant's row as read with an API key.
type merchantRow struct {
	id, doc string
	offset  int64
}

func (t *txn) APIKeys(ctx context.Context, merchantID string) ([]*omnicart.APIKey, error) {
	rows, err := t.q.Query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE merchant_id = $1 ORDER BY created_at, prefix`, merchantID)
	if err != nil {
		return nil, wrap("list api keys", err)
	}
	defer rows.Close()
	var out []*omnicart.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, wrap("list api keys", err)
		}
		out = append(out, k)
	}
	return out, wrap("list api keys", rows.Err())
}

func (t *txn) TouchAPIKey(ctx context.Context, hash []byte, at time.Time) error {
	if err := t.writable("touch api key"); err != nil {
		return err
	}
	_, err := t.q.Exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE hash = $1 AND (last_used_at IS NULL OR last_used_at < $2)`,
		hash, ms(at))
	return wrap("touch api key", err)
}

func (t *txn) RevokeAPIKey(ctx context.Context, merchantID, prefix string, at time.Time) error {
	if err := t.writable("revoke api key"); err != nil {
		return err
	}
	if prefix == "" {
		return omnicart.ErrNotFound
	}
	rows, err := t.q.Query(ctx, `SELECT hash FROM api_keys WHERE merchant_id = $1 AND revoked_at IS NULL AND starts_with(prefix, $2) LIMIT 2`,
		merchantID, prefix)
	if err != nil {
		return wrap("find api key", err)
	}
	hashes, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return wrap("find api key", err)
	}
	switch {
	case len(hashes) == 0:
		return omnicart.ErrNotFound
	case len(hashes) > 1:
		return omnicart.ErrConflict
	}
	_, err = t.q.Exec(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE hash = $2`, ms(at), hashes[0])
	return wrap("revoke api key", err)
}

func (t *txn) PutCatalogItems(ctx context.Context, merchantID string, items []omnicart.CatalogItem) error {
	if err := t.writable("put catalog items"); err != nil {
		return err
	}
	if len(items) == 0 {
		return nil
	}
	// One row per item id, the last one winning as if they were put one
	// by one (a statement may not update a row twice).
	last := make(map[string]int, len(items))
	for i, it := range items {
		last[it.ItemID] = i
	}
	ids, names := make([]string, 0, len(last)), make([]string, 0, len(last))
	for i, it := range items {
		if last[it.ItemID] == i {
			ids, names = append(ids, it.ItemID), append(names, it.DisplayName)
		}
	}
	_, err := t.q.Exec(ctx, `INSERT INTO catalog_items(merchant_id, item_id, display_name)
		SELECT $1, i.id, i.name FROM unnest($2::text[], $3::text[]) AS i(id, name)
		ON CONFLICT (merchant_id, item_id) DO UPDATE SET display_name = excluded.display_name`, merchantID, ids, names)
	return wrap("put catalog items", err)
}

func (t *txn) CatalogItems(ctx context.Context, merchantID string, ids []string) ([]omnicart.CatalogItem, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := t.q.Query(ctx, `SELECT item_id, display_name FROM catalog_items WHERE merchant_id = $1 AND item_id = ANY($2::text[])`,
		merchantID, ids)
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
	var ok bool
	err := t.q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM carts WHERE merchant_id = $1 AND cart_id = $2)`, merchantID, cartID).Scan(&ok)
	return ok, wrap("find cart", err)
}

// Loading a cart. In a write transaction, the locking statements take the
// merchant row FOR SHARE before the cart row FOR UPDATE (the merchant is
// found first, in an InitPlan): every path that waits takes the merchant
// first (see Store).
const (
	cartByID    = `SELECT doc FROM carts WHERE merchant_id = $1 AND cart_id = $2`
	cartByToken = `SELECT doc FROM carts WHERE token_hash = $1`
	// The locking reads return the merchant's row too (locked FOR SHARE
	// first), which answers the Merchant call that follows (see txn.merchantLocked).
	lockCartByID = `WITH m AS (SELECT id, doc, clock_offset_ms FROM merchants WHERE id = $1 FOR SHARE)
		SELECT c.doc, m.doc, m.clock_offset_ms FROM carts c, m WHERE c.merchant_id = m.id AND c.cart_id = $2 FOR UPDATE OF c`
	lockCartByToken = `WITH m AS (SELECT id, doc, clock_offset_ms FROM merchants WHERE id = (SELECT merchant_id FROM carts WHERE token_hash = $1) FOR SHARE)
		SELECT c.doc, m.doc, m.clock_offset_ms FROM carts c, m WHERE c.token_hash = $1 AND c.merchant_id = m.id FOR UPDATE OF c`
)

// loadCart reads a cart with q. With locking, q is one of the lock*
// queries, which also return the merchant's row (see merchantLocked).
func (t *txn) loadCart(ctx context.Context, locking bool, q string, args ...any) (*omnicart.Cart, error) {
	var doc []byte
	var m merchantRow
	dest := []any{&doc}
	if locking {
		dest = append(dest, &m.doc, &m.offset)
	}
	err := t.q.QueryRow(ctx, q, args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, omnicart.ErrNotFound
	}
	if err != nil {
		return nil, wrap("load cart", err)
	}
	c, err := t.db.carts.Decode(doc)
	if err != nil {
		return nil, fmt.Errorf("decode cart: %w", err)
	}
	if t.write {
		// Rows exist for the cart's timers only if its document has some.
		t.track(c, hasTimers(c))
	}
	if locking {
		m.id = c.MerchantID
		t.merchantLocked = &m
	}
	return c, nil
}

// track records that this transaction knows whether cart c may have
// item_timers rows.
func (t *txn) track(c *omnicart.Cart, timerRows bool) {
	if t.carts == nil {
		t.carts = map[omnicart.CartKey]*cartRow{}
	}
	t.carts[omnicart.CartKey{MerchantID: c.MerchantID, CartID: c.ID}] = &cartRow{timerRows: timerRows, statuses: statusSet(c), statusesKnown: true}
}

// forgetStatuses marks the item statuses rows of the tracked carts unknown
// (a savepoint rolled back what this transaction wrote there).
func (t *txn) forgetStatuses() {
	for _, row := range t.carts {
		row.statuses, row.statusesKnown = nil, false
	}
}

// statusSet is the sorted set of c's item statuses (empty ones left out),
// the statuses of its cart_item_statuses rows. It is never nil (NULL in
// a statement) but may be empty.
func statusSet(c *omnicart.Cart) []string {
	set := make([]string, 0, len(c.Items))
	for i := range c.Items {
		if st := string(c.Items[i].Status); st != "" && !slices.Contains(set, st) {
			set = append(set, st)
		}
	}
	slices.Sort(set)
	return set
}

func (t *txn) LockCart(ctx context.Context, merchantID, cartID string) (*omnicart.Cart, error) {
	if t.write {
		return t.loadCart(ctx, true, lockCartByID, merchantID, cartID)
	}
	return t.loadCart(ctx, false, cartByID, merchantID, cartID)
}

func (t *txn) LockCartByToken(ctx context.Context, tokenHash []byte) (*omnicart.Cart, error) {
	if t.write {
		return t.loadCart(ctx, true, lockCartByToken, tokenHash)
	}
	return t.loadCart(ctx, false, cartByToken, tokenHash)
}

func (t *txn) Cart(ctx context.Context, merchantID, cartID string) (*omnicart.Cart, error) {
	if pre := omnicart.CartPrefetchOf(ctx); pre != nil && !t.write && t.tx == nil {
		// Read with the request's API key (see APIKeyByHash); not in a
		// View, whose reads share one snapshot.
		if c, ok, err := pre.TakeCart(merchantID, cartID); ok {
			return c, err
		}
	}
	return t.loadCart(ctx, false, cartByID, merchantID, cartID)
}

// EventActors returns the actors recorded with the cart's events from..to.
func (t *txn) EventActors(ctx context.Context, merchantID, cartID string, from, to int64) (map[int64]omnicart.Actor, error) {
	rows, err := t.q.Query(ctx, `SELECT e.sequence, e.actor FROM carts c JOIN events e ON e.cart_pk = c.pk
		WHERE c.merchant_id = $1 AND c.cart_id = $2 AND e.sequence BETWEEN $3 AND $4 AND e.actor <> ''`, merchantID, cartID, from, to)
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

// cartEvents are a cart's new events as the columns of the events rows.
type cartEvents struct {
	seqs   []int64
	types  []string
	bodies []string
	ats    []int64
	actors []string
}

func takeEvents(c *omnicart.Cart) (cartEvents, error) {
	evs := c.TakeEvents()
	e := cartEvents{make([]int64, len(evs)), make([]string, len(evs)), make([]string, len(evs)), make([]int64, len(evs)), make([]string, len(evs))}
	for i, ev := range evs {
		body, err := omnicart.MarshalEvent(ev)
		if err != nil {
			return e, err
		}
		e.seqs[i], e.types[i], e.bodies[i], e.ats[i], e.actors[i] = ev.Sequence, ev.Type, string(body), ms(ev.At), string(ev.Actor)
	}
	return e, nil
}

// activeTimers are the item_timers rows of c: its items' timers that are
// pending, started or paused, with their deadlines (nil: none in sight).
func activeTimers(c *omnicart.Cart) (items []string, until []*int64) {
	if c.CustomerID == "" {
		return nil, nil
	}
	for i := range c.Items {
		tm := c.Items[i].Timer
		if tm == nil || (tm.Status != omnicart.TimerPending && tm.Status != omnicart.TimerStarted && tm.Status != omnicart.TimerPaused) {
			continue
		}
		var u *int64
		if d, ok := tm.Deadline(); ok {
			u = msOrNil(d)
		}
		items, until = append(items, c.Items[i].ID), append(until, u)
	}
	return items, until
}

// CreateCart inserts the cart, its events, its timer rows and its item
// status rows in one statement. due is stored as given: the real moment
// of the cart's next deadline (zero: none).
func (t *txn) CreateCart(ctx context.Context, c *omnicart.Cart, tokenHash []byte, due time.Time) error {
	if err := t.writable("create cart"); err != nil {
		return err
	}
	doc, err := json.Marshal(c)
	if err != nil {
		return err
	}
	ev, err := takeEvents(c)
	if err != nil {
		return err
	}
	items, until := activeTimers(c)
	var pk int64
	err = t.q.QueryRow(ctx, `WITH c AS (
			INSERT INTO carts(merchant_id, cart_id, token_hash, doc, next_due_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING RETURNING pk),
		e AS (INSERT INTO events(cart_pk, sequence, type, body, created_at, actor)
			SELECT c.pk, e.* FROM c, unnest($7::bigint[], $8::text[], $9::text[], $10::bigint[], $15::text[]) AS e),
		tm AS (INSERT INTO item_timers(merchant_id, customer_id, item_id, cart_pk, active_until)
			SELECT $1, $11, tm.item, c.pk, tm.until FROM c, unnest($12::text[], $13::bigint[]) AS tm(item, until)),
		st AS (INSERT INTO cart_item_statuses(merchant_id, status, cart_pk)
			SELECT $1, st.status, c.pk FROM c, unnest($14::text[]) AS st(status))
		SELECT pk FROM c`,
		c.MerchantID, c.ID, tokenHash, string(doc), msOrNil(due), ms(c.CreatedAt),
		ev.seqs, ev.types, ev.bodies, ev.ats, c.CustomerID, items, until, statusSet(c), ev.actors).Scan(&pk)
	if errors.Is(err, pgx.ErrNoRows) || isUnique(err) {
		return omnicart.ErrConflict
	}
	if err != nil {
		return wrap("create cart", err)
	}
	t.track(c, len(items) > 0)
	return nil
}

// SaveCart updates the cart and inserts its events in one statement, and
// rewrites its timer rows in the same round trip when it may have some,
// and its item status rows when their set changed (or is not known).
// due is stored as given (real time; zero: none).
func (t *txn) SaveCart(ctx context.Context, c *omnicart.Cart, due time.Time) error {
	if err := t.writable("save cart"); err != nil {
		return err
	}
	doc, err := json.Marshal(c)
	if err != nil {
		return err
	}
	ev, err := takeEvents(c)
	if err != nil {
		return err
	}
	items, until := activeTimers(c)
	key := omnicart.CartKey{MerchantID: c.MerchantID, CartID: c.ID}
	row := t.carts[key]
	b := &pgx.Batch{}
	b.Queue(`WITH c AS (
			UPDATE carts SET doc = $3, next_due_at = $4, updated_at = $5 WHERE merchant_id = $1 AND cart_id = $2 RETURNING pk),
		e AS (INSERT INTO events(cart_pk, sequence, type, body, created_at, actor)
			SELECT c.pk, e.* FROM c, unnest($6::bigint[], $7::text[], $8::text[], $9::bigint[], $10::text[]) AS e)
		SELECT pk FROM c`,
		c.MerchantID, c.ID, string(doc), msOrNil(due), time.Now().UnixMilli(), ev.seqs, ev.types, ev.bodies, ev.ats, ev.actors)
	if row == nil || row.timerRows {
		b.Queue(`DELETE FROM item_timers WHERE cart_pk = (SELECT pk FROM carts WHERE merchant_id = $1 AND cart_id = $2)`,
			c.MerchantID, c.ID)
	}
	if len(items) > 0 {
		b.Queue(`INSERT INTO item_timers(merchant_id, customer_id, item_id, cart_pk, active_until)
			SELECT $1, $3, tm.item, c.pk, tm.until FROM carts c, unnest($4::text[], $5::bigint[]) AS tm(item, until)
			WHERE c.merchant_id = $1 AND c.cart_id = $2`,
			c.MerchantID, c.ID, c.CustomerID, items, until)
	}
	set := statusSet(c)
	known := row != nil && row.statusesKnown
	var added []string
	removed := !known
	for _, st := range set {
		if !known || !slices.Contains(row.statuses, st) {
			added = append(added, st)
		}
	}
	if known {
		for _, st := range row.statuses {
			removed = removed || !slices.Contains(set, st)
		}
	}
	if removed {
		// The rows of statuses no item has any more (all but the current
		// ones, when they are not known).
		b.Queue(`DELETE FROM cart_item_statuses WHERE cart_pk = (SELECT pk FROM carts WHERE merchant_id = $1 AND cart_id = $2)
			AND status <> ALL($3::text[])`, c.MerchantID, c.ID, set)
	}
	if len(added) > 0 {
		b.Queue(`INSERT INTO cart_item_statuses(merchant_id, status, cart_pk)
			SELECT $1, st.status, c.pk FROM carts c, unnest($3::text[]) AS st(status)
			WHERE c.merchant_id = $1 AND c.cart_id = $2 ON CONFLICT DO NOTHING`,
			c.MerchantID, c.ID, added)
	}
	if row != nil {
		// The cart was created or locked FOR UPDATE by this transaction:
		// its row is there, and the writes go with the next statement
		// (see pipeTx).
		for _, q := range b.QueuedQueries {
			t.tx.later(q.SQL, q.Arguments...)
		}
		t.track(c, len(items) > 0)
		return nil
	}
	br := t.q.SendBatch(ctx, b)
	var pk int64
	found := true
	err = br.QueryRow().Scan(&pk)
	if errors.Is(err, pgx.ErrNoRows) {
		found, err = false, nil
	}
	for i := 1; i < b.Len() && err == nil; i++ {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return wrap("save cart", err)
	}
	if !found {
		return omnicart.ErrNotFound
	}
	t.track(c, len(items) > 0)
	return nil
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

// DueCarts lists the carts due at now, earliest first. In a write
// transaction it claims them: the carts FOR UPDATE SKIP LOCKED, then their
// merchants FOR SHARE SKIP LOCKED, in one statement that never waits. A
// cart whose merchant is being advanced (its row locked by AdvanceClock)
// is left out, so that the advance goes first (its claim lasts until the
// transaction ends, which the advance then waits for).
func (t *txn) DueCarts(ctx context.Context, now time.Time, merchantID string, limit int) ([]omnicart.CartKey, error) {
	where, args := `next_due_at <= $1`, []any{ms(now), limit}
	if merchantID != "" {
		where, args = `merchant_id = $3 AND next_due_at <= $1`, append(args, merchantID)
	}
	q := `SELECT merchant_id, cart_id FROM carts WHERE ` + where + ` ORDER BY next_due_at, pk LIMIT $2`
	if t.write {
		q = `WITH due AS (
				SELECT pk, merchant_id, cart_id, next_due_at FROM carts WHERE ` + where + `
				ORDER BY next_due_at, pk LIMIT $2 FOR UPDATE SKIP LOCKED),
			m AS (SELECT id FROM merchants WHERE id IN (SELECT merchant_id FROM due) FOR SHARE SKIP LOCKED)
			SELECT merchant_id, cart_id FROM due WHERE merchant_id IN (SELECT id FROM m) ORDER BY next_due_at, pk`
	}
	rows, err := t.q.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("due carts", err)
	}
	defer rows.Close()
	var out []omnicart.CartKey
	for rows.Next() {
		var k omnicart.CartKey
		if err := rows.Scan(&k.MerchantID, &k.CartID); err != nil {
			return nil, wrap("due carts", err)
		}
		out = append(out, k)
	}
	return out, wrap("due carts", rows.Err())
}

// AdvanceClock adds d to the merchant's clock offset, then moves the real
// due moments of its carts d earlier, in one round trip. Updating the
// merchant row first waits for the transactions that read the merchant
// (FOR SHARE) and keeps new ones waiting until this one ends.
func (t *txn) AdvanceClock(ctx context.Context, merchantID string, d time.Duration) error {
	if err := t.writable("advance clock"); err != nil {
		return err
	}
	n := d.Milliseconds()
	b := &pgx.Batch{}
	t.merchantLocked = nil
	b.Queue(`UPDATE merchants SET clock_offset_ms = clock_offset_ms + $1 WHERE id = $2`, n, merchantID)
	b.Queue(`UPDATE carts SET next_due_at = next_due_at - $1 WHERE merchant_id = $2 AND next_due_at IS NOT NULL`, n, merchantID)
	br := t.q.SendBatch(ctx, b)
	tag, err := br.Exec()
	if err == nil {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return wrap("advance clock", err)
	}
	if tag.RowsAffected() == 0 {
		return omnicart.ErrNotFound
	}
	return nil
}

// ActiveTimer finds another cart where the customer has an active timer on
// the item. In a write transaction it first takes a transaction-level
// advisory lock on (merchant, customer), in a statement of its own so that
// the search sees what the lock's previous holder committed: two /init
// requests of one customer, on any nodes, check and create in turn.
func (t *txn) ActiveTimer(ctx context.Context, merchantID, customerID, itemID string, now time.Time, exceptCartID string) (string, bool, error) {
	if t.write {
		key := [2]string{merchantID, customerID}
		if !t.timerLocks[key] {
			if _, err := t.q.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1::text || chr(31) || $2::text, 0))`,
				merchantID, customerID); err != nil {
				return "", false, wrap("lock customer timers", err)
			}
			if t.timerLocks == nil {
				t.timerLocks = map[[2]string]bool{}
			}
			t.timerLocks[key] = true
		}
	}
	var cartID string
	err := t.q.QueryRow(ctx, `SELECT c.cart_id FROM item_timers t JOIN carts c ON c.pk = t.cart_pk
		WHERE t.merchant_id = $1 AND t.customer_id = $2 AND t.item_id = $3 AND (t.active_until IS NULL OR t.active_until > $4)
		AND c.cart_id <> $5 ORDER BY c.pk LIMIT 1`, merchantID, customerID, itemID, ms(now), exceptCartID).Scan(&cartID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, wrap("find active timer", err)
	}
	return cartID, true, nil
}

func (t *txn) CreateOperations(ctx context.Context, ops []omnicart.Operation, at time.Time) error {
	if err := t.writable("create operations"); err != nil {
		return err
	}
	if len(ops) == 0 {
		return nil
	}
	ids, merchants, carts, bodies := make([]string, len(ops)), make([]string, len(ops)), make([]string, len(ops)), make([]string, len(ops))
	for i, op := range ops {
		body, err := json.Marshal(op)
		if err != nil {
			return err
		}
		ids[i], merchants[i], carts[i], bodies[i] = op.OpID, op.MerchantID, op.CartID, string(body)
	}
	// Sent with the next statement (see pipeTx): nothing reads its result.
	t.tx.later(`INSERT INTO operations(op_id, cart_pk, body, created_at)
		SELECT o.id, (SELECT pk FROM carts WHERE merchant_id = o.merchant AND cart_id = o.cart), o.body, $5
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS o(id, merchant, cart, body)`,
		ids, merchants, carts, bodies, ms(at))
	return nil
}

func (t *txn) FinishOperation(ctx context.Context, opID, outcome string, at time.Time) error {
	if err := t.writable("finish operation"); err != nil {
		return err
	}
	// Sent with the next statement (see pipeTx).
	t.tx.later(`UPDATE operations SET outcome = $1, settled_at = $2 WHERE op_id = $3 AND outcome IS NULL`, outcome, ms(at), opID)
	return nil
}

func (t *txn) UnfinishedOperations(ctx context.Context, before time.Time, limit int) ([]omnicart.Operation, error) {
	rows, err := t.q.Query(ctx, `SELECT body FROM operations WHERE outcome IS NULL AND created_at < $1 ORDER BY created_at, op_id LIMIT $2`,
		ms(before), limit)
	if err != nil {
		return nil, wrap("list operations", err)
	}
	defer rows.Close()
	var out []omnicart.Operation
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, wrap("list operations", err)
		}
		var op omnicart.Operation
		if err := json.Unmarshal([]byte(body), &op); err != nil {
			return nil, fmt.Errorf("decode operation: %w", err)
		}
		out = append(out, op)
	}
	return out, wrap("list operations", rows.Err())
}

// ClaimUnfinishedOperations leases the unsettled operations recovery may
// retry (see omnicart.Tx): one statement picks them FOR UPDATE SKIP LOCKED
// (another node's claim running at the same moment gets other rows, and
// never waits) and sets their lease.
func (t *txn) ClaimUnfinishedOperations(ctx context.Context, now, before, leaseUntil time.Time, limit int) ([]omnicart.Operation, error) {
	if err := t.writable("claim operations"); err != nil {
		return nil, err
	}
	rows, err := t.q.Query(ctx, `WITH c AS (
			SELECT op_id FROM operations
			WHERE outcome IS NULL AND created_at < $1 AND (claimed_until IS NULL OR claimed_until <= $2)
			ORDER BY created_at, op_id LIMIT $4 FOR UPDATE SKIP LOCKED)
		UPDATE operations o SET claimed_until = $3 FROM c WHERE o.op_id = c.op_id
		RETURNING o.op_id, o.created_at, o.body`, ms(before), ms(now), ms(leaseUntil), limit)
	if err != nil {
		return nil, wrap("claim operations", err)
	}
	type claimed struct {
		id, body string
		at       int64
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (claimed, error) {
		var c claimed
		err := r.Scan(&c.id, &c.at, &c.body)
		return c, err
	})
	if err != nil {
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

// retryable reports whether err ended a transaction that committed
// nothing and may succeed when run again (see retry).
func retryable(err error) bool {
	return hasCode(err, "40P01", "40001") || errors.Is(err, errBalanceRace) || errors.Is(err, pgx.ErrTxCommitRollback)
}
