package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by WriteTx once the database is closed.
var ErrClosed = errors.New("sqlite: database closed")

// writer is the group-commit writer. One goroutine takes the units of work
// that queued while the previous transaction was committing, runs them in
// one transaction (each inside a savepoint, so that one unit's failure
// rolls back only its own work), commits (one WAL sync), and only then
// answers each unit. Between two commits it runs the WAL checkpoints
// (checkpoint.go).
type writer struct {
	db       *sql.DB
	stmts    *stmtCache // the write pool's prepared statements (the savepoints)
	ckpt     *checkpointer
	maxBatch int
	queue    chan *unit
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	mu       sync.RWMutex
	stopped  bool

	commits     atomic.Uint64
	units       atomic.Uint64
	batchHist   [len(batchBuckets) + 1]atomic.Uint64
	commitHist  [len(commitBuckets) + 1]atomic.Uint64
	commitNanos atomic.Int64
}

type unit struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	done chan error
}

// batchBuckets and commitBuckets are the upper bounds of the writer's
// histograms: units per commit, and seconds per commit (sync included).
var (
	batchBuckets  = [...]float64{1, 2, 4, 8, 16, 32, 64, 128, 256}
	commitBuckets = [...]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}
)

func newWriter(db *sql.DB, stmts *stmtCache, ckpt *checkpointer, maxBatch int) *writer {
	w := &writer{db: db, stmts: stmts, ckpt: ckpt, maxBatch: maxBatch, queue: make(chan *unit, 4*maxBatch),
		quit: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

func (w *writer) do(ctx context.Context, fn func(*sql.Tx) error) error {
	u := &unit{ctx: ctx, fn: fn, done: make(chan error, 1)}
	// The read lock keeps stop from closing the queue's consumer while
	// this unit is being queued: once stop holds the lock, nothing more
	// is queued, and everything queued before is run.
	w.mu.RLock()
	if w.stopped {
		w.mu.RUnlock()
		return ErrClosed
	}
	select {
	case w.queue <- u:
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	// Once queued, the unit runs or is skipped by the writer; wait for its
	// answer even if ctx ends, to know whether it committed.
	return <-u.done
}

// stop lets the writer finish the queued units and stops it.
func (w *writer) stop() {
	w.stopOnce.Do(func() {
		w.mu.Lock()
		w.stopped = true
		w.mu.Unlock()
		close(w.quit)
	})
	<-w.done
}

func (w *writer) loop() {
	defer close(w.done)
	defer w.ckpt.close()
	batch := make([]*unit, 0, w.maxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		batch = batch[:0]
		// Checkpoint in the writer's idle moments: with no write
		// transaction open, a checkpoint can copy every frame, and the
		// next commit can start the WAL over.
		var tick <-chan time.Time
		if len(w.queue) == 0 {
			if wait, ok := w.ckpt.idleWait(time.Now()); ok {
				if wait == 0 {
					w.ckpt.run()
				} else {
					timer.Reset(wait)
					tick = timer.C
				}
			}
		}
		select {
		case u := <-w.queue:
			batch = append(batch, u)
		case <-tick:
			continue
		case <-w.quit:
			// Answer whatever is still queued, then stop.
			for {
				select {
				case u := <-w.queue:
					batch = append(batch[:0], u)
					w.run(batch)
				default:
					return
				}
			}
		}
		timer.Stop()
	fill:
		for len(batch) < w.maxBatch {
			select {
			case u := <-w.queue:
				batch = append(batch, u)
			default:
				break fill
			}
		}
		w.run(batch)
		if w.ckpt.busyDue(time.Now()) {
			w.ckpt.run()
		}
	}
}

// run commits one batch and answers its units.
func (w *writer) run(batch []*unit) {
	errs := make([]error, len(batch))
	live := 0
	for i, u := range batch {
		if err := u.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		live++
	}
	if live == 0 {
		answer(batch, errs, nil)
		return
	}
	ctx := context.Background() // a unit's cancellation must not abort the others' commit
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		answer(batch, errs, fmt.Errorf("begin: %w", err))
		return
	}
	savepoints := live > 1
	// The savepoints around the units run as the units' statements do:
	// prepared once (txn.exec).
	own := &txn{tx: tx, cache: w.stmts}
	ran := 0
	for i, u := range batch {
		if errs[i] != nil {
			continue
		}
		if savepoints {
			if _, err := own.exec(ctx, "SAVEPOINT unit"); err != nil {
				_ = tx.Rollback()
				answer(batch, errs, fmt.Errorf("savepoint: %w", err))
				return
			}
		}
		errs[i] = call(u.fn, tx)
		switch {
		case errs[i] == nil:
			ran++
			if savepoints {
				if _, err := own.exec(ctx, "RELEASE unit"); err != nil {
					_ = tx.Rollback()
					answer(batch, errs, fmt.Errorf("release savepoint: %w", err))
					return
				}
			}
		case savepoints:
			if _, err := own.exec(ctx, "ROLLBACK TO unit"); err != nil {
				_ = tx.Rollback()
				answer(batch, errs, fmt.Errorf("rollback to savepoint: %w", err))
				return
			}
			if _, err := own.exec(ctx, "RELEASE unit"); err != nil {
				_ = tx.Rollback()
				answer(batch, errs, fmt.Errorf("release savepoint: %w", err))
				return
			}
		}
	}
	if ran == 0 {
		_ = tx.Rollback()
		answer(batch, errs, nil)
		return
	}
	start := time.Now()
	if err := tx.Commit(); err != nil {
		answer(batch, errs, fmt.Errorf("commit: %w", err))
		return
	}
	w.observe(ran, time.Since(start))
	w.ckpt.committed()
	answer(batch, errs, nil)
}

// call runs fn, turning a panic into an error so that one unit cannot stop
// the writer.
func call(fn func(*sql.Tx) error, tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlite: unit of work panicked: %v", p)
		}
	}()
	return fn(tx)
}

// answer sends each unit its error. A batch-wide err (begin, savepoint or
// commit failed) replaces the result of every unit that was run, its own
// refusal included: a unit may have refused on what an earlier unit of the
// batch wrote, and that is rolled back now. Only units skipped before the
// batch began (their context ended) keep their own error.
func answer(batch []*unit, errs []error, batchErr error) {
	for i, u := range batch {
		err := errs[i]
		if batchErr != nil && !(err != nil && errors.Is(err, u.ctx.Err())) {
			err = batchErr
		}
		u.done <- err
	}
}

func (w *writer) observe(units int, d time.Duration) {
	w.commits.Add(1)
	w.units.Add(uint64(units))
	w.commitNanos.Add(int64(d))
	w.batchHist[bucket(batchBuckets[:], float64(units))].Add(1)
	w.commitHist[bucket(commitBuckets[:], d.Seconds())].Add(1)
}

func bucket(bounds []float64, v float64) int {
	for i, le := range bounds {
		if v <= le {
			return i
		}
	}
	return len(bounds)
}

// WriterStats are the group-commit writer's counters since Open.
type WriterStats struct {
	Commits uint64 // transactions committed
	Units   uint64 // units of work committed
	// BatchBuckets and CommitBuckets are histogram counts (not
	// cumulative) for BatchBounds and CommitBounds, with one more for
	// +Inf.
	BatchBounds   []float64
	BatchCounts   []uint64
	CommitBounds  []float64
	CommitCounts  []uint64
	CommitSeconds float64 // total time spent committing
}

func (w *writer) snapshot() WriterStats {
	s := WriterStats{Commits: w.commits.Load(), Units: w.units.Load(),
		BatchBounds: batchBuckets[:], CommitBounds: commitBuckets[:],
		CommitSeconds: time.Duration(w.commitNanos.Load()).Seconds()}
	for i := range w.batchHist {
		s.BatchCounts = append(s.BatchCounts, w.batchHist[i].Load())
	}
	for i := range w.commitHist {
		s.CommitCounts = append(s.CommitCounts, w.commitHist[i].Load())
	}
	return s
}
