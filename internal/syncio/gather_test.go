package syncio

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is an io.Writer that keeps each call's bytes apart.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, string(p))
	return len(p), nil
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// TestGatherWritesLinesTogetherAfterMaxDelay: lines gathered within
// maxDelay of the first are written in one call, in their order, and
// nothing is written before; the next line starts a new batch.
func TestGatherWritesLinesTogetherAfterMaxDelay(t *testing.T) {
	rec := &recorder{}
	g := NewGatherer(rec, 300*time.Millisecond, 1<<20)
	g.Gather([]byte("a\n"))
	g.Gather([]byte("b\n"))
	if got := rec.snapshot(); len(got) != 0 {
		t.Fatalf("written before maxDelay: %q", got)
	}
	waitWrites(t, rec, 1)
	if got := rec.snapshot(); got[0] != "a\nb\n" {
		t.Fatalf("writes %q, want one write of both lines", got)
	}
	g.Gather([]byte("c\n"))
	waitWrites(t, rec, 2)
	if got := rec.snapshot(); len(got) != 2 || got[1] != "c\n" {
		t.Fatalf("writes %q, want the later line on its own", got)
	}
}

// waitWrites waits (up to 10 s) for rec to have had n writes.
func waitWrites(t *testing.T, rec *recorder, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(rec.snapshot()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes, want %d", len(rec.snapshot()), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestWriteComesAfterGatheredLines: an unbuffered line (the log
// handler's) is written with the lines gathered before it, after them.
func TestWriteComesAfterGatheredLines(t *testing.T) {
	rec := &recorder{}
	g := NewGatherer(rec, time.Hour, 1<<20)
	g.Gather([]byte("access\n"))
	if n, err := g.Write([]byte("error\n")); n != len("error\n") || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if got := rec.snapshot(); len(got) != 1 || got[0] != "access\nerror\n" {
		t.Fatalf("writes %q", got)
	}
	if _, err := g.Write([]byte("info\n")); err != nil {
		t.Fatal(err)
	}
	if got := rec.snapshot(); len(got) != 2 || got[1] != "info\n" {
		t.Fatalf("writes %q: Write with nothing gathered must write at once", got)
	}
}

func TestGatherWritesWhenMaxBytesGathered(t *testing.T) {
	rec := &recorder{}
	g := NewGatherer(rec, time.Hour, 10)
	g.Gather([]byte("12345\n"))
	if got := rec.snapshot(); len(got) != 0 {
		t.Fatalf("written below maxBytes: %q", got)
	}
	g.Gather([]byte("6789\n"))
	if got := rec.snapshot(); len(got) != 1 || got[0] != "12345\n6789\n" {
		t.Fatalf("writes %q, want both lines once maxBytes gathered", got)
	}
}

// TestGatherConcurrent writes gathered lines and unbuffered lines
// from many goroutines (under -race a data race fails it): every line
// arrives whole, once, and each goroutine's lines in its order.
func TestGatherConcurrent(t *testing.T) {
	var out bytes.Buffer
	g := NewGatherer(&Writer{W: &out}, time.Millisecond, 512)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				line := []byte(fmt.Sprintf("w%d %04d %s\n", w, i, strings.Repeat("x", i%40)))
				if i%7 == 0 {
					if _, err := g.Write(line); err != nil {
						t.Error(err)
					}
					continue
				}
				g.Gather(line)
			}
		}()
	}
	wg.Wait()
	if err := g.Flush(); err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8*300 {
		t.Fatalf("%d lines, want %d", len(lines), 8*300)
	}
	for _, l := range lines {
		var w string
		var i int
		if _, err := fmt.Sscanf(l, "%s %d", &w, &i); err != nil {
			t.Fatalf("torn line %q", l)
		}
		if want := w + fmt.Sprintf(" %04d %s", i, strings.Repeat("x", i%40)); l != want {
			t.Fatalf("line %q, want %q", l, want)
		}
		if i != next[w] {
			t.Fatalf("%s: line %d after %d", w, i, next[w]-1)
		}
		next[w]++
	}
}

// failing is a writer whose writes fail.
type failing struct{ calls atomic.Int64 }

func (f *failing) Write(p []byte) (int, error) {
	f.calls.Add(1)
	return 0, errors.New("disk full")
}

// TestGatherKeepsTheTimersWriteError: a write the timer made that failed
// is reported by the next Flush (and only once).
func TestGatherKeepsTheTimersWriteError(t *testing.T) {
	f := &failing{}
	g := NewGatherer(f, time.Millisecond, 1<<20)
	g.Gather([]byte("a\n"))
	deadline := time.Now().Add(10 * time.Second)
	for f.calls.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the timer never wrote")
		}
		time.Sleep(time.Millisecond)
	}
	if err := g.Flush(); err == nil || err.Error() != "disk full" {
		t.Fatalf("Flush after the timer's failed write: %v", err)
	}
	if err := g.Flush(); err != nil {
		t.Fatalf("second Flush: %v, want the error reported once", err)
	}
}

// TestGatherAfterClose: Close writes what gathered, and later lines are
// written at once.
func TestGatherAfterClose(t *testing.T) {
	rec := &recorder{}
	g := NewGatherer(rec, time.Hour, 1<<20)
	g.Gather([]byte("a\n"))
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	g.Gather([]byte("b\n"))
	if got := rec.snapshot(); len(got) != 2 || got[0] != "a\n" || got[1] != "b\n" {
		t.Fatalf("writes %q, want a at Close and b at once", got)
	}
}

// TestDelayedWriterGathers: writes through Delayed wait with the gathered
// lines and come out, in order, at the next Write.
func TestDelayedWriterGathers(t *testing.T) {
	rec := &recorder{}
	g := NewGatherer(rec, time.Hour, 1<<20)
	if n, err := g.Delayed().Write([]byte("access\n")); n != len("access\n") || err != nil {
		t.Fatalf("Delayed Write = %d, %v", n, err)
	}
	if got := rec.snapshot(); len(got) != 0 {
		t.Fatalf("written at once: %q", got)
	}
	if _, err := g.Write([]byte("error\n")); err != nil {
		t.Fatal(err)
	}
	if got := rec.snapshot(); len(got) != 1 || got[0] != "access\nerror\n" {
		t.Fatalf("writes %q", got)
	}
}
