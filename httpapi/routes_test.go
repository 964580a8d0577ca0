package httpapi

import (
	"bufio"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
)

// legacyDispatch is the hand-written dispatch the ServeMux replaced, kept
// as the reference the router must agree with. It answers with the real
// handlers, and names the endpoint it chose in *chose.
func legacyDispatch(s *Server, chose *string) http.HandlerFunc {
	routes := map[string]route{
		"/init":    {http.MethodPost, nil, omnicart.MethodInit, s.handleInit},
		"/status":  {http.MethodGet, nil, omnicart.MethodStatus, s.handleStatus},
		"/capture": {http.MethodPost, nil, omnicart.MethodCapture, s.actionHandler(omnicart.ActionCapture)},
		"/cancel":  {http.MethodPost, nil, omnicart.MethodCancel, s.actionHandler(omnicart.ActionCancel)},
		"/refund":  {http.MethodPost, nil, omnicart.MethodRefund, s.actionHandler(omnicart.ActionRefund)},
		"/modify":  {http.MethodPatch, nil, omnicart.MethodModify, s.handleModify},
	}
	return func(w http.ResponseWriter, r *http.Request) {
		rc := requestCtx(r)
		path := r.URL.Path
		switch {
		case path == "/healthz":
			*chose = "healthz"
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
			return
		case path == "/readyz":
			*chose = "readyz"
			s.handleReady(w, r)
			return
		case path == "/codes":
			*chose = "codes"
			s.handleCodes(w, r, rc)
			return
		case path == "/openapi.yaml":
			*chose = "openapi"
			s.handleOpenAPI(w, r, rc)
			return
		case path == "/metrics":
			*chose = "metrics"
			s.handleMetrics(w, r, rc)
			return
		case strings.HasPrefix(path, "/pay/"):
			*chose = "pay"
			s.handlePay(w, r, rc, strings.TrimPrefix(path, "/pay/"))
			return
		case path == "/sandbox/clock":
			*chose = "clock"
			s.handleClock(w, r, rc)
			return
		case path == "/sandbox/outbox":
			*chose = "outbox"
			s.handleOutbox(w, r, rc)
			return
		case strings.HasPrefix(path, "/deliveries/"):
			*chose = "deliveries"
			s.handleDeliveries(w, r, rc)
			return
		case strings.HasPrefix(path, "/callbacks/"):
			*chose = "callbacks"
			s.handleCallbacks(w, r, rc)
			return
		}
		key := path
		if path == "/status" || strings.HasPrefix(path, "/status/") {
			key = "/status"
		}
		rt, ok := routes[key]
		if !ok {
			*chose = "not found"
			writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeNotFound}})
			return
		}
		*chose = key[1:]
		if r.Method != rt.method {
			*chose += ": wrong method"
		}
		if !s.authenticate(w, r, rc, func(_ *omnicart.Merchant, k *omnicart.APIKey) bool {
			return r.Method == rt.method && k.Allows(rt.keyMethod)
		}) {
			return
		}
		s.withIdempotency(w, r, rc, rt.handle)
	}
}

// routingTargets are request targets around every route: exact paths,
// subtrees, trailing slashes, paths ServeMux would clean or redirect, and
// escapes that change the segments.
func routingTargets() []string {
	bases := []string{
		"/init", "/status", "/capture", "/cancel", "/refund", "/modify",
		"/healthz", "/readyz", "/codes", "/openapi.yaml", "/metrics",
		"/sandbox/clock", "/sandbox/outbox", "/sandbox",
		"/pay", "/deliveries", "/callbacks", "/callbacks/endpoints", "/callbacks/events/ev_1/resend",
		"/nope", "/statusx", "/initx", "/Init", "/STATUS/x",
	}
	targets := []string{
		"/", "//", "/.", "/..", "/./", "/../", "*", "http://example.com", "http://example.com/status/x",
		"/status/:cart-0001-abcd", "/status/cart-0001-abcd", "/status/a/b", "/status/a%2Fb", "/status%2Fx",
		"/st%61tus/x", "/st%61tus", "/%69nit", "/init%2F", "/sandbox%2Fclock", "/pay%2Ftoken",
		"/pay/T0kenT0kenT0kenT0ken", "/pay/T0kenT0kenT0kenT0ken/challenge", "/pay/x/../../init",
		"/status/../init", "/status/./x", "/status//x", "/status/%2E%2E/init", "/status/..", "/status/.",
		"/./status/x", "//status/x", "/../status/x", "/init/../status", "/sandbox/./clock", "/sandbox//clock",
		"/deliveries/../callbacks/x", "/callbacks//endpoints", "/callbacks/endpoints/../events",
		"/status?x=1", "/status/x?y=/../", "/init?debug=true", "/status/%zz",
	}
	for _, b := range bases {
		targets = append(targets, b, b+"/", b+"/x", b+"/x/", b+"//", b+"/.", b+"/..", b+"/../x", "/x"+b, b+"%2F", b+"x")
	}
	return targets
}

var routingMethods = []string{
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "BREW", "get", "post",
}

// readRequest parses a request the way the server does.
func readRequest(t *testing.T, method, target string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: example.com\r\nRequest-Id: req-1\r\n\r\n")))
	if err != nil {
		return nil
	}
	return r
}

// TestRouterMatchesLegacyDispatch checks, for every method on every target
// of routingTargets, that the router picks the endpoint the hand-written
// dispatch picked and that the responses are the same.
func TestRouterMatchesLegacyDispatch(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	newServer := func() *Server {
		return &Server{Service: &gateway.Service{Now: func() time.Time { return now }}, Log: slog.New(slog.DiscardHandler)}
	}
	ns, ls := newServer(), newServer()
	newH := ns.Handler()
	rtr := ns.newRouter()
	var chose string
	ls.Metrics = NewMetrics()
	oldH := ls.middleware(legacyDispatch(ls, &chose))

	n := 0
	for _, target := range routingTargets() {
		for _, method := range routingMethods {
			r := readRequest(t, method, target)
			if r == nil {
				continue
			}
			n++
			where := fmt.Sprintf("%s %s (path %q)", method, target, r.URL.Path)
			oldRec := httptest.NewRecorder()
			oldH.ServeHTTP(oldRec, r)
			if got := rtr.match(readRequest(t, method, target)).name; got != chose {
				t.Errorf("%s: router chose %q, dispatch chose %q", where, got, chose)
			}
			newRec := httptest.NewRecorder()
			newH.ServeHTTP(newRec, readRequest(t, method, target))
			if newRec.Code != oldRec.Code {
				t.Errorf("%s: status %d, was %d", where, newRec.Code, oldRec.Code)
			}
			if newRec.Code == http.StatusMethodNotAllowed && !strings.Contains(newRec.Body.String(), `"131000"`) ||
				newRec.Code == http.StatusMovedPermanently {
				t.Errorf("%s: ServeMux answered: %d %s", where, newRec.Code, newRec.Body)
			}
			if chose == "metrics" && method == "GET" {
				continue // the scrape differs: durations, goroutines
			}
			if nb, ob := newRec.Body.String(), oldRec.Body.String(); nb != ob {
				t.Errorf("%s: body\n%s\nwas\n%s", where, nb, ob)
			}
			for _, k := range []string{"Content-Type", "Allow", "Location", "Retry-After", "Cache-Control", "Request-Id"} {
				if nv, ov := newRec.Header().Get(k), oldRec.Header().Get(k); nv != ov {
					t.Errorf("%s: %s %q, was %q", where, k, nv, ov)
				}
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d requests parsed", n)
	}
}

// TestRouterNeverAnswersForServeMux pins the answers the ServeMux would
// have given itself: plain-text 404 and 405, and 301 redirects.
func TestRouterNeverAnswersForServeMux(t *testing.T) {
	t.Parallel()
	s := &Server{Service: &gateway.Service{Now: time.Now}, Log: slog.New(slog.DiscardHandler)}
	h := s.Handler()
	for _, c := range []struct {
		method, target string
		status         int
		code           string
	}{
		{"GET", "/no-such-path", 404, "199001"},
		{"GET", "/pay", 404, "199001"},        // not redirected to /pay/
		{"GET", "/deliveries", 404, "199001"}, // nor /deliveries/
		{"POST", "/callbacks", 404, "199001"}, // nor /callbacks/
		{"GET", "//init", 404, "199001"},      // not cleaned to /init
		{"POST", "/sandbox/./clock", 404, "199001"},
		{"DELETE", "/init", 401, "111000"},        // authenticated before 131000, not 405
		{"HEAD", "/status/x", 401, "111000"},      // HEAD is not GET here
		{"GET", "/status/../init", 401, "111000"}, // /status/ serves its subtree as it is
		{"GET", "/status", 401, "111000"},
		{"GET", "/status/", 401, "111000"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, readRequest(t, c.method, c.target))
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), `"code":"`+c.code+`"`) {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.target, rec.Code, rec.Body, c.status, c.code)
		}
	}
}
