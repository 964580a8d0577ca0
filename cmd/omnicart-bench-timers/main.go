package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" driver, for the read-only look at the server's database

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/clock"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/sqlite"
)

func main() {
	n := flag.Int("n", 1_000_000, "pending deadlines to load")
	burst := flag.Int("burst", 100_000, "deadlines that fall due in the same second")
	spread := flag.Int("spread", 20_000, "deadlines created through the API and spread over -spread-secs while API load runs")
	spreadSecs := flag.Int("spread-secs", 20, "seconds over which the spread deadlines fall due")
	apiRate := flag.Int("api-rate", 200, "background API requests per second during the lag phase")
	dir := flag.String("dir", "", "working directory (default: a new temporary one, removed at the end)")
	flag.Parse()
	if err := run(*n, *burst, *spread, *spreadSecs, *apiRate, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type results struct {
	rows [][2]string
}

func (r *results) add(k, v string) {
	r.rows = append(r.rows, [2]string{k, v})
	fmt.Fprintf(os.Stderr, "%-45s %s\n", k, v)
}

func run(n, burst, spread, spreadSecs, apiRate int, dir string) error {
	ctx := context.Background()
	if dir == "" {
		d, err := os.MkdirTemp("", "omnicart-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	dbPath := filepath.Join(dir, "bench.db")
	bin := filepath.Join(dir, "omnicart")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/omnicart").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	res := &results{}

	// Phase 1: bulk load through the store, one transaction per 1000 carts.
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	pepper, err := db.Secret(ctx, "api_key_pepper")
	if err != nil {
		return err
	}
	store := sqlite.NewStore(db)
	clk := clock.Real{}
	svc := &gateway.Service{Store: store, Now: clk.Now, Clock: clk, KeyPepper: pepper,
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Provider: func(*omnicart.Merchant) (omnicart.Provider, error) { return nil, gateway.ErrNoProvider }}
	m, key, err := svc.CreateMerchant(ctx, gateway.NewMerchant{Name: "Bench", Mode: omnicart.ModeTest,
		Privileges: omnicart.AllPrivileges(), Items: []omnicart.CatalogItem{{ItemID: "pegasus", DisplayName: "Pegasus"}}})
	if err != nil {
		return err
	}
	start := time.Now().UTC()
	// The burst falls due in one second, 60 s after loading starts plus
	// one second per 20,000 carts to load (so loading ends first).
	burstAt := start.Add(time.Duration(60+n/20000) * time.Second).Truncate(time.Second)
	t0 := time.Now()
	const batch = 1000
	for i := 0; i < n; i += batch {
		err := store.Tx(ctx, func(tx omnicart.Tx) error {
			for j := i; j < i+batch && j < n; j++ {
				now := time.Now().UTC()
				value := int64(86400 * 30) // far future
				if j < burst {
					value = int64(burstAt.Sub(now)/time.Second) + 1
				}
				c := benchCart(m, j, now, value, burstAt, j < burst)
				var tok [32]byte
				copy(tok[:], fmt.Sprintf("tok-%d", j))
				if err := tx.CreateCart(ctx, c, tok[:], mustDue(c, m)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("load at %d: %w", i, err)
		}
	}
	loadDur := time.Since(t0)
	res.add("carts with a pending timer loaded", strconv.Itoa(n))
	res.add("insert rate (store, 1000 per transaction)", fmt.Sprintf("%.0f deadlines/s", float64(n)/loadDur.Seconds()))
	if _, err := db.SQL().ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return err
	}
	db.Close()
	size := fileSize(dbPath) + fileSize(dbPath+"-wal")
	res.add("database size", fmt.Sprintf("%.1f MiB", float64(size)/(1<<20)))
	res.add("bytes per pending timer on disk", fmt.Sprintf("%.0f", float64(size)/float64(n)))
	if time.Now().After(burstAt) {
		return fmt.Errorf("loading took longer than planned; the burst is already due")
	}

	// Phase 2: restart-to-ready with everything pending.
	srv, err := startServer(bin, dbPath)
	if err != nil {
		return err
	}
	defer srv.stop()
	res.add("restart-to-ready with all deadlines pending", srv.ready.Round(time.Millisecond).String())
	var peakRSS atomic.Int64
	stopRSS := make(chan struct{})
	go func() {
		for {
			if r := rss(srv.cmd.Process.Pid); r > peakRSS.Load() {
				peakRSS.Store(r)
			}
			select {
			case <-stopRSS:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()

	// Phase 3: the burst.
	ro, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		return err
	}
	defer ro.Close()
	time.Sleep(time.Until(burstAt))
	for {
		var fired int
		if err := ro.QueryRow(`SELECT count(*) FROM events WHERE type = 'timer.status_changed' AND created_at = ?`, burstAt.UnixMilli()).Scan(&fired); err != nil {
			return err
		}
		if fired >= burst {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var lastSave int64
	if err := ro.QueryRow(`SELECT max(updated_at) FROM carts WHERE cart_id < ?`, fmt.Sprintf("bench-%09d", burst)).Scan(&lastSave); err != nil {
		return err
	}
	burstDur := time.UnixMilli(lastSave).Sub(burstAt)
	res.add(fmt.Sprintf("burst: %d deadlines due in the same second", burst), fmt.Sprintf("all fired %.2f s after they fell due", burstDur.Seconds()))
	res.add("firing throughput (burst)", fmt.Sprintf("%.0f deadlines/s", float64(burst)/burstDur.Seconds()))

	// Phase 4: lag while API load runs. Deadlines are created through the
	// API with timers of 5..5+spreadSecs seconds.
	client := &http.Client{Timeout: 30 * time.Second}
	api := func(method, path, body string) (int, error) {
		req, _ := http.NewRequest(method, srv.url+path, strings.NewReader(body))
		req.Header.Set("Api-Access-Token", key)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var apiErrs, apiReqs atomic.Int64
	stopLoad := make(chan struct{})
	var loadWG sync.WaitGroup
	loadWG.Add(1)
	go func() { // background API load: status reads of random loaded carts
		defer loadWG.Done()
		tick := time.NewTicker(time.Second / time.Duration(apiRate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stopLoad:
				return
			case <-tick.C:
			}
			go func(i int) {
				st, err := api("GET", fmt.Sprintf("/status/bench-%09d", (i*7919)%n), "")
				apiReqs.Add(1)
				if err != nil || st != 200 {
					apiErrs.Add(1)
				}
			}(i)
		}
	}()
	lagStart := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	var initErrs atomic.Int64
	for i := 0; i < spread; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			v := 5 + (i*spreadSecs)/spread
			body := fmt.Sprintf(`{"cartId":"lag-%09d","customerId":"lag-c-%d","currency":"EUR","items":[{"pegasus":{"amount":100,"enableTimer":true,"timer":{"triggerEvent":"initiated","value":%d}}}]}`, i, i, v)
			if st, err := api("POST", "/init", body); err != nil || st != 201 {
				initErrs.Add(1)
			}
		}(i)
	}
	wg.Wait()
	res.add("spread deadlines created through POST /init", fmt.Sprintf("%d in %.1f s (%d errors)", spread, time.Since(lagStart).Seconds(), initErrs.Load()))
	// The last deadline falls due 5+spreadSecs after its init; wait for it
	// and a margin, with the API load still running.
	time.Sleep(time.Until(time.Now().Add(time.Duration(5+spreadSecs+5) * time.Second)))
	close(stopLoad)
	loadWG.Wait()
	res.add("background API load", fmt.Sprintf("%d GET /status (%d errors) at %d/s", apiReqs.Load(), apiErrs.Load(), apiRate))

	rows, err := ro.Query(`SELECT e.body, c.updated_at FROM events e JOIN carts c ON c.pk = e.cart_pk
		WHERE c.cart_id LIKE 'lag-%' AND e.type = 'timer.status_changed'`)
	if err != nil {
		return err
	}
	var lags []time.Duration
	for rows.Next() {
		var body string
		var saved int64
		if err := rows.Scan(&body, &saved); err != nil {
			return err
		}
		var e omnicart.Event
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			return err
		}
		for _, tc := range e.Timers {
			if tc.To == omnicart.TimerElapsed {
				lags = append(lags, time.UnixMilli(saved).Sub(e.At))
			}
		}
	}
	rows.Close()
	if len(lags) == 0 {
		return fmt.Errorf("no spread deadline fired")
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	pct := func(p float64) time.Duration { return lags[int(p*float64(len(lags)-1))] }
	res.add("spread deadlines fired", fmt.Sprintf("%d of %d", len(lags), spread))
	res.add("firing lag p50 / p99 / max (under API load)", fmt.Sprintf("%v / %v / %v", pct(0.5).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond)))
	close(stopRSS)
	res.add("server peak RSS", fmt.Sprintf("%.0f MiB", float64(peakRSS.Load())/(1<<20)))

	fmt.Println("| measure | result |")
	fmt.Println("|---|---|")
	for _, r := range res.rows {
		fmt.Printf("| %s | %s |\n", r[0], r[1])
	}
	return nil
}

func benchCart(m *omnicart.Merchant, j int, now time.Time, value int64, burstAt time.Time, inBurst bool) *omnicart.Cart {
	trig, val := "initiated", value
	spec := &omnicart.InitSpec{CartID: fmt.Sprintf("bench-%09d", j), CustomerID: fmt.Sprintf("cust-%d", j), Currency: "EUR",
		Items: []omnicart.ItemSpec{{ID: "pegasus", Amount: 100, Level: omnicart.Level{EnableTimer: ptr(true), Trigger: &trig, TimerValue: &val}}}}
	var sp omnicart.StagedProblems
	// Start the burst timers so that they end exactly at burstAt.
	at := now
	if inBurst {
		at = burstAt.Add(-time.Duration(value) * time.Second)
	}
	c := omnicart.NewCart(spec, m, at, &sp)
	if c == nil {
		panic(fmt.Sprintf("bench cart refused: %+v", sp))
	}
	c.ExpiresAt = now.Add(40 * 24 * time.Hour)
	return c
}

func mustDue(c *omnicart.Cart, m *omnicart.Merchant) time.Time {
	d, _ := c.NextDeadline(m.AutoActionLead())
	return d
}

func ptr[T any](v T) *T { return &v }

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

type server struct {
	cmd   *exec.Cmd
	url   string
	ready time.Duration
}

func startServer(bin, dbPath string) (*server, error) {
	t0 := time.Now()
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--database", "sqlite:"+dbPath)
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(out)
	addr := ""
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "OmniCart listening on "); ok {
			addr, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	go io.Copy(io.Discard, out)
	if addr == "" {
		return nil, fmt.Errorf("server did not start")
	}
	s := &server{cmd: cmd, url: "http://" + addr}
	for {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Since(t0) > time.Minute {
			return nil, fmt.Errorf("server not ready after a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.ready = time.Since(t0)
	return s, nil
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	_ = s.cmd.Wait()
}

// rss returns a process's resident set size in bytes.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
