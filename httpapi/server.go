package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/jsontree"
	"github.com/omnicart/omnicart/webhook"
)

// MaxBody is the largest request body accepted (1 MiB).
const MaxBody = 1 << 20

// Server serves the HTTP API. All fields are required.
type Server struct {
	Service *gateway.Service
	Log     *slog.Logger
	// AccessLog, when set, receives each request's access log entry as one
	// JSON line written by hand (accessLine: the entry Log would write,
	// for about half its cost); it must be the writer under Log's handler,
	// safe for concurrent use. Entries go through Log when it is nil, or
	// when Log does not log at INFO.
	AccessLog io.Writer
	// PublicURL is the externally visible base URL, used in payment links.
	PublicURL string
	// Ready reports whether the server should receive traffic (false while
	// draining).
	Ready func() bool
	// PublicOutbox lets /sandbox/outbox list every test-mode merchant's
	// payment links without an API key (for a local demo).
	PublicOutbox bool

	pagesOnce sync.Once
	pages     *template.Template
	// Callbacks serves the callback management API under /callbacks/ (404
	// when nil).
	Callbacks *webhook.Manager
	// Metrics is the registry served at GET /metrics; Handler creates one
	// when nil.
	Metrics *Metrics
	// Limit bounds each API key's request rate (199002 beyond it); nil or a
	// zero rate means no limit.
	Limit *RateLimiter

	// Panel serves the Merchant Panel under /panel/ (404 when nil).
	Panel http.Handler
	// Listing lists carts for GET /carts (404 when nil).
	Listing omnicart.PanelStore

	// inflight holds the merchant+Idempotency-Key pairs of the requests
	// running in this process.
	inflight sync.Map
}

// reqCtx is what a handler knows about the request beyond *http.Request.
type reqCtx struct {
	id       string
	received time.Time
	debug    bool
	merchant *omnicart.Merchant
	key      *omnicart.APIKey
}

type apiHandler func(w http.ResponseWriter, r *http.Request, rc *reqCtx)

// Handler returns the root handler with its middleware. The routes are
// built once per call (see routes.go).
func (s *Server) Handler() http.Handler {
	if s.Metrics == nil {
		s.Metrics = NewMetrics()
	}
	return s.middleware(s.newRouter())
}

// authenticate checks the Api-Access-Token (111000) and then that the
// merchant and key may make this request (131000). It writes the error
// response and returns false when they may not.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, rc *reqCtx, allowed func(*omnicart.Merchant, *omnicart.APIKey) bool) bool {
	m, k, err := s.Service.Authenticate(r.Context(), r.Header.Get("Api-Access-Token"))
	if err != nil {
		s.fail(w, r, rc, err)
		return false
	}
	rc.merchant, rc.key = m, k
	s.Service.KeyUsed(k) // throttled and written asynchronously: no write here
	if ok, wait := s.Limit.allow(string(k.Hash), time.Now()); !ok {
		w.Header().Set("Retry-After", retryAfter(wait))
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeTooManyRequests}})
		return false
	}
	if !allowed(m, k) {
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeMethodNotAllowed}})
		return false
	}
	return true
}

// fail writes err: domain errors with their problems, anything else as
// 199000 (logged in full with the request id).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) {
	var de *omnicart.Error
	if errors.As(err, &de) {
		writeProblems(w, rc, de.Problems)
		return
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		w.Header().Set("Retry-After", "1")
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeUnavailable}})
		return
	}
	if errors.Is(err, omnicart.ErrUnavailable) {
		s.Log.WarnContext(r.Context(), "request failed: storage unavailable", "request_id", rc.id, "err", err)
		w.Header().Set("Retry-After", "1")
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeUnavailable}})
		return
	}
	s.Log.ErrorContext(r.Context(), "request failed", "request_id", rc.id, "err", err)
	writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeSystem}})
}

// readBody reads a Merchant API request body of at most MaxBody bytes. It
// writes the error response (199003, or 122001 for a broken body) and
// returns false when it cannot.
func readBody(w http.ResponseWriter, r *http.Request, rc *reqCtx) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeBodyTooLarge}})
			return nil, false
		}
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeInvalidFormat, Arg: "body"}})
		return nil, false
	}
	return body, true
}

// readJSON reads and parses a JSON request body. It writes the error
// response and returns nil when the body is too large, not JSON, or not an
// object.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, rc *reqCtx) *jsontree.Value {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeInvalidFormat, Arg: "Content-Type"}})
		return nil
	}
	body, ok := readBody(w, r, rc)
	if !ok {
		return nil
	}
	root, err := jsontree.Parse(body)
	if err != nil {
		var dup *jsontree.DuplicateKeyError
		if errors.As(err, &dup) {
			writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeInvalidFormat, Arg: dup.Key}})
			return nil
		}
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeInvalidFormat, Arg: "body"}})
		return nil
	}
	if root.Kind != jsontree.Object {
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeInvalidFormat, Arg: "body"}})
		return nil
	}
	if d := root.Get("debug"); d != nil && d.Kind == jsontree.Bool {
		rc.debug = d.Bool
	}
	return root
}

// handleReady serves GET /readyz: 200 when the database answers and the
// server is not draining (503 with Retry-After otherwise). A ready answer
// also says which payments can be taken: a server without a live provider
// is ready (for test-mode merchants) and says live payments are
// unavailable.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.Ready != nil && !s.Ready() {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Service.Store.Ping(ctx); err != nil {
		s.Log.ErrorContext(r.Context(), "readiness: database unreachable", "err", err)
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, s.readiness())
}

// LiveUnavailable is the warning of /readyz (and of serve's log at start)
// while no live payment provider is configured.
const LiveUnavailable = "live payments are unavailable: no live payment provider is configured, so /init of a live-mode merchant is refused with 131000; test-mode merchants are served"

// readyBody is the body of a ready /readyz.
type readyBody struct {
	Status string `json:"status"`
	// Payments says which payments can be taken: "test" (the sandbox
	// issuer) and "live" (an acquirer), each "available" or "unavailable".
	Payments map[string]string `json:"payments"`
	// Warnings says what the server cannot do although it is ready.
	Warnings []string `json:"warnings,omitempty"`
}

// readiness is the body of a ready /readyz: the server is ready, and which
// payments it can take, with a warning for each kind it cannot.
func (s *Server) readiness() readyBody {
	body := readyBody{Status: "ready", Payments: map[string]string{}}
	for _, mode := range []omnicart.Mode{omnicart.ModeTest, omnicart.ModeLive} {
		body.Payments[string(mode)] = "available"
		if !s.Service.CanPay(mode) {
			body.Payments[string(mode)] = "unavailable"
			if mode == omnicart.ModeLive {
				body.Warnings = append(body.Warnings, LiveUnavailable)
			} else {
				body.Warnings = append(body.Warnings, "test payments are unavailable: no sandbox issuer is configured")
			}
		}
	}
	return body
}

type codeDoc struct {
	Code       omnicart.Code `json:"code"`
	HTTPStatus *int          `json:"httpStatus"` // null: no status of its own
	Message    string        `json:"message"`
	Meaning    string        `json:"meaning"`
}

func (s *Server) handleCodes(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if r.Method != http.MethodGet {
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeMethodNotAllowed}})
		return
	}
	var out []codeDoc
	for _, e := range omnicart.Catalog() {
		st := httpStatus(e.Code, false)
		doc := codeDoc{Code: e.Code, HTTPStatus: &st, Message: e.Template, Meaning: e.Meaning}
		if strings.HasPrefix(string(e.Code), "101") {
			// Only ever listed in the debug of a failed answer, whose
			// status is its main error's (400, 409, ...): none of its own.
			doc.HTTPStatus = nil
		}
		out = append(out, doc)
	}
	writeSuccess(w, rc, false, "", map[string]any{"codes": out}, nil, false)
}

type ctxKey struct{}

func requestCtx(r *http.Request) *reqCtx {
	rc, _ := r.Context().Value(ctxKey{}).(*reqCtx)
	if rc == nil {
		rc = &reqCtx{received: time.Now()}
	}
	return rc
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func validRequestID(s string) bool {
	return s != "" && len(s) <= 64 && omnicart.ValidItemID(s)
}

// statusWriter passes a response through, noting its status and size, and
// keeping a copy of the body when keep is set.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
	keep   *bytes.Buffer
}

func (sw *statusWriter) WriteHeader(code int) {
	if sw.status == 0 {
		sw.status = code
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	n, err := sw.ResponseWriter.Write(b)
	sw.bytes += n
	if sw.keep != nil {
		sw.keep.Write(b[:n])
	}
	return n, err
}

// middleware assigns the request id (echoed as Request-Id), recovers panics
// as 199000, and logs one structured line per request.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := &reqCtx{received: s.Service.Now(), id: r.Header.Get("Request-Id")}
		if !validRequestID(rc.id) {
			rc.id = newRequestID()
		}
		w.Header().Set("Request-Id", rc.id)
		sw := &statusWriter{ResponseWriter: w}
		done := s.Metrics.begin()
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, rc))
		defer func() {
			if p := recover(); p != nil {
				s.Log.ErrorContext(r.Context(), "panic serving request", "request_id", rc.id, "panic", p)
				if sw.status == 0 {
					writeProblems(sw, rc, omnicart.Problems{{Code: omnicart.CodeSystem}})
				}
			}
			s.logAccess(r, rc, sw)
			done(r.URL.Path, r.Method, sw.status)
		}()
		next.ServeHTTP(sw, r)
	})
}

// logAccess logs the request's access log entry, through AccessLog when
// it is set and Log logs at INFO, else through Log.
func (s *Server) logAccess(r *http.Request, rc *reqCtx, sw *statusWriter) {
	l := accessLine{at: time.Now(), id: rc.id, method: r.Method, path: logPath(r.URL.Path), status: sw.status,
		bytes: int64(sw.bytes), durationMs: float64(time.Since(rc.received).Microseconds()) / 1000}
	if rc.merchant != nil {
		l.merchant = rc.merchant.ID
	}
	if s.AccessLog != nil && s.Log.Enabled(r.Context(), slog.LevelInfo) {
		var buf [512]byte
		_, _ = s.AccessLog.Write(l.append(buf[:0]))
		return
	}
	attrs := [7]slog.Attr{slog.String("request_id", l.id), slog.String("method", l.method),
		slog.String("path", l.path), slog.Int("status", l.status), slog.Int64("bytes", l.bytes),
		slog.Float64("duration_ms", l.durationMs)}
	n := 6
	if l.merchant != "" {
		attrs[n] = slog.String("merchant", l.merchant)
		n++
	}
	s.Log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs[:n]...)
}

// logPath hides payment tokens from logs.
func logPath(p string) string {
	if strings.HasPrefix(p, "/pay/") {
		return "/pay/…"
	}
	return p
}
