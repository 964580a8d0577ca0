package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCheckpointStartsWALOver writes in rounds and lets the writer go idle
// after each: the checkpoint it runs then copies every frame, so the next
// round's commits start the WAL over instead of appending to it, and the
// WAL file stays as large as one round needs.
func TestCheckpointStartsWALOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	db := openDB(t, path)
	ctx := context.Background()
	write := func(round, i int) {
		t.Helper()
		err := db.WriteTx(ctx, func(tx *sql.Tx) error {
			// A row of a few KiB so that each commit adds frames.
			_, err := tx.ExecContext(ctx, `INSERT INTO settings(name, value) VALUES (?, randomblob(3000))`, fmt.Sprintf("t-%d-%d", round, i))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// waitCheckpoint waits (without a time limit of its own: the test's
	// is the bound) for a checkpoint after the writes so far.
	waitCheckpoint := func() {
		t.Helper()
		n := db.CheckpointStats().Checkpoints
		for db.CheckpointStats().Checkpoints == n {
			time.Sleep(5 * time.Millisecond)
		}
	}
	var first int64
	for round := range 20 {
		for i := range 20 {
			write(round, i)
		}
		waitCheckpoint()
		st, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			first = st.Size()
			continue
		}
		if st.Size() > 2*first {
			t.Fatalf("round %d: WAL file %d bytes, %d after the first round: the WAL was not started over", round, st.Size(), first)
		}
	}
	// Every row is there, read from the read pool.
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM settings WHERE name LIKE 't-%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 400 {
		t.Fatalf("%d rows, want 400", n)
	}
}
