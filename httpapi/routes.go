package httpapi

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
)

// Routing. Every path the server answers is a pattern of one http.ServeMux,
// built once by Handler; the Merchant API paths are method patterns
// ("POST /init", "GET /status/{cartId...}").
//
// ServeMux answers some requests itself: 404 and 405 in plain text, 301 to
// a cleaned path ("/status/../init", "//init") or to a subtree ("/pay" to
// "/pay/"). None of that may reach a client, who gets the OmniCart envelope
// as always. So the router only asks the mux which handler matches
// (ServeMux.Handler) and serves only the endpoints registered here;
// anything else the mux would do is 404 199001. The registrations leave no
// room for it anyway:
//
//   - "/" catches every path no other pattern matches (199001), so the mux
//     never has a 404 of its own;
//   - each Merchant API path also has a pattern without a method, which
//     authenticates and then answers 131000 (a GET pattern also matches
//     HEAD, so HEAD gets its own), so the mux never has a 405 of its own;
//   - "/pay", "/deliveries" and "/callbacks" are 199001 themselves, so the
//     mux never redirects them to their subtree;
//   - the mux matches the path the handlers see, r.URL.Path, never
//     rewritten: a path it would clean is matched by its first segment only
//     (see muxRequest).

// route is one Merchant API operation: its HTTP method, the paths it is
// served on, the key method it needs and its handler.
type route struct {
	method    string
	paths     []string
	keyMethod string
	handle    apiHandler
}

func (s *Server) routes() []route {
	rs := []route{
		{http.MethodPost, []string{"/init"}, omnicart.MethodInit, s.handleInit},
		// The cart id may be /status/{id} or /status/:{id}; handleStatus
		// parses it from the path itself, and answers /status and /status/
		// without one (121101).
		{http.MethodGet, []string{"/status", "/status/{cartId...}"}, omnicart.MethodStatus, s.handleStatus},
		{http.MethodPost, []string{"/capture"}, omnicart.MethodCapture, s.actionHandler(omnicart.ActionCapture)},
		{http.MethodPost, []string{"/cancel"}, omnicart.MethodCancel, s.actionHandler(omnicart.ActionCancel)},
		{http.MethodPost, []string{"/refund"}, omnicart.MethodRefund, s.actionHandler(omnicart.ActionRefund)},
		{http.MethodPatch, []string{"/modify"}, omnicart.MethodModify, s.handleModify},
	}
	if s.Listing != nil {
		// The carts listing needs the status permission.
		rs = append(rs, route{http.MethodGet, []string{"/carts"}, omnicart.MethodStatus, s.handleCarts})
	}
	return rs
}

// endpoint is what every pattern is registered with: the router serves
// nothing else. The name is for tests.
type endpoint struct {
	name  string
	serve func(w http.ResponseWriter, r *http.Request, rc *reqCtx)
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.serve(w, r, requestCtx(r))
}

// router is the root handler under the middleware.
type router struct {
	mux      *http.ServeMux
	notFound *endpoint
}

func (s *Server) newRouter() *router {
	mux := http.NewServeMux()
	notFound := &endpoint{"not found", func(w http.ResponseWriter, _ *http.Request, rc *reqCtx) {
		writeProblems(w, rc, omnicart.Problems{{Code: omnicart.CodeNotFound}})
	}}
	handle := func(pattern, name string, serve func(http.ResponseWriter, *http.Request, *reqCtx)) {
		mux.Handle(pattern, &endpoint{name, serve})
	}
	mux.Handle("/", notFound)
	for _, p := range []string{"/pay", "/deliveries", "/callbacks"} {
		mux.Handle(p, notFound)
	}

	handle("/healthz", "healthz", func(w http.ResponseWriter, _ *http.Request, _ *reqCtx) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	handle("/readyz", "readyz", func(w http.ResponseWriter, r *http.Request, _ *reqCtx) { s.handleReady(w, r) })
	handle("/codes", "codes", s.handleCodes)
	handle("/openapi.yaml", "openapi", s.handleOpenAPI)
	handle("/metrics", "metrics", s.handleMetrics)
	handle("/sandbox/clock", "clock", s.handleClock)
	handle("/sandbox/outbox", "outbox", s.handleOutbox)
	handle("/pay/", "pay", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		s.handlePay(w, r, rc, strings.TrimPrefix(r.URL.Path, "/pay/"))
	})
	handle("/deliveries/", "deliveries", s.handleDeliveries)
	// Any key of the merchant may read what happened to its own requests.
	handle("GET /idempotency-keys/{key...}", "idempotency-keys", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		if s.authenticate(w, r, rc, func(*omnicart.Merchant, *omnicart.APIKey) bool { return true }) {
			s.handleIdempotencyKey(w, r, rc)
		}
	})
	handle("/idempotency-keys/", "idempotency-keys: wrong method", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		s.authenticate(w, r, rc, func(*omnicart.Merchant, *omnicart.APIKey) bool { return false })
	})
	handle("/callbacks/", "callbacks", s.handleCallbacks)
	if s.Panel != nil {
		// The Merchant Panel serves its own pages (HTML, not the envelope).
		for _, p := range []string{"/panel", "/panel/"} {
			handle(p, "panel", func(w http.ResponseWriter, r *http.Request, _ *reqCtx) { s.Panel.ServeHTTP(w, r) })
		}
	}

	for _, rt := range s.routes() {
		serve := func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
			if rt.paths[0] == "/status" && rt.method == http.MethodGet {
				// The store may read the cart with the key (one round
				// trip instead of two, see omnicart.CartPrefetch).
				if id := statusCartID(r); omnicart.ValidCartID(id) {
					r = r.WithContext(omnicart.WithCartPrefetch(r.Context(), id))
				}
			}
			if !s.authenticate(w, r, rc, func(_ *omnicart.Merchant, k *omnicart.APIKey) bool {
				return r.Method == rt.method && k.Allows(rt.keyMethod)
			}) {
				return
			}
			// The changes the request makes record the key that made them
			// (by its prefix), for the Panel's cart timeline.
			r = r.WithContext(gateway.WithActor(r.Context(), omnicart.KeyActor(rc.key.Prefix)))
			s.withIdempotency(w, r, rc, rt.handle)
		}
		// Any other method: authenticated first (111000, 199002), then
		// 131000.
		wrongMethod := func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
			s.authenticate(w, r, rc, func(*omnicart.Merchant, *omnicart.APIKey) bool { return false })
		}
		name := strings.TrimPrefix(rt.paths[0], "/")
		for _, p := range rt.paths {
			handle(rt.method+" "+p, name, serve)
			handle(p, name+": wrong method", wrongMethod)
			if rt.method == http.MethodGet {
				handle(http.MethodHead+" "+p, name+": wrong method", wrongMethod)
			}
		}
	}
	return &router{mux: mux, notFound: notFound}
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt.match(r).ServeHTTP(w, r)
}

// match returns the endpoint that serves r.
func (rt *router) match(r *http.Request) *endpoint {
	mr := muxRequest(r)
	if mr == nil {
		return rt.notFound
	}
	h, _ := rt.mux.Handler(mr)
	if e, ok := h.(*endpoint); ok {
		return e
	}
	return rt.notFound
}

// muxRequest returns the request to match r by: r itself when the mux can
// match its path as it is, else a request whose path matches the same
// pattern r.URL.Path starts with, or nil when no pattern matches r.
//
// The mux matches the escaped path (r.URL.RawPath when set) segment by
// segment, so "/sandbox%2Fclock" would be one segment; the handlers, and so
// the routing, go by r.URL.Path ("/sandbox/clock"). Such a request is
// matched by its decoded path.
//
// A path the mux would clean ("/status/../init", "/status//x", "/./init")
// is matched by its first segment: only the subtrees /status/, /pay/,
// /deliveries/ and /callbacks/ serve any path under them as it is, and
// "/init/" or "/sandbox/" match "/" (199001), as the exact paths never
// match an unclean one. The path is not rewritten: the handler sees it.
func muxRequest(r *http.Request) *http.Request {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") {
		return nil // "", "*"
	}
	if !clean(p) {
		seg, _, ok := strings.Cut(p[1:], "/")
		if !ok || seg == "" || seg == "." || seg == ".." {
			return nil
		}
		p = "/" + seg + "/"
	} else if r.URL.RawPath == "" {
		return r
	}
	return &http.Request{Method: r.Method, Host: r.Host, URL: &url.URL{Path: p}}
}

// clean reports whether the mux would leave p as it is: no empty, "." or
// ".." segment (a trailing slash is kept).
func clean(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}
