package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/sqlite"
	"github.com/omnicart/omnicart/webhook"
)

// fixture is a database with one merchant, where tests add carts, outbox
// events and endpoints.
type fixture struct {
	db       *sqlite.DB
	store    *sqlite.Callbacks
	mgr      *webhook.Manager
	merchant string
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "t.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	f := &fixture{db: db, store: sqlite.NewCallbacks(db), merchant: "mer_test"}
	f.mgr = &webhook.Manager{Store: f.store, Now: time.Now, AllowPrivate: true}
	err = sqlite.NewStore(db).Tx(ctx, func(tx omnicart.Tx) error {
		return tx.CreateMerchant(ctx, &omnicart.Merchant{ID: f.merchant, Name: "Test", Mode: omnicart.ModeTest, CreatedAt: time.Now()})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// cart creates a cart and returns its row id.
func (f *fixture) cart(tb testing.TB, id string) int64 {
	tb.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	c := &omnicart.Cart{MerchantID: f.merchant, ID: id, Currency: "EUR", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := sqlite.NewStore(f.db).Tx(ctx, func(tx omnicart.Tx) error {
		return tx.CreateCart(ctx, c, []byte("token:"+id), time.Time{})
	}); err != nil {
		tb.Fatal(err)
	}
	var pk int64
	if err := f.db.SQL().QueryRow(`SELECT pk FROM carts WHERE cart_id = ?`, id).Scan(&pk); err != nil {
		tb.Fatal(err)
	}
	return pk
}

// events appends outbox events with sequences from..to to a cart, the way
// the store writes them in a cart's transaction.
func (f *fixture) events(tb testing.TB, cartPK int64, cartID string, from, to int64, typ string) {
	tb.Helper()
	for seq := from; seq <= to; seq++ {
		ev := omnicart.Event{Type: typ, CartID: cartID, Sequence: seq, At: time.Now().UTC(),
			Data: &omnicart.StatusView{CartID: cartID, Currency: "EUR", Items: []map[string]omnicart.ItemView{}}}
		switch typ {
		case omnicart.EventPaymentStatusChanged:
			ev.Changes = []omnicart.Change{{ItemID: "pegasus", From: omnicart.StatusInitiated, To: omnicart.StatusAuthorized}}
		case omnicart.EventTimerStatusChanged:
			ev.Timers = []omnicart.TimerChange{{ItemID: "pegasus", From: omnicart.TimerPending, To: omnicart.TimerStarted}}
		}
		body, err := json.Marshal(ev)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := f.db.SQL().Exec(`INSERT INTO events(cart_pk, sequence, type, body, created_at) VALUES (?, ?, ?, ?, ?)`,
			cartPK, seq, typ, string(body), ev.At.UnixMilli()); err != nil {
			tb.Fatal(err)
		}
	}
}

func (f *fixture) endpoint(tb testing.TB, url string, types ...string) *omnicart.CallbackEndpoint {
	tb.Helper()
	e, _, err := f.mgr.AddEndpoint(context.Background(), f.merchant, webhook.NewEndpoint{URL: url, Events: types})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// sink is a receiver that records, per endpoint path, the order in which
// events arrive.
type sink struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     map[string][]webhook.Payload
	answer  func(path string, n int) int
	calls   map[string]int
	changed chan struct{}
}

func newSink(tb testing.TB) *sink {
	s := &sink{got: map[string][]webhook.Payload{}, calls: map[string]int{}, changed: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p webhook.Payload
		_ = json.Unmarshal(body, &p)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls[r.URL.Path]++
		status := http.StatusOK
		if s.answer != nil {
			status = s.answer(r.URL.Path, s.calls[r.URL.Path])
		}
		if status == http.StatusOK {
			s.got[r.URL.Path] = append(s.got[r.URL.Path], p)
		}
		close(s.changed)
		s.changed = make(chan struct{})
		w.WriteHeader(status)
	}))
	tb.Cleanup(s.srv.Close)
	return s
}

// wait waits until cond holds, failing after 30 s.
func (s *sink) wait(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.After(30 * time.Second)
	for {
		s.mu.Lock()
		ok, ch := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			tb.Fatalf("gave up waiting for %s", what)
		}
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newDispatcher(f *fixture, now func() time.Time) *webhook.Dispatcher {
	return &webhook.Dispatcher{Store: f.store, Client: webhook.NewClient(webhook.ClientOptions{AllowPrivate: true}),
		Log: quietLog(), Now: now, Poll: 5 * time.Millisecond}
}

// TestTwoDispatchersDeliverEachEventOnceInOrder runs two dispatchers (as
// two server processes would) on one database: every event reaches every
// subscribed endpoint exactly once, each cart's events arrive in sequence
// order, and an endpoint gets only the types it asked for.
func TestTwoDispatchersDeliverEachEventOnceInOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSink(t)
	f.endpoint(t, s.srv.URL+"/all")
	f.endpoint(t, s.srv.URL+"/timers", omnicart.EventTimerStatusChanged)
	const carts, perCart = 6, 5
	for i := range carts {
		id := fmt.Sprintf("cart-%04d", i)
		pk := f.cart(t, id)
		f.events(t, pk, id, 1, 3, omnicart.EventPaymentStatusChanged)
		f.events(t, pk, id, 4, perCart, omnicart.EventTimerStatusChanged)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			newDispatcher(f, time.Now).Run(ctx)
		}()
	}
	s.wait(t, "every delivery", func() bool {
		return len(s.got["/all"]) >= carts*perCart && len(s.got["/timers"]) >= carts*(perCart-3)
	})
	cancel()
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got["/all"]) != carts*perCart || len(s.got["/timers"]) != carts*(perCart-3) {
		t.Fatalf("deliveries: %d to /all, %d to /timers", len(s.got["/all"]), len(s.got["/timers"]))
	}
	for path, ps := range s.got {
		last := map[string]int64{}
		for _, p := range ps {
			if p.Sequence <= last[p.CartID] {
				t.Fatalf("%s: %s #%d arrived after #%d", path, p.CartID, p.Sequence, last[p.CartID])
			}
			last[p.CartID] = p.Sequence
			if path == "/timers" && p.Type != omnicart.EventTimerStatusChanged {
				t.Fatalf("/timers got %s", p.Type)
			}
		}
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestRetryFollowsScheduleOnTheClock fails the first two attempts and
// checks that each retry waits for its scheduled delay on the dispatcher's
// clock (which the test moves; nothing sleeps for minutes), with jitter
// only making it earlier, and that the third attempt succeeds.
func TestRetryFollowsScheduleOnTheClock(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSink(t)
	s.answer = func(_ string, n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	ep := f.endpoint(t, s.srv.URL+"/hook")
	pk := f.cart(t, "cart-retry")
	f.events(t, pk, "cart-retry", 1, 1, omnicart.EventPaymentStatusChanged)
	clock := &fakeClock{now: time.Now().UTC()}
	d := newDispatcher(f, clock.Now)
	d.Rand = func() float64 { return 0.5 }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	defer func() { cancel(); <-done }()

	evID := webhook.EventID(f.merchant, "cart-retry", 1)
	delivery := func() omnicart.CallbackDeliveryRecord {
		ds, err := f.store.Deliveries(context.Background(), f.merchant, evID)
		if err != nil || len(ds) > 1 {
			t.Fatalf("deliveries: %v %v", ds, err)
		}
		if len(ds) == 0 {
			return omnicart.CallbackDeliveryRecord{} // not fanned out yet
		}
		return ds[0]
	}
	// waitAttempts polls the delivery until n attempts are recorded (the
	// outcome is written just after the receiver answers).
	waitAttempts := func(n int) omnicart.CallbackDeliveryRecord {
		deadline := time.Now().Add(30 * time.Second)
		for {
			rec := delivery()
			if rec.Attempts >= n {
				return rec
			}
			if time.Now().After(deadline) {
				t.Fatalf("attempt %d not recorded: %+v", n, rec)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for n, scheduled := range []time.Duration{5 * time.Second, 5 * time.Minute} {
		before := clock.Now()
		rec := waitAttempts(n + 1)
		if rec.Status != omnicart.DeliveryPending || rec.LastStatus != 500 {
			t.Fatalf("after attempt %d: %+v", n+1, rec)
		}
		// Jitter 0.5 takes a tenth off the scheduled delay.
		if want := before.Add(scheduled - scheduled/10); !rec.NextAttemptAt.Equal(want.Truncate(time.Millisecond)) {
			t.Fatalf("attempt %d: next at %s, want %s", n+1, rec.NextAttemptAt, want)
		}
		clock.Advance(scheduled / 2)
		d.Poke()
		s.mu.Lock()
		calls := s.calls["/hook"]
		s.mu.Unlock()
		if calls != n+1 {
			t.Fatalf("retried before its time: %d calls", calls)
		}
		clock.Advance(scheduled / 2)
		d.Poke()
	}
	rec := waitAttempts(3)
	if rec.Status != omnicart.DeliverySucceeded || rec.LastStatus != 200 {
		t.Fatalf("after the third attempt: %+v", rec)
	}
	log, err := f.mgr.Attempts(context.Background(), f.merchant, ep.ID, 10)
	if err != nil || len(log) != 3 || log[0].HTTPStatus != 200 || log[2].HTTPStatus != 500 || log[2].Error != "HTTP 500" {
		t.Fatalf("delivery log: %+v %v", log, err)
	}
}

// TestGoneEndpointGetsNothingMore answers 410 to everything: the endpoint is
// disabled and its queued deliveries are dropped, so it gets at most the
// attempts that were already under way (PerEndpoint), not one per event.
func TestGoneEndpointGetsNothingMore(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := newSink(t)
	s.answer = func(string, int) int { return http.StatusGone }
	ep := f.endpoint(t, s.srv.URL+"/gone")
	for i := range 20 {
		id := fmt.Sprintf("cart-gone-%02d", i)
		f.events(t, f.cart(t, id), id, 1, 1, omnicart.EventPaymentStatusChanged)
	}
	d := newDispatcher(f, time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	s.wait(t, "a 410", func() bool { return s.calls["/gone"] > 0 })
	deadline := time.Now().Add(30 * time.Second)
	for {
		e, err := f.store.Endpoint(context.Background(), f.merchant, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !e.Enabled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the endpoint was not disabled")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.calls["/gone"]; n > d.PerEndpoint {
		t.Fatalf("a gone endpoint got %d requests, want at most %d", n, d.PerEndpoint)
	}
	if _, ok, _ := f.store.NextDue(context.Background()); ok {
		t.Fatal("deliveries to a disabled endpoint are still due")
	}
}
