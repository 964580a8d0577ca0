package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omnicart/omnicart/internal/syncio"
)

// Config configures a campaign.
type Config struct {
	// Binary is the omnicart binary to run (required).
	Binary string
	// Dir holds the database and the server's log, server.log (required).
	Dir string
	// Clients is how many clients drive carts concurrently (default 8).
	Clients int
	// Kills is how many times the server is killed with SIGKILL (default 20).
	Kills int
	// Duration is how long the clients run; the kills are spread over it
	// (default 40 s). The clients run until every kill is done too.
	Duration time.Duration
	// Seed seeds every random choice (the kill moments too, though
	// timing makes no two runs equal).
	Seed uint64
	// StuckAfter is how long after a restart an Idempotency-Key may still
	// answer 124191 (default 5 s). A client gives up on such a key then.
	StuckAfter time.Duration
	// Drain bounds how long clients may take to finish the request in
	// flight once the kills are done (default 20 s).
	Drain time.Duration
	// Settle is how long the server may take, after its last restart, to
	// leave no item ongoing and fire every due capture window (default
	// 15 s). The final checks run then.
	Settle time.Duration

	// After the kill phase, with the server up:

	// Bursts is how many times BurstWidth identical requests with one
	// Idempotency-Key are sent at once, in turn /init, /capture, /refund
	// and /modify (default 200; negative: none).
	Bursts int
	// BurstWidth is how many requests a burst sends at once (default 32).
	BurstWidth int
	// WrongKeys is how many requests with a wrong API key the flood sends
	// (default 10,000; negative: no flood).
	WrongKeys int
	// Baseline is how long legitimate requests are timed without the
	// flood before they are timed with it (default 10 s).
	Baseline time.Duration
	// Hostile is how many random hostile requests each endpoint gets,
	// besides the fixed hostile cases (default 100; negative: no hostile
	// phase at all).
	Hostile int

	// WALLimit, when positive, pauses the campaign's requests whenever the
	// server's WAL holds more than that many bytes of frames, until its
	// checkpointer has copied them all (see walguard.go). 0: never.
	WALLimit int64

	// Log receives progress lines (nil: none).
	Log io.Writer
}

func (cfg *Config) defaults() {
	if cfg.Clients <= 0 {
		cfg.Clients = 8
	}
	if cfg.Kills < 0 {
		cfg.Kills = 0
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 40 * time.Second
	}
	if cfg.StuckAfter <= 0 {
		cfg.StuckAfter = 5 * time.Second
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 20 * time.Second
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 15 * time.Second
	}
	if cfg.Bursts == 0 {
		cfg.Bursts = 200
	}
	if cfg.BurstWidth <= 0 {
		cfg.BurstWidth = 32
	}
	if cfg.WrongKeys == 0 {
		cfg.WrongKeys = 10000
	}
	if cfg.Baseline <= 0 {
		cfg.Baseline = 10 * time.Second
	}
	if cfg.Hostile == 0 {
		cfg.Hostile = 100
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
}

// Checks, in the order the report lists them.
const (
	checkAckedVisible = "acked-visible"
	checkAmounts      = "amounts"
	checkRetry        = "retry-consistent"
	checkStuckKey     = "stuck-key"
	checkOngoing      = "ongoing"
	checkLedger       = "ledger"
	checkEvents       = "events"
	checkDeadlines    = "deadlines"
	checkBurst        = "idempotent-burst"
	checkWrongKey     = "wrong-key"
	checkHostile      = "hostile"
	check5xx          = "no-5xx"
	checkCrash        = "crash"
	checkLog          = "server-log"
	checkCardData     = "card-data"
	checkUnexpected   = "unexpected"
)

// Checks lists every check of a campaign.
var Checks = []string{checkAckedVisible, checkAmounts, checkRetry, checkStuckKey, checkOngoing, checkLedger,
	checkEvents, checkDeadlines, checkBurst, checkWrongKey, checkHostile, check5xx, checkCrash, checkLog,
	checkCardData, checkUnexpected}

// campaign is one run.
type campaign struct {
	cfg        Config
	srv        *server
	http       *http.Client
	base       string
	merchantID string
	apiKey     string
	start      time.Time

	mu       sync.Mutex
	carts    []*cart
	failures []Failure
	stats    stats

	// other is a second merchant, for the hostile phase: what it receives
	// must not disturb the carts the checks model (it may even move its
	// own test clock).
	other struct{ merchantID, apiKey string }
	// extra are the carts of other merchants than the campaign's (the
	// hostile phase's), with their final status: the ledger is checked
	// against them without a model of what was sent.
	extra []*extraCart
	// typed are the card numbers typed anywhere (besides cards), for the
	// card-data scan.
	typed map[string]bool
	// stoppedAt is when the final checks had read every status and the
	// server was stopped.
	stoppedAt time.Time
	// walDone is closed once every WAL copied after a kill is scanned;
	// walBusy is set while the scanner works; walSizes are the WAL's sizes
	// at the kills.
	walDone  chan struct{}
	walBusy  atomic.Bool
	walSizes []int64
	walSalts [8]byte // the WAL's salts at the last copy
	walSeen  int64   // its size then
	// load samples /proc/loadavg's one-minute load every few seconds.
	load []float64
	// gate pauses every request (held for writing by the WAL guard).
	gate sync.RWMutex
}

// extraCart is a cart of another merchant.
type extraCart struct {
	merchantID, id string
	final          *cartStatus
}

// stats are the campaign's counters.
type stats struct {
	attempts   atomic.Int64
	kills      atomic.Int64
	answers    atomic.Int64
	answers5xx atomic.Int64

	mu     sync.Mutex
	counts map[string]map[string]int // kind → outcome → count
}

func (s *stats) count(kind, outcome string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts == nil {
		s.counts = map[string]map[string]int{}
	}
	if s.counts[kind] == nil {
		s.counts[kind] = map[string]int{}
	}
	s.counts[kind][outcome]++
}

// add adds n to the count of kind and name.
func (s *stats) add(kind, name string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts == nil {
		s.counts = map[string]map[string]int{}
	}
	if s.counts[kind] == nil {
		s.counts[kind] = map[string]int{}
	}
	s.counts[kind][name] += n
}

// set records a number under kind and name.
func (s *stats) set(kind, name string, n int) {
	s.count(kind, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[kind][name] = n
}

// countRetry counts the answer of a request retried after a lost answer.
func (s *stats) countRetry(replayed bool, late string) {
	kind := "retries"
	if late != "" {
		kind = "late retries"
	}
	if replayed {
		s.count(kind, "replayed (Idempotent-Replayed: true)")
	} else {
		s.count(kind, "ran for the first time")
	}
}

func (c *campaign) fail(check, format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures = append(c.failures, Failure{Check: check, Detail: fmt.Sprintf(format, args...)})
}

func (c *campaign) addCart(ct *cart) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.carts = append(c.carts, ct)
}

func (c *campaign) logf(format string, args ...any) {
	fmt.Fprintf(c.cfg.Log, "%6.1fs  %s\n", time.Since(c.start).Seconds(), fmt.Sprintf(format, args...))
}

// Run runs a campaign: see the package documentation. It returns an error
// when the campaign itself cannot run (the binary does not start); what
// the campaign finds wrong with the server is in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	if cfg.Binary == "" || cfg.Dir == "" {
		return nil, errors.New("chaos: Config.Binary and Config.Dir are required")
	}
	logFile, err := os.Create(filepath.Join(cfg.Dir, serverLog))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	stdoutFile, err := os.Create(filepath.Join(cfg.Dir, serverStdout))
	if err != nil {
		return nil, err
	}
	defer stdoutFile.Close()
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	c := &campaign{cfg: cfg, http: httpClient(), base: "http://" + addr, start: time.Now(), typed: map[string]bool{},
		srv: &server{bin: cfg.Binary, dbPath: filepath.Join(cfg.Dir, "omnicart.db"), addr: addr,
			logs: &syncio.Writer{W: logFile}, stdout: &syncio.Writer{W: stdoutFile}}}
	defer c.http.CloseIdleConnections()
	c.srv.crashed = func(incarnation int, err error, tail string) {
		c.fail(checkCrash, "incarnation %d of the server exited by itself (%v), %s into the campaign; the end of its output:\n%s",
			incarnation, err, time.Since(c.start).Round(time.Millisecond), tail)
		c.logf("the server exited by itself (%v); restarting it", err)
		if err := c.srv.restartIfDown(); err != nil {
			c.fail(checkCrash, "restart after the server exited by itself: %v", err)
		}
	}
	if c.merchantID, c.apiKey, err = c.srv.createMerchant(ctx, "Chaos Shop", catalog); err != nil {
		return nil, err
	}
	if c.other.merchantID, c.other.apiKey, err = c.srv.createMerchant(ctx, "Hostile Shop", hostileCatalog); err != nil {
		return nil, err
	}
	if err := c.srv.start(); err != nil {
		return nil, err
	}
	defer c.srv.kill() // only if something below failed: stopped cleanly otherwise
	defer c.sampleLoad()()
	guardQuit := make(chan struct{})
	guardDone := make(chan struct{})
	go func() { defer close(guardDone); c.walGuard(guardQuit) }()
	stopGuard := sync.OnceFunc(func() { close(guardQuit); <-guardDone })
	defer stopGuard()
	c.logf("server on %s, database %s, merchant %s; %d clients, %d kills over %s, seed %d",
		addr, c.srv.dbPath, c.merchantID, cfg.Clients, cfg.Kills, cfg.Duration, cfg.Seed)

	// The kill phase: clients drive carts while the server is killed and
	// restarted; the WAL left by each kill is scanned for card data.
	scans := c.startWALScanner()
	stop := make(chan struct{})
	drainCtx, endDrain := context.WithCancel(ctx)
	defer endDrain()
	var clients sync.WaitGroup
	for i := range cfg.Clients {
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)+1))
		clients.Go(func() { c.client(drainCtx, stop, fmt.Sprintf("chaos-%02d", i), true, rng) })
	}
	killErr := c.killer(ctx, rand.New(rand.NewPCG(cfg.Seed, 0)), scans)
	close(stop)
	close(scans)
	c.logf("kill phase over (%d kills, %d carts); clients finish the request in flight", c.stats.kills.Load(), c.cartCount())

	// The drain: clients finish their request in flight.
	drained := make(chan struct{})
	go func() { clients.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(cfg.Drain):
		c.logf("drain: %s passed, abandoning the requests still unanswered", cfg.Drain)
		endDrain()
		<-drained
	}
	if killErr != nil {
		return nil, killErr
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	rng := rand.New(rand.NewPCG(cfg.Seed, 1<<32))
	c.settle(ctx, rng)
	c.lateRetries(ctx, rng)

	// The server stays up from here on.
	c.burstPhase(ctx, rand.New(rand.NewPCG(cfg.Seed, 2<<32)))
	c.floodPhase(ctx, rand.New(rand.NewPCG(cfg.Seed, 3<<32)))
	c.hostilePhase(ctx, rand.New(rand.NewPCG(cfg.Seed, 4<<32)))
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	c.waitDeadlines(ctx)
	c.finalCheck(ctx)
	c.finalExtra(ctx, rng)
	c.scanFiles("while serving")
	stopGuard()
	c.logf("stopping the server for the ledger, event and log checks")
	c.stoppedAt = time.Now()
	c.srv.life.Lock()
	c.srv.stop()
	c.srv.life.Unlock()
	if err := c.checkLedger(ctx); err != nil {
		c.fail(checkLedger, "reading the ledger: %v", err)
	}
	if err := c.checkEvents(ctx); err != nil {
		c.fail(checkEvents, "reading the events: %v", err)
	}
	c.scanFiles("after stopping")
	if err := c.scanDatabase(ctx); err != nil {
		c.fail(checkCardData, "reading the database: %v", err)
	}
	c.checkServerLog()
	<-c.walDone
	c.logf("done")
	return c.report(), nil
}

// Files the campaign writes beside the database.
const (
	serverLog    = "server.log"    // the server's stderr: its JSON log
	serverStdout = "server.stdout" // what it prints to stdout but the listening line
)

func (c *campaign) cartCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.carts)
}

// killer kills and restarts the server cfg.Kills times over cfg.Duration,
// then waits for the rest of cfg.Duration. While the server is down it
// hands the WAL to the card-data scanner.
func (c *campaign) killer(ctx context.Context, rng *rand.Rand, scans chan<- walCopy) error {
	for i, gap := range schedule(rng, c.cfg.Kills, c.cfg.Duration, c.cfg.StuckAfter) {
		t := time.NewTimer(gap)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		c.srv.life.Lock()
		up := c.srv.uptime()
		c.srv.kill()
		c.stats.kills.Add(1)
		c.copyWAL(scans, fmt.Sprintf("kill %d", i+1))
		var down time.Duration
		if rng.IntN(2) == 0 {
			down = time.Duration(50+rng.IntN(450)) * time.Millisecond
			time.Sleep(down)
		}
		err := c.srv.start()
		c.srv.life.Unlock()
		if err != nil {
			return fmt.Errorf("restart after kill %d: %w", i+1, err)
		}
		c.logf("kill %d/%d after %s up, down %s, restarted", i+1, c.cfg.Kills, up.Round(time.Millisecond), down)
	}
	if rest := c.cfg.Duration - time.Since(c.start); rest > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(rest):
		}
	}
	return nil
}

// restartCost estimates what one kill and restart takes besides the gaps.
const restartCost = 400 * time.Millisecond

// schedule returns how long the server stays up before each kill. Every
// sixth gap is longer than stuckAfter, so that keys still held after a
// restart are caught during the campaign too; now and then a gap is very
// short, to kill the server while it recovers at start. The gaps add up to
// about d.
func schedule(rng *rand.Rand, kills int, d, stuckAfter time.Duration) []time.Duration {
	gaps := make([]time.Duration, kills)
	var long time.Duration
	var short []int
	for i := range gaps {
		if i%6 == 5 {
			gaps[i] = stuckAfter + time.Duration(500+rng.IntN(1000))*time.Millisecond
			long += gaps[i]
			continue
		}
		if rng.IntN(7) == 0 {
			gaps[i] = time.Duration(20+rng.IntN(130)) * time.Millisecond
			continue
		}
		short = append(short, i)
	}
	rest := d - long - time.Duration(kills)*restartCost
	weights := make([]float64, len(short))
	var sum float64
	for i := range weights {
		weights[i] = 0.2 + 1.6*rng.Float64()
		sum += weights[i]
	}
	for i, idx := range short {
		g := time.Duration(float64(rest) * weights[i] / sum)
		if g < 100*time.Millisecond {
			g = time.Duration(100+rng.IntN(400)) * time.Millisecond
		}
		gaps[idx] = g
	}
	return gaps
}

// settle waits until no item is ongoing or authorized (every due capture
// window has fired), or until the server has been up for cfg.Settle.
func (c *campaign) settle(ctx context.Context, rng *rand.Rand) {
	pending := c.snapshotCarts()
	for len(pending) > 0 && ctx.Err() == nil {
		var mu sync.Mutex
		var still []*cart
		c.forEach(ctx, pending, func(rng *rand.Rand, ct *cart) {
			_, st, _ := c.getStatus(ctx, rng, ct.ID)
			if st == nil {
				return
			}
			for _, it := range st.byID {
				if it.PaymentStatus == stOngoing || it.PaymentStatus == stAuthorized {
					mu.Lock()
					still = append(still, ct)
					mu.Unlock()
					return
				}
			}
		})
		pending = still
		if up := c.srv.uptime(); up >= c.cfg.Settle {
			break
		}
		if len(pending) > 0 {
			pause(ctx, rng, 400*time.Millisecond, 600*time.Millisecond)
		}
	}
	c.logf("settled: server up %s since its last restart, %d carts still with items ongoing or authorized",
		c.srv.uptime().Round(time.Millisecond), len(pending))
}

// forEach runs fn on every cart, on a few goroutines with a random source
// each.
func (c *campaign) forEach(ctx context.Context, carts []*cart, fn func(*rand.Rand, *cart)) {
	work := make(chan *cart)
	var wg sync.WaitGroup
	for i := range 8 {
		rng := rand.New(rand.NewPCG(c.cfg.Seed, uint64(i)+1<<40))
		wg.Go(func() {
			for ct := range work {
				fn(rng, ct)
			}
		})
	}
	for _, ct := range carts {
		if ctx.Err() != nil {
			break
		}
		work <- ct
	}
	close(work)
	wg.Wait()
}

func (c *campaign) snapshotCarts() []*cart {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*cart(nil), c.carts...)
}

// lateRetries resends, once the server has settled, every keyed request
// that was given up (its key stuck at 124191) or left unanswered, with the
// same key and body, and judges the answer.
func (c *campaign) lateRetries(ctx context.Context, rng *rand.Rand) {
	n := 0
	for _, ct := range c.snapshotCarts() {
		for _, r := range ct.Requests {
			if r.Answer != nil || r.Key == "" || r.Attempts == 0 {
				continue
			}
			n++
			var a *answer
			for range 100 {
				var err error
				a, err = c.send(ctx, r.Method, r.URL, r.Key, r.Body, true)
				if err == nil && a.Status < 500 && (a.Code != codeRunning || c.srv.uptime() > c.cfg.StuckAfter) {
					break
				}
				a = nil
				pause(ctx, rng, 100*time.Millisecond, 200*time.Millisecond)
			}
			switch {
			case a == nil:
				c.fail(checkUnexpected, "late retry of %s %s key %q: no answer", r.Kind, r.cartOf(), r.Key)
				continue
			case a.Status == http.StatusConflict && a.Code == codeRunning:
				c.stats.count("late retries", "still 124191 (in progress)")
				if !r.Stuck {
					c.fail(checkStuckKey, "%s %s key %q (unanswered when the clients stopped) still answers 124191 with the server up for %s after its last restart",
						r.Kind, r.cartOf(), r.Key, c.srv.uptime().Round(time.Millisecond))
				}
				continue
			}
			r.Late = a
			_, after, _ := c.getStatus(ctx, rng, ct.ID)
			c.judge(ct, r, a, nil, after, true)
		}
	}
	c.logf("late retries: %d requests given up or unanswered, resent once", n)
}

// finalCheck reads every cart's status and checks it against what its
// client sent and what was acknowledged.
func (c *campaign) finalCheck(ctx context.Context) {
	up := c.srv.uptime()
	c.forEach(ctx, c.snapshotCarts(), func(rng *rand.Rand, ct *cart) {
		a, st, err := c.getStatus(ctx, rng, ct.ID)
		switch {
		case err != nil:
			c.fail(checkUnexpected, "final status of %s: %v", ct.ID, err)
			return
		case st == nil && a.Status == http.StatusBadRequest && a.Code == codeNoCart:
			if ct.InitAcked {
				c.fail(checkAckedVisible, "cart %s: /init was acknowledged (201), but /status answers 123001 cartId does not exist", ct.ID)
			}
			return
		case st == nil:
			c.fail(checkUnexpected, "final status of %s: %s", ct.ID, a)
			return
		}
		ct.final = st
		if !ct.InitAcked && !ct.InitSent {
			c.fail(checkAckedVisible, "cart %s exists but was never sent", ct.ID)
		}
		ct.checkCart(st, a.At, true, func(check, detail string) { c.fail(check, "final: %s", detail) })
		if on := st.ongoing(); len(on) > 0 {
			c.fail(checkOngoing, "cart %s: items %v still ongoing with the server up for %s after its last restart (%s)",
				ct.ID, on, up.Round(time.Millisecond), ct.history(ct.item(on[0])))
		}
	})
}

// Failure is one problem the campaign found.
type Failure struct {
	Check  string
	Detail string
}

// Report is the outcome of a campaign.
type Report struct {
	Seed     uint64
	Failures []Failure
	// Counts counts requests by kind and outcome, retries by how they were
	// answered, and the campaign's own numbers ("campaign").
	Counts map[string]map[string]int
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool { return len(r.Failures) > 0 }

// ByCheck groups the failures by check.
func (r *Report) ByCheck() map[string][]Failure {
	out := map[string][]Failure{}
	for _, f := range r.Failures {
		out[f.Check] = append(out[f.Check], f)
	}
	return out
}

func (c *campaign) report() *Report {
	c.stats.mu.Lock()
	counts := map[string]map[string]int{}
	for k, m := range c.stats.counts {
		counts[k] = map[string]int{}
		for o, n := range m {
			counts[k][o] = n
		}
	}
	c.stats.mu.Unlock()
	camp := map[string]int{
		"kills":              int(c.stats.kills.Load()),
		"carts":              c.cartCount(),
		"HTTP attempts":      int(c.stats.attempts.Load()),
		"HTTP answers":       int(c.stats.answers.Load()),
		"5xx answers":        int(c.stats.answers5xx.Load()),
		"duration (s)":       int(time.Since(c.start).Seconds()),
		"abandoned carts":    0,
		"acknowledged (2xx)": 0,
		"requests retried":   0,
		"keys given up":      0,
		"median start (ms)":  0,
	}
	for _, kind := range []string{"init", "pay", "capture", "cancel", "modify", "refund"} {
		camp["acknowledged (2xx)"] += counts[kind]["acked"]
	}
	for _, ct := range c.snapshotCarts() {
		if ct.Abandoned != "" {
			camp["abandoned carts"]++
			if counts["abandoned"] == nil {
				counts["abandoned"] = map[string]int{}
			}
			counts["abandoned"][ct.Abandoned]++
		}
		for _, r := range ct.Requests {
			if r.retried() {
				camp["requests retried"]++
			}
			if r.Stuck {
				camp["keys given up"]++
			}
		}
	}
	c.srv.mu.Lock()
	if st := append([]time.Duration(nil), c.srv.startTimes...); len(st) > 0 {
		sort.Slice(st, func(i, j int) bool { return st[i] < st[j] })
		camp["median start (ms)"] = int(st[len(st)/2].Milliseconds())
		camp["slowest start (ms)"] = int(st[len(st)-1].Milliseconds())
	}
	c.srv.mu.Unlock()
	c.mu.Lock()
	if w := slices.Clone(c.walSizes); len(w) > 0 {
		slices.Sort(w)
		if counts["WAL"] == nil {
			counts["WAL"] = map[string]int{}
		}
		counts["WAL"]["at kills: median MB"] = int(w[len(w)/2] >> 20)
		counts["WAL"]["at kills: largest MB"] = int(w[len(w)-1] >> 20)
	}
	if l := slices.Clone(c.load); len(l) > 0 {
		slices.Sort(l)
		counts["machine"] = map[string]int{"CPUs": runtime.NumCPU(), "load average ×100 min": int(l[0] * 100),
			"load average ×100 median": int(l[len(l)/2] * 100), "load average ×100 max": int(l[len(l)-1] * 100)}
	}
	c.mu.Unlock()
	counts["campaign"] = camp
	c.mu.Lock()
	defer c.mu.Unlock()
	return &Report{Seed: c.cfg.Seed, Failures: append([]Failure(nil), c.failures...), Counts: counts}
}

// Summary renders the counts and, per check, how many failures and the
// first few of them (maxPerCheck; 0 for all, negative for none).
func (r *Report) Summary(maxPerCheck int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d\n", r.Seed)
	kinds := make([]string, 0, len(r.Counts))
	for k := range r.Counts {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		oi, oj := kindOrder(kinds[i]), kindOrder(kinds[j])
		if oi != oj {
			return oi < oj
		}
		return kinds[i] < kinds[j]
	})
	for _, k := range kinds {
		outs := make([]string, 0, len(r.Counts[k]))
		for o := range r.Counts[k] {
			outs = append(outs, o)
		}
		sort.Strings(outs)
		var parts []string
		for _, o := range outs {
			parts = append(parts, fmt.Sprintf("%s: %d", o, r.Counts[k][o]))
		}
		fmt.Fprintf(&b, "  %-13s %s\n", k, strings.Join(parts, ", "))
	}
	by := r.ByCheck()
	for _, check := range Checks {
		fs := by[check]
		if len(fs) == 0 {
			fmt.Fprintf(&b, "check %-17s ok\n", check)
			continue
		}
		fmt.Fprintf(&b, "check %-17s FAILED %d times\n", check, len(fs))
		if maxPerCheck < 0 {
			continue
		}
		for i, f := range fs {
			if maxPerCheck > 0 && i == maxPerCheck {
				fmt.Fprintf(&b, "    … %d more\n", len(fs)-i)
				break
			}
			fmt.Fprintf(&b, "    %s\n", f.Detail)
		}
	}
	return b.String()
}

func kindOrder(k string) int {
	switch k {
	case "campaign":
		return 0
	case "init", "pay", "capture", "cancel", "modify", "refund":
		return 1
	case "retries", "late retries", "abandoned":
		return 2
	case "bursts", "wrong keys", "latency", "hostile":
		return 3
	case "ledger", "events", "deadlines", "card data", "server log":
		return 4
	case "WAL", "machine":
		return 5
	}
	return 6
}

// sampleLoad samples the machine's one-minute load average every 5 s
// (other processes on the machine slow the server down); the returned
// function stops it.
func (c *campaign) sampleLoad() func() {
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			if b, err := os.ReadFile("/proc/loadavg"); err == nil {
				if f := strings.Fields(string(b)); len(f) > 0 {
					if v, err := strconv.ParseFloat(f[0], 64); err == nil {
						c.mu.Lock()
						c.load = append(c.load, v)
						c.mu.Unlock()
					}
				}
			}
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(quit); <-done }
}
