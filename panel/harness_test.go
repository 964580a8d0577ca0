package panel

// The test harness of the Panel: a real SQLite store in t.TempDir(), the
// gateway.Service, Accounts and webhook.Manager wired as cmd/omnicart
// wires them, the Handler served by httptest, and a browser-like client
// (cookie jar, CSRF token read from the pages). Every Panel test goes
// through HTTP and the real handler.
//
//	tp := newTestPanel(t, omnicart.RoleOwner) // signed in
//	res := tp.get("/panel/catalog")           // follows redirects
//	res = tp.post("/panel/catalog", url.Values{"itemId": {"x"}}) // with csrf
//	viewer := tp.as(omnicart.RoleViewer)      // another user, same merchant
//	tp.wantStatus(res, 200); tp.wantBody(res, "text"); tp.lastAudit()

import (
	"bytes"
	"context"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/clock"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/notify"
	"github.com/omnicart/omnicart/postgres"
	"github.com/omnicart/omnicart/postgres/pgtest"
	"github.com/omnicart/omnicart/sandbox"
	"github.com/omnicart/omnicart/sqlite"
	"github.com/omnicart/omnicart/webhook"
)

// testStart is the fake clock's time when a harness starts.
var testStart = time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC)

// testPassword is the password of every harness user.
const testPassword = "correct horse battery"

// testPanel is a Panel served over HTTP with one signed-in user.
type testPanel struct {
	t        *testing.T
	srv      *httptest.Server
	handler  *Handler
	service  *gateway.Service
	db       *sqlite.DB
	clock    *clock.Fake // the service's clock (real time of the server)
	merchant *omnicart.Merchant
	apiKey   string // the merchant's first API key (every method)
	user     *omnicart.User
	client   *http.Client // this user's browser: cookie jar, follows redirects
	csrf     string       // this user's CSRF token, read from a page after sign-in
}

// testResponse is an answer after redirects.
type testResponse struct {
	status int
	body   string
	url    *url.URL // where the redirects ended
	header http.Header
}

// newTestPanel starts a Panel on a fresh database with a test-mode
// merchant "mer_panel" (catalog: pegasus "Pegasus", naga "Naga") and a
// user of the given role, signed in.
func newTestPanel(t *testing.T, role omnicart.Role) *testPanel {
	t.Helper()
	return newTestPanelOn(t, role, "sqlite")
}

// newTestPanelOn is newTestPanel on an engine: "sqlite", or "postgres" (a
// new database on the server OMNICART_TEST_POSTGRES names; the test is
// skipped without one). On PostgreSQL tp.db is nil.
func newTestPanelOn(t *testing.T, role omnicart.Role, engine string) *testPanel {
	t.Helper()
	ctx := context.Background()
	var (
		db        *sqlite.DB
		store     omnicart.Store
		ledger    sandbox.Ledger
		ps        omnicart.PanelStore
		callbacks omnicart.CallbackStore
	)
	switch engine {
	case "postgres":
		url := pgtest.URL(t)
		pg, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pg.Close() })
		store, ledger, ps, callbacks = postgres.NewStore(pg), postgres.NewLedger(pg), postgres.NewPanel(pg), postgres.NewCallbacks(pg)
	default:
		var err error
		db, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "panel.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		store, ledger, ps, callbacks = sqlite.NewStore(db), sqlite.NewLedger(db), sqlite.NewPanel(db), sqlite.NewCallbacks(db)
	}
	clk := clock.NewFake(testStart)
	log := slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	issuer := sandbox.New(ledger, []byte("fingerprint key"))
	svc := &gateway.Service{
		Store:     store,
		Provider:  func(*omnicart.Merchant) (omnicart.Provider, error) { return issuer, nil },
		Now:       clk.Now,
		Clock:     clk,
		KeyPepper: []byte("test pepper"),
		AnswerKey: make([]byte, 32),
		Log:       log,
		KeyUses:   gateway.NewKeyUses(),
	}
	go svc.RunKeyUses(t.Context())
	m, key, err := svc.CreateMerchant(ctx, gateway.NewMerchant{ID: "mer_panel", Name: "Panel Test Shop", Mode: omnicart.ModeTest,
		Privileges: omnicart.AllPrivileges(),
		Items:      []omnicart.CatalogItem{{ItemID: "pegasus", DisplayName: "Pegasus"}, {ItemID: "naga", DisplayName: "Naga"}}})
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{Service: svc, Store: ps,
		Accounts:  &Accounts{Store: ps, Now: clk.Now, Cost: bcrypt.MinCost},
		Callbacks: &webhook.Manager{Store: callbacks, Now: clk.Now, AllowPrivate: true},
		Log:       log}
	mux := http.NewServeMux()
	mux.Handle(Prefix, h)
	mux.Handle("/panel", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h.PublicURL = srv.URL
	tp := &testPanel{t: t, srv: srv, handler: h, service: svc, db: db, clock: clk, merchant: m, apiKey: key}
	return tp.as(role)
}

// as returns the harness signed in as a new user of the same merchant with
// role (its own browser); tp is unchanged.
func (tp *testPanel) as(role omnicart.Role) *testPanel {
	tp.t.Helper()
	email := string(role) + "-" + strings.ToLower(randomToken()[:8]) + "@example.com"
	u, _, err := tp.handler.Accounts.Create(context.Background(), tp.merchant.ID, email, role, testPassword)
	if err != nil {
		tp.t.Fatal(err)
	}
	c := *tp
	c.user = u
	c.client = newTestBrowser(tp.t)
	if res := c.signIn(email, testPassword); res.status != http.StatusOK || !strings.Contains(res.body, "Sign out") {
		tp.t.Fatalf("sign-in as %s: %d at %s\n%s", role, res.status, res.url, res.body)
	}
	c.csrf = c.token(c.get("/panel/overview"))
	return &c
}

// newTestBrowser is an HTTP client with a cookie jar that follows redirects.
func newTestBrowser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// signIn fills in the sign-in form of tp's browser (its nonce cookie and
// CSRF token included) and returns the answer after redirects.
func (tp *testPanel) signIn(email, password string) testResponse {
	tp.t.Helper()
	page := tp.get("/panel/signin")
	return tp.send(http.MethodPost, "/panel/signin", url.Values{"csrf": {tp.token(page)}, "email": {email}, "password": {password}})
}

// get fetches a Panel path (or URL) with tp's browser.
func (tp *testPanel) get(path string) testResponse {
	tp.t.Helper()
	return tp.send(http.MethodGet, path, nil)
}

// post submits a form with the user's CSRF token added.
func (tp *testPanel) post(path string, form url.Values) testResponse {
	tp.t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set("csrf", tp.csrf)
	return tp.send(http.MethodPost, path, f)
}

// postNoCSRF submits a form as it is (a forged form has no token).
func (tp *testPanel) postNoCSRF(path string, form url.Values) testResponse {
	tp.t.Helper()
	return tp.send(http.MethodPost, path, form)
}

// postMultipart submits a multipart/form-data form (as forms with a file
// field are sent) with the user's CSRF token; file, when not empty, is the
// content of the file field "file".
func (tp *testPanel) postMultipart(path string, fields map[string]string, file string) testResponse {
	tp.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("csrf", tp.csrf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if file != "" {
		fw, err := mw.CreateFormFile("file", "upload.csv")
		if err != nil {
			tp.t.Fatal(err)
		}
		_, _ = fw.Write([]byte(file))
	}
	if err := mw.Close(); err != nil {
		tp.t.Fatal(err)
	}
	return tp.do(http.MethodPost, path, &b, mw.FormDataContentType())
}

func (tp *testPanel) send(method, path string, form url.Values) testResponse {
	tp.t.Helper()
	if form == nil {
		return tp.do(method, path, nil, "")
	}
	return tp.do(method, path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

func (tp *testPanel) do(method, path string, body io.Reader, contentType string) testResponse {
	tp.t.Helper()
	target := path
	if strings.HasPrefix(path, "/") {
		target = tp.srv.URL + path
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		tp.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := tp.client.Do(req)
	if err != nil {
		tp.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tp.t.Fatal(err)
	}
	return testResponse{status: res.StatusCode, body: string(b), url: res.Request.URL, header: res.Header}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token reads the hidden csrf field of a page.
func (tp *testPanel) token(res testResponse) string {
	tp.t.Helper()
	m := csrfField.FindStringSubmatch(res.body)
	if m == nil {
		tp.t.Fatalf("no csrf field on %s (%d):\n%s", res.url, res.status, res.body)
	}
	return m[1]
}

// formValue reads the value of a form field (input name="NAME" value="…")
// from a page, HTML-unescaped.
func formValue(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no field %s on the page:\n%s", name, body)
	}
	return html.UnescapeString(m[1])
}

// initCart creates a cart of the merchant through the service (EUR; one
// pegasus of 10.00 when no items are given) and returns its payment token.
func (tp *testPanel) initCart(cartID string, items ...omnicart.ItemSpec) string {
	tp.t.Helper()
	if len(items) == 0 {
		items = []omnicart.ItemSpec{{ID: "pegasus", Amount: 1000}}
	}
	res, err := tp.service.Init(context.Background(), tp.merchant, &omnicart.InitSpec{CartID: cartID, Currency: "EUR", Items: items}, nil)
	if err != nil {
		tp.t.Fatalf("init %s: %v", cartID, err)
	}
	return res.PayToken
}

// pay pays a cart's token with a sandbox card that is authorized.
func (tp *testPanel) pay(token string) {
	tp.t.Helper()
	card := omnicart.Card{Number: "4111111111111111", Expiry: "12/39", CVC: "123", Holder: "Panel Test"}
	if _, err := tp.service.Pay(context.Background(), token, card); err != nil {
		tp.t.Fatalf("pay: %v", err)
	}
}

// deliverLinks runs the payment-link dispatcher once with no senders: the
// test-mode merchant's queued messages go to the sandbox outbox.
func (tp *testPanel) deliverLinks() {
	tp.t.Helper()
	d := &notify.Dispatcher{Queue: sqlite.NewNotifyQueue(tp.db), PublicURL: tp.srv.URL, Clock: tp.clock, Log: tp.handler.Log}
	if _, err := d.RunOnce(context.Background()); err != nil {
		tp.t.Fatal(err)
	}
}

// audit returns the merchant's audit log, newest first.
func (tp *testPanel) audit() []omnicart.AuditEntry {
	tp.t.Helper()
	es, err := tp.handler.Store.Audit(context.Background(), tp.merchant.ID, 0, 100)
	if err != nil {
		tp.t.Fatal(err)
	}
	return es
}

// lastAudit returns the merchant's newest audit entry.
func (tp *testPanel) lastAudit() omnicart.AuditEntry {
	tp.t.Helper()
	es := tp.audit()
	if len(es) == 0 {
		tp.t.Fatal("the audit log is empty")
	}
	return es[0]
}

// wantStatus fails the test unless res has the status.
func (tp *testPanel) wantStatus(res testResponse, status int) {
	tp.t.Helper()
	if res.status != status {
		tp.t.Fatalf("%s: status %d, want %d\n%s", res.url, res.status, status, res.body)
	}
}

// wantBody fails the test unless res's body has every one of texts
// (HTML-escaped as the templates write them).
func (tp *testPanel) wantBody(res testResponse, texts ...string) {
	tp.t.Helper()
	for _, s := range texts {
		if !strings.Contains(res.body, s) {
			tp.t.Fatalf("%s: the page lacks %q\n%s", res.url, s, res.body)
		}
	}
}

// wantNoBody fails the test when res's body has one of texts.
func (tp *testPanel) wantNoBody(res testResponse, texts ...string) {
	tp.t.Helper()
	for _, s := range texts {
		if strings.Contains(res.body, s) {
			tp.t.Fatalf("%s: the page has %q\n%s", res.url, s, res.body)
		}
	}
}

// testLogWriter sends the handler's log to the test's log.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestHarnessSignsIn checks the harness itself: a signed-in user sees the
// Panel, a POST without the token is refused.
func TestHarnessSignsIn(t *testing.T) {
	tp := newTestPanel(t, omnicart.RoleOwner)
	res := tp.get("/panel/overview")
	tp.wantStatus(res, http.StatusOK)
	tp.wantBody(res, tp.user.Email, "Sign out")
	tp.wantStatus(tp.postNoCSRF("/panel/signout", url.Values{}), http.StatusForbidden)
	v := tp.as(omnicart.RoleViewer)
	tp.wantBody(v.get("/panel/overview"), "(viewer)")
}
