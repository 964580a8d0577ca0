package syncio

import (
	"io"
	"sync"
)

// Writer serializes writes to W: each Write reaches W whole, one at a
// time.
type Writer struct {
	mu sync.Mutex
	W  io.Writer
}

func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.W.Write(p)
}
