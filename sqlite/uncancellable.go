package sqlite

import (
	"context"
	"database/sql/driver"

	"github.com/mattn/go-sqlite3"
)

// uncancellableConn is a connection of the write pool. The writer runs many
// units of work in one transaction, each with its caller's context; when a
// context ends while its statement runs, the driver interrupts SQLite, and
// SQLite then rolls back the whole transaction — every unit of the batch.
// So statements on this pool run without their context's cancellation: a
// unit whose caller went away finishes (or fails) like the others, and the
// writer answers it as usual. (Units whose context ended before the batch
// began are skipped by the writer.)
type uncancellableConn struct {
	*sqlite3.SQLiteConn
}

func (c uncancellableConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.SQLiteConn.ExecContext(context.WithoutCancel(ctx), q, args)
}

func (c uncancellableConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.SQLiteConn.QueryContext(context.WithoutCancel(ctx), q, args)
}

func (c uncancellableConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	st, err := c.SQLiteConn.PrepareContext(context.WithoutCancel(ctx), q)
	if err != nil {
		return nil, err
	}
	return uncancellableStmt{st.(*sqlite3.SQLiteStmt)}, nil
}

func (c uncancellableConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

func (c uncancellableConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.SQLiteConn.BeginTx(context.WithoutCancel(ctx), opts)
}

type uncancellableStmt struct {
	*sqlite3.SQLiteStmt
}

func (s uncancellableStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.SQLiteStmt.ExecContext(context.WithoutCancel(ctx), args)
}

func (s uncancellableStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.SQLiteStmt.QueryContext(context.WithoutCancel(ctx), args)
}
