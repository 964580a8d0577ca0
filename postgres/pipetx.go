package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pipeTx is a transaction on one pooled connection that spends as few
// round trips as it can: its BEGIN, and the writes whose results nobody
// reads (later), wait in front and are sent in one batch with the next
// statement that must run now; its COMMIT is sent with its last writes
// (see commit). A batch runs its statements in order and stops at the first
// error, so nothing after a failed statement runs, and a COMMIT after a
// failed statement never runs: a deferred write that fails fails the
// statement it travelled with, and the transaction with it.
type pipeTx struct {
	conn *pgxpool.Conn
	// front are the statements waiting to be sent: the BEGIN until the
	// first statement, then deferred writes.
	front []*pgx.QueuedQuery
	// begun is set once the server answered the BEGIN.
	begun bool
	// broken is the error of a BEGIN that did not run: every later
	// statement returns it (run outside a transaction, it would commit on
	// its own).
	broken error
}

var _ querier = (*pipeTx)(nil)

// beginPipe takes a connection from the pool for a transaction that opens
// with begin (a BEGIN statement) when it first runs a statement.
func beginPipe(ctx context.Context, pool *pgxpool.Pool, begin string) (*pipeTx, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return &pipeTx{conn: conn, front: []*pgx.QueuedQuery{{SQL: begin}}}, nil
}

// later queues a write whose result (other than its error) nobody reads,
// to be sent with the next statement.
func (x *pipeTx) later(sql string, args ...any) {
	x.front = append(x.front, &pgx.QueuedQuery{SQL: sql, Arguments: args})
}

// drop forgets the deferred writes not sent yet (a savepoint rolling back
// takes them back anyway). The BEGIN stays.
func (x *pipeTx) drop() {
	if !x.begun && len(x.front) > 0 {
		x.front = x.front[:1]
		return
	}
	x.front = nil
}

func (x *pipeTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if x.broken != nil {
		return pgconn.CommandTag{}, x.broken
	}
	if len(x.front) == 0 {
		return x.conn.Exec(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := x.SendBatch(ctx, b)
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}
func (x *pipeTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if x.broken != nil {
		return nil, x.broken
	}
	if len(x.front) == 0 {
		return x.conn.Query(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := x.SendBatch(ctx, b)
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (x *pipeTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if x.broken != nil {
		return &batchRow{err: x.broken}
	}
	if len(x.front) == 0 {
		return x.conn.QueryRow(ctx, sql, args...)
	}
	rows, err := x.Query(ctx, sql, args...)
	return &batchRow{rows: rows, err: err}
}

// SendBatch sends b, after the statements waiting in front; the results
// returned are b's. An error of a statement in front is the error of b's
// every result.
func (x *pipeTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if x.broken != nil {
		return pgx.FailedBatchResults(b, x.broken)
	}
	if len(x.front) == 0 {
		return x.conn.SendBatch(ctx, b)
	}
	front := x.front
	x.front = nil
	nb := &pgx.Batch{QueuedQueries: append(front, b.QueuedQueries...)}
	br := x.conn.SendBatch(ctx, nb)
	for i, q := range front {
		_, err := br.Exec()
		if i == 0 && !x.begun {
			if err != nil {
				// The BEGIN did not run (refused, or never sent: a
				// statement that could not be prepared or encoded, a
				// context already done): nothing may run after it.
				_ = br.Close()
				x.broken = fmt.Errorf("postgres: begin: %w", err)
				return pgx.FailedBatchResults(b, x.broken)
			}
			x.begun = true
		}
		if err != nil {
			_ = br.Close()
			return pgx.FailedBatchResults(b, &deferredFailure{what: statementName(q.SQL), err: err})
		}
	}
	return br
}

// deferredFailure is the error of a statement that waited in front of
// another (a BEGIN, a deferred write), returned as that other statement's
// error. It unwraps to the server's error, so that deadlocks are retried
// and outages reported as such, but ownCode does not take it for the
// error of the statement it travelled with (a unique violation of a
// deferred write is no conflict of that statement).
type deferredFailure struct {
	what string
	err  error
}

func (d *deferredFailure) Error() string { return "postgres: " + d.what + ": " + d.err.Error() }
func (d *deferredFailure) Unwrap() error { return d.err }

// statementName names a statement in an error: its first words.
func statementName(sql string) string {
	if f := strings.Fields(sql); len(f) > 0 {
		return strings.Join(f[:min(len(f), 3)], " ")
	}
	return "statement"
}

// commit sends the statements of last (which return no rows; nil for
// none) and COMMIT in one batch. A statement's error is returned, and the
// transaction is then not committed (the caller rolls back). A COMMIT the
// server turns into a rollback (the transaction had failed) is an error.
func (x *pipeTx) commit(ctx context.Context, last *pgx.Batch) error {
	if last == nil {
		last = &pgx.Batch{}
	}
	if x.broken != nil {
		return x.broken
	}
	if !x.begun && len(x.front) <= 1 && last.Len() == 0 {
		return nil // nothing was run: nothing to commit
	}
	n := last.Len()
	last.Queue("COMMIT")
	br := x.SendBatch(ctx, last)
	var err error
	for i := 0; i < n && err == nil; i++ {
		_, err = br.Exec()
	}
	if err == nil {
		var tag pgconn.CommandTag
		tag, err = br.Exec()
		if err == nil && tag.String() == "ROLLBACK" {
			err = pgx.ErrTxCommitRollback
		}
		if err != nil {
			err = fmt.Errorf("postgres: commit: %w", err)
		}
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("postgres: commit: %w", cerr)
	}
	return err
}

// release ends the transaction (ROLLBACK unless it committed or never
// began) and gives the connection back; a connection left in a
// transaction or broken is closed by the pool instead.
func (x *pipeTx) release(ctx context.Context, committed bool) {
	if !committed && x.begun && x.conn.Conn().PgConn().TxStatus() != 'I' {
		_, _ = x.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
	x.conn.Release()
}

// batchRows closes the batch its rows came from.
type batchRows struct {
	pgx.Rows
	br  pgx.BatchResults
	err error
}

// Next closes the batch after the last row, so that Err reports an error
// of the batch's end before a deferred Close (pgx.CollectRows reads Err
// first).
func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if r.br != nil {
		r.err = r.br.Close()
		r.br = nil
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// batchRow is pgx.Row over batchRows.
type batchRow struct {
	rows pgx.Rows
	err  error
}

func (r *batchRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		r.rows.Close()
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}
