package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/sandbox"
	"github.com/omnicart/omnicart/sandbox/sandboxtest"
	"github.com/omnicart/omnicart/sqlite"
)

// openDB opens a database at path, closed when the test ends.
func openDB(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// openLedger returns a ledger in a new database file.
func openLedger(tb testing.TB) sandbox.Ledger {
	tb.Helper()
	return sqlite.NewLedger(openDB(tb, filepath.Join(tb.TempDir(), "t.db")))
}

func TestLedger(t *testing.T) { sandboxtest.RunLedger(t, openLedger) }

func TestLedgerIssuer(t *testing.T) { sandboxtest.RunIssuer(t, openLedger) }

func transfer(id, from, to string, amount int64) sandbox.Journal {
	return sandbox.Journal{ID: id, Kind: "test", Entries: []sandbox.Entry{
		{Account: from, Currency: "EUR", Amount: -amount},
		{Account: to, Currency: "EUR", Amount: amount},
	}}
}

// TestLedgerConcurrentHandles has 20 goroutines post at once through two
// handles on the same file, as the server and an operator command would:
// the handles do not share their Go write lock, so this relies on BEGIN
// IMMEDIATE and the busy timeout. No post may fail but for insufficient
// funds, and money is conserved.
func TestLedgerConcurrentHandles(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "t.db")
	ledgers := []*sqlite.Ledger{sqlite.NewLedger(openDB(t, path)), sqlite.NewLedger(openDB(t, path))}
	ctx := t.Context()
	fund := sandbox.FundingAccount("EUR")
	const (
		workers = 20
		posts   = 30
	)
	var wg sync.WaitGroup
	errs := make(chan error, workers*posts)
	for w := range workers {
		wg.Go(func() {
			l := ledgers[w%2]
			me, next := fmt.Sprintf("card:%d", w), fmt.Sprintf("card:%d", (w+1)%workers)
			if _, err := l.Post(ctx, transfer("fund-"+me, fund, me, 1000)); err != nil {
				errs <- err
			}
			for n := range posts {
				_, err := l.Post(ctx, transfer(fmt.Sprintf("%s-%d", me, n), me, next, int64(10+n*7)))
				if err != nil && !errors.Is(err, sandbox.ErrInsufficientFunds) {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "busy") {
			t.Errorf("database lock error: %v", err)
		} else {
			t.Error(err)
		}
	}
	bs, err := ledgers[0].Balances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sandbox.CheckBalances(bs); err != nil {
		t.Error(err)
	}
	var cards int64
	for _, b := range bs {
		if b.Account != fund {
			cards += b.Amount
		}
	}
	if cards != workers*1000 {
		t.Errorf("cards hold %d, want %d", cards, workers*1000)
	}
}

// TestLedgerPersists checks that balances, journals and holds survive
// reopening the file, and that the migration is applied once.
func TestLedgerPersists(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	is := sandbox.New(sqlite.NewLedger(db), []byte("key"))
	auth, err := is.Authorize(t.Context(), omnicart.AuthorizeRequest{
		Operation: omnicart.Operation{OpID: "auth", MerchantID: "m", Currency: "EUR", Amount: 500},
		Card:      omnicart.Card{Number: "4111 1111 1111 1111", CVC: "123", Expiry: "12/99"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	is = sandbox.New(sqlite.NewLedger(openDB(t, path)), []byte("key"))
	again, err := is.Authorize(t.Context(), omnicart.AuthorizeRequest{
		Operation: omnicart.Operation{OpID: "auth", MerchantID: "m", Currency: "EUR", Amount: 500},
		Card:      omnicart.Card{Number: "4111 1111 1111 1111"},
	})
	if err != nil || again != auth {
		t.Errorf("authorize after reopen = %+v, %v; want %+v", again, err, auth)
	}
	if held, err := is.Held(t.Context(), "auth"); err != nil || held != 500 {
		t.Errorf("held after reopen = %d, %v; want 500", held, err)
	}
	if err := is.CheckInvariants(t.Context()); err != nil {
		t.Error(err)
	}
}

// TestLedgerCardNumberNotStored looks for the card number in the database
// files after payments.
func TestLedgerCardNumberNotStored(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := openDB(t, filepath.Join(dir, "t.db"))
	is := sandbox.New(sqlite.NewLedger(db), []byte("key"))
	numbers := []string{"4111111111111111", "4000000000000069", "4000000000000259"}
	for n, number := range numbers {
		_, err := is.Authorize(t.Context(), omnicart.AuthorizeRequest{
			Operation: omnicart.Operation{OpID: fmt.Sprint("auth-", n), MerchantID: "m", Currency: "EUR", Amount: 500},
			Card:      omnicart.Card{Number: number, CVC: "987", Expiry: "12/99"},
		})
		if _, declined := omnicart.IsDecline(err); err != nil && !declined {
			t.Fatal(err)
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "t.db*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("database files: %v, %v", files, err)
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, number := range numbers {
			if bytes.Contains(body, []byte(number)) {
				t.Errorf("%s contains card number %s", filepath.Base(f), number)
			}
		}
	}
}

// TestLedgerCheckConstraint checks that the schema refuses a negative card
// balance even from SQL that bypasses the Go check.
func TestLedgerCheckConstraint(t *testing.T) {
	t.Parallel()
	db := openDB(t, filepath.Join(t.TempDir(), "t.db"))
	l := sqlite.NewLedger(db)
	if _, err := l.Post(t.Context(), transfer("fund", sandbox.FundingAccount("EUR"), "card:a", 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(t.Context(), `UPDATE ledger_accounts SET balance = -1 WHERE account = 'card:a'`); err == nil {
		t.Error("negative card balance accepted by the schema")
	}
	if _, err := db.SQL().ExecContext(t.Context(), `UPDATE ledger_accounts SET balance = balance - 1 WHERE account = ?`,
		sandbox.FundingAccount("EUR")); err != nil {
		t.Errorf("funding account may go negative: %v", err)
	}
}

// TestLedgerPostFailingPartWay has a post in a Store transaction fail
// after it has written part of its journal (a trigger refuses its entries,
// standing in for a write error), while the transaction's callback ignores
// the error: the post keeps no savepoint, so the transaction must fail as a
// whole and leave nothing, neither the journal's writes nor the callback's
// others.
func TestLedgerPostFailingPartWay(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openDB(t, filepath.Join(t.TempDir(), "t.db"))
	s := sqlite.NewStore(db)
	l := sqlite.NewLedger(db)
	if _, err := l.Post(ctx, transfer("fund", sandbox.FundingAccount("EUR"), "card:a", 100)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `CREATE TRIGGER refuse_boom BEFORE INSERT ON ledger_entries
		WHEN NEW.account = 'card:boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	var postErr error
	err := s.Tx(ctx, func(tx omnicart.Tx) error {
		if _, err := tx.Ledger().Post(ctx, transfer("first", "card:a", "card:b", 10)); err != nil {
			return err
		}
		_, postErr = tx.Ledger().Post(ctx, transfer("boom", "card:a", "card:boom", 20))
		return nil // the caller goes on as if nothing happened
	})
	if postErr == nil || !strings.Contains(postErr.Error(), "boom") {
		t.Fatalf("the post's error = %v, want the trigger's", postErr)
	}
	if err == nil {
		t.Fatal("Tx = nil after a post failed part-way")
	}
	bs, err := l.Balances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint([]omnicart.Balance{{Account: "card:a", Currency: "EUR", Amount: 100},
		{Account: sandbox.FundingAccount("EUR"), Currency: "EUR", Amount: -100}})
	if fmt.Sprint(bs) != want {
		t.Errorf("balances after the failed transaction: %v, want %v", bs, want)
	}
	for _, id := range []string{"first", "boom"} {
		if _, err := l.Journal(ctx, id); !errors.Is(err, omnicart.ErrNoJournal) {
			t.Errorf("journal %s after the failed transaction: %v, want none", id, err)
		}
	}
	// A post whose first write fails breaks the transaction too.
	if _, err := db.SQL().ExecContext(ctx, `CREATE TRIGGER refuse_journal BEFORE INSERT ON ledger_journals
		WHEN NEW.id = 'boom-first' BEGIN SELECT RAISE(ABORT, 'boom first'); END`); err != nil {
		t.Fatal(err)
	}
	err = s.Tx(ctx, func(tx omnicart.Tx) error {
		if _, err := tx.Ledger().Post(ctx, transfer("first", "card:a", "card:b", 10)); err != nil {
			return err
		}
		_, postErr = tx.Ledger().Post(ctx, transfer("boom-first", "card:a", "card:b", 20))
		return nil
	})
	if postErr == nil || err == nil {
		t.Fatalf("a post failing on its first write: post %v, Tx %v; want both to fail", postErr, err)
	}
	if _, err := l.Journal(ctx, "first"); !errors.Is(err, omnicart.ErrNoJournal) {
		t.Errorf("journal first after the failed transaction: %v, want none", err)
	}
	// A refused post, by contrast, leaves the transaction to go on.
	err = s.Tx(ctx, func(tx omnicart.Tx) error {
		if _, err := tx.Ledger().Post(ctx, transfer("over", "card:a", "card:b", 101)); !errors.Is(err, omnicart.ErrInsufficientFunds) {
			t.Errorf("overdraft post = %v, want ErrInsufficientFunds", err)
		}
		_, err := tx.Ledger().Post(ctx, transfer("after", "card:a", "card:b", 1))
		return err
	})
	if err != nil {
		t.Fatalf("Tx after a refusal: %v", err)
	}
	if b, err := l.Balance(ctx, "card:b", "EUR"); b != 1 || err != nil {
		t.Errorf("card:b = %d, %v; want 1", b, err)
	}
}
