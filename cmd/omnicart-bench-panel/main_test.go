package main

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/postgres/pgtest"
)

// TestBenchRuns runs the benchmark with a few carts: it checks that the
// program works (load, server, sign-in, every page answered and checked),
// not how fast. With OMNICART_TEST_POSTGRES set it runs on PostgreSQL too.
func TestBenchRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	dbs := map[string]string{"sqlite": ""}
	if admin := os.Getenv(pgtest.EnvVar); admin != "" {
		dbs["postgres"] = admin
	}
	bin := ""
	for name, database := range dbs {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			var out io.Writer = io.Discard
			if testing.Verbose() {
				out = os.Stdout
			}
			rep, err := run(context.Background(), config{n: 400, other: 40, days: 60, batch: 100, database: database, dir: dir, bin: bin,
				requests: 5, warmup: 1, concurrency: 2, deep: 12, out: out, pageTime: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.results) != 11 {
				t.Errorf("%d pages measured, want 11", len(rep.results))
			}
			for _, r := range rep.results {
				if r.requests != 5 || r.p50 <= 0 || r.p50 > r.p99 || r.p99 > r.maxD {
					t.Errorf("%s: %+v", r.page, r)
				}
			}
			// The load has items of many statuses (the newest ones, initiated
			// and authorized, need more carts than these to be sure of).
			for _, st := range []omnicart.Status{omnicart.StatusCompleted, omnicart.StatusCanceled, omnicart.StatusExpired} {
				if rep.mix[st] == 0 {
					t.Errorf("no %s item among %v", st, rep.mix)
				}
			}
		})
	}
}
