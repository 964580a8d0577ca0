package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/clock"
	"github.com/omnicart/omnicart/notify"
	"github.com/omnicart/omnicart/sqlite"
)

var t0 = time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)

// recorder is a Sender that records messages and fails while fail returns
// an error.
type recorder struct {
	mu   sync.Mutex
	via  string
	sent []notify.Message
	fail func(n int) error // n is the attempt number, from 1
	n    int
}

func (r *recorder) Via() string { return r.via }

func (r *recorder) Send(_ context.Context, m notify.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if r.fail != nil {
		if err := r.fail(r.n); err != nil {
			return err
		}
	}
	r.sent = append(r.sent, m)
	return nil
}

type fixture struct {
	path  string
	db    *sqlite.DB
	store *sqlite.Store
	clk   *clock.Fake
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "notify.db"), clk: clock.NewFake(t0)}
	f.open(t)
	return f
}

func (f *fixture) open(t *testing.T) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db, f.store = db, sqlite.NewStore(db)
}

func (f *fixture) dispatcher(email, sms, push notify.Sender) *notify.Dispatcher {
	d := &notify.Dispatcher{Queue: sqlite.NewNotifyQueue(f.db), PublicURL: "https://pay.example/", Clock: f.clk,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), MinBackoff: 10 * time.Second, MaxBackoff: time.Minute,
		MaxAttempts: 4, Lease: 2 * time.Minute, Jitter: func(time.Duration) time.Duration { return 0 }}
	if email != nil {
		d.Email = email
	}
	if sms != nil {
		d.SMS = sms
	}
	if push != nil {
		d.Push = push
	}
	return d
}

// enqueue stores a message as /init does: a merchant, a cart and the
// notification in one transaction.
func (f *fixture) enqueue(t *testing.T, cartID, channel, to string, sandbox bool) int64 {
	t.Helper()
	m := &omnicart.Merchant{ID: "m-" + cartID, Name: "Test Shop", Mode: omnicart.ModeLive, CreatedAt: t0}
	if sandbox {
		m.Mode = omnicart.ModeTest
	}
	c := &omnicart.Cart{MerchantID: m.ID, ID: cartID, Currency: "EUR", CreatedAt: t0, ExpiresAt: t0.Add(2 * time.Hour),
		PaymentForm: omnicart.PaymentForm{DeliveryOption: channel, Value: to},
		Items:       []omnicart.Item{{ID: "pegasus", Status: omnicart.StatusInitiated, Initiated: 1350, Full: 1350}}}
	n := omnicart.PaymentLinkNotification(c, m, "tok-"+cartID, f.clk.Now())
	if n == nil {
		t.Fatalf("no notification for %s", channel)
	}
	err := f.store.Tx(t.Context(), func(tx omnicart.Tx) error {
		if err := tx.CreateMerchant(t.Context(), m); err != nil {
			return err
		}
		if err := tx.CreateCart(t.Context(), c, []byte("hash-"+cartID), time.Time{}); err != nil {
			return err
		}
		return tx.EnqueueNotification(t.Context(), n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n.ID
}

func (f *fixture) get(t *testing.T, cartID string) omnicart.Notification {
	t.Helper()
	var out []omnicart.Notification
	err := f.store.View(t.Context(), func(tx omnicart.Tx) error {
		var err error
		out, err = tx.Notifications(t.Context(), omnicart.NotificationQuery{CartID: cartID})
		return err
	})
	if err != nil || len(out) != 1 {
		t.Fatalf("notifications of %s: %v %v", cartID, out, err)
	}
	return out[0]
}

func runOnce(t *testing.T, d *notify.Dispatcher) int {
	t.Helper()
	n, err := d.RunOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDispatchChannels(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	email := &recorder{via: "smtp"}
	d := f.dispatcher(email, nil, nil)
	f.enqueue(t, "cart-email-01", "email", "ada@customer.example", false)
	f.enqueue(t, "cart-sms-0001", "sms", "+4915112345678", true)
	f.enqueue(t, "cart-push-001", "push", "device-token-1", false)
	if n := runOnce(t, d); n != 3 {
		t.Fatalf("claimed %d", n)
	}
	// Email went out through its sender; the link's secret is forgotten.
	e := f.get(t, "cart-email-01")
	if e.State != omnicart.NotificationSent || e.Via != "smtp" || e.Attempts != 1 || e.PayToken != "" || !e.SentAt.Equal(t0) {
		t.Errorf("email %+v", e)
	}
	if len(email.sent) != 1 || email.sent[0].Link != "https://pay.example/pay/tok-cart-email-01" ||
		!strings.Contains(email.sent[0].Text, "13.50 EUR") || email.sent[0].To != "ada@customer.example" {
		t.Errorf("email message %+v", email.sent)
	}
	// A test-mode merchant's SMS with no provider lands in the outbox,
	// keeping its link for the outbox page.
	s := f.get(t, "cart-sms-0001")
	if s.State != omnicart.NotificationSent || s.Via != omnicart.ViaOutbox || s.PayToken != "tok-cart-sms-0001" {
		t.Errorf("sms %+v", s)
	}
	// A live merchant's push with no provider fails, saying why.
	p := f.get(t, "cart-push-001")
	if p.State != omnicart.NotificationFailed || !strings.Contains(p.LastError, "no push provider") || p.PayToken != "" {
		t.Errorf("push %+v", p)
	}
	if n := runOnce(t, d); n != 0 {
		t.Errorf("claimed %d finished messages again", n)
	}
}

// TestDispatchRetries checks exponential backoff (no jitter here), that a
// message is not tried before its time, and that it is sent once the
// provider recovers.
func TestDispatchRetries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sms := &recorder{via: "http", fail: func(n int) error {
		if n <= 2 {
			return errors.New("provider unavailable")
		}
		return nil
	}}
	d := f.dispatcher(nil, sms, nil)
	f.enqueue(t, "cart-retry-01", "sms", "+4915112345678", false)
	runOnce(t, d)
	m := f.get(t, "cart-retry-01")
	if m.State != omnicart.NotificationQueued || m.Attempts != 1 || m.LastError != "provider unavailable" || !m.NextAttemptAt.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("after attempt 1: %+v", m)
	}
	f.clk.Advance(9 * time.Second)
	if n := runOnce(t, d); n != 0 {
		t.Fatal("retried before its time")
	}
	f.clk.Advance(time.Second)
	runOnce(t, d)
	m = f.get(t, "cart-retry-01")
	if m.Attempts != 2 || !m.NextAttemptAt.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("after attempt 2 (backoff doubles to 20s): %+v", m)
	}
	f.clk.Advance(20 * time.Second)
	runOnce(t, d)
	m = f.get(t, "cart-retry-01")
	if m.State != omnicart.NotificationSent || m.Attempts != 3 || m.LastError != "" || len(sms.sent) != 1 {
		t.Fatalf("after attempt 3: %+v", m)
	}
}

func TestDispatchGivesUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	calls := 0
	push := &recorder{via: "http", fail: func(int) error { calls++; return errors.New("HTTP 503") }}
	email := &recorder{via: "smtp", fail: func(int) error { return notify.Permanent(errors.New("550 no such user")) }}
	d := f.dispatcher(email, nil, push)
	f.enqueue(t, "cart-many-001", "push", "device", false)
	f.enqueue(t, "cart-perm-001", "email", "nobody@customer.example", false)
	for range 10 {
		runOnce(t, d)
		f.clk.Advance(time.Minute)
	}
	if m := f.get(t, "cart-many-001"); m.State != omnicart.NotificationFailed || m.Attempts != 4 || calls != 4 {
		t.Errorf("after MaxAttempts: %+v (%d calls)", m, calls)
	}
	if m := f.get(t, "cart-perm-001"); m.State != omnicart.NotificationFailed || m.Attempts != 1 || !strings.Contains(m.LastError, "550") {
		t.Errorf("permanent: %+v", m)
	}
}

func TestDispatchExpiredLink(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	email := &recorder{via: "smtp"}
	d := f.dispatcher(email, nil, nil)
	f.enqueue(t, "cart-late-001", "email", "ada@customer.example", false)
	f.clk.Advance(2 * time.Hour)
	runOnce(t, d)
	if m := f.get(t, "cart-late-001"); m.State != omnicart.NotificationFailed || len(email.sent) != 0 {
		t.Errorf("%+v, %d sent", m, len(email.sent))
	}
}

// TestDispatchDurable: a message claimed by a process that died is neither
// lost nor taken by another worker before its lease ends; after a restart
// (the database reopened) it is delivered.
func TestDispatchDurable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.enqueue(t, "cart-crash-01", "email", "ada@customer.example", false)
	// The first process claims the message and dies before finishing.
	claimed, err := sqlite.NewNotifyQueue(f.db).Claim(t.Context(), f.clk.Now(), 2*time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	f.db.Close()
	f.open(t)
	email := &recorder{via: "smtp"}
	d := f.dispatcher(email, nil, nil)
	f.clk.Advance(time.Minute)
	if n := runOnce(t, d); n != 0 {
		t.Fatal("a leased message was taken by another worker")
	}
	f.clk.Advance(time.Minute)
	runOnce(t, d)
	m := f.get(t, "cart-crash-01")
	if m.State != omnicart.NotificationSent || m.Attempts != 2 || len(email.sent) != 1 {
		t.Fatalf("%+v, %d sent", m, len(email.sent))
	}
}

// TestRunPollsOnTheClock runs the dispatcher's loop on the fake clock: a
// failed message is looked at again each interval and retried only once
// its backoff has passed on the clock. The test waits for the loop to wait
// (WaitTimers) and moves the clock; nothing sleeps.
func TestRunPollsOnTheClock(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sms := &recorder{via: "http", fail: func(n int) error {
		if n == 1 {
			return errors.New("provider unavailable")
		}
		return nil
	}}
	d := f.dispatcher(nil, sms, nil)
	f.enqueue(t, "cart-loop-001", "sms", "+4915112345678", false)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx, time.Second)
	}()
	defer func() { cancel(); <-done }()
	wait, stop := context.WithTimeout(t.Context(), 30*time.Second)
	defer stop()
	// idle waits until the loop has finished its look and waits for its
	// next poll.
	idle := func() {
		t.Helper()
		if err := f.clk.WaitTimers(wait, 1); err != nil {
			t.Fatalf("the dispatcher did not come back to wait: %v", err)
		}
	}
	idle()
	if m := f.get(t, "cart-loop-001"); m.Attempts != 1 || !m.NextAttemptAt.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("after the first look: %+v", m)
	}
	for range 9 {
		f.clk.Advance(time.Second)
		idle()
	}
	if m := f.get(t, "cart-loop-001"); m.Attempts != 1 || m.State != omnicart.NotificationQueued {
		t.Fatalf("retried before its backoff: %+v", m)
	}
	f.clk.Advance(time.Second)
	idle()
	if m := f.get(t, "cart-loop-001"); m.Attempts != 2 || m.State != omnicart.NotificationSent || !m.SentAt.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("after the backoff: %+v", m)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	d := &notify.Dispatcher{MinBackoff: time.Second, MaxBackoff: 10 * time.Second, Jitter: func(time.Duration) time.Duration { return 0 }}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 50: 10 * time.Second} {
		if got := d.Backoff(attempt); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", attempt, got, want)
		}
	}
	// Default jitter stays within 20%.
	d.Jitter = nil
	for range 100 {
		if b := d.Backoff(2); b < 2*time.Second || b >= 2400*time.Millisecond {
			t.Fatalf("Backoff(2) with jitter = %v", b)
		}
	}
}

// TestHTTPSender posts SMS and push messages as JSON with the bearer token
// and classifies the answers.
func TestHTTPSender(t *testing.T) {
	t.Parallel()
	type got struct {
		auth, ctype, key string
		body             map[string]string
	}
	var mu sync.Mutex
	var reqs []got
	status := http.StatusAccepted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]string
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		reqs = append(reqs, got{r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.Header.Get("Idempotency-Key"), b})
		st := status
		mu.Unlock()
		w.WriteHeader(st)
		_, _ = io.WriteString(w, `{"error":"nope"}`)
	}))
	t.Cleanup(srv.Close)
	msg := notify.Message{ID: "ntf_9", To: "+4915112345678", Merchant: "Shop", Amount: "2.50 EUR", Link: "https://pay.example/pay/x",
		Subject: "Your payment link from Shop", Text: "Shop: pay 2.50 EUR at https://pay.example/pay/x"}
	sms := &notify.HTTP{Channel: "sms", URL: srv.URL + "/sms", Token: "sms-secret"}
	if err := sms.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	push := &notify.HTTP{Channel: "push", URL: srv.URL + "/push", Token: "push-secret"}
	pm := msg
	pm.To = "device-token-xyz"
	if err := push.Send(t.Context(), pm); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	s, p := reqs[0], reqs[1]
	mu.Unlock()
	if s.auth != "Bearer sms-secret" || s.ctype != "application/json" || s.key != "ntf_9" ||
		s.body["to"] != "+4915112345678" || s.body["text"] != msg.Text || s.body["id"] != "ntf_9" {
		t.Errorf("sms request %+v", s)
	}
	if p.auth != "Bearer push-secret" || p.body["token"] != "device-token-xyz" || p.body["url"] != msg.Link ||
		p.body["title"] != msg.Subject || !strings.Contains(p.body["body"], "2.50 EUR") {
		t.Errorf("push request %+v", p)
	}
	for st, permanent := range map[int]bool{500: false, 503: false, 429: false, 408: false, 400: true, 401: true, 404: true, 422: true} {
		mu.Lock()
		status = st
		mu.Unlock()
		err := sms.Send(t.Context(), msg)
		if err == nil || notify.IsPermanent(err) != permanent {
			t.Errorf("HTTP %d: err = %v, permanent %v, want %v", st, err, notify.IsPermanent(err), permanent)
		}
		if err != nil && strings.Contains(err.Error(), "sms-secret") {
			t.Errorf("error reveals the token: %v", err)
		}
	}
	if err := notify.ValidEndpoint("ftp://x"); err == nil {
		t.Error("ftp endpoint accepted")
	}
	if err := notify.ValidEndpoint("/relative"); err == nil {
		t.Error("relative endpoint accepted")
	}
}
