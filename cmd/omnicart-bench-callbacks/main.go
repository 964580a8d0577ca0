package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/clock"
	"github.com/omnicart/omnicart/sqlite"
	"github.com/omnicart/omnicart/webhook"
)

func main() {
	events := flag.Int("events", 20000, "events in the outbox")
	endpoints := flag.Int("endpoints", 1, "endpoints of the merchant (each gets every event)")
	perEndpoint := flag.Int("per-endpoint", webhook.DefaultPerEndpoint, "attempts in flight per endpoint")
	prefetch := flag.Int("prefetch", webhook.DefaultPrefetch, "deliveries held per endpoint (claimed ahead)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the dispatcher phase to this file")
	rounds := flag.Int("rounds", 3, "rounds to run (each on a fresh database); the median ratio is reported")
	flag.Parse()
	profile, prefetchN = *cpuProfile, *prefetch
	fmt.Printf("machine: %s/%s, %d CPUs (GOMAXPROCS %d), %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Printf("events: %d, endpoints: %d, deliveries per round: %d, at most %d attempts in flight per endpoint\n",
		*events, *endpoints, *events**endpoints, *perEndpoint)
	var ratios, disp, base []float64
	for i := range *rounds {
		fmt.Printf("round %d\n", i+1)
		d, b, err := run(*events, *endpoints, *perEndpoint)
		if err != nil {
			fmt.Fprintln(os.Stderr, "omnicart-bench-callbacks:", err)
			os.Exit(1)
		}
		disp, base, ratios = append(disp, d), append(base, b), append(ratios, d/b)
		profile = "" // profile the first round only
	}
	fmt.Printf("median of %d rounds: dispatcher %.0f deliveries/s, baseline %.0f posts/s, ratio %.2f×\n",
		len(ratios), median(disp), median(base), median(ratios))
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// profile is the -cpuprofile file; prefetchN the -prefetch value.
var (
	profile   string
	prefetchN int
)

// receiver counts the callbacks it gets and answers 204.
type receiver struct {
	got  atomic.Int64
	want int64
	done chan struct{}
	once sync.Once
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, req.Body)
	w.WriteHeader(http.StatusNoContent)
	if r.got.Add(1) == r.want {
		r.once.Do(func() { close(r.done) })
	}
}

func (r *receiver) reset(want int64) {
	r.got.Store(0)
	r.want, r.done, r.once = want, make(chan struct{}), sync.Once{}
}

// run fills a fresh database and measures one round: the dispatcher's
// deliveries per second and the baseline's posts per second.
func run(events, endpoints, perEndpoint int) (float64, float64, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "omnicart-bench-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "bench.db"))
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()

	rcv := &receiver{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	hs := &http.Server{Handler: rcv}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	url := "http://" + ln.Addr().String() + "/hooks"

	store := sqlite.NewCallbacks(db)
	mgr := &webhook.Manager{Store: store, Now: time.Now, AllowPrivate: true}
	if err := fill(ctx, db, mgr, url, events, endpoints); err != nil {
		return 0, 0, err
	}
	total := int64(events * endpoints)

	// The dispatcher, from the outbox to the receiver.
	rcv.reset(total)
	d := &webhook.Dispatcher{Store: store, Client: webhook.NewClient(webhook.ClientOptions{AllowPrivate: true}),
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), Clock: clock.Real{},
		PerEndpoint: perEndpoint, Prefetch: prefetchN}
	// Fan-out first, on its own clock: outbox events to published events
	// and deliveries.
	fstart := time.Now()
	for {
		n, err := d.FanOut(ctx)
		if err != nil {
			return 0, 0, err
		}
		if n == 0 {
			break
		}
	}
	fanout := time.Since(fstart)
	fmt.Printf("fan-out:    %d events in %s = %.0f events/s\n", events, fanout.Round(time.Millisecond), float64(events)/fanout.Seconds())
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return 0, 0, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return 0, 0, err
		}
	}
	dctx, stop := context.WithCancel(ctx)
	start := time.Now()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		d.Run(dctx)
	}()
	<-rcv.done
	elapsed := time.Since(start)
	if profile != "" {
		pprof.StopCPUProfile()
	}
	stop()
	<-stopped
	dispRate := float64(total) / elapsed.Seconds()
	fmt.Printf("dispatcher: %d deliveries in %s = %.0f deliveries/s\n", total, elapsed.Round(time.Millisecond), dispRate)

	// The baseline: the same payloads, posted by a raw keep-alive client
	// with the same total concurrency.
	payloads, err := allPayloads(ctx, store, events)
	if err != nil {
		return 0, 0, err
	}
	conc := endpoints * perEndpoint
	rcv.reset(total)
	tr := &http.Transport{MaxIdleConnsPerHost: conc, MaxIdleConns: conc}
	cl := &http.Client{Transport: tr}
	var next atomic.Int64
	var failed atomic.Int64
	start = time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= total {
					return
				}
				body := payloads[i%int64(len(payloads))]
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := cl.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	base := time.Since(start)
	if failed.Load() > 0 {
		return 0, 0, fmt.Errorf("baseline: %d requests failed", failed.Load())
	}
	baseRate := float64(total) / base.Seconds()
	fmt.Printf("baseline:   %d posts in %s = %.0f posts/s (raw keep-alive http.Client, %d goroutines)\n", total, base.Round(time.Millisecond), baseRate, conc)
	fmt.Printf("ratio:      %.2f× of the baseline\n", dispRate/baseRate)
	return dispRate, baseRate, nil
}

// fill creates the merchant, its endpoints and `events` carts whose expiry
// event sits in the outbox.
func fill(ctx context.Context, db *sqlite.DB, mgr *webhook.Manager, url string, events, endpoints int) error {
	st := sqlite.NewStore(db)
	now := time.Now().UTC()
	m := &omnicart.Merchant{ID: "mer_bench", Name: "Bench", Mode: omnicart.ModeTest, CartExpirySecs: 60,
		Privileges: omnicart.DefaultPrivileges(), CreatedAt: now}
	if err := st.Tx(ctx, func(tx omnicart.Tx) error {
		if err := tx.CreateMerchant(ctx, m); err != nil {
			return err
		}
		return tx.PutCatalogItems(ctx, m.ID, []omnicart.CatalogItem{{ItemID: "pegasus", DisplayName: "Pegasus"}, {ItemID: "naga", DisplayName: "Naga"}})
	}); err != nil {
		return err
	}
	for range endpoints {
		if _, _, err := mgr.AddEndpoint(ctx, m.ID, webhook.NewEndpoint{URL: url}); err != nil {
			return err
		}
	}
	ops := 0
	newID := func() string { ops++; return "op_bench_" + strconv.Itoa(ops) }
	const batch = 2000
	for from := 0; from < events; from += batch {
		err := st.Tx(ctx, func(tx omnicart.Tx) error {
			for i := from; i < min(from+batch, events); i++ {
				spec := &omnicart.InitSpec{CartID: fmt.Sprintf("bench-cart-%08d", i), Currency: "EUR",
					Items: []omnicart.ItemSpec{{ID: "pegasus", Tag: "rampart", Amount: 250}, {ID: "naga", Tag: "tower", Amount: 1100}}}
				var sp omnicart.StagedProblems
				c := omnicart.NewCart(spec, m, now, &sp)
				if c == nil || sp.HasErrors() {
					return fmt.Errorf("bench cart: %v", sp.Ordered())
				}
				c.Tick(now.Add(61*time.Second), time.Hour, newID) // the cart expires: one event
				if err := tx.CreateCart(ctx, c, []byte(spec.CartID), time.Time{}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// allPayloads reads the published payloads back for the baseline.
func allPayloads(ctx context.Context, store *sqlite.Callbacks, n int) ([][]byte, error) {
	var out [][]byte
	before := ""
	for len(out) < n {
		evs, err := store.Events(ctx, "mer_bench", omnicart.CallbackEventQuery{Before: before, Limit: 1000})
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			out = append(out, e.Payload)
		}
		before = evs[len(evs)-1].ID
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no payloads published")
	}
	return out, nil
}
