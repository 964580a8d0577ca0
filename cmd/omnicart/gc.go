package main

import "runtime/debug"

// serveGCPercent is the garbage collector's target for `omnicart serve`
// when GOGC is not set: the heap may grow to five times what is live
// before a collection, instead of Go's default of twice. A request
// allocates a few kilobytes that die with it, and the live heap is small
// (tens of MB), so collections ran several times a second under load and
// took about a tenth of the server's CPU; at 400 they take a fraction of
// that, for some tens of MB more memory (docs/PERFORMANCE.md, "Status:
// decoding, one statement and the collector").
const serveGCPercent = 400

// tuneGC sets serveGCPercent unless the operator chose with GOGC.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
}
