package httpapi

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"
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
