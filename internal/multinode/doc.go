// Package multinode holds the multi-node test of OmniCart (issue #10): three
// `omnicart serve` processes on one PostgreSQL database, under load, while
// one node is killed with SIGKILL and PostgreSQL itself crashes and
// restarts. The package has no code of its own; the test is in
// multinode_test.go and its helpers.
//
// TestMultiNode starts a private PostgreSQL server (internal/pgserver,
// never the machine's shared cluster), builds the binary, creates a
// database, and starts three nodes on it at once (their migrations
// serialize on PostgreSQL's advisory lock), all with the same
// --answer-key-file, --allow-private-callbacks and a short callback retry
// schedule. A test-mode merchant is created with the CLI (capture windows
// from 1 s, auto-action warnings 1 s ahead) with a callback endpoint
// pointing at a local receiver, which checks every signature and counts
// deliveries by webhook-id (and fails the first delivery of one event in
// eight with a 503, so that retries are exercised too).
//
// Clients spread over the three nodes run cart lifecycles: /init with two
// or three two-step items whose capture windows are 2–4 s long, each with
// an autoAction (cancel or complete); payment through the JSON payment
// flow, with one of the sandbox's always-authorized cards, on another node
// than the one that opened the cart (the payment page works on any node);
// then a /capture of some of the items, the
// others being left to their auto actions, which fire on whichever node's
// scheduler claims them first. Every Merchant API request carries an
// Idempotency-Key; an answer that is lost (transport error, 5xx, or
// 124191 while another attempt holds the key) is asked again on the next
// node with the same key and body.
//
// Mid-load, one node is killed with SIGKILL and restarted on its port;
// later PostgreSQL is stopped in immediate mode (a crash), every node must
// then answer 503 on /readyz, and once PostgreSQL is started again every
// node must become ready by itself (the pools reconnect) without a
// restart of its own.
//
// Afterwards, once every deadline is due and has fired:
//
//   - every acknowledged change is visible, the same, from every node
//     (/status of each cart on each node), and matches what the clients
//     were told (captured items completed, refused captures and the
//     others' auto actions as their autoAction says);
//   - each deadline fired once: in the events table (read with pgx), each
//     item's payment changes form one chain without repeats, ending at its
//     status, with at most one auto-action warning per item, exactly one
//     before each auto action, and no item left authorized or ongoing;
//   - every event reached the receiver at least once (the events table's
//     ids against the receiver's webhook-ids), and no operation is left
//     unsettled;
//   - the sandbox ledger balances: per currency the balances sum to zero
//     (sandbox.CheckBalances), every balance is the sum of its entries,
//     no hold is left, and the merchant's balance is what the carts
//     captured.
//
// It logs what it saw: carts, retries by cause, how long the nodes took
// to report not ready and ready again, deadlines fired, callbacks
// delivered (and delivered twice), the deadlocks PostgreSQL broke.
//
// The test skips without PostgreSQL's server binaries (unless CI is set,
// when it fails instead) and in -short mode, and takes about a minute.
// When it fails it logs the lost answers and the nodes' and PostgreSQL's
// logs; with MULTINODE_DEBUG set it also logs the lost answers when it
// passes, the database's sessions just before the clients stop, and (when
// it fails) a goroutine dump of each node.
package multinode
