package syncio

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// TestWriterKeepsWritesWhole writes lines from many goroutines into a
// bytes.Buffer (not safe for concurrent use): under -race an unserialized
// write fails, and every line must arrive whole.
func TestWriterKeepsWritesWhole(t *testing.T) {
	var buf bytes.Buffer
	w := &Writer{W: &buf}
	line := strings.Repeat("x", 100) + "\n"
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if _, err := w.Write([]byte(line)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	lines := strings.SplitAfter(buf.String(), "\n")
	if len(lines) != 8*200+1 || lines[len(lines)-1] != "" {
		t.Fatalf("%d pieces, want %d lines", len(lines)-1, 8*200)
	}
	for i, l := range lines[:len(lines)-1] {
		if l != line {
			t.Fatalf("line %d torn: %q", i, l)
		}
	}
}
