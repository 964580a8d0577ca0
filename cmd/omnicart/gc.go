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
// not let a busy node's heap grow without bound. Peak RSS while firing a
// burst of 100,000 timers: 223 MiB without it, 179–201 MiB with 80 MiB,
// 156 MiB with 64 MiB (145 MiB at Go's defaults); under a closed-loop
// lifecycle load 190 MiB without it and 130 MiB with 64 MiB, for 2–4 %
// fewer lifecycles. SQLite's page caches are C memory, outside it.
const serveMemoryLimit = 64 << 20

// tuneGC sets serveGCPercent and serveMemoryLimit unless the operator
// chose with GOGC or GOMEMLIMIT.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(serveGCPercent)
	debug.SetMemoryLimit(serveMemoryLimit)
}
