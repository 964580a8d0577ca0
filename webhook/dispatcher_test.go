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
	"github.com/omnicart/omnicart/clock"
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

func newDispatcher(store omnicart.CallbackStore, clk omnicart.Clock) *webhook.Dispatcher {
	return &webhook.Dispatcher{Store: store, Client: webhook.NewClient(webhook.ClientOptions{AllowPrivate: true}),
		Log: quietLog(), Clock: clk, Poll: 5 * time.Millisecond}
}

// watchedStore is a callback store that tells the test whenever the
// dispatcher recorded outcomes or looked for due deliveries, so that tests
// wait for those instead of polling the database.
type watchedStore struct {
	omnicart.CallbackStore
	mu      sync.Mutex
	looks   int // NextDue calls answered
	changed chan struct{}
}

func watch(s omnicart.CallbackStore) *watchedStore {
	return &watchedStore{CallbackStore: s, changed: make(chan struct{})}
}

func (w *watchedStore) bump(looked bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if looked {
		w.looks++
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

func (w *watchedStore) Record(ctx context.Context, owner string, outs []omnicart.CallbackOutcome) ([]string, error) {
	stopped, err := w.CallbackStore.Record(ctx, owner, outs)
	w.bump(false)
	return stopped, err
}

func (w *watchedStore) NextDue(ctx context.Context) (time.Time, bool, error) {
	at, ok, err := w.CallbackStore.NextDue(ctx)
	w.bump(true)
	return at, ok, err
}

// Looks returns how many times the dispatcher looked for due deliveries.
func (w *watchedStore) Looks() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.looks
}

// wait waits until cond holds, checking it after every record and look,
// failing after 30 s. cond may use the store.
func (w *watchedStore) wait(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.After(30 * time.Second)
	for {
		w.mu.Lock()
		ch := w.changed
		w.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			tb.Fatalf("gave up waiting for %s", what)
		}
	}
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
			newDispatcher(f.store, clock.Real{}).Run(ctx)
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

// TestRetryFollowsScheduleOnTheClock fails the first two attempts and
// checks that each retry waits for its scheduled delay on the dispatcher's
// clock (the shared fake, which the test moves; nothing sleeps), with
// jitter only making it earlier, and that the third attempt succeeds.
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
	start := time.Now().UTC().Truncate(time.Millisecond) // the store keeps milliseconds
	clk := clock.NewFake(start)
	ws := watch(f.store)
	d := newDispatcher(ws, clk)
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
	// waitAttempts waits until n attempts are recorded (the outcome is
	// written just after the receiver answers).
	waitAttempts := func(n int) omnicart.CallbackDeliveryRecord {
		var rec omnicart.CallbackDeliveryRecord
		ws.wait(t, fmt.Sprintf("attempt %d", n), func() bool {
			rec = delivery()
			return rec.Attempts >= n
		})
		return rec
	}
	for n, scheduled := range []time.Duration{5 * time.Second, 5 * time.Minute} {
		// The clock stands still until the test moves it, so the attempt
		// happens at the time the clock shows now.
		before := clk.Now()
		rec := waitAttempts(n + 1)
		if rec.Status != omnicart.DeliveryPending || rec.LastStatus != 500 {
			t.Fatalf("after attempt %d: %+v", n+1, rec)
		}
		// Jitter 0.5 takes a tenth off the scheduled delay.
		if want := before.Add(scheduled - scheduled/10); !rec.NextAttemptAt.Equal(want) {
			t.Fatalf("attempt %d: next at %s, want %s", n+1, rec.NextAttemptAt, want)
		}
		// Half way, the dispatcher looks (Poke: at once) and finds nothing
		// due.
		clk.Advance(scheduled / 2)
		looks := ws.Looks()
		d.Poke()
		ws.wait(t, "a look for due deliveries", func() bool { return ws.Looks() > looks })
		s.mu.Lock()
		calls := s.calls["/hook"]
		s.mu.Unlock()
		if calls != n+1 {
			t.Fatalf("retried before its time: %d calls", calls)
		}
		clk.Advance(scheduled / 2)
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
	// Each attempt ran when the clock reached its scheduled time, not
	// earlier.
	for i, want := range []time.Time{start.Add(5*time.Second + 5*time.Minute), start.Add(5 * time.Second), start} {
		if !log[i].At.Equal(want) {
			t.Errorf("attempt %d at %s, want %s", 3-i, log[i].At, want)
		}
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
	ws := watch(f.store)
	d := newDispatcher(ws, clock.NewFake(time.Now().UTC()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	ws.wait(t, "the endpoint disabled", func() bool {
		e, err := f.store.Endpoint(context.Background(), f.merchant, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		return !e.Enabled
	})
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
