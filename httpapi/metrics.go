package httpapi

import (
	"bufio"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omnicart/omnicart"
)

// durationBuckets are the upper bounds (seconds) of the request duration
// histogram, the Prometheus client defaults.
var durationBuckets = [...]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics is the registry behind GET /metrics: request counters, a
// duration histogram per route, the in-flight gauge and a few process
// figures, written by hand in the Prometheus text exposition format 0.0.4.
// It is safe for concurrent use; a nil *Metrics records nothing.
//
// Labels are bounded: the route is the matched route pattern (never a raw
// path with a cart id or payment token), the method one of the standard
// methods or "other", the code the HTTP status.
type Metrics struct {
	// Version is the build_info version label ("dev" when empty).
	Version string
	// Store, when set, reports the storage writer's figures.
	Store func() StoreStats
	// Pool, when set, reports the database connection pool's figures.
	Pool func() PoolStats

	start    time.Time
	inFlight atomic.Int64

	mu        sync.Mutex
	requests  map[requestKey]uint64
	durations map[string]*histogram
}

type requestKey struct {
	route, method string
	code          int
}

type histogram struct {
	buckets [len(durationBuckets)]uint64 // not cumulative; cumulated on output
	count   uint64
	sumNs   int64
}

// NewMetrics returns an empty registry; its creation time is reported as
// process_start_time_seconds (create it at startup).
func NewMetrics() *Metrics {
	return &Metrics{start: time.Now(), requests: map[requestKey]uint64{}, durations: map[string]*histogram{}}
}

// begin counts a request in flight; the returned func ends it and records
// it with its route, method, status and duration.
func (m *Metrics) begin() func(path, method string, code int) {
	if m == nil {
		return func(string, string, int) {}
	}
	start := time.Now()
	m.inFlight.Add(1)
	return func(path, method string, code int) {
		m.inFlight.Add(-1)
		m.observe(metricsRoute(path), metricsMethod(method), code, time.Since(start))
	}
}

func (m *Metrics) observe(route, method string, code int, d time.Duration) {
	if code == 0 {
		code = http.StatusOK // nothing written: net/http sends 200
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[requestKey{route, method, code}]++
	h := m.durations[route]
	if h == nil {
		h = &histogram{}
		m.durations[route] = h
	}
	h.count++
	h.sumNs += int64(d)
	secs := d.Seconds()
	for i, le := range durationBuckets {
		if secs <= le {
			h.buckets[i]++
			break
		}
	}
}

// metricsRoute is the route label of a path: the matched route pattern,
// with the id or token of /status/…, /pay/…, /deliveries/… and
// /callbacks/… cut off; any other path is "other".
func metricsRoute(path string) string {
	switch path {
	case "/init", "/status", "/capture", "/cancel", "/refund", "/modify",
		"/healthz", "/readyz", "/codes", "/metrics", "/openapi.yaml", "/sandbox/clock", "/sandbox/outbox":
		return path
	}
	for _, p := range [...]string{"/status", "/pay", "/deliveries", "/callbacks", "/idempotency-keys"} {
		if strings.HasPrefix(path, p+"/") {
			return p
		}
	}
	return "other"
}

func metricsMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// WriteTo writes the exposition (text format 0.0.4).
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	bw := &countingWriter{w: bufio.NewWriter(w)}
	m.write(bw)
	err := bw.w.Flush()
	return bw.n, err
}

type countingWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countingWriter) str(ss ...string) {
	for _, s := range ss {
		n, _ := c.w.WriteString(s)
		c.n += int64(n)
	}
}

func (m *Metrics) write(w *countingWriter) {
	header := func(name, typ, help string) {
		w.str("# HELP ", name, " ", help, "\n# TYPE ", name, " ", typ, "\n")
	}
	m.mu.Lock()
	keys := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b requestKey) int {
		if c := strings.Compare(a.route, b.route); c != 0 {
			return c
		}
		if c := strings.Compare(a.method, b.method); c != 0 {
			return c
		}
		return a.code - b.code
	})
	header("omnicart_http_requests_total", "counter", "HTTP requests served, by matched route, method and status code.")
	for _, k := range keys {
		w.str(`omnicart_http_requests_total{route="`, escapeLabel(k.route), `",method="`, escapeLabel(k.method),
			`",code="`, strconv.Itoa(k.code), `"} `, strconv.FormatUint(m.requests[k], 10), "\n")
	}
	routes := make([]string, 0, len(m.durations))
	for r := range m.durations {
		routes = append(routes, r)
	}
	slices.Sort(routes)
	header("omnicart_http_request_duration_seconds", "histogram", "HTTP request duration in seconds, by matched route.")
	for _, r := range routes {
		h := m.durations[r]
		lbl := `{route="` + escapeLabel(r) + `"`
		var cum uint64
		for i, le := range durationBuckets {
			cum += h.buckets[i]
			w.str("omnicart_http_request_duration_seconds_bucket", lbl, `,le="`, formatFloat(le), `"} `, strconv.FormatUint(cum, 10), "\n")
		}
		w.str("omnicart_http_request_duration_seconds_bucket", lbl, `,le="+Inf"} `, strconv.FormatUint(h.count, 10), "\n")
		w.str("omnicart_http_request_duration_seconds_sum", lbl, "} ", formatFloat(time.Duration(h.sumNs).Seconds()), "\n")
		w.str("omnicart_http_request_duration_seconds_count", lbl, "} ", strconv.FormatUint(h.count, 10), "\n")
	}
	m.mu.Unlock()

	if m.Store != nil {
		writeStoreStats(w, header, m.Store())
	}
	if m.Pool != nil {
		writePoolStats(w, header, m.Pool())
	}

	header("omnicart_http_in_flight_requests", "gauge", "HTTP requests being served (including this scrape).")
	w.str("omnicart_http_in_flight_requests ", strconv.FormatInt(m.inFlight.Load(), 10), "\n")

	version := m.Version
	if version == "" {
		version = "dev"
	}
	header("omnicart_build_info", "gauge", "Build information; the value is always 1.")
	w.str(`omnicart_build_info{version="`, escapeLabel(version), `",goversion="`, escapeLabel(runtime.Version()), `"} 1`, "\n")

	header("go_goroutines", "gauge", "Number of goroutines that currently exist.")
	w.str("go_goroutines ", strconv.Itoa(runtime.NumGoroutine()), "\n")

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	header("go_memstats_heap_alloc_bytes", "gauge", "Number of heap bytes allocated and still in use.")
	w.str("go_memstats_heap_alloc_bytes ", strconv.FormatUint(ms.HeapAlloc, 10), "\n")

	header("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.")
	w.str("process_start_time_seconds ", formatFloat(float64(m.start.UnixNano())/1e9), "\n")
}

// StoreStats are the figures of the storage engine's group-commit writer
// since it opened. Histogram counts are per bucket (not cumulative), for
// the bounds given, with one more count for +Inf.
type StoreStats struct {
	Commits       uint64
	Units         uint64
	BatchBounds   []float64
	BatchCounts   []uint64
	CommitBounds  []float64
	CommitCounts  []uint64
	CommitSeconds float64
}

func writeStoreStats(w *countingWriter, header func(name, typ, help string), st StoreStats) {
	header("omnicart_db_commits_total", "counter", "Write transactions committed (each one durable sync).")
	w.str("omnicart_db_commits_total ", strconv.FormatUint(st.Commits, 10), "\n")
	hist := func(name string, bounds []float64, counts []uint64, sum string) {
		var cum uint64
		for i, le := range bounds {
			if i < len(counts) {
				cum += counts[i]
			}
			w.str(name, `_bucket{le="`, formatFloat(le), `"} `, strconv.FormatUint(cum, 10), "\n")
		}
		if len(counts) > len(bounds) {
			cum += counts[len(bounds)]
		}
		w.str(name, `_bucket{le="+Inf"} `, strconv.FormatUint(cum, 10), "\n")
		w.str(name, "_sum ", sum, "\n")
		w.str(name, "_count ", strconv.FormatUint(cum, 10), "\n")
	}
	header("omnicart_db_batch_units", "histogram", "Units of work (requests, timer batches, ...) per committed write transaction.")
	hist("omnicart_db_batch_units", st.BatchBounds, st.BatchCounts, strconv.FormatUint(st.Units, 10))
	header("omnicart_db_commit_duration_seconds", "histogram", "Time to commit a write transaction, its sync included.")
	hist("omnicart_db_commit_duration_seconds", st.CommitBounds, st.CommitCounts, formatFloat(st.CommitSeconds))
}

func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// escapeLabel escapes a label value: backslash, double quote and newline.
func escapeLabel(s string) string {
	if !strings.ContainsAny(s, "\\\"\n") {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// handleMetrics serves GET /metrics without an API key: it is meant for the
// operator's scraper and must not be exposed publicly (block it at the
// reverse proxy).
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if r.Method != http.MethodGet {
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeMethodNotAllowed}})
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	m := s.Metrics
	if m == nil {
		m = NewMetrics() // a Server used without Handler: nothing recorded
	}
	_, _ = m.WriteTo(w)
}

// PoolStats are the figures of a database connection pool (PostgreSQL).
type PoolStats struct {
	MaxConns, TotalConns, AcquiredConns, IdleConns int32
	AcquireCount, EmptyAcquireCount                int64
	AcquireWait                                    time.Duration
	NewConns                                       int64
	RoundTrips                                     int64
}

func writePoolStats(w *countingWriter, header func(name, typ, help string), st PoolStats) {
	gauge := func(name, help string, v int32) {
		header(name, "gauge", help)
		w.str(name, " ", strconv.FormatInt(int64(v), 10), "\n")
	}
	counter := func(name, help, v string) {
		header(name, "counter", help)
		w.str(name, " ", v, "\n")
	}
	gauge("omnicart_db_pool_max_conns", "Size of the database connection pool.", st.MaxConns)
	gauge("omnicart_db_pool_open_conns", "Open database connections.", st.TotalConns)
	gauge("omnicart_db_pool_acquired_conns", "Database connections in use.", st.AcquiredConns)
	gauge("omnicart_db_pool_idle_conns", "Open database connections not in use.", st.IdleConns)
	counter("omnicart_db_pool_acquires_total", "Connections handed out by the pool.", strconv.FormatInt(st.AcquireCount, 10))
	counter("omnicart_db_pool_waits_total", "Connection requests that found none idle and waited.", strconv.FormatInt(st.EmptyAcquireCount, 10))
	counter("omnicart_db_pool_wait_seconds_total", "Time spent waiting for a connection.", formatFloat(st.AcquireWait.Seconds()))
	counter("omnicart_db_pool_new_conns_total", "Database connections opened since the start.", strconv.FormatInt(st.NewConns, 10))
	counter("omnicart_db_round_trips_total", "Statements and batches sent to the database, each one round trip.", strconv.FormatInt(st.RoundTrips, 10))
}
