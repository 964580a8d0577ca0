// Package chaos is a fault campaign against the real omnicart binary:
// "nothing lost under kill -9".
//
// Run starts `omnicart serve` on a fresh SQLite database and a fixed
// port, creates a test-mode merchant with every privilege, and lets
// several concurrent clients drive cart lifecycles through the Merchant
// API (init, pay through the JSON payment flow, capture, cancel, partial
// refund through modify, refund, status) with an Idempotency-Key on every
// POST and PATCH. Meanwhile it kills the server with SIGKILL at random
// moments and restarts it on the same database and port. A client retries
// every request whose answer was lost (transport error, 5xx, or 124191
// with Retry-After) with the same Idempotency-Key and body until it is
// answered.
//
// Afterwards it checks, and reports as Failures grouped by check:
//
//   - acked-visible: every acknowledged change (2xx) is visible in
//     /status, and statuses are consistent with the actions the clients
//     sent (no status no action explains);
//   - amounts: status amounts are consistent (captured is the full amount
//     or 0, refunded ≤ captured, current as the status says, totals are
//     the sum of the items), and no item was acted on by two different
//     requests;
//   - retry-consistent: a retried request whose first answer was lost got
//     an answer consistent with the first attempt (a retried /init a 201
//     with a paymentUrl, not 124101; a retried capture, cancel or refund
//     a 200, not 124114/124115, when the first attempt had acted);
//   - stuck-key: no Idempotency-Key answers 124191 once the server has
//     been up for more than Config.StuckAfter;
//   - ongoing: no item is still `ongoing` once the server has been up for
//     Config.Settle after the last restart (recovery has run);
//   - ledger: with the server stopped, the sandbox ledger's invariants
//     hold (money conserved per currency, no account but the issuer's
//     funding negative, stored balances equal the sum of the entries), no
//     money moved under an operation the gateway never recorded, and per
//     cart the ledger's hold, captured and refunded money equal what
//     /status reports (globally: the merchant's balance is captured −
//     refunded, the holds are the authorized amounts);
//   - unexpected: an answer no correct server gives in that situation.
//
// The payment page takes no Idempotency-Key: a payment whose answer was
// lost is simply paid again, and the campaign counts how the repeat was
// answered (410 "nothing left to pay" when the lost attempt had paid, as
// internal/e2e's payment page tests expect) without failing on it.
//
// The ledger is read with SQL from the database file (tables
// ledger_accounts, ledger_journals, ledger_entries and operations), so
// that the check does not depend on the Go API of the ledger adapter.
//
// Both cmd/omnicart-chaos (a long campaign) and internal/e2e's
// TestChaosKill9 (a short one) use it.
package chaos
