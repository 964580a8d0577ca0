// Command timers is the benchmark of OmniCart's durable deadlines on SQLite.
// It bulk-loads N carts whose item timers are pending (default 1,000,000),
// of which B (default 100,000) fall due in the same second, then starts the
// real omnicart binary on that database and measures: insert rate, bytes per
// timer on disk, restart-to-ready time with everything pending, firing
// throughput of the burst, firing lag p50/p99/max of deadlines spread over
// time while API load runs, and the server's peak RSS.
//
//	go run ./cmd/omnicart-bench-timers -n 1000000 -burst 100000
//
// It prints a Markdown table for docs/PERFORMANCE.md.
package main
