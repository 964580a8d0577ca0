// Command omnicart-chaos is a fault campaign against the real omnicart
// binary: "nothing lost under kill -9". It starts `omnicart serve` on a
// fresh SQLite database and a fixed port, lets concurrent clients drive cart
// lifecycles (init, pay, capture, cancel, partial refund, refund, status)
// with an Idempotency-Key on every POST and PATCH, kills the server with
// SIGKILL at random moments and restarts it on the same database and port,
// and has the clients retry every request whose answer was lost with the
// same key and body. Then it checks that every acknowledged change is
// visible, nothing was captured or refunded twice, retries got answers
// consistent with their first attempt, no key stays "in progress" after a
// restart, no item stays ongoing once recovery ran, and the sandbox ledger
// balances and agrees with every cart (see package internal/chaos).
//
//	go run ./cmd/omnicart-chaos -kills 100 -duration 3m -clients 8 -seed 1
//
// It prints progress, then a summary: counts by request and outcome,
// retries replayed versus run for the first time, and each check with its
// failures. It exits 1 when a check failed, 2 when the campaign could not
// run. Without -bin it builds ./cmd/omnicart from the current directory,
// which must be inside the module. -keep keeps the work directory (the
// database and server.log) for inspection.
package main
