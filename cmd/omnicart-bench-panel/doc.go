// Command omnicart-bench-panel measures how fast the Merchant Panel's
// pages answer with many carts in the database (the Panel issue asks for
// under 50 ms at p99 with 100,000 carts). It is a program, not a timed
// test:
//
//	go run ./cmd/omnicart-bench-panel                     # SQLite, 100,000 carts
//	go run ./cmd/omnicart-bench-panel -database 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'
//
// It runs in three steps:
//
//  1. Load (not timed as a page): N carts of one merchant (-n, default
//     100,000) and N/10 of another, interleaved, written in time order
//     through the engine's own store (-batch carts per transaction),
//     created over the last 60 days (-days). Each cart lives its history
//     through the domain's own transitions up to now: one to four catalog
//     items, four currencies (EUR, USD, GBP, JPY), about 20,000 customers
//     (one cart in ten has none), one-step and two-step items with various
//     capture windows and auto actions, abandoned carts that expire,
//     declines (some rejected), captures, cancels, partial captures,
//     refunds and capture windows that ran out; nothing is left due in the
//     past. Their events are then published as the server's fan-out would,
//     so that cart pages show a timeline. On PostgreSQL the database is
//     then vacuumed and analyzed (autovacuum does that soon after a bulk
//     load); SQLite's WAL is checkpointed.
//  2. The real omnicart binary (built from this module, or -bin) serves
//     the database; a Panel owner signs in through the sign-in form.
//  3. For each page, -warmup unmeasured requests and then -requests
//     measured ones (-c clients at once; default one), each timed from
//     sending to the last byte of the answer, and checked (200, a
//     signed-in page with the page's own content): the overview, the carts
//     list's first page, filtered by a common, a rare and a missing item
//     status and by currency, a deep keyset page (pages 10 to -deep,
//     reached by following the next links), a search by customerId and
//     by cartId, a cart page, and the API keys page. A page is measured
//     for at most -page-time (default one minute): fewer requests are
//     then reported.
//
// It prints p50, p90, p99 and max per page as a Markdown table for
// docs/PERFORMANCE.md, with the load average before and after measuring.
//
// -database takes sqlite:PATH (a new file) or a PostgreSQL server's URL:
// a new database, named at random, is created there and dropped at the
// end (-keep keeps it, and the working directory).
package main
