package gateway_test

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/postgres"
	"github.com/omnicart/omnicart/postgres/pgtest"
	"github.com/omnicart/omnicart/sandbox"
)

// TestLedgerPropertiesPostgres runs the ledger property test (see
// TestLedgerProperties) on PostgreSQL when OMNICART_TEST_POSTGRES names a
// server: each world is a database of its own. Its default count is
// smaller (defaultPGSequences: a database takes seconds to create);
// OMNICART_PROPERTY_SEQUENCES and OMNICART_PROPERTY_SEED apply as there.
func TestLedgerPropertiesPostgres(t *testing.T) {
	if os.Getenv(pgtest.EnvVar) == "" {
		t.Skipf("%s is not set", pgtest.EnvVar)
	}
	t.Parallel()
	total := int(envInt("OMNICART_PROPERTY_SEQUENCES", defaultPGSequences))
	seed := uint64(envInt("OMNICART_PROPERTY_SEED", time.Now().UnixNano()))
	t.Logf("%d sequences on PostgreSQL, seed %d (replay with OMNICART_PROPERTY_SEED=%d)", total, seed, seed)
	worlds := (total + sequencesPerWorld - 1) / sequencesPerWorld
	var mu sync.Mutex
	steps, ran := 0, 0
	kinds := map[string]int{}
	for w := range 2 {
		t.Run(fmt.Sprintf("worker%d", w), func(t *testing.T) {
			t.Parallel()
			for k := w; k < worlds; k += 2 {
				n := min(sequencesPerWorld, total-k*sequencesPerWorld)
				s, seen := runSequences(t, newPGWorld(t), seed, k, n)
				mu.Lock()
				steps += s
				ran += n
				for kind, c := range seen {
					kinds[kind] += c
				}
				mu.Unlock()
				if t.Failed() {
					return
				}
			}
		})
	}
	t.Cleanup(func() {
		if !t.Failed() {
			t.Logf("%d sequences, %d steps; steps by outcome: %v", ran, steps, kinds)
			if ran < total {
				t.Errorf("ran %d sequences, want %d", ran, total)
			}
		}
	})
}

const defaultPGSequences = 400

// newPGWorld is newWorld on a new PostgreSQL database.
func newPGWorld(t *testing.T) *world {
	t.Helper()
	db, err := postgres.Open(t.Context(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	issuer := sandbox.New(postgres.NewLedger(db), []byte("property-test-fingerprints"))
	svc := &gateway.Service{
		Store: postgres.NewStore(db),
		Provider: func(m *omnicart.Merchant) (omnicart.Provider, error) {
			if m.Mode == omnicart.ModeTest {
				return issuer, nil
			}
			return nil, gateway.ErrNoProvider
		},
		Now:       func() time.Time { return propT0 },
		KeyPepper: []byte("pepper"),
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return &world{t: t, svc: svc, issuer: issuer, held: map[string]int64{}}
}

// runSequences is runWorld on the world w.
func runSequences(t *testing.T, w *world, seed uint64, k, n int) (int, map[string]int) {
	steps := 0
	kinds := map[string]int{}
	for i := range n {
		idx := k*sequencesPerWorld + i
		seq := &sequence{w: w, rng: rand.New(rand.NewPCG(seed, uint64(idx))), name: fmt.Sprintf("seq%d", idx)}
		s, err := seq.run(t.Context())
		steps += s
		for _, line := range seq.trace {
			kind, _, _ := strings.Cut(line, " ")
			kinds[kind]++
		}
		if err != nil {
			t.Fatalf("sequence %d (seed %d): %v\nsteps:\n  %s", idx, seed, err, strings.Join(seq.trace, "\n  "))
		}
	}
	return steps, kinds
}
