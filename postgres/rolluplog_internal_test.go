package postgres

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRollupFailureIsLogged breaks the overview's fold (its moves table
// renamed away), checks that the failure reaches the log set with SetLog
// once (not every 2 s), then mends it and checks that the recovery is
// logged.
func TestRollupFailureIsLogged(t *testing.T) {
	db := openInternal(t)
	var mu sync.Mutex
	var buf bytes.Buffer
	db.SetLog(slog.New(slog.NewTextHandler(&lockedBuffer{mu: &mu, b: &buf}, nil)))
	logged := func(s string) int {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(buf.String(), s)
	}
	waitFor := func(s string) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); logged(s) == 0; {
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("no %q in the log:\n%s", s, buf.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if _, err := db.pool.Exec(t.Context(), `ALTER TABLE money_day_moves RENAME TO money_day_moves_away`); err != nil {
		t.Fatal(err)
	}
	waitFor("failed")
	time.Sleep(2*rollupEvery + 500*time.Millisecond) // two more failing folds
	if n := logged("failed"); n != 1 {
		t.Errorf("a fold failing for a few seconds was logged %d times, want once", n)
	}
	if _, err := db.pool.Exec(t.Context(), `ALTER TABLE money_day_moves_away RENAME TO money_day_moves`); err != nil {
		t.Fatal(err)
	}
	waitFor("works again")
}

// lockedBuffer is a buffer written by the fold's goroutine and read by
// the test.
type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
