package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

// checkpointer copies the WAL back into the database file, from a
// connection of its own (the writer runs with wal_autocheckpoint off).
//
// The writer goroutine runs it between two group commits, never during
// one: when the writer is idle and at least minGap has passed since the
// last checkpoint, or after a commit once maxGap has passed even if units
// are waiting. With no write transaction open, a checkpoint copies every
// frame; in RESTART mode it then waits (a few milliseconds at most) for
// the readers still on the WAL, so that the next commit writes the WAL
// from its start again. The WAL file then keeps the size of what one
// interval writes (a few MiB) and is overwritten in place, and each
// checkpoint copies only the pages of that interval.
//
// A checkpoint that races the writer, as a timer on its own goroutine
// would, never leaves the WAL fully copied while requests keep coming:
// the WAL then grows until a TRUNCATE checkpoint must wait for every
// reader with the writer blocked (measured: tens of ms to seconds, every
// two seconds at 160 lifecycles/s; docs/PERFORMANCE.md).
type checkpointer struct {
	conn    *sql.Conn
	walPath string

	last    time.Time // end of the last checkpoint
	commits int       // commits since then
	// passiveUntil: a RESTART that found readers staying on the WAL (a
	// long read, such as a Panel report) makes the next checkpoints
	// PASSIVE until then, so that the writer does not wait for such a
	// reader at every checkpoint.
	passiveUntil time.Time

	runs  atomic.Uint64 // checkpoints run
	nanos atomic.Int64  // time spent in them
}

const (
	// checkpointMinGap is the least time between two checkpoints of an
	// idle writer, checkpointMaxGap the most between two of a busy one.
	checkpointMinGap = 50 * time.Millisecond
	checkpointMaxGap = 200 * time.Millisecond
	// checkpointBusy bounds how long a checkpoint waits for readers
	// (SQLite's busy handler sleeps 1, 2, 5 ms, ... between tries). The
	// writer waits meanwhile.
	checkpointBusy = "10"
	// checkpointBackoff is how long checkpoints stay PASSIVE after a
	// RESTART gave up on a reader.
	checkpointBackoff = time.Second
)

func newCheckpointer(ctx context.Context, db *sql.DB, walPath string) (*checkpointer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("checkpointer connection: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout="+checkpointBusy); err != nil {
		conn.Close()
		return nil, fmt.Errorf("checkpointer connection: %w", err)
	}
	return &checkpointer{conn: conn, walPath: walPath, last: time.Now()}, nil
}

// committed counts a commit of the writer.
func (c *checkpointer) committed() { c.commits++ }

// idleWait is how long an idle writer should wait before it checkpoints;
// ok is false when nothing was committed since the last checkpoint.
func (c *checkpointer) idleWait(now time.Time) (wait time.Duration, ok bool) {
	if c.commits == 0 {
		return 0, false
	}
	return max(0, checkpointMinGap-now.Sub(c.last)), true
}

// busyDue tells whether a checkpoint is due even though units wait.
func (c *checkpointer) busyDue(now time.Time) bool {
	return c.commits > 0 && now.Sub(c.last) >= checkpointMaxGap
}

// walLimit is the WAL file size beyond which a checkpoint truncates the
// file (TRUNCATE, which waits for readers like RESTART): after a long
// reader kept the WAL from starting over, the file would otherwise keep
// the size it grew to.
const walLimit = 64 << 20

func (c *checkpointer) run() {
	start := time.Now()
	mode := "RESTART"
	if start.Before(c.passiveUntil) {
		mode = "PASSIVE"
	}
	if st, err := os.Stat(c.walPath); err == nil && st.Size() > walLimit {
		mode = "TRUNCATE"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, frames, copied int
	err := c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied)
	// Errors (the database closing) and a checkpoint that could not
	// finish are tried again at the next one.
	if err == nil && busy != 0 && mode != "PASSIVE" {
		c.passiveUntil = time.Now().Add(checkpointBackoff)
	}
	c.last = time.Now()
	c.commits = 0
	c.runs.Add(1)
	c.nanos.Add(int64(c.last.Sub(start)))
}

// close runs a last checkpoint and closes the connection.
func (c *checkpointer) close() {
	c.run()
	c.conn.Close()
}

// CheckpointStats are the checkpointer's counters since Open.
type CheckpointStats struct {
	Checkpoints uint64  // WAL checkpoints run
	Seconds     float64 // time spent in them (the writer waits meanwhile)
}

// CheckpointStats returns the checkpointer's counters.
func (d *DB) CheckpointStats() CheckpointStats {
	c := d.w.ckpt
	return CheckpointStats{Checkpoints: c.runs.Load(), Seconds: time.Duration(c.nanos.Load()).Seconds()}
}
