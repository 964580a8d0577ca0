package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// cbWait bounds every wait for a callback; deliveries normally arrive in
// milliseconds, so hitting it means something is lost.
const cbWait = 45 * time.Second

// cbCard is a sandbox card that always succeeds.
var cbCard = client.Card{CardNumber: "4111 1111 1111 1111", Expiry: "12/39", CVC: "123", Cardholder: "Ada Lovelace"}

// cbEvent is a callback as a receiver got it, after its signature checked
// out with the Standard Webhooks library.
type cbEvent struct {
	ID        string        `json:"id"`
	Type      string        `json:"type"`
	CreatedAt string        `json:"createdAt"`
	CartID    string        `json:"cartId"`
	Sequence  int64         `json:"sequence"`
	Changes   []cbChange    `json:"changes"`
	Data      *cbStatusData `json:"data"`

	header http.Header
	raw    []byte
}

type cbChange struct {
	ItemID        string          `json:"itemId"`
	From          string          `json:"from"`
	To            string          `json:"to"`
	RemainingSecs *int64          `json:"remainingSecs"`
	AutoAction    string          `json:"autoAction"`
	DueAt         string          `json:"dueAt"`
	ItemAmounts   json.RawMessage `json:"itemAmounts"`
}

type cbAmounts struct {
	Initiated int64 `json:"initiated"`
	Captured  int64 `json:"captured"`
	Refunded  int64 `json:"refunded"`
	Current   int64 `json:"current"`
}

// cbStatusData is the status data carried by an event.
type cbStatusData struct {
	CartID       string    `json:"cartId"`
	Currency     string    `json:"currency"`
	TotalAmounts cbAmounts `json:"totalAmounts"`
	Items        []map[string]struct {
		PaymentStatus string    `json:"paymentStatus"`
		ItemAmounts   cbAmounts `json:"itemAmounts"`
		TimerSnapshot *struct {
			TimerStatus   string `json:"timerStatus"`
			RemainingSecs *int64 `json:"remainingSecs"`
		} `json:"timerSnapshot"`
	} `json:"items"`
}

// itemStatus returns an item's payment status in the event's data.
func (d *cbStatusData) itemStatus(id string) string {
	for _, m := range d.Items {
		if it, ok := m[id]; ok {
			return it.PaymentStatus
		}
	}
	return ""
}

// cbReceiver is a real HTTP callback receiver on 127.0.0.1 that verifies
// every request with the Standard Webhooks Go library against each of its
// secrets and records the verified events.
type cbReceiver struct {
	tb  testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	secrets  []string
	events   []cbEvent
	requests int
	inFlight int
	maxIn    int
	failures []string
	// answer decides the status of the n-th request (from 1); nil is 200.
	answer func(n int) int
	// hold, when set, makes requests wait until it is closed (or the
	// client goes away).
	hold    chan struct{}
	changed chan struct{}
}

func cbNewReceiver(tb testing.TB) *cbReceiver {
	tb.Helper()
	r := &cbReceiver{tb: tb, changed: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	tb.Cleanup(func() {
		r.mu.Lock()
		if r.hold != nil {
			select {
			case <-r.hold:
			default:
				close(r.hold)
			}
		}
		r.mu.Unlock()
		r.srv.Close()
	})
	return r
}

func (r *cbReceiver) URL() string { return r.srv.URL + "/hooks" }

// setSecrets sets the secrets every request must verify with.
func (r *cbReceiver) setSecrets(s ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = s
}

func (r *cbReceiver) setAnswer(f func(n int) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = f
}

// signal wakes waiters; call with r.mu held.
func (r *cbReceiver) signal() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *cbReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	r.mu.Lock()
	r.requests++
	n := r.requests
	r.inFlight++
	r.maxIn = max(r.maxIn, r.inFlight)
	hold, answer, secrets := r.hold, r.answer, r.secrets
	r.signal()
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inFlight--
		r.signal()
		r.mu.Unlock()
	}()
	if hold != nil {
		select {
		case <-hold:
		case <-req.Context().Done():
			return
		}
	}
	status := http.StatusOK
	if answer != nil {
		status = answer(n)
	}
	problem := ""
	var ev cbEvent
	switch {
	case err != nil:
		problem = "reading body: " + err.Error()
	case req.Method != http.MethodPost || req.URL.Path != "/hooks":
		problem = "unexpected " + req.Method + " " + req.URL.Path
	case req.Header.Get("Content-Type") != "application/json":
		problem = "Content-Type " + req.Header.Get("Content-Type")
	default:
		for _, s := range secrets {
			wh, err := standardwebhooks.NewWebhook(s)
			if err == nil {
				err = wh.Verify(body, req.Header)
			}
			if err != nil {
				problem = fmt.Sprintf("signature does not verify with %.12s…: %v (header %q)", s, err, req.Header.Get("webhook-signature"))
				break
			}
		}
		if problem == "" {
			if err := json.Unmarshal(body, &ev); err != nil {
				problem = "body: " + err.Error()
			} else if ev.ID != req.Header.Get("webhook-id") {
				problem = fmt.Sprintf("webhook-id %q is not the event id %q", req.Header.Get("webhook-id"), ev.ID)
			}
		}
	}
	r.mu.Lock()
	if problem != "" {
		r.failures = append(r.failures, problem)
	} else if status >= 200 && status < 300 {
		ev.header, ev.raw = req.Header.Clone(), body
		r.events = append(r.events, ev)
	}
	r.signal()
	r.mu.Unlock()
	if problem != "" {
		http.Error(w, problem, http.StatusBadRequest)
		return
	}
	w.WriteHeader(status)
	fmt.Fprintln(w, "ok")
}

// waitFor waits until cond holds on the receiver's state, failing the test
// after cbWait.
func (r *cbReceiver) waitFor(what string, cond func(r *cbReceiver) bool) {
	r.tb.Helper()
	deadline := time.NewTimer(cbWait)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := cond(r)
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			r.mu.Lock()
			defer r.mu.Unlock()
			r.tb.Fatalf("cbReceiver: gave up waiting for %s; %d requests, %d events %s, failures %q", what, r.requests, len(r.events), r.summaryLocked(), r.failures)
		}
	}
}

func (r *cbReceiver) summaryLocked() string {
	var parts []string
	for _, e := range r.events {
		parts = append(parts, fmt.Sprintf("%s#%d:%s", e.CartID, e.Sequence, e.Type))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// cart returns the distinct events of one cart by sequence (duplicates
// from at-least-once delivery must be identical), and fails on signature
// problems.
func (r *cbReceiver) cart(cartID string) []cbEvent {
	r.tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.failures) > 0 {
		r.tb.Fatalf("cbReceiver refused requests: %q", r.failures)
	}
	bySeq := map[int64]cbEvent{}
	for _, e := range r.events {
		if e.CartID != cartID {
			continue
		}
		if prev, ok := bySeq[e.Sequence]; ok && string(prev.raw) != string(e.raw) {
			r.tb.Fatalf("cart %s sequence %d delivered twice with different bodies:\n%s\n%s", cartID, e.Sequence, prev.raw, e.raw)
		}
		bySeq[e.Sequence] = e
	}
	out := make([]cbEvent, 0, len(bySeq))
	for _, e := range bySeq {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Sequence < out[j].Sequence })
	return out
}

// cbHasCartEvents reports whether the receiver has n distinct events of the
// cart; use with waitFor.
func cbHasCartEvents(cartID string, n int) func(r *cbReceiver) bool {
	return func(r *cbReceiver) bool {
		seen := map[int64]bool{}
		for _, e := range r.events {
			if e.CartID == cartID {
				seen[e.Sequence] = true
			}
		}
		return len(seen) >= n
	}
}

func (r *cbReceiver) count() (requests, events int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests, len(r.events)
}

// cbAddEndpoint registers url for the merchant with the CLI and returns the
// endpoint id and its secret.
func cbAddEndpoint(tb testing.TB, srv *e2e.Server, merchantID, url string, extra ...string) (string, string) {
	tb.Helper()
	out := srv.Admin(append([]string{"callbacks", "add", "--merchant", merchantID, "--url", url, "--json"}, extra...)...)
	var res struct {
		EndpointID string `json:"endpointId"`
		Secret     string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.EndpointID == "" || res.Secret == "" {
		tb.Fatalf("callbacks add printed %q: %v", out, err)
	}
	return res.EndpointID, res.Secret
}

// cbMerchant creates a merchant with an endpoint to a new receiver.
func cbMerchant(tb testing.TB, srv *e2e.Server, items string, extra ...string) (string, *client.Client, *cbReceiver, string) {
	tb.Helper()
	id, c := srv.Merchant(items, "--all-privileges")
	r := cbNewReceiver(tb)
	ep, secret := cbAddEndpoint(tb, srv, id, r.URL(), extra...)
	r.setSecrets(secret)
	return id, c, r, ep
}

// cbInitAndPay opens a cart with body and pays it with the test card.
func cbInitAndPay(tb testing.TB, c *client.Client, body string) {
	tb.Helper()
	url := cbInitCart(tb, c, body)
	pay, err := c.Pay(context.Background(), url, cbCard)
	if err != nil || pay.Result != "authorized" {
		tb.Fatalf("pay: %v %+v", err, pay)
	}
}

// cbInitCart opens a cart and returns its payment URL.
func cbInitCart(tb testing.TB, c *client.Client, body string) string {
	tb.Helper()
	res, err := c.Raw().Init(context.Background(), body)
	if err != nil || res.Status != http.StatusCreated {
		tb.Fatalf("init: %v %s", err, cbRaw(res))
	}
	var data struct {
		PaymentURL string `json:"paymentUrl"`
	}
	if err := res.Decode(&data); err != nil {
		tb.Fatal(err)
	}
	return data.PaymentURL
}

func cbRaw(res *client.Response) string {
	if res == nil {
		return "<no response>"
	}
	return string(res.Raw)
}

// cbCall sends a request and checks the HTTP status and code.
func cbCall(tb testing.TB, c *client.Client, method, path string, body any, status int, code string) *client.Response {
	tb.Helper()
	res, err := c.Do(context.Background(), method, path, body)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	if res.Status != status || res.Code != code {
		tb.Fatalf("%s %s: got HTTP %d code %s, want %d %s: %s", method, path, res.Status, res.Code, status, code, res.Raw)
	}
	return res
}

// cbAdvance moves the merchant's test clock.
func cbAdvance(tb testing.TB, c *client.Client, secs int64) {
	tb.Helper()
	cbCall(tb, c, http.MethodPost, "/sandbox/clock", fmt.Sprintf(`{"advanceSecs":%d}`, secs), http.StatusOK, "000000")
}

// cbWantChanges checks an event's type and its changes as itemId:from>to.
func cbWantChanges(tb testing.TB, e cbEvent, typ string, want ...string) {
	tb.Helper()
	if e.Type != typ {
		tb.Fatalf("event %s #%d: type %s, want %s: %s", e.CartID, e.Sequence, e.Type, typ, e.raw)
	}
	var got []string
	for _, c := range e.Changes {
		switch typ {
		case "payment.auto_action_pending":
			got = append(got, c.ItemID+":"+c.AutoAction)
		default:
			got = append(got, c.ItemID+":"+c.From+">"+c.To)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		tb.Fatalf("event %s #%d %s: changes %v, want %v: %s", e.CartID, e.Sequence, typ, got, want, e.raw)
	}
}

// cbCheckSequence checks that a cart's events are numbered 1..n without
// gaps (n events when n > 0) and that each payment event's data shows every
// item at its last `to` status.
func cbCheckSequence(tb testing.TB, evs []cbEvent, n int) {
	tb.Helper()
	if n > 0 && len(evs) != n {
		tb.Fatalf("got %d distinct events, want %d", len(evs), n)
	}
	for i, e := range evs {
		if e.Sequence != int64(i+1) {
			tb.Fatalf("event %d has sequence %d", i, e.Sequence)
		}
		if !strings.HasPrefix(e.ID, "evt_") || e.Data == nil || e.Data.CartID != e.CartID {
			tb.Fatalf("event %d malformed: %s", i, e.raw)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", e.CreatedAt); err != nil {
			tb.Fatalf("createdAt %q: %v", e.CreatedAt, err)
		}
		if e.Type == "payment.status_changed" {
			last := map[string]string{}
			for _, c := range e.Changes {
				last[c.ItemID] = c.To
			}
			for id, to := range last {
				if got := e.Data.itemStatus(id); got != to {
					tb.Fatalf("event #%d: data shows %s %s, change says %s: %s", e.Sequence, id, got, to, e.raw)
				}
			}
		}
	}
}

// cbPaymentChanges flattens the payment changes of a cart's events, in
// sequence order, as itemId:from>to. A change of several items may come as
// one event or as one event per item (one per transaction); the flattened
// list is the same.
func cbPaymentChanges(evs []cbEvent) []string {
	var out []string
	for _, e := range evs {
		if e.Type != "payment.status_changed" {
			continue
		}
		for _, c := range e.Changes {
			out = append(out, c.ItemID+":"+c.From+">"+c.To)
		}
	}
	return out
}

// cbWaitPayment waits until the cart's payment changes are exactly want
// (in order), then checks the sequence numbering and returns the events.
func (r *cbReceiver) waitPayment(cartID string, want ...string) []cbEvent {
	r.tb.Helper()
	r.waitFor(fmt.Sprintf("%s payment changes %v", cartID, want), func(r *cbReceiver) bool {
		bySeq := map[int64]cbEvent{}
		for _, e := range r.events {
			if e.CartID == cartID {
				bySeq[e.Sequence] = e
			}
		}
		evs := make([]cbEvent, 0, len(bySeq))
		for i := int64(1); ; i++ {
			e, ok := bySeq[i]
			if !ok {
				break
			}
			evs = append(evs, e)
		}
		return len(evs) == len(bySeq) && len(cbPaymentChanges(evs)) >= len(want)
	})
	evs := r.cart(cartID)
	cbCheckSequence(r.tb, evs, 0)
	if got := cbPaymentChanges(evs); strings.Join(got, " ") != strings.Join(want, " ") {
		r.tb.Fatalf("%s payment changes %v, want %v", cartID, got, want)
	}
	return evs
}

// cbData decodes a management API response's data.
func cbData[T any](tb testing.TB, res *client.Response) T {
	tb.Helper()
	var v T
	if err := res.Decode(&v); err != nil {
		tb.Fatalf("decode %s: %v", res.Raw, err)
	}
	return v
}

type cbEndpointData struct {
	EndpointID              string   `json:"endpointId"`
	URL                     string   `json:"url"`
	Events                  []string `json:"events"`
	Enabled                 bool     `json:"enabled"`
	Status                  string   `json:"status"`
	DisabledReason          string   `json:"disabledReason"`
	PreviousSecretExpiresAt string   `json:"previousSecretExpiresAt"`
	Secret                  string   `json:"secret"`
}

type cbAttemptData struct {
	EventID        string `json:"eventId"`
	Attempt        int    `json:"attempt"`
	At             string `json:"at"`
	HTTPStatus     *int   `json:"httpStatus"`
	LatencyMs      *int64 `json:"latencyMs"`
	Error          string `json:"error"`
	DeliveryStatus string `json:"deliveryStatus"`
}

// cbEndpointLog returns an endpoint's delivery log through the API.
func cbEndpointLog(tb testing.TB, c *client.Client, ep string) []cbAttemptData {
	tb.Helper()
	res := cbCall(tb, c, http.MethodGet, "/callbacks/endpoints/"+ep+"/deliveries", nil, http.StatusOK, "000000")
	return cbData[struct {
		Deliveries []cbAttemptData `json:"deliveries"`
	}](tb, res).Deliveries
}

// cbGetEndpoint reads one endpoint through the API.
func cbGetEndpoint(tb testing.TB, c *client.Client, ep string) cbEndpointData {
	tb.Helper()
	return cbData[cbEndpointData](tb, cbCall(tb, c, http.MethodGet, "/callbacks/endpoints/"+ep, nil, http.StatusOK, "000000"))
}

// cbWaitUntil polls an API-observable condition (the delivery log, an
// endpoint's status) until it holds, failing after cbWait. It waits on
// the receiver's activity between looks, never on a fixed sleep alone.
func cbWaitUntil(tb testing.TB, what string, r *cbReceiver, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(cbWait)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting for %s", what)
		}
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-time.After(50 * time.Millisecond):
		}
	}
}
