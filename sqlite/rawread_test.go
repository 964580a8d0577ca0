package sqlite

import (
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"
)

type ownString string

// rawFixture is a database file with one table of every column kind the
// raw reads scan, and a rawReads of conns connections on it.
func rawFixture(t *testing.T, conns int) (*rawReads, *atomic.Int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "raw.db")
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, n INTEGER, b BLOB);
		INSERT INTO t VALUES (1, 'one', 10, x'0102'), (2, NULL, NULL, NULL), (3, 'three', 30, x'')`); err != nil {
		t.Fatal(err)
	}
	opened := &atomic.Int64{}
	d := &sqlite3.SQLiteDriver{}
	r := newRawReads(func() (*sqlite3.SQLiteConn, error) {
		opened.Add(1)
		c, err := d.Open("file:" + path + "?_query_only=1")
		if err != nil {
			return nil, err
		}
		return c.(*sqlite3.SQLiteConn), nil
	}, conns)
	t.Cleanup(r.close)
	return r, opened
}

func TestRawRowScansAsDatabaseSQL(t *testing.T) {
	r, _ := rawFixture(t, 2)
	var s string
	var own ownString
	var n int64
	var b []byte
	var ns sql.NullString
	var nn sql.NullInt64
	if err := r.queryRow(`SELECT s, s, n, b, s, n FROM t WHERE id = ?`, 1).Scan(&s, &own, &n, &b, &ns, &nn); err != nil {
		t.Fatal(err)
	}
	if s != "one" || own != "one" || n != 10 || string(b) != "\x01\x02" || ns != (sql.NullString{String: "one", Valid: true}) || nn != (sql.NullInt64{Int64: 10, Valid: true}) {
		t.Fatalf("row 1: %q %q %d %x %v %v", s, own, n, b, ns, nn)
	}
	// NULL: nil []byte, invalid Null types.
	if err := r.queryRow(`SELECT b, s, n FROM t WHERE id = ?`, int64(2)).Scan(&b, &ns, &nn); err != nil {
		t.Fatal(err)
	}
	if b != nil || ns.Valid || nn.Valid {
		t.Fatalf("row 2: %x %v %v, want NULLs", b, ns, nn)
	}
	// An empty blob is not NULL.
	if err := r.queryRow(`SELECT b FROM t WHERE id = 3`).Scan(&b); err != nil || b == nil || len(b) != 0 {
		t.Fatalf("empty blob: %x (nil %v), %v", b, b == nil, err)
	}
	// Refused: NULL into a string or an int64, text into an int64 (as
	// database/sql), any conversion between numbers and text (which
	// database/sql makes; these reads need none), too few destinations.
	for name, scan := range map[string]func() error{
		"NULL into string": func() error { return r.queryRow(`SELECT s FROM t WHERE id = 2`).Scan(&s) },
		"NULL into int64":  func() error { return r.queryRow(`SELECT n FROM t WHERE id = 2`).Scan(&n) },
		"text into int64":  func() error { return r.queryRow(`SELECT s FROM t WHERE id = 1`).Scan(&n) },
		"float64":          func() error { var f float64; return r.queryRow(`SELECT n FROM t WHERE id = 1`).Scan(&f) },
		"count":            func() error { return r.queryRow(`SELECT s, n FROM t WHERE id = 1`).Scan(&s) },
	} {
		if err := scan(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := r.queryRow(`SELECT s FROM t WHERE id = 9`).Scan(&s); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("no row: %v, want sql.ErrNoRows", err)
	}
	if err := r.queryRow(`SELECT nope FROM t`).Scan(&s); err == nil {
		t.Fatal("bad SQL: no error")
	}
	// A missing argument is an error (as database/sql), not a NULL.
	if err := r.queryRow(`SELECT ?1, ?2`, "x").Scan(&s, &ns); err == nil {
		t.Fatalf("one argument for two parameters: no error (%q, %v)", s, ns)
	}
	// The connection is still good after the errors.
	if err := r.queryRow(`SELECT s FROM t WHERE id = ?`, 3).Scan(&s); err != nil || s != "three" {
		t.Fatalf("after errors: %q, %v", s, err)
	}
}

// TestRawReadsPool runs many more readers than connections (under -race):
// every read answers its own row, no more connections open than the
// limit, and closing the pool while reads run lets them finish and closes
// every connection (later reads fail with ErrClosed).
func TestRawReadsPool(t *testing.T) {
	r, opened := rawFixture(t, 3)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				id := int64(1 + (g+i)%2*2) // 1 or 3
				var s string
				if err := r.queryRow(`SELECT s FROM t WHERE id = ?`, id).Scan(&s); err != nil {
					t.Error(err)
					return
				}
				if want := map[int64]string{1: "one", 3: "three"}[id]; s != want {
					t.Errorf("id %d: %q, want %q", id, s, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := opened.Load(); n < 1 || n > 3 {
		t.Fatalf("%d connections opened, want 1 to 3", n)
	}
	var done sync.WaitGroup
	for range 8 {
		done.Go(func() {
			for range 50 {
				var s string
				if err := r.queryRow(`SELECT s FROM t WHERE id = 1`).Scan(&s); err != nil && !errors.Is(err, ErrClosed) {
					t.Error(err)
					return
				}
			}
		})
	}
	r.close()
	done.Wait()
	if len(r.idle) != 0 || len(r.slots) != 0 {
		t.Fatalf("after close: %d idle, %d open", len(r.idle), len(r.slots))
	}
	var s string
	if err := r.queryRow(`SELECT s FROM t WHERE id = 1`).Scan(&s); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v, want ErrClosed", err)
	}
}

// TestRawReadsCloseWaitsForReads: close returns only after a read that
// was opening its connection has finished and given it back, closed.
func TestRawReadsCloseWaitsForReads(t *testing.T) {
	base, _ := rawFixture(t, 2)
	opening, release := make(chan struct{}), make(chan struct{})
	r := newRawReads(func() (*sqlite3.SQLiteConn, error) {
		close(opening)
		<-release
		return base.open()
	}, 2)
	read := make(chan error, 1)
	go func() {
		var s string
		read <- r.queryRow(`SELECT s FROM t WHERE id = 1`).Scan(&s)
	}()
	<-opening
	closed := make(chan struct{})
	go func() {
		r.close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("close returned while a read was opening its connection")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-closed
	if err := <-read; err != nil {
		t.Fatalf("the read under way: %v", err)
	}
	if len(r.slots) != 0 || len(r.idle) != 0 {
		t.Fatalf("after close: %d open, %d idle", len(r.slots), len(r.idle))
	}
}
