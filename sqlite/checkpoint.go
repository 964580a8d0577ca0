package sqlite

import (
	"context"
	"database/sql"
	"os"
	"sync"
	"time"
)

// checkpointer copies the WAL back into the database file from its own
// connection, so that the writer's commits never pay for a checkpoint
// (the writer runs with wal_autocheckpoint off). A PASSIVE checkpoint does
// not wait for readers or the writer; one that could not copy everything
// is tried again on the next round.
type checkpointer struct {
	db      *sql.DB
	walPath string
	w       *writer
	quit    chan struct{}
	done    chan struct{}
	period  time.Duration
	once    sync.Once
}

// checkpointEvery is how often the WAL is checkpointed when commits have
// happened since the last round.
const checkpointEvery = 500 * time.Millisecond

func startCheckpointer(db *sql.DB, walPath string, w *writer) *checkpointer {
	c := &checkpointer{db: db, walPath: walPath, w: w, quit: make(chan struct{}), done: make(chan struct{}), period: checkpointEvery}
	go c.loop()
	return c
}

func (c *checkpointer) loop() {
	defer close(c.done)
	t := time.NewTicker(c.period)
	defer t.Stop()
	var seen uint64
	for {
		select {
		case <-c.quit:
			c.checkpoint("PASSIVE")
			return
		case <-t.C:
		}
		if n := c.w.commits.Load(); n != seen {
			seen = n
			c.checkpoint(c.mode())
		}
	}
}

// walLimit is the WAL size beyond which a checkpoint waits for the readers
// of older snapshots and truncates the WAL (TRUNCATE): under steady load a
// PASSIVE checkpoint never finds a moment with no reader in the WAL, and
// the file would grow without end. Writers wait meanwhile (a few
// milliseconds: read transactions are short).
const walLimit = 64 << 20

func (c *checkpointer) mode() string {
	if st, err := os.Stat(c.walPath); err == nil && st.Size() > walLimit {
		return "TRUNCATE"
	}
	return "PASSIVE"
}

func (c *checkpointer) checkpoint(mode string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Errors (the database busy or closing) are retried on the next round.
	_, _ = c.db.ExecContext(ctx, "PRAGMA wal_checkpoint("+mode+")")
}

func (c *checkpointer) stop() {
	c.once.Do(func() { close(c.quit) })
	<-c.done
}
