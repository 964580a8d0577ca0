// Package syncio makes writers safe for concurrent use: the server's log
// (its handler and the HTTP access log write lines to one writer, which
// writes access log entries a moment later, several at once: Gatherer)
// and the chaos campaign's copies of a server's output (Writer).
package syncio
