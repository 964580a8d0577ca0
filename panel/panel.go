package panel

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/webhook"
)

//go:embed templates/*.html templates/panel.css
var templateFS embed.FS

// Handler serves the Panel under /panel/. Service, Store, Accounts and Log
// are required.
type Handler struct {
	Service  *gateway.Service
	Store    omnicart.PanelStore
	Accounts *Accounts
	// Callbacks, when set, gives the cart page its event timeline.
	Callbacks *webhook.Manager
	Log       *slog.Logger
	// PublicURL decides the cookies' Secure flag (https).
	PublicURL string

	once  sync.Once
	pages map[string]*template.Template
	css   string
	mux   *http.ServeMux
}

const (
	sessionCookie = "omnicart_panel"
	signinCookie  = "omnicart_panel_signin"
	// Prefix is where the Panel is mounted.
	Prefix = "/panel/"
)

func (h *Handler) init() {
	h.once.Do(func() {
		css, err := templateFS.ReadFile("templates/panel.css")
		if err != nil {
			panic(err)
		}
		h.css = string(css)
		funcs := template.FuncMap{"path": func(s string) string { return url.PathEscape(s) }}
		base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
		names, _ := fs.Glob(templateFS, "templates/*.html")
		h.pages = map[string]*template.Template{}
		for _, n := range names {
			name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
			if name == "layout" {
				continue
			}
			h.pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, n))
		}
		m := http.NewServeMux()
		m.HandleFunc("GET /panel/{$}", h.home)
		m.HandleFunc("GET /panel/signin", h.signinPage)
		m.HandleFunc("POST /panel/signin", h.signin)
		m.HandleFunc("POST /panel/signout", h.auth(h.signout))
		m.HandleFunc("GET /panel/overview", h.auth(h.overview))
		m.HandleFunc("GET /panel/carts", h.auth(h.carts))
		m.HandleFunc("GET /panel/carts/{cartId}", h.auth(h.cart))
		m.HandleFunc("GET /panel/carts/{cartId}/confirm", h.auth(h.confirm))
		m.HandleFunc("POST /panel/carts/{cartId}/act", h.auth(h.act))
		m.HandleFunc("GET /panel/keys", h.auth(h.keys))
		m.HandleFunc("POST /panel/keys", h.auth(h.createKey))
		m.HandleFunc("GET /panel/keys/revoke", h.auth(h.confirmRevoke))
		m.HandleFunc("POST /panel/keys/revoke", h.auth(h.revokeKey))
		m.HandleFunc("GET /panel/audit", h.auth(h.audit))
		h.catalogRoutes(m)
		h.callbackRoutes(m)
		h.settingsRoutes(m)
		m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			h.message(w, r, nil, http.StatusNotFound, "Page not found", "There is no such page in the Panel.")
		})
		h.mux = m
	})
}

// ServeHTTP serves a request under /panel/.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.init()
	if r.URL.Path == "/panel" {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// page is what every template gets.
type page struct {
	Title  string
	CSS    template.CSS
	User   *omnicart.User
	CSRF   string
	Nav    string
	Notice string
	Error  string
	Data   any
}

func (h *Handler) contentPolicy() string {
	sum := sha256.Sum256([]byte(h.css))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; script-src " + copyScriptSource + "; img-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

func (h *Handler) render(w http.ResponseWriter, name string, status int, p page) {
	h.init()
	p.CSS = template.CSS(h.css)
	var buf bytes.Buffer
	t := h.pages[name]
	if t == nil {
		h.Log.Error("panel: no template", "page", name)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		h.Log.Error("panel: rendering page", "page", name, "err", err)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.contentPolicy())
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type messageData struct{ Text string }

func (h *Handler) message(w http.ResponseWriter, r *http.Request, s *signedIn, status int, title, text string) {
	p := page{Title: title, Data: messageData{Text: text}}
	if s != nil {
		p.User, p.CSRF = s.user, s.csrf
	}
	h.render(w, "message", status, p)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, s *signedIn, err error) {
	h.Log.ErrorContext(r.Context(), "panel request failed", "path", r.URL.Path, "err", err)
	h.message(w, r, s, http.StatusInternalServerError, "Something went wrong", "The request failed on the server; nothing is shown of the error here, it is in the server's log.")
}

func (h *Handler) secure() bool {
	u, err := url.Parse(h.PublicURL)
	return err == nil && u.Scheme == "https"
}

func (h *Handler) now() time.Time { return h.Service.Now() }

// remoteAddr is the client's address as the server sees it (proxies'
// headers are not trusted).
func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// CSRF: a form token is the HMAC, under a key derived from the API-key
// pepper, of the session's hash (or of the sign-in nonce cookie).
func (h *Handler) csrfFor(binding []byte) string {
	k := hmac.New(sha256.New, h.Service.KeyPepper)
	k.Write([]byte("omnicart panel csrf v1"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write(binding)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (h *Handler) checkCSRF(r *http.Request, binding []byte) bool {
	field := r.PostFormValue("csrf")
	return field != "" && hmac.Equal([]byte(field), []byte(h.csrfFor(binding)))
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(t string) []byte {
	s := sha256.Sum256([]byte("omnicart panel session\x00" + t))
	return s[:]
}

// signedIn is the user of a request.
type signedIn struct {
	user     *omnicart.User
	merchant *omnicart.Merchant
	session  *omnicart.Session
	csrf     string
}

type signedInKey struct{}

// Form bodies. A Panel POST is a form of at most formLimit bytes, unless
// its route sets a limit of its own (authLimit: the catalog import, whose
// form carries a CSV file).
const formLimit = 64 << 10

// tooLargeDrain bounds how much of a body over its limit is read, and
// dropped, before the answer: a browser still sending a file when the
// answer comes may show a broken connection instead of it.
const tooLargeDrain = 8 << 20

// auth runs next for a signed-in user with a live session; otherwise it
// sends the browser to the sign-in page. A POST must carry the session's
// CSRF token (403 otherwise) in a form of at most formLimit bytes (413
// otherwise).
func (h *Handler) auth(next func(http.ResponseWriter, *http.Request, *signedIn)) http.HandlerFunc {
	return h.authLimit(formLimit, nil, next)
}

// authLimit is auth for a route whose forms may have up to limit bytes. A
// larger form is answered by tooLarge (nil: a message page, 413) before
// its CSRF token is checked: the token may be in the part that was cut,
// and the answer changes nothing.
func (h *Handler) authLimit(limit int64, tooLarge func(http.ResponseWriter, *http.Request, *signedIn),
	next func(http.ResponseWriter, *http.Request, *signedIn)) http.HandlerFunc {
	if tooLarge == nil {
		tooLarge = h.formTooLarge
	}
	return func(w http.ResponseWriter, r *http.Request) {
		s, reason, err := h.session(r)
		if err != nil {
			h.fail(w, r, nil, err)
			return
		}
		if s == nil {
			if reason != "" {
				h.clearSession(w)
			}
			if r.Method == http.MethodGet {
				q := url.Values{}
				if reason != "" {
					q.Set("reason", reason)
				}
				if r.URL.Path != Prefix {
					q.Set("next", r.URL.RequestURI())
				}
				target := Prefix + "signin"
				if len(q) > 0 {
					target += "?" + q.Encode()
				}
				http.Redirect(w, r, target, http.StatusSeeOther)
				return
			}
			h.message(w, r, nil, http.StatusUnauthorized, "Signed out", "Your session has ended. Sign in again and repeat the action.")
			return
		}
		if r.Method == http.MethodPost {
			if !readForm(w, r, limit) {
				tooLarge(w, r, s)
				return
			}
			if !h.checkCSRF(r, s.session.Hash) {
				h.message(w, r, s, http.StatusForbidden, "Form refused",
					"This form did not carry the Panel's security token (it may come from another site, or from a page opened before you signed in again). Nothing was changed. Reload the page and try again.")
				return
			}
		}
		// What the user changes through the use cases records the user.
		next(w, r.WithContext(gateway.WithActor(r.Context(), omnicart.PanelActor(s.user.Email))), s)
	}
}

// readForm parses the form of a POST (URL-encoded or multipart) from a
// body of at most limit bytes. It reports false when the body is larger,
// after reading at most tooLargeDrain bytes of it. A form that cannot be
// parsed otherwise is left empty (or as far as it was read): without its
// CSRF token it is then refused.
func readForm(w http.ResponseWriter, r *http.Request, limit int64) bool {
	body := r.Body
	if r.ContentLength > limit {
		_, _ = io.CopyN(io.Discard, body, tooLargeDrain)
		return false
	}
	r.Body = http.MaxBytesReader(w, body, limit)
	// Files stay in memory: the body is bounded by limit.
	err := r.ParseMultipartForm(limit)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		_, _ = io.CopyN(io.Discard, body, tooLargeDrain)
		return false
	}
	return true
}

// formTooLarge answers a form over its limit.
func (h *Handler) formTooLarge(w http.ResponseWriter, r *http.Request, s *signedIn) {
	h.message(w, r, s, http.StatusRequestEntityTooLarge, "Form too large",
		"This form sent more data than the Panel accepts for it. Nothing was changed.")
}

// session returns the request's live session, or nil with the reason it
// ended ("idle" or "expired"; "" when there was none).
func (h *Handler) session(r *http.Request) (*signedIn, string, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, "", nil
	}
	ctx := r.Context()
	hash := hashToken(ck.Value)
	sess, err := h.Store.Session(ctx, hash)
	if errors.Is(err, omnicart.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	now := h.now()
	if sess.Expired(now) {
		if err := h.Store.DeleteSession(ctx, hash); err != nil {
			return nil, "", err
		}
		return nil, "idle", nil
	}
	u, err := h.Store.User(ctx, sess.UserID)
	if errors.Is(err, omnicart.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	m, err := h.Service.Merchant(ctx, u.MerchantID)
	if err != nil {
		return nil, "", err
	}
	// One write a minute at most per session.
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if err := h.Store.TouchSession(ctx, hash, now); err != nil {
			return nil, "", err
		}
	}
	return &signedIn{user: u, merchant: m, session: sess, csrf: h.csrfFor(hash)}, "", nil
}

func (h *Handler) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true, Secure: h.secure(), SameSite: http.SameSiteLaxMode})
}

// record writes an audit entry; a failure is logged (the action is done).
func (h *Handler) record(ctx context.Context, r *http.Request, merchantID, actor, action, target, detail string) {
	e := &omnicart.AuditEntry{MerchantID: merchantID, Actor: actor, Action: action, Target: target, Detail: detail,
		RemoteAddr: remoteAddr(r), At: h.now().UTC()}
	if err := h.Store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		h.Log.ErrorContext(ctx, "panel: audit log", "err", err, "action", action, "target", target)
	}
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	s, _, err := h.session(r)
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	if s == nil {
		http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, Prefix+"overview", http.StatusSeeOther)
}
