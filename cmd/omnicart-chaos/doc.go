// Command omnicart-chaos is a fault campaign against the real omnicart
// binary: "nothing lost under kill -9", and nothing wrong under bursts,
// floods of wrong keys and hostile input. It starts `omnicart serve` on a
// fresh SQLite database and a fixed port, lets concurrent clients drive
// cart lifecycles (init, pay, capture, cancel, partial refund, refund,
// status; capture windows, item timers, carts left to expire) with an
// Idempotency-Key on every POST and PATCH, kills the server with SIGKILL at
// random moments and restarts it on the same database and port, and has
// the clients retry every request whose answer was lost with the same key
// and body. Then, with the server up, it fires bursts of identical requests
// under one Idempotency-Key, floods the server with wrong API keys while it
// times legitimate requests, and sends hostile bodies to every endpoint and
// the payment page. Finally it checks that every acknowledged change is
// visible, nothing was captured or refunded twice, retries and bursts got
// the stored answer, no key stays "in progress" after a restart, no item
// stays ongoing, every deadline fired once, the sandbox ledger balances and
// agrees with every cart, no answer was a 5xx, the log holds no panic or
// error, and no card number or CVC is in the database, its WAL or the logs
// (see package internal/chaos).
//
//	go run ./cmd/omnicart-chaos -kills 500 -duration 30m -clients 8 -seed 1
//
// -bursts, -burst-width, -wrong-keys, -baseline and -hostile size the
// phases after the kills (-1 skips one). It prints progress, then a
// summary: counts by request and outcome, retries replayed versus run for
// the first time, bursts, wrong keys and latency, and each check with its
// failures. It exits 1 when a check failed, 2 when the campaign could not
// run. Without -bin it builds ./cmd/omnicart from the current directory,
// which must be inside the module. -keep keeps the work directory (the
// database, server.log and server.stdout) for inspection.
package main
