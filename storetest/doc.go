// Package storetest is the conformance suite every storage engine must
// pass, through the ports of the root package only (never SQL):
//
//   - Run(t, open) checks omnicart.Store and omnicart.NotificationQueue
//     (an Engine): merchants, keys and the catalog; carts stored whole
//     with their events taken and their sequence kept, looked up by id and
//     by payment token, ErrConflict on a duplicate cartId; the active-timer
//     index; deadlines, the test clock, and workers racing to fire due
//     carts (each processed once per due moment); money operations;
//     idempotency records; payment-link messages and the queue's leases,
//     racing claimers and outcomes; the sandbox ledger of Tx.Ledger (the
//     sandboxtest suites, and its commit and rollback with the
//     transaction); rollback of everything a transaction touched; what
//     View (one snapshot) and Read (committed state) see; concurrent
//     writers.
//   - omnicart.CallbackStore has a suite of its own in this package.
//
// Engines run the suites from their tests with a new, empty database per
// subtest.
package storetest
