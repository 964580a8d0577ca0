package main

import "runtime/debug"

// serveGCPercent is the garbage collector's target for `omnicart serve`
// when GOGC is not set: the heap may grow to five times what is live
// before a collection, instead of Go's default of twice. A request
// allocates a few kilobytes that die with it, and the live heap is small
// (tens of MB), so collections ran several times a second under load and
// took about a tenth of the server's CPU; at 400 they take a fraction of
// that (docs/PERFORMANCE.md, "Status: decoding, one statement and the
// collector").
const serveGCPercent = 400

// serveMemoryLimit is the soft limit of the Go runtime's memory that
// comes with serveGCPercent when neither GOGC nor GOMEMLIMIT is set: near
// it the collector runs as often as it must, so the larger target does
// not let a busy node's heap grow without bound. A burst of 100,000
// timers took the process to 223 MiB without it and 179 MiB with it
// (145 MiB at Go's defaults); a lifecycle load to 194 MiB without it and
// 140 MiB with it, at the same rate. SQLite's page caches are C memory,
// outside it.
const serveMemoryLimit = 80 << 20

// tuneGC sets serveGCPercent and serveMemoryLimit unless the operator
// chose with GOGC or GOMEMLIMIT.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(serveGCPercent)
	debug.SetMemoryLimit(serveMemoryLimit)
}
