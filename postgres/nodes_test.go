package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/postgres"
	"github.com/omnicart/omnicart/postgres/pgtest"
)

// These tests run what several nodes sharing one database do at once, and
// check the outcome the locks promise. Where the interleaving matters, a
// transaction holds its locks until the other one is seen waiting for a
// lock (waitForLockWait), so no test depends on timing.

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// openNodes opens n handles ("nodes") on one new database.
func openNodes(t *testing.T, n int) []*postgres.DB {
	t.Helper()
	url := pgtest.URL(t)
	dbs := make([]*postgres.DB, n)
	for i := range dbs {
		db, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	return dbs
}

// waitForLockWait returns once some session of db's database waits for a
// lock.
func waitForLockWait(tb testing.TB, db *postgres.DB) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		err := db.Pool().QueryRow(context.Background(), `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE NOT l.granted AND a.datname = current_database()`).Scan(&n)
		if err != nil {
			tb.Error(err)
			return
		}
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Error("no session started waiting for a lock")
}

func TestOpenConcurrently(t *testing.T) {
	url := pgtest.URL(t)
	const nodes = 6
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	for i := range nodes {
		wg.Go(func() {
			db, err := postgres.Open(t.Context(), url)
			if err == nil {
				err = db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
	files, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	check, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	var versions int
	if err := check.Pool().QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if versions != len(files) {
		t.Errorf("%d migrations recorded, want %d", versions, len(files))
	}
}

func TestSecretShared(t *testing.T) {
	dbs := openNodes(t, 2)
	const callers = 8
	var wg sync.WaitGroup
	got := make([][]byte, callers)
	for i := range callers {
		wg.Go(func() {
			v, err := dbs[i%2].Secret(t.Context(), "pepper")
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	for i, v := range got {
		if len(v) != 32 || !bytes.Equal(v, got[0]) {
			t.Errorf("caller %d got %x, caller 0 %x", i, v, got[0])
		}
	}
	other, err := dbs[0].Secret(t.Context(), "fingerprints")
	if err != nil || bytes.Equal(other, got[0]) {
		t.Errorf("another secret: %x, %v", other, err)
	}
}

// setup stores test-mode merchant m1 and its cart cart-1 (token tok-1),
// due at t0+2h in real time.
func setup(t *testing.T, s omnicart.Store) {
	t.Helper()
	ctx := t.Context()
	m := &omnicart.Merchant{ID: "m1", Name: "Shop", Mode: omnicart.ModeTest, CartExpirySecs: 7200, MaxDeclines: 3,
		Privileges: omnicart.DefaultPrivileges(), CreatedAt: t0}
	err := s.Tx(ctx, func(tx omnicart.Tx) error {
		if err := tx.CreateMerchant(ctx, m); err != nil {
			return err
		}
		var sp omnicart.StagedProblems
		c := omnicart.NewCart(&omnicart.InitSpec{CartID: "cart-1", Currency: "EUR", Items: []omnicart.ItemSpec{{ID: "pegasus", Amount: 250}}}, m, t0, &sp)
		if c == nil {
			t.Fatalf("NewCart: %+v", sp)
		}
		return tx.CreateCart(ctx, c, []byte("tok-1"), t0.Add(2*time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// dueAt returns the stored real due moment of cart-1.
func dueAt(t *testing.T, db *postgres.DB) time.Time {
	t.Helper()
	var v int64
	if err := db.Pool().QueryRow(t.Context(), `SELECT next_due_at FROM carts WHERE cart_id = 'cart-1'`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return time.UnixMilli(v).UTC()
}

// TestAdvanceWaitsForCartChange: a change that loaded the cart (by token,
// as a payment does, then the merchant) and a test-clock advance of its
// merchant on another node serialize without deadlock, in both orders, and
// the deadline the change stores is shifted by the advance or computed
// from the advanced offset.
func TestAdvanceWaitsForCartChange(t *testing.T) {
	dbs := openNodes(t, 2)
	a, b := postgres.NewStore(dbs[0]), postgres.NewStore(dbs[1])
	setup(t, a)
	ctx := t.Context()
	advance := func() error {
		return b.Tx(ctx, func(tx omnicart.Tx) error { return tx.AdvanceClock(ctx, "m1", time.Hour) })
	}

	// The change first: the advance waits for it, then shifts what it
	// stored.
	advanced := make(chan error, 1)
	err := a.Tx(ctx, func(tx omnicart.Tx) error {
		c, err := tx.LockCartByToken(ctx, []byte("tok-1"))
		if err != nil {
			return err
		}
		go func() { advanced <- advance() }()
		waitForLockWait(t, dbs[0])
		m, err := tx.Merchant(ctx, "m1")
		if err != nil {
			return err
		}
		if m.ClockOffset != 0 {
			t.Errorf("offset during the change: %v", m.ClockOffset)
		}
		return tx.SaveCart(ctx, c, t0.Add(3*time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-advanced; err != nil {
		t.Fatal(err)
	}
	if got := dueAt(t, dbs[0]); !got.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("due after a change then an advance: %v, want %v", got, t0.Add(2*time.Hour))
	}

	// The advance first: the change waits for it and reads the new offset.
	changed := make(chan error, 1)
	err = b.Tx(ctx, func(tx omnicart.Tx) error {
		if err := tx.AdvanceClock(ctx, "m1", time.Hour); err != nil {
			return err
		}
		go func() {
			changed <- a.Tx(ctx, func(tx omnicart.Tx) error {
				c, err := tx.LockCart(ctx, "m1", "cart-1")
				if err != nil {
					return err
				}
				m, err := tx.Merchant(ctx, "m1")
				if err != nil {
					return err
				}
				if m.ClockOffset != 2*time.Hour {
					t.Errorf("offset after the advance: %v, want 2h", m.ClockOffset)
				}
				return tx.SaveCart(ctx, c, t0.Add(5*time.Hour).Add(-m.ClockOffset))
			})
		}()
		waitForLockWait(t, dbs[1])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-changed; err != nil {
		t.Fatal(err)
	}
	if got := dueAt(t, dbs[0]); !got.Equal(t0.Add(3 * time.Hour)) {
		t.Errorf("due after an advance then a change: %v, want %v", got, t0.Add(3*time.Hour))
	}
}

// TestActiveTimerSerializesInits: two /init transactions of the same
// customer on two nodes check the customer's active timers in turn, so
// the second sees the timer the first created.
func TestActiveTimerSerializesInits(t *testing.T) {
	dbs := openNodes(t, 2)
	a, b := postgres.NewStore(dbs[0]), postgres.NewStore(dbs[1])
	setup(t, a)
	ctx := t.Context()
	second := make(chan error, 1)
	var found string
	err := a.Tx(ctx, func(tx omnicart.Tx) error {
		m, err := tx.Merchant(ctx, "m1")
		if err != nil {
			return err
		}
		if _, ok, err := tx.ActiveTimer(ctx, "m1", "cust", "pegasus", t0, "cart-a"); err != nil || ok {
			t.Errorf("first check: %v, %v", ok, err)
		}
		go func() {
			second <- b.Tx(ctx, func(tx omnicart.Tx) error {
				id, ok, err := tx.ActiveTimer(ctx, "m1", "cust", "pegasus", t0.Add(time.Second), "cart-b")
				if ok {
					found = id
				}
				return err
			})
		}()
		waitForLockWait(t, dbs[0])
		on, trig, val := true, "initiated", int64(600)
		var sp omnicart.StagedProblems
		c := omnicart.NewCart(&omnicart.InitSpec{CartID: "cart-a", CustomerID: "cust", Currency: "EUR",
			Items: []omnicart.ItemSpec{{ID: "pegasus", Amount: 250, Level: omnicart.Level{EnableTimer: &on, Trigger: &trig, TimerValue: &val}}}}, m, t0, &sp)
		if c == nil {
			t.Fatalf("NewCart: %+v", sp)
		}
		return tx.CreateCart(ctx, c, []byte("tok-a"), time.Time{})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	if found != "cart-a" {
		t.Errorf("second check found %q, want cart-a", found)
	}
}

// TestDeadlockRetried: two transactions lock two carts in opposite
// orders; the server breaks the cycle by aborting one, which Tx runs
// again once the other committed. Both succeed, and every change stays.
func TestDeadlockRetried(t *testing.T) {
	dbs := openNodes(t, 2)
	ctx := t.Context()
	setup(t, postgres.NewStore(dbs[0]))
	err := postgres.NewStore(dbs[0]).Tx(ctx, func(tx omnicart.Tx) error {
		c, err := tx.LockCart(ctx, "m1", "cart-1")
		if err != nil {
			return err
		}
		c.ID = "cart-2"
		return tx.CreateCart(ctx, c, []byte("tok-2"), time.Time{})
	})
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	var both sync.WaitGroup
	both.Add(2)
	var wg sync.WaitGroup
	for i, order := range [][2]string{{"cart-1", "cart-2"}, {"cart-2", "cart-1"}} {
		wg.Go(func() {
			first := true
			err := postgres.NewStore(dbs[i]).Tx(ctx, func(tx omnicart.Tx) error {
				runs.Add(1)
				for k, id := range order {
					c, err := tx.LockCart(ctx, "m1", id)
					if err != nil {
						return err
					}
					c.Items[0].Payment.Amount++
					if err := tx.SaveCart(ctx, c, time.Time{}); err != nil {
						return err
					}
					if k == 0 && first {
						first = false
						both.Done()
						both.Wait() // each holds its first cart
					}
				}
				return nil
			})
			if err != nil {
				t.Errorf("transaction %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	// One run each, and one more at least for the transaction the server
	// aborted (more when it took the locks again before the other one: a
	// busy machine may schedule it first despite the back-off).
	if n := runs.Load(); n < 3 {
		t.Errorf("%d runs, want 3 or more (one retried)", n)
	}
	err = postgres.NewStore(dbs[0]).View(ctx, func(tx omnicart.Tx) error {
		for _, id := range []string{"cart-1", "cart-2"} {
			c, err := tx.Cart(ctx, "m1", id)
			if err != nil {
				return err
			}
			if c.Items[0].Payment.Amount != 252 {
				t.Errorf("%s: amount %d, want 252", id, c.Items[0].Payment.Amount)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadOnly: a View and a Read refuse to write.
func TestReadOnly(t *testing.T) {
	s := postgres.NewStore(openNodes(t, 1)[0])
	ctx := t.Context()
	for name, run := range map[string]func(context.Context, func(omnicart.Tx) error) error{"View": s.View, "Read": s.Read} {
		err := run(ctx, func(tx omnicart.Tx) error {
			return tx.CreateMerchant(ctx, &omnicart.Merchant{ID: "m1", CreatedAt: t0})
		})
		if err == nil || !strings.Contains(err.Error(), "write outside") {
			t.Errorf("%s: CreateMerchant = %v", name, err)
		}
		err = run(ctx, func(tx omnicart.Tx) error {
			_, err := tx.Ledger().Post(ctx, omnicart.Journal{ID: "j", Kind: "test"})
			return err
		})
		if err == nil || errors.Is(err, omnicart.ErrInvalidJournal) {
			t.Errorf("%s: Post = %v", name, err)
		}
	}
}

// TestIdempotencyRecordRace: a second node storing a record under a key
// whose first record is not committed yet waits for it, then conflicts;
// had the first rolled back, it stores its own.
func TestIdempotencyRecordRace(t *testing.T) {
	dbs := openNodes(t, 2)
	ctx := t.Context()
	rec := func(hash string) omnicart.IdempotentRecord {
		return omnicart.IdempotentRecord{RequestHash: []byte(hash), Method: "POST", Path: "/init", Status: 200, Code: "0",
			Body: []byte("sealed"), CreatedAt: t0}
	}
	for _, firstCommits := range []bool{true, false} {
		key := fmt.Sprint("key-", firstCommits)
		second := make(chan error, 1)
		err := postgres.NewStore(dbs[0]).Tx(ctx, func(tx omnicart.Tx) error {
			if err := tx.PutIdempotencyRecord(ctx, "m1", key, rec("first"), t0.Add(-omnicart.IdempotencyTTL)); err != nil {
				return err
			}
			go func() {
				second <- postgres.NewStore(dbs[1]).Tx(ctx, func(tx omnicart.Tx) error {
					return tx.PutIdempotencyRecord(ctx, "m1", key, rec("second"), t0.Add(-omnicart.IdempotencyTTL))
				})
			}()
			waitForLockWait(t, dbs[0])
			if !firstCommits {
				return errRollback
			}
			return nil
		})
		if firstCommits != (err == nil) {
			t.Fatalf("first transaction: %v", err)
		}
		err = <-second
		want := "second"
		if firstCommits {
			want = "first"
			if !errors.Is(err, omnicart.ErrConflict) {
				t.Errorf("second record while the first commits: %v, want ErrConflict", err)
			}
		} else if err != nil {
			t.Errorf("second record while the first rolls back: %v", err)
		}
		err = postgres.NewStore(dbs[0]).View(ctx, func(tx omnicart.Tx) error {
			got, err := tx.IdempotencyRecord(ctx, "m1", key)
			if err == nil && string(got.RequestHash) != want {
				t.Errorf("stored record %q, want %q", got.RequestHash, want)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

var errRollback = errors.New("roll back")
