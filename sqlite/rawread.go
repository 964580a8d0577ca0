package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"

	"github.com/mattn/go-sqlite3"
)

// rawReads runs the hottest read of the server, the API key with its
// merchant (and, for GET /status, its cart: APIKeyByHash), on read-only
// connections of its own, through the driver without database/sql. For
// this one-row read, database/sql's pool, prepared-statement bookkeeping
// and conversions cost about half as much as SQLite's own work. Each
// connection prepares a query once and keeps it.
type rawReads struct {
	open  func() (*sqlite3.SQLiteConn, error)
	idle  chan *rawConn
	slots chan struct{} // one per open connection

	mu     sync.Mutex
	closed bool
	busy   sync.WaitGroup // reads between get and put
}

type rawConn struct {
	conn  *sqlite3.SQLiteConn
	stmts map[string]*sqlite3.SQLiteStmt
}

func newRawReads(open func() (*sqlite3.SQLiteConn, error), conns int) *rawReads {
	return &rawReads{open: open, idle: make(chan *rawConn, conns), slots: make(chan struct{}, conns)}
}

// get takes an idle connection, opens one while fewer than the limit are
// open, or waits for one to come back. Every connection it returns must
// be given back with put.
func (r *rawReads) get() (*rawConn, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	r.busy.Add(1) // close waits for it
	r.mu.Unlock()
	c, err := r.take()
	if err != nil {
		r.busy.Done()
	}
	return c, err
}

func (r *rawReads) take() (*rawConn, error) {
	select {
	case c := <-r.idle:
		return c, nil
	default:
	}
	select {
	case c := <-r.idle:
		return c, nil
	case r.slots <- struct{}{}:
		r.mu.Lock()
		closed := r.closed
		r.mu.Unlock()
		if closed { // a slot freed by close: open nothing more
			<-r.slots
			return nil, ErrClosed
		}
		conn, err := r.open()
		if err != nil {
			<-r.slots
			return nil, err
		}
		return &rawConn{conn: conn, stmts: map[string]*sqlite3.SQLiteStmt{}}, nil
	}
}

// put gives a connection back, or closes it once the pool is closed.
func (r *rawReads) put(c *rawConn) {
	defer r.busy.Done()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		c.close()
		<-r.slots
		return
	}
	r.idle <- c // never blocks: at most cap(slots) connections exist
}

// close closes the idle connections and waits for the reads under way,
// whose connections are closed when they come back: when it returns, no
// connection is open and none will be.
func (r *rawReads) close() {
	r.mu.Lock()
	r.closed = true
	for drained := false; !drained; {
		select {
		case c := <-r.idle:
			c.close()
			<-r.slots
		default:
			drained = true
		}
	}
	r.mu.Unlock()
	r.busy.Wait()
}

func (c *rawConn) close() {
	for _, st := range c.stmts {
		st.Close()
	}
	c.conn.Close()
}

// queryRow runs q and returns its first row, as database/sql's QueryRow
// does (sql.ErrNoRows when there is none). It runs to its end whatever
// the caller's context (one short read, as txn.queryRow).
func (r *rawReads) queryRow(q string, args ...any) rawRow {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		v, err := driver.DefaultParameterConverter.ConvertValue(a)
		if err != nil {
			return rawRow{err: fmt.Errorf("argument %d: %w", i+1, err)}
		}
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	c, err := r.get()
	if err != nil {
		return rawRow{err: err}
	}
	defer r.put(c)
	st := c.stmts[q]
	if st == nil {
		ds, err := c.conn.Prepare(q)
		if err != nil {
			return rawRow{err: err}
		}
		st = ds.(*sqlite3.SQLiteStmt)
		c.stmts[q] = st
	}
	// As database/sql: a missing argument is an error, not a NULL.
	if n := st.NumInput(); n >= 0 && n != len(nv) {
		return rawRow{err: fmt.Errorf("sqlite: %d arguments for %d parameters", len(nv), n)}
	}
	rows, err := st.QueryContext(context.Background(), nv)
	if err != nil {
		return rawRow{err: err}
	}
	vals := make([]driver.Value, len(rows.Columns()))
	err = rows.Next(vals)
	cerr := rows.Close()
	switch {
	case err != nil && !errors.Is(err, io.EOF):
		return rawRow{err: err}
	case cerr != nil:
		return rawRow{err: cerr}
	case err != nil:
		return rawRow{err: sql.ErrNoRows}
	}
	return rawRow{vals: vals}
}

// rawRow is a row read by rawReads, scanned as database/sql scans: into
// *string, *int64 (or pointers to types of their own over string and
// int64), *[]byte (nil for NULL) and sql.Scanner (sql.NullString,
// sql.NullInt64, …); other destinations are an error.
type rawRow struct {
	vals []driver.Value
	err  error
}

func (r rawRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	if len(dest) != len(r.vals) {
		return fmt.Errorf("sqlite: %d destinations for %d columns", len(dest), len(r.vals))
	}
	for i, d := range dest {
		if err := scanRaw(d, r.vals[i]); err != nil {
			return fmt.Errorf("sqlite: column %d: %w", i, err)
		}
	}
	return nil
}

func scanRaw(dest any, v driver.Value) error {
	switch d := dest.(type) {
	case *string:
		switch v := v.(type) {
		case string:
			*d = v
		case []byte:
			*d = string(v)
		default:
			return fmt.Errorf("cannot scan %T into a string", v)
		}
	case *int64:
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("cannot scan %T into an int64", v)
		}
		*d = n
	case *[]byte:
		switch v := v.(type) {
		case nil:
			*d = nil
		case []byte:
			*d = v // the driver's own copy
		case string:
			*d = []byte(v)
		default:
			return fmt.Errorf("cannot scan %T into []byte", v)
		}
	case sql.Scanner:
		return d.Scan(v)
	default:
		// A type of its own over string or int64 (omnicart.Actor, …).
		p := reflect.ValueOf(dest)
		if p.Kind() != reflect.Pointer || p.IsNil() {
			return fmt.Errorf("unsupported destination %T", dest)
		}
		switch e := p.Elem(); {
		case e.Kind() == reflect.String:
			var s string
			if err := scanRaw(&s, v); err != nil {
				return err
			}
			e.SetString(s)
		case e.Kind() == reflect.Int64:
			var n int64
			if err := scanRaw(&n, v); err != nil {
				return err
			}
			e.SetInt(n)
		default:
			return fmt.Errorf("unsupported destination %T", dest)
		}
	}
	return nil
}
