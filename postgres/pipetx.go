package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pipeTx is a transaction on one pooled connection that saves two round
// trips: its BEGIN is sent with its first statement, in one batch, and its
// COMMIT with its last writes (see commit). A batch runs its statements in
// order and stops at the first error, so a BEGIN that fails runs nothing
// after it, and a COMMIT after a failed statement never runs.
type pipeTx struct {
	conn *pgxpool.Conn
	// begin is the BEGIN statement while it is not sent yet.
	begin string
}

var _ querier = (*pipeTx)(nil)

// beginPipe takes a connection from the pool for a transaction that opens
// with begin (a BEGIN statement) when it first runs a statement.
func beginPipe(ctx context.Context, pool *pgxpool.Pool, begin string) (*pipeTx, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return &pipeTx{conn: conn, begin: begin}, nil
}

// withBegin returns b with the pending BEGIN in front (and forgets it),
// and whether it put one there.
func (x *pipeTx) withBegin(b *pgx.Batch) (*pgx.Batch, bool) {
	if x.begin == "" {
		return b, false
	}
	nb := &pgx.Batch{}
	nb.Queue(x.begin)
	nb.QueuedQueries = append(nb.QueuedQueries, b.QueuedQueries...)
	x.begin = ""
	return nb, true
}

func (x *pipeTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if x.begin == "" {
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
	if x.begin == "" {
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
	if x.begin == "" {
		return x.conn.QueryRow(ctx, sql, args...)
	}
	rows, err := x.Query(ctx, sql, args...)
	return &batchRow{rows: rows, err: err}
}

func (x *pipeTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	nb, begun := x.withBegin(b)
	br := x.conn.SendBatch(ctx, nb)
	if begun {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return pgx.FailedBatchResults(nb, fmt.Errorf("postgres: begin: %w", err))
		}
	}
	return br
}

// commit sends the statements of last (which return no rows; nil for
// none) and COMMIT in one batch. A statement's error is returned, and the
// transaction is then not committed (the caller rolls back). A COMMIT the
// server turns into a rollback (the transaction had failed) is an error.
func (x *pipeTx) commit(ctx context.Context, last *pgx.Batch) error {
	if last == nil {
		last = &pgx.Batch{}
	}
	if x.begin != "" && last.Len() == 0 {
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
	if !committed && x.begin == "" && x.conn.Conn().PgConn().TxStatus() != 'I' {
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
