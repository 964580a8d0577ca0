// Package chaos is a fault campaign against the real omnicart binary:
// "nothing lost under kill -9", and nothing wrong under bursts, floods
// of wrong keys and hostile input.
//
// Run starts `omnicart serve` on a fresh SQLite database and a fixed port
// and creates two test-mode merchants with every privilege: the
// campaign's, whose carts the checks model, and a second one for the
// hostile phase (so that nothing a hostile request does, even moving its
// test clock, can disturb the modelled carts).
//
// The kill phase: several concurrent clients drive cart lifecycles
// through the Merchant API (init, pay through the JSON payment flow with
// the sandbox's cards typed in several ways, capture, cancel, partial
// refund through modify, refund, status) with an Idempotency-Key on every
// POST and PATCH. Two-step items have capture windows of 2–5 s whose
// autoAction is the opposite of what the client will do; one cart in four
// has an item timer of 1–3 s (triggered by initiated, authorized,
// captured, completed, canceled, refunded or expired); some carts are
// never paid and expire after 60 s (each client's first, then one in 25
// while they can expire before the phase ends). Meanwhile the server is
// killed with SIGKILL at random moments and restarted on the same database
// and port; the WAL each kill leaves is scanned for card data. A client
// retries every request whose answer was lost (transport error, 5xx, or
// 124191 with Retry-After) with the same Idempotency-Key and body until it
// is answered.
//
// Then, with the server up:
//
//   - bursts (Config.Bursts, default 200): Config.BurstWidth (32)
//     identical requests with one Idempotency-Key at the same moment, in
//     turn /init, /capture, /refund and /modify (burst.go);
//   - the wrong-key flood (Config.WrongKeys, default 10,000): legitimate
//     clients are timed for Config.Baseline, then again while 16
//     goroutines send wrong API keys (wrongkeys.go);
//   - the hostile phase: fixed and Config.Hostile random hostile requests
//     per endpoint, and to the payment page (hostile.go);
//   - a wait until every deadline of the modelled carts is due.
//
// Afterwards it checks, and reports as Failures grouped by check:
//
//   - acked-visible: every acknowledged change (2xx) is visible in
//     /status, and statuses are consistent with the actions the clients
//     sent (no status no action explains; unpaid carts expired);
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
//     money moved under an operation the gateway never recorded, no item
//     was captured twice or refunded beyond its capture, and per cart
//     (both merchants) the ledger's hold, captured and refunded money
//     equal what /status reports (per merchant: the balance is captured −
//     refunded; the holds are the authorized amounts) (ledger.go);
//   - events: per cart, event sequence numbers are 1…n and n is the
//     cart's count; each item's status changes form one chain ending at
//     its stored status; amounts in events never shrink and stay within
//     refunded ≤ captured ≤ initiated; for the campaign's merchant no item
//     reaches a status twice (events.go);
//   - deadlines: each deadline fired once, never early, and by the end if
//     it was due: at most one auto-action warning per item and exactly one
//     before each capture-window auto action, no item authorized past its
//     window, unpaid carts expired, item timers started when their trigger
//     was reached and elapsed once;
//   - idempotent-burst: in each burst exactly one request ran, every other
//     answer is the stored answer (same status and body, marked
//     Idempotent-Replayed: true) or 124191 with Retry-After, and the
//     request sent again afterwards replays it;
//   - wrong-key: every wrong key got 401 111000;
//   - hostile: every hostile request was answered, without a 5xx, with
//     the JSON envelope on the Merchant API and a JSON result on the
//     payment page's JSON flow, and /healthz answers afterwards;
//   - no-5xx: no answer of the whole campaign and no request in the
//     server's log was a 5xx;
//   - crash: the server never exited by itself;
//   - server-log: the log holds only JSON lines, no panic and no error;
//   - card-data: no card number typed anywhere and no CVC (nor the word
//     "cvc") in the database file, its WAL and index (while serving, after
//     each kill, after stopping), any text value of the database (read
//     through SQL) or the server's output (scan.go);
//   - unexpected: an answer no correct server gives in that situation.
//
// Under sustained load the server's WAL never starts over and grows by
// about 10 MB/s; Config.WALLimit (omnicart-chaos -wal-limit) pauses the
// clients whenever it holds more than that, until the server's
// checkpointer has copied it (walguard.go, docs/RELIABILITY.md).
//
// The payment page takes no Idempotency-Key: a payment whose answer was
// lost is simply paid again, and the campaign counts how the repeat was
// answered (410 "nothing left to pay" when the lost attempt had paid, as
// internal/e2e's payment page tests expect) without failing on it.
//
// The ledger, the events and the card-data scan read the database file
// with SQL (modernc.org/sqlite), so that the checks do not depend on the
// Go API of the store.
//
// Both cmd/omnicart-chaos (a long campaign) and internal/e2e's
// TestChaosKill9 (a short one) use it.
package chaos
