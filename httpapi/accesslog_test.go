package httpapi

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/internal/syncio"
)

// TestAccessLineMatchesSlog holds the hand-written access log entry to
// the line slog's JSONHandler writes for the same record.
func TestAccessLineMatchesSlog(t *testing.T) {
	at := time.Date(2026, 12, 2, 19, 4, 23, 661234500, time.UTC)
	lines := []accessLine{
		{at: at, id: "req_abc", method: "GET", path: "/status/cart-1", status: 200, bytes: 412, durationMs: 0.123, merchant: "m_demo"},
		{at: at.In(time.FixedZone("X", 5*3600+1800)), id: "r", method: "POST", path: "/init", status: 401, bytes: 0, durationMs: 0},
		{at: at, id: "r\"q", method: "PATCH", path: "/p<&>\u2028é\xff\x01", status: 503, bytes: 1 << 40, durationMs: 12345.678, merchant: "m\\"},
		{at: at, id: "r", method: "GET", path: "/", status: 200, durationMs: 0.001},
		{at: at, id: "r", method: "GET", path: "/", status: 200, durationMs: 1e-7},
	}
	for i, l := range lines {
		var want bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&want, &slog.HandlerOptions{Level: slog.LevelInfo}))
		attrs := []slog.Attr{slog.String("request_id", l.id), slog.String("method", l.method), slog.String("path", l.path),
			slog.Int("status", l.status), slog.Int64("bytes", l.bytes), slog.Float64("duration_ms", l.durationMs)}
		if l.merchant != "" {
			attrs = append(attrs, slog.String("merchant", l.merchant))
		}
		r := slog.NewRecord(l.at, slog.LevelInfo, "request", 0)
		r.AddAttrs(attrs...)
		if err := log.Handler().Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if got := l.append(nil); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("line %d:\n got %s\nwant %s", i, got, want.Bytes())
		}
	}
}

// TestAccessLogGathered serves requests with the access log a
// syncio.Gatherer's Delayed writer (as cmd/omnicart wires it), lines held
// for an hour: the entries wait in it (gathered, not written one by one)
// and come out whole, in order, at the next Flush.
func TestAccessLogGathered(t *testing.T) {
	var out bytes.Buffer
	logOut := syncio.NewGatherer(&syncio.Writer{W: &out}, time.Hour, 1<<20)
	s := &Server{Service: &gateway.Service{Store: &prefetchSpyStore{}, Now: time.Now, KeyPepper: []byte("p")},
		Log: slog.New(slog.NewJSONHandler(logOut, nil)), AccessLog: logOut.Delayed()}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	var ids []string
	for range 3 {
		req, _ := http.NewRequest("GET", ts.URL+"/status/cart-000001", nil)
		req.Header.Set("Api-Access-Token", "ock_test_secret")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		ids = append(ids, res.Header.Get("Request-Id"))
	}
	if out.Len() != 0 {
		t.Fatalf("entries written one by one:\n%s", out.String())
	}
	if err := logOut.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(ids) {
		t.Fatalf("%d lines for %d requests:\n%s", len(lines), len(ids), out.String())
	}
	for i, id := range ids {
		if id == "" || !strings.Contains(lines[i], `"msg":"request"`) || !strings.Contains(lines[i], `"request_id":"`+id+`"`) {
			t.Errorf("line %d, want request %q: %s", i, id, lines[i])
		}
	}
}
