package syncio

import (
	"io"
	"sync"
	"time"
)

// Gatherer is a Writer for the server's log that spares a busy server one
// write system call per HTTP request: lines given to Gather are kept in
// memory and written together, maxDelay after the first of them, or at
// once when maxBytes have gathered or anything else is written (Write,
// Flush). Lines keep their order; under load one system call writes tens
// of access log entries, and an entry reaches the log at most maxDelay
// after its request ended (a process killed meanwhile loses it).
//
// Write is unbuffered: the log handler's lines (errors among them) are
// written when logged, after the gathered lines that came before them.
type Gatherer struct {
	w        io.Writer
	maxDelay time.Duration
	maxBytes int

	mu     sync.Mutex
	buf    []byte
	timer  *time.Timer // armed while buf holds lines
	err    error       // a gathered write's error, returned by the next Write or Flush
	closed bool        // Close ran: Gather writes at once
}

// NewGatherer returns a Gatherer writing to w.
func NewGatherer(w io.Writer, maxDelay time.Duration, maxBytes int) *Gatherer {
	return &Gatherer{w: w, maxDelay: maxDelay, maxBytes: maxBytes}
}

// Gather keeps p to write with other lines, at most maxDelay later. p is
// copied: the caller may reuse it.
func (g *Gatherer) Gather(p []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	first := len(g.buf) == 0
	g.buf = append(g.buf, p...)
	switch {
	case len(g.buf) >= g.maxBytes || g.closed:
		g.flushLocked()
	case !first:
		// The timer is armed.
	case g.timer == nil:
		g.timer = time.AfterFunc(g.maxDelay, g.flushLater)
	default:
		g.timer.Reset(g.maxDelay)
	}
}

// Delayed returns a writer whose writes are gathered (Gather): the HTTP
// server's access log. It never fails; a failed write of the gathered
// lines is returned by the Gatherer's next Write or Flush.
func (g *Gatherer) Delayed() io.Writer { return delayed{g} }

type delayed struct{ g *Gatherer }

func (d delayed) Write(p []byte) (int, error) {
	d.g.Gather(p)
	return len(p), nil
}

// flushLater is the timer's flush: its error waits for the next Write or
// Flush to return it.
func (g *Gatherer) flushLater() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.flushLocked()
}

// Close writes the gathered lines; afterwards Gather writes at once (a
// request still running when the process is about to exit loses nothing
// to the timer).
func (g *Gatherer) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	g.flushLocked()
	return g.takeErr(nil)
}

// Write writes the gathered lines and p, in one call to the underlying
// writer when lines had gathered.
func (g *Gatherer) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.buf) == 0 {
		_, err := g.w.Write(p)
		return len(p), g.takeErr(err)
	}
	g.buf = append(g.buf, p...)
	g.flushLocked()
	return len(p), g.takeErr(nil)
}

// Flush writes the gathered lines.
func (g *Gatherer) Flush() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.flushLocked()
	return g.takeErr(nil)
}

func (g *Gatherer) flushLocked() {
	if len(g.buf) == 0 {
		return
	}
	if g.timer != nil {
		g.timer.Stop()
	}
	if _, err := g.w.Write(g.buf); err != nil {
		g.err = err
	}
	// Keep the buffer's room unless one burst made it large.
	if cap(g.buf) > 4*g.maxBytes {
		g.buf = nil
	} else {
		g.buf = g.buf[:0]
	}
}

func (g *Gatherer) takeErr(err error) error {
	if err == nil {
		err, g.err = g.err, nil
	}
	return err
}
