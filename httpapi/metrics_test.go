package httpapi

import (
	"bytes"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart/gateway"
)

// promSample is one sample line of the text exposition format.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	promSampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	promLabelRE  = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)`)
	promMetaRE   = regexp.MustCompile(`^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$`)
)

// parseProm parses a text exposition strictly: every line is a HELP, TYPE
// or sample line, each family has HELP and TYPE before its samples, and
// every sample belongs to a declared family. It returns the samples and
// the type of each family.
func parseProm(t *testing.T, text string) ([]promSample, map[string]string) {
	t.Helper()
	if !strings.HasSuffix(text, "\n") {
		t.Fatalf("exposition does not end with a newline: %q", text)
	}
	types, helps := map[string]string{}, map[string]bool{}
	var out []promSample
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if m := promMetaRE.FindStringSubmatch(line); m != nil {
			if m[1] == "HELP" {
				helps[m[2]] = true
			} else {
				if _, dup := types[m[2]]; dup {
					t.Fatalf("line %d: second TYPE for %s", i+1, m[2])
				}
				if !helps[m[2]] {
					t.Fatalf("line %d: TYPE before HELP for %s", i+1, m[2])
				}
				types[m[2]] = m[3]
			}
			continue
		}
		m := promSampleRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("line %d is not valid exposition: %q", i+1, line)
		}
		s := promSample{name: m[1], labels: map[string]string{}}
		for rest := m[2]; rest != ""; {
			lm := promLabelRE.FindStringSubmatch(rest)
			if lm == nil {
				t.Fatalf("line %d: bad labels %q", i+1, m[2])
			}
			s.labels[lm[1]] = lm[2]
			rest = rest[len(lm[0]):]
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("line %d: bad value %q", i+1, m[3])
		}
		s.value = v
		family := s.name
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(s.name, suf); ok && types[base] == "histogram" {
				family = base
			}
		}
		if types[family] == "" {
			t.Fatalf("line %d: sample %s before its TYPE line", i+1, s.name)
		}
		out = append(out, s)
	}
	return out, types
}

// find returns the value of the sample with exactly these labels.
func find(t *testing.T, samples []promSample, name string, labels map[string]string) (float64, bool) {
	t.Helper()
next:
	for _, s := range samples {
		if s.name != name || len(s.labels) != len(labels) {
			continue
		}
		for k, v := range labels {
			if s.labels[k] != v {
				continue next
			}
		}
		return s.value, true
	}
	return 0, false
}

func expose(t *testing.T, m *Metrics) string {
	t.Helper()
	var buf bytes.Buffer
	n, err := m.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo = %d, %v; wrote %d bytes", n, err, buf.Len())
	}
	return buf.String()
}

// checkHistograms checks every histogram series: buckets at the configured
// bounds in order, cumulative, +Inf equal to _count, and a _sum.
func checkHistograms(t *testing.T, samples []promSample, name string) map[string][3]float64 {
	t.Helper()
	type series struct {
		les        []string
		counts     []float64
		sum, count float64
		hasSum     bool
		hasCount   bool
	}
	byRoute := map[string]*series{}
	get := func(r string) *series {
		if byRoute[r] == nil {
			byRoute[r] = &series{}
		}
		return byRoute[r]
	}
	for _, s := range samples {
		switch s.name {
		case name + "_bucket":
			sr := get(s.labels["route"])
			sr.les = append(sr.les, s.labels["le"])
			sr.counts = append(sr.counts, s.value)
		case name + "_sum":
			sr := get(s.labels["route"])
			sr.sum, sr.hasSum = s.value, true
		case name + "_count":
			sr := get(s.labels["route"])
			sr.count, sr.hasCount = s.value, true
		}
	}
	want := []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}
	out := map[string][3]float64{}
	for route, sr := range byRoute {
		if strings.Join(sr.les, " ") != strings.Join(want, " ") {
			t.Errorf("route %s: buckets le=%v, want %v", route, sr.les, want)
			continue
		}
		for i := 1; i < len(sr.counts); i++ {
			if sr.counts[i] < sr.counts[i-1] {
				t.Errorf("route %s: buckets not cumulative: %v", route, sr.counts)
			}
		}
		if !sr.hasSum || !sr.hasCount || sr.counts[len(sr.counts)-1] != sr.count {
			t.Errorf("route %s: +Inf %v, _count %v (present %v), _sum present %v", route, sr.counts[len(sr.counts)-1], sr.count, sr.hasCount, sr.hasSum)
		}
		if sr.count > 0 && sr.sum < 0 {
			t.Errorf("route %s: negative _sum %v", route, sr.sum)
		}
		out[route] = [3]float64{sr.counts[0], sr.count, sr.sum}
	}
	return out
}

// TestMetricsExposition records known requests and durations and checks
// the exposition: HELP/TYPE for every family, counters by route, method and
// code, cumulative histogram buckets with _count and _sum consistent.
func TestMetricsExposition(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	obs := []struct {
		route, method string
		code          int
		d             time.Duration
	}{
		{"/init", "POST", 201, 3 * time.Millisecond},
		{"/init", "POST", 201, 7 * time.Millisecond},
		{"/init", "POST", 400, 30 * time.Millisecond},
		{"/init", "POST", 201, 2 * time.Second},
		{"/init", "POST", 201, 20 * time.Second},      // above the last bound: only +Inf
		{"/status", "GET", 200, 5 * time.Millisecond}, // on a bound: le is inclusive
		{"other", "GET", 0, time.Millisecond},         // nothing written: 200
	}
	for _, o := range obs {
		m.observe(o.route, o.method, o.code, o.d)
	}
	text := expose(t, m)
	samples, types := parseProm(t, text)

	wantTypes := map[string]string{
		"omnicart_http_requests_total":           "counter",
		"omnicart_http_request_duration_seconds": "histogram",
		"omnicart_http_in_flight_requests":       "gauge",
		"omnicart_build_info":                    "gauge",
		"go_goroutines":                          "gauge",
		"go_memstats_heap_alloc_bytes":           "gauge",
		"process_start_time_seconds":             "gauge",
	}
	for name, typ := range wantTypes {
		if types[name] != typ {
			t.Errorf("TYPE of %s = %q, want %q", name, types[name], typ)
		}
	}
	for _, c := range []struct {
		route, method, code string
		want                float64
	}{
		{"/init", "POST", "201", 4}, {"/init", "POST", "400", 1}, {"/status", "GET", "200", 1}, {"other", "GET", "200", 1},
	} {
		got, ok := find(t, samples, "omnicart_http_requests_total", map[string]string{"route": c.route, "method": c.method, "code": c.code})
		if !ok || got != c.want {
			t.Errorf("requests_total{%s,%s,%s} = %v (present %v), want %v", c.route, c.method, c.code, got, ok, c.want)
		}
	}
	if n := strings.Count(text, "omnicart_http_requests_total{"); n != 4 {
		t.Errorf("%d requests_total series, want 4:\n%s", n, text)
	}

	hist := checkHistograms(t, samples, "omnicart_http_request_duration_seconds")
	if len(hist) != 3 {
		t.Errorf("histogram routes %v, want /init, /status, other", hist)
	}
	lbl := func(route, le string) map[string]string { return map[string]string{"route": route, "le": le} }
	for _, c := range []struct {
		route, le string
		want      float64
	}{
		{"/init", "0.005", 1}, {"/init", "0.01", 2}, {"/init", "0.025", 2}, {"/init", "0.05", 3},
		{"/init", "1", 3}, {"/init", "2.5", 4}, {"/init", "10", 4}, {"/init", "+Inf", 5},
		{"/status", "0.005", 1}, {"other", "0.005", 1},
	} {
		if got, _ := find(t, samples, "omnicart_http_request_duration_seconds_bucket", lbl(c.route, c.le)); got != c.want {
			t.Errorf("bucket{%s,le=%s} = %v, want %v", c.route, c.le, got, c.want)
		}
	}
	if got := hist["/init"][2]; math.Abs(got-22.04) > 1e-9 {
		t.Errorf("/init _sum = %v, want 22.04", got)
	}
	if got := hist["/init"][1]; got != 5 {
		t.Errorf("/init _count = %v, want 5", got)
	}

	if v, ok := find(t, samples, "omnicart_http_in_flight_requests", map[string]string{}); !ok || v != 0 {
		t.Errorf("in_flight = %v (present %v), want 0", v, ok)
	}
	bi := 0
	for _, s := range samples {
		if s.name == "omnicart_build_info" {
			bi++
			if s.value != 1 || s.labels["version"] != "dev" || !strings.HasPrefix(s.labels["goversion"], "go") {
				t.Errorf("build_info %+v", s)
			}
		}
	}
	if bi != 1 {
		t.Errorf("%d build_info samples, want 1", bi)
	}
	if v, _ := find(t, samples, "go_goroutines", map[string]string{}); v < 1 {
		t.Errorf("go_goroutines = %v", v)
	}
	if v, _ := find(t, samples, "go_memstats_heap_alloc_bytes", map[string]string{}); v <= 0 {
		t.Errorf("heap_alloc = %v", v)
	}
	if v, _ := find(t, samples, "process_start_time_seconds", map[string]string{}); math.Abs(v-float64(m.start.UnixNano())/1e9) > 1e-3 {
		t.Errorf("process_start_time_seconds = %v, want %v", v, m.start)
	}
}

// TestMetricsRouteLabels checks that paths are reduced to route patterns
// (no cart id, token or unknown path becomes a label) and methods to a
// bounded set.
func TestMetricsRouteLabels(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/init": "/init", "/status": "/status", "/status/cart-42": "/status", "/capture": "/capture",
		"/pay/T0kenT0ken": "/pay", "/callbacks/cb_1/deliveries": "/callbacks", "/deliveries/d1": "/deliveries",
		"/metrics": "/metrics", "/healthz": "/healthz", "/sandbox/clock": "/sandbox/clock",
		"/": "other", "/init/x": "other", "/secret-path-123": "other", "/pay": "other", "/statusx": "other",
	} {
		if got := metricsRoute(path); got != want {
			t.Errorf("metricsRoute(%q) = %q, want %q", path, got, want)
		}
	}
	for m, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "BREW": "other", "get": "other"} {
		if got := metricsMethod(m); got != want {
			t.Errorf("metricsMethod(%q) = %q, want %q", m, got, want)
		}
	}
	if got := escapeLabel("a\"b\\c\nd"); got != `a\"b\\c\nd` {
		t.Errorf("escapeLabel = %q", got)
	}
}

// TestMetricsConcurrent records from many goroutines at once and checks no
// request is lost and in-flight returns to zero.
func TestMetricsConcurrent(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	const workers, each = 8, 200
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				done := m.begin()
				done("/status/some-cart", "GET", 200)
				_, _ = m.WriteTo(io.Discard)
			}
		})
	}
	wg.Wait()
	samples, _ := parseProm(t, expose(t, m))
	if v, _ := find(t, samples, "omnicart_http_requests_total", map[string]string{"route": "/status", "method": "GET", "code": "200"}); v != workers*each {
		t.Errorf("requests_total = %v, want %d", v, workers*each)
	}
	if v, _ := find(t, samples, "omnicart_http_request_duration_seconds_count", map[string]string{"route": "/status"}); v != workers*each {
		t.Errorf("duration _count = %v, want %d", v, workers*each)
	}
	if v, _ := find(t, samples, "omnicart_http_in_flight_requests", map[string]string{}); v != 0 {
		t.Errorf("in_flight = %v, want 0", v)
	}
}

// TestMetricsEndpoint serves requests through Server.Handler and checks
// GET /metrics: no API key, Content-Type of format 0.0.4, the scrape itself
// in flight, earlier requests counted by route, other methods 405 131000.
func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	s := &Server{Service: &gateway.Service{Now: time.Now}, Log: slog.New(slog.DiscardHandler)}
	h := s.Handler()
	do := func(method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec
	}
	do("GET", "/healthz")
	do("GET", "/healthz")
	if rec := do("GET", "/no-such-secret-path"); rec.Code != 404 {
		t.Fatalf("unknown path: %d", rec.Code)
	}
	rec := do("POST", "/metrics")
	if rec.Code != http.StatusMethodNotAllowed || !strings.Contains(rec.Body.String(), `"131000"`) {
		t.Fatalf("POST /metrics: %d %s", rec.Code, rec.Body)
	}
	rec = do("GET", "/metrics")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("GET /metrics: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	text := rec.Body.String()
	samples, _ := parseProm(t, text)
	for _, c := range []struct {
		route, method, code string
		want                float64
	}{{"/healthz", "GET", "200", 2}, {"other", "GET", "404", 1}, {"/metrics", "POST", "405", 1}} {
		if v, _ := find(t, samples, "omnicart_http_requests_total", map[string]string{"route": c.route, "method": c.method, "code": c.code}); v != c.want {
			t.Errorf("requests_total{%s,%s,%s} = %v, want %v", c.route, c.method, c.code, v, c.want)
		}
	}
	if v, _ := find(t, samples, "omnicart_http_in_flight_requests", map[string]string{}); v != 1 {
		t.Errorf("in_flight during the scrape = %v, want 1", v)
	}
	if strings.Contains(text, "no-such-secret-path") {
		t.Errorf("raw path leaked into /metrics:\n%s", text)
	}
	checkHistograms(t, samples, "omnicart_http_request_duration_seconds")
}
