package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/panel"
)

// target is the p99 the issue asks of every Panel page.
const target = 50 * time.Millisecond

type config struct {
	n, other, days, batch int
	database, dir, bin    string
	keep                  bool
	requests, warmup      int
	concurrency, deep     int
	pageTime              time.Duration
	out, progress         io.Writer
}

func main() {
	var c config
	flag.IntVar(&c.n, "n", 100_000, "carts of the measured merchant")
	flag.IntVar(&c.other, "other", -1, "carts of a second merchant, interleaved (default n/10)")
	flag.IntVar(&c.days, "days", 60, "the carts were created over this many days, up to now")
	flag.IntVar(&c.batch, "batch", 1000, "carts per transaction while loading")
	flag.StringVar(&c.database, "database", "", "sqlite:PATH (a new file), or a PostgreSQL server's URL (postgres://user@host:port/db?sslmode=disable) on which a new database is created and dropped at the end; default: a new SQLite file in -dir")
	flag.StringVar(&c.dir, "dir", "", "working directory (default: a new temporary one, removed at the end)")
	flag.StringVar(&c.bin, "bin", "", "the omnicart binary to run (default: built from this module)")
	flag.BoolVar(&c.keep, "keep", false, "keep the database (and -dir) at the end")
	flag.IntVar(&c.requests, "requests", 300, "measured requests per page")
	flag.IntVar(&c.warmup, "warmup", 20, "unmeasured requests per page first")
	flag.IntVar(&c.concurrency, "c", 1, "clients sending requests at once (each waits for its answer)")
	flag.IntVar(&c.deep, "deep", 40, "the deep keyset pages are pages 10 to this one (following each page's next link)")
	flag.DurationVar(&c.pageTime, "page-time", time.Minute, "stop measuring a page after this long (fewer requests than -requests are then reported)")
	flag.Parse()
	if c.other < 0 {
		c.other = c.n / 10
	}
	c.out, c.progress = os.Stdout, os.Stderr
	if _, err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "omnicart-bench-panel:", err)
		os.Exit(1)
	}
}

// result is one page's measurement.
type result struct {
	page                string
	requests            int
	p50, p90, p99, maxD time.Duration
}

// report is what a run measured.
type report struct {
	engine  string
	results []result
	mix     map[omnicart.Status]int
}

func run(ctx context.Context, c config) (*report, error) {
	if c.n < 1 || c.requests < 1 || c.concurrency < 1 || c.batch < 1 {
		return nil, errors.New("-n, -requests, -c and -batch must be positive")
	}
	c.deep = max(c.deep, 1)
	if c.dir == "" {
		d, err := os.MkdirTemp("", "omnicart-bench-panel-")
		if err != nil {
			return nil, err
		}
		if !c.keep {
			defer os.RemoveAll(d)
		}
		c.dir = d
	}
	logf := func(format string, args ...any) {
		if c.progress != nil {
			fmt.Fprintf(c.progress, format+"\n", args...)
		}
	}
	bin := c.bin
	if bin == "" {
		bin = filepath.Join(c.dir, "omnicart")
		logf("building the omnicart binary")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/omnicart/omnicart/cmd/omnicart").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build omnicart: %v\n%s", err, out)
		}
	}

	// Load, in process, through the engine's own store.
	db, err := openDB(ctx, c.database, c.dir, c.keep)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := db.drop(); err != nil {
			logf("removing the database: %v", err)
		}
	}()
	closeDB := sync.OnceValue(db.close)
	defer closeDB()
	pepper, err := db.secret(ctx, "api_key_pepper")
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	svc := &gateway.Service{Store: db.store, Now: time.Now, KeyPepper: pepper, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Provider: func(*omnicart.Merchant) (omnicart.Provider, error) { return nil, gateway.ErrNoProvider }}
	var items []omnicart.CatalogItem
	for _, it := range catalog {
		items = append(items, omnicart.CatalogItem{ItemID: it.ID, DisplayName: it.Name})
	}
	m, _, err := svc.CreateMerchant(ctx, gateway.NewMerchant{ID: "bench-shop", Name: "Bench Shop", Mode: omnicart.ModeTest,
		Privileges: omnicart.DefaultPrivileges(), Items: items})
	if err != nil {
		return nil, err
	}
	other, _, err := svc.CreateMerchant(ctx, gateway.NewMerchant{ID: "other-shop", Name: "Other Shop", Mode: omnicart.ModeTest,
		Privileges: omnicart.DefaultPrivileges(), Items: items})
	if err != nil {
		return nil, err
	}
	// A few more keys for the keys page: limited ones, one revoked.
	for _, methods := range [][]string{{"status"}, {"init", "status"}, {"capture", "cancel", "refund", "status"}} {
		k, err := svc.CreateKey(ctx, m.ID, methods)
		if err != nil {
			return nil, err
		}
		if len(methods) == 1 {
			if err := svc.RevokeKey(ctx, m.ID, k[:gateway.KeyPrefixLen]); err != nil {
				return nil, err
			}
		}
	}
	const email = "owner@bench-shop.example"
	password := panel.NewPassword()
	if _, _, err := (&panel.Accounts{Store: db.panel, Now: time.Now}).Create(ctx, m.ID, email, omnicart.RoleOwner, password); err != nil {
		return nil, err
	}
	logf("loading %d carts (and %d of another merchant) into %s, created over %d days", c.n, c.other, db.name, c.days)
	t0 := time.Now()
	s, err := seed(ctx, db, m, other, c.n, c.other, c.days, c.batch, now, c.progress)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	loadDur := time.Since(t0)
	if err := db.settle(ctx); err != nil {
		return nil, err
	}
	size, err := db.size(ctx)
	if err != nil {
		return nil, err
	}
	closeDB()

	fmt.Fprintf(c.out, "machine: %s/%s, %d CPUs, %s; engine: %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), db.name)
	fmt.Fprintf(c.out, "loaded %d carts of the measured merchant and %d of another in %.1f s (%.0f carts/s, with %d events published); database %.0f MiB\n",
		c.n, c.other, loadDur.Seconds(), float64(c.n+c.other)/loadDur.Seconds(), s.events, float64(size)/(1<<20))
	fmt.Fprintf(c.out, "item statuses: %s\n", mixString(s.mix))

	// The real server on the loaded database.
	srv, err := startServer(bin, db.url, filepath.Join(c.dir, "answers.key"))
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	cl, err := signIn(srv.url, email, password)
	if err != nil {
		return nil, err
	}

	// What the pages are asked for.
	r := rand.New(rand.NewPCG(3, 4))
	var deepPages []string
	next := "/panel/carts"
	for p := 1; p <= c.deep && next != ""; p++ {
		body, err := get(cl, srv.url+next)
		if err != nil {
			return nil, fmt.Errorf("carts page %d: %w", p, err)
		}
		if p >= min(10, c.deep) {
			deepPages = append(deepPages, next)
		}
		next = nextLink(body)
	}
	pick := func(v []string) string { return v[r.IntN(len(v))] }
	if len(s.customers) == 0 {
		s.customers = []string{"cus-none"}
	}
	type page struct {
		name, marker string
		url          func() string
	}
	pages := []page{
		{"overview", "<title>Overview", func() string { return "/panel/overview" }},
		{"carts, first page", `class="list"`, func() string { return "/panel/carts" }},
		{"carts, status=completed (common)", `class="list"`, func() string { return "/panel/carts?status=completed" }},
		{"carts, status=refunded (rare)", `<title>Carts`, func() string { return "/panel/carts?status=refunded" }},
		// Items pass through captured to completed in one change: no cart
		// has an item in the stored status captured, so this filter
		// reads every cart of the merchant (the worst case of a status
		// filter).
		{"carts, status=captured (no cart matches)", `<title>Carts`, func() string { return "/panel/carts?status=captured" }},
		{"carts, currency=GBP", `<title>Carts`, func() string { return "/panel/carts?currency=GBP" }},
		{fmt.Sprintf("carts, deep keyset page (pages %d–%d)", min(10, c.deep), c.deep), `class="list"`, func() string { return pick(deepPages) }},
		{"search by customerId", `class="list"`, func() string { return "/panel/carts?q=" + url.QueryEscape(pick(s.customers)) }},
		{"search by cartId", `class="list"`, func() string { return "/panel/carts?q=" + url.QueryEscape(pick(s.cartIDs)) }},
		{"cart page", `id="items"`, func() string { return "/panel/carts/" + url.PathEscape(pick(s.cartIDs)) }},
		{"API keys", `<title>API keys`, func() string { return "/panel/keys" }},
	}
	rep := &report{engine: db.name, mix: s.mix}
	fmt.Fprintf(c.out, "load average before measuring: %s\n", loadavg())
	for _, p := range pages {
		logf("measuring %s", p.name)
		ds, err := measure(cl, srv.url, p.url, p.marker, c.warmup, c.requests, c.concurrency, c.pageTime)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		slices.Sort(ds)
		rep.results = append(rep.results, result{page: p.name, requests: len(ds),
			p50: pct(ds, 0.50), p90: pct(ds, 0.90), p99: pct(ds, 0.99), maxD: ds[len(ds)-1]})
	}
	fmt.Fprintf(c.out, "load average after measuring: %s\n", loadavg())
	fmt.Fprintf(c.out, "%d requests per page (fewer when a page took more than %s) after %d unmeasured, %d client(s) at once, each request timed from sending to the last byte of the answer\n\n",
		c.requests, c.pageTime, c.warmup, c.concurrency)
	fmt.Fprintln(c.out, "| page | requests | p50 | p90 | p99 | max | p99 < 50 ms |")
	fmt.Fprintln(c.out, "|---|---:|---:|---:|---:|---:|---|")
	for _, x := range rep.results {
		ok := "yes"
		if x.p99 >= target {
			ok = "**no**"
		}
		fmt.Fprintf(c.out, "| %s | %d | %s | %s | %s | %s | %s |\n", x.page, x.requests, ms(x.p50), ms(x.p90), ms(x.p99), ms(x.maxD), ok)
	}
	return rep, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// pct is the nearest-rank percentile of sorted durations.
func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func mixString(mix map[omnicart.Status]int) string {
	var parts []string
	total := 0
	for _, n := range mix {
		total += n
	}
	for _, st := range []omnicart.Status{omnicart.StatusInitiated, omnicart.StatusAuthorized, omnicart.StatusCompleted, omnicart.StatusCanceled,
		omnicart.StatusRefunded, omnicart.StatusRejected, omnicart.StatusExpired, omnicart.StatusOngoing} {
		if n := mix[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f%%", st, 100*float64(n)/float64(total)))
		}
	}
	return fmt.Sprintf("%d items: %s", total, strings.Join(parts, ", "))
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// measure sends warmup and then n requests for the URLs u returns, from
// `clients` clients at once, and returns the measured requests' times. It
// sends no new request once budget has passed since the first measured one.
func measure(cl *http.Client, base string, u func() string, marker string, warmup, n, clients int, budget time.Duration) ([]time.Duration, error) {
	var mu sync.Mutex
	urls := make([]string, warmup+n)
	for i := range urls {
		urls[i] = u() // one goroutine draws from the random source
	}
	for _, p := range urls[:warmup] {
		if _, err := check(cl, base+p, marker); err != nil {
			return nil, err
		}
	}
	var out []time.Duration
	var firstErr error
	work := make(chan string)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				d, err := check(cl, base+p, marker)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				out = append(out, d)
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
	for _, p := range urls[warmup:] {
		if budget > 0 && time.Since(start) > budget {
			break
		}
		work <- p
	}
	close(work)
	wg.Wait()
	return out, firstErr
}

// check gets a page and checks that it is a signed-in page (200, the
// Panel's navigation) with the marker; it returns the request's time.
func check(cl *http.Client, u, marker string) (time.Duration, error) {
	t0 := time.Now()
	resp, err := cl.Get(u)
	if err != nil {
		return 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return d, err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `nav aria-label="Main"`) || !strings.Contains(string(body), marker) {
		return d, fmt.Errorf("GET %s: %s, not the expected page (%q): %.300s", u, resp.Status, marker, body)
	}
	return d, nil
}

func get(cl *http.Client, u string) (string, error) {
	resp, err := cl.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return string(b), err
}

var (
	csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	nextHref  = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
)

func nextLink(body string) string {
	if m := nextHref.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// signIn signs in to the Panel through its form and returns a client that
// carries the session (and follows no redirects: a page that sends the
// client to the sign-in page is an error).
func signIn(base, email, password string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: time.Minute,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 64},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	body, err := get(cl, base+"/panel/signin")
	if err != nil {
		return nil, err
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		return nil, errors.New("the sign-in page has no CSRF field")
	}
	resp, err := cl.PostForm(base+"/panel/signin", url.Values{"email": {email}, "password": {password}, "csrf": {html.UnescapeString(m[1])}})
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "/panel/overview") {
		return nil, fmt.Errorf("sign-in answered %s: %.300s", resp.Status, b)
	}
	return cl, nil
}

type server struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
	logs *tail
}

// tail keeps the end of the server's log for error messages.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 8<<10 {
		t.buf = t.buf[len(t.buf)-4<<10:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func startServer(bin, dbURL, keyFile string) (*server, error) {
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--database", dbURL, "--answer-key-file", keyFile)
	logs := &tail{}
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, done: make(chan struct{}), logs: logs}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "OmniCart listening on "); ok {
			addr, _, _ := strings.Cut(rest, " ")
			s.url = "http://" + strings.TrimPrefix(addr, "http://")
			break
		}
	}
	go func() {
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		close(s.done)
	}()
	if s.url == "" {
		s.stop()
		return nil, fmt.Errorf("the server did not start: %s", logs)
	}
	return s, nil
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}
