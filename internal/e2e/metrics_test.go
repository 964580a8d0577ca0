package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

var metricsLineRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)

// scrapeMetrics GETs /metrics without an API key and returns the body and
// each sample's value keyed by its line up to the value (name{labels}).
func scrapeMetrics(t *testing.T, base string) (string, map[string]float64) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("GET /metrics: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	samples := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
		if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
			continue
		}
		m := metricsLineRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("invalid exposition line %q", line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("invalid value in %q", line)
		}
		samples[m[1]+m[2]] = v
	}
	return string(body), samples
}

func reqSeries(route, method string, code int) string {
	return fmt.Sprintf(`omnicart_http_requests_total{route=%q,method=%q,code="%d"}`, route, method, code)
}

// TestMetricsCountsRequests makes known API calls on a fresh real server and
// checks that /metrics (served without an API key) counts each by route
// pattern, method and status, that the duration histogram counts match,
// that no cart id or payment token appears, and that only GET is allowed.
func TestMetricsCountsRequests(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus")
	ctx := context.Background()

	const cartID = "metrics-cart-7f3a9"
	res, err := c.Raw().Init(ctx, `{"cartId":"`+cartID+`","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`)
	if err != nil || res.Status != 201 {
		t.Fatalf("init: %v %+v", err, res)
	}
	var data struct {
		PaymentURL string `json:"paymentUrl"`
	}
	if err := res.Decode(&data); err != nil {
		t.Fatal(err)
	}
	_, token, ok := strings.Cut(data.PaymentURL, "/pay/")
	if !ok || len(token) < 16 {
		t.Fatalf("payment URL %q has no token", data.PaymentURL)
	}
	initDup, err := c.Raw().Init(ctx, `{"cartId":"`+cartID+`","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`)
	if err != nil || initDup.Status < 400 {
		t.Fatalf("second init of the same cart: %v %+v", err, initDup)
	}
	for range 2 {
		st, err := c.Raw().Status(ctx, cartID, client.StatusQuery{})
		if err != nil || st.Status != 200 {
			t.Fatalf("status: %v %+v", err, st)
		}
	}
	missing, err := c.Raw().Status(ctx, "metrics-no-such-cart-1b2c", client.StatusQuery{})
	if err != nil || missing.Status < 400 {
		t.Fatalf("status of a missing cart: %v %+v", err, missing)
	}
	pay, err := c.Pay(ctx, data.PaymentURL, client.Card{CardNumber: "4111 1111 1111 1111", Expiry: "12/39", CVC: "123", Cardholder: "Ada"})
	if err != nil || pay.Result != "authorized" {
		t.Fatalf("pay: %v %+v", err, pay)
	}
	post, err := http.Post(srv.URL+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	postBody, _ := io.ReadAll(post.Body)
	post.Body.Close()
	if post.StatusCode != 405 || !strings.Contains(string(postBody), `"131000"`) {
		t.Fatalf("POST /metrics: %d %s", post.StatusCode, postBody)
	}

	text, got := scrapeMetrics(t, srv.URL)
	want := map[string]float64{
		reqSeries("/init", "POST", 201):                                         1,
		reqSeries("/init", "POST", initDup.Status):                              1,
		reqSeries("/status", "GET", 200):                                        2,
		reqSeries("/status", "GET", missing.Status):                             1,
		reqSeries("/pay", "POST", pay.Status):                                   1,
		reqSeries("/metrics", "POST", 405):                                      1,
		`omnicart_http_in_flight_requests`:                                      1, // this scrape
		`omnicart_http_request_duration_seconds_count{route="/init"}`:           2,
		`omnicart_http_request_duration_seconds_count{route="/status"}`:         3,
		`omnicart_http_request_duration_seconds_count{route="/pay"}`:            1,
		`omnicart_http_request_duration_seconds_bucket{route="/pay",le="+Inf"}`: 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	// Exactly these request series on a fresh server: nothing else counted.
	if n := strings.Count(text, "omnicart_http_requests_total{"); n != 6 {
		t.Errorf("%d request series, want 6:\n%s", n, text)
	}
	for _, secret := range []string{cartID, "metrics-no-such-cart-1b2c", token} {
		if strings.Contains(text, secret) {
			t.Errorf("/metrics contains %q:\n%s", secret, text)
		}
	}
	for _, name := range []string{`omnicart_build_info{version="dev",goversion="go`, "go_goroutines ", "go_memstats_heap_alloc_bytes ", "process_start_time_seconds "} {
		if !strings.Contains(text, "\n"+name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}

	// The storage engine's figures: the SQLite writer's commits, or the
	// PostgreSQL pool's connections.
	if e2e.Postgres() {
		if got["omnicart_db_pool_max_conns"] < 1 || got["omnicart_db_pool_acquires_total"] < 1 || got["omnicart_db_pool_open_conns"] < 1 {
			t.Errorf("pool figures missing or zero: max %v, acquires %v, open %v",
				got["omnicart_db_pool_max_conns"], got["omnicart_db_pool_acquires_total"], got["omnicart_db_pool_open_conns"])
		}
	} else if got["omnicart_db_commits_total"] < 1 {
		t.Errorf("omnicart_db_commits_total = %v after an /init and a payment", got["omnicart_db_commits_total"])
	}

	// A second scrape sees the first one counted.
	_, got = scrapeMetrics(t, srv.URL)
	if k := reqSeries("/metrics", "GET", 200); got[k] != 1 {
		t.Errorf("after one scrape %s = %v, want 1", k, got[k])
	}
}
