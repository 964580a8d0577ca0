package multinode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// itemPlan is one item of a cart and what the client does with it.
type itemPlan struct {
	ID     string
	Amount int64
	Window int64  // capture window, seconds
	Auto   string // its autoAction: cancel or complete
	// Capture is set when the client captures the item; its autoAction
	// is then cancel, so that a capture that did not happen shows.
	Capture bool
}

// cart is one lifecycle and what the clients were told about it.
type cart struct {
	ID    string
	Items []itemPlan

	InitAcked bool
	PayPath   string // /pay/<token>
	Paid      bool
	PaidAt    time.Time
	// Captured are the items an acknowledged /capture acted on;
	// CaptureAnswered is set once /capture was answered (200, or 124114
	// when every window had ended first).
	Captured        map[string]bool
	CaptureAnswered bool
	CaptureRefused  bool
	Abandoned       string // why the client gave up on the cart
}

// want is the final status of an item as the clients know it: "" when
// they cannot know (an unanswered capture).
func (c *cart) want(it itemPlan) string {
	switch {
	case !c.Paid:
		return "initiated"
	case c.Captured[it.ID]:
		return "completed"
	case it.Capture && !c.CaptureAnswered:
		return ""
	case it.Auto == "complete":
		return "completed"
	default:
		return "canceled"
	}
}

// answer is one HTTP answer.
type answer struct {
	Status     int
	Code       string          `json:"code"`
	Data       json.RawMessage `json:"data"`
	Result     string          `json:"result"` // the payment flow's
	Replayed   bool
	RetryAfter string
	Raw        []byte
}

func (a *answer) String() string {
	if a == nil {
		return "no answer"
	}
	raw := strings.TrimSpace(string(a.Raw))
	if len(raw) > 300 {
		raw = raw[:300] + "…"
	}
	return fmt.Sprintf("HTTP %d %s", a.Status, raw)
}

// counters are the workload's figures, by name.
type counters struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counters) add(name string, d int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name] += d
}

func (c *counters) get(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

func (c *counters) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.n))
	for k := range c.n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %-44s %d", k, c.n[k])
	}
	return b.String()
}

// workload drives the clients.
type workload struct {
	nodes  []*node
	apiKey string
	http   *http.Client
	stats  counters

	mu       sync.Mutex
	carts    []*cart
	problems []string
	start    time.Time
	lostLog  []string
}

func (w *workload) fail(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.problems) < 50 {
		w.problems = append(w.problems, fmt.Sprintf(format, args...))
	}
}

// cards are the sandbox's cards that are always authorized: customers pay
// with several cards, as they would (the sandbox's 3530 1113 0200 0000
// fails the Luhn check, so the payment page refuses it).
var cards = []string{"4111 1111 1111 1111", "4012 8888 8888 1881", "5500 0000 0000 0004", "5105 1051 0510 5100",
	"6011 0000 0000 0004", "6011 1111 1111 1117", "3566 1111 1111 1113"}

// catalog is the merchant's items.
var catalog = []string{"pegasus", "naga", "mage", "lich", "wight"}

// newCart draws a cart of two or three two-step items with capture
// windows of 2–4 s; about half of them the client captures.
func newCart(rng *mrand.Rand, client, n int) *cart {
	var b [4]byte
	_, _ = rand.Read(b[:])
	c := &cart{ID: fmt.Sprintf("mn-%02d-%04d-%s", client, n, hex.EncodeToString(b[:])), Captured: map[string]bool{}}
	ids := append([]string(nil), catalog...)
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	for _, id := range ids[:2+rng.IntN(2)] {
		it := itemPlan{ID: id, Amount: int64(100 + rng.IntN(900)), Window: int64(2 + rng.IntN(3)), Capture: rng.IntN(2) == 0}
		it.Auto = "cancel"
		if !it.Capture && rng.IntN(2) == 0 {
			it.Auto = "complete"
		}
		c.Items = append(c.Items, it)
	}
	return c
}

func (c *cart) initBody() string {
	items := make([]string, len(c.Items))
	for i, it := range c.Items {
		items[i] = fmt.Sprintf(`{%q:{"amount":%d,"capture":true,"captureSettings":{"autoAction":%q,"value":%d}}}`,
			it.ID, it.Amount, it.Auto, it.Window)
	}
	return fmt.Sprintf(`{"cartId":%q,"currency":"EUR","items":[%s]}`, c.ID, strings.Join(items, ","))
}

// run runs lifecycles on client's behalf until stop is closed.
func (w *workload) run(ctx context.Context, client int, stop <-chan struct{}) {
	rng := mrand.New(mrand.NewPCG(uint64(client), uint64(time.Now().UnixNano())))
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		c := newCart(rng, client, n)
		w.mu.Lock()
		w.carts = append(w.carts, c)
		w.mu.Unlock()
		w.lifecycle(ctx, rng, client+n, c)
		pause(ctx, rng, 50*time.Millisecond, 150*time.Millisecond)
	}
}

// lifecycle opens the cart on one node, pays it on the next and captures
// some items on the one after.
func (w *workload) lifecycle(ctx context.Context, rng *mrand.Rand, first int, c *cart) {
	a := w.call(ctx, rng, first, "init", http.MethodPost, "/init", newKey(), c.initBody())
	switch {
	case a == nil:
		c.Abandoned = "init unanswered"
		return
	case a.Status != http.StatusCreated:
		w.fail("init %s: %s", c.ID, a)
		c.Abandoned = "init refused"
		return
	}
	c.InitAcked = true
	var data struct {
		PaymentURL string `json:"paymentUrl"`
	}
	if err := json.Unmarshal(a.Data, &data); err != nil || data.PaymentURL == "" {
		w.fail("init %s: no paymentUrl: %s", c.ID, a)
		c.Abandoned = "no paymentUrl"
		return
	}
	u, err := url.Parse(data.PaymentURL)
	if err != nil {
		w.fail("init %s: paymentUrl %q: %v", c.ID, data.PaymentURL, err)
		return
	}
	c.PayPath = u.Path
	if !w.pay(ctx, rng, first+1, c) {
		return
	}
	var ids []string
	for _, it := range c.Items {
		if it.Capture {
			ids = append(ids, strconv.Quote(it.ID))
		}
	}
	if len(ids) == 0 {
		return
	}
	body := fmt.Sprintf(`{"cartId":%q,"filterBox":{"itemIds":[%s]}}`, c.ID, strings.Join(ids, ","))
	a = w.call(ctx, rng, first+2, "capture", http.MethodPost, "/capture", newKey(), body)
	switch {
	case a == nil:
		c.Abandoned = "capture unanswered"
	case a.Status == http.StatusOK:
		var acted struct {
			ItemIDs []string `json:"itemIds"`
		}
		if err := json.Unmarshal(a.Data, &acted); err != nil {
			w.fail("capture %s: %s", c.ID, a)
		}
		c.CaptureAnswered = true
		for _, id := range acted.ItemIDs {
			c.Captured[id] = true
		}
		if len(acted.ItemIDs) < len(ids) {
			w.stats.add("capture: acted on only some items (windows ended)", 1)
		}
	case a.Code == "124114":
		// Every window had ended before the capture ran (a slow answer,
		// the database restarting): the auto actions went first.
		c.CaptureAnswered, c.CaptureRefused = true, true
		w.stats.add("capture: refused, the windows had ended (124114)", 1)
	default:
		w.fail("capture %s: %s", c.ID, a)
		c.Abandoned = "capture refused"
	}
}

// pay pays the cart through the JSON payment flow. The payment page takes
// no Idempotency-Key: after a lost answer the client pays again, and is
// told 410 (nothing left to pay) when the lost attempt had paid.
func (w *workload) pay(ctx context.Context, rng *mrand.Rand, first int, c *cart) bool {
	card := fmt.Sprintf(`{"cardNumber":%q,"expiry":"12/39","cvc":"123","cardholder":"Ada Lovelace"}`, cards[rng.IntN(len(cards))])
	lost := 0
	deadline := time.Now().Add(60 * time.Second)
	for attempt := 0; time.Now().Before(deadline) && ctx.Err() == nil; attempt++ {
		n := w.nodes[(first+attempt)%len(w.nodes)]
		w.stats.add("pay: attempts", 1)
		a, err := w.send(ctx, http.MethodPost, n.URL()+c.PayPath, "", card, false)
		switch {
		case err != nil || a.Status >= 500:
			lost++
			w.stats.add("pay: lost answers (asked again on the next node)", 1)
			w.lost("pay", n, a, err)
			pause(ctx, rng, 50*time.Millisecond, 200*time.Millisecond)
			continue
		case a.Status == http.StatusOK && a.Result == "authorized":
			c.Paid, c.PaidAt = true, time.Now()
			w.stats.add("pay: authorized", 1)
			return true
		case a.Status == http.StatusGone && lost > 0:
			c.Paid, c.PaidAt = true, time.Now()
			w.stats.add("pay: 410 after a lost answer (the lost attempt had paid)", 1)
			return true
		default:
			w.fail("pay %s on %s: %s", c.ID, n.name, a)
			c.Abandoned = "payment refused"
			return false
		}
	}
	c.Abandoned = "payment unanswered"
	return false
}

// call sends a Merchant API request with an Idempotency-Key until it is
// answered: a lost answer (transport error, 5xx) or 124191 (another
// attempt holds the key) is asked again on the next node, with the same
// key and body. It returns nil when a minute passes without an answer.
func (w *workload) call(ctx context.Context, rng *mrand.Rand, first int, kind, method, path, key, body string) *answer {
	deadline := time.Now().Add(60 * time.Second)
	retried := false
	for attempt := 0; time.Now().Before(deadline) && ctx.Err() == nil; attempt++ {
		n := w.nodes[(first+attempt)%len(w.nodes)]
		w.stats.add(kind+": attempts", 1)
		a, err := w.send(ctx, method, n.URL()+path, key, body, true)
		switch {
		case err != nil || a.Status >= 500:
			retried = true
			w.stats.add(kind+": lost answers (asked again on the next node)", 1)
			w.lost(kind, n, a, err)
			pause(ctx, rng, 50*time.Millisecond, 200*time.Millisecond)
			continue
		case a.Code == "124191":
			retried = true
			w.stats.add(kind+": 124191 (key held by another attempt)", 1)
			pause(ctx, rng, 50*time.Millisecond, 200*time.Millisecond)
			continue
		}
		if a.Replayed {
			w.stats.add(kind+": replayed answers", 1)
		}
		if retried && !a.Replayed {
			w.stats.add(kind+": ran on a retry (the lost attempt had not committed)", 1)
		}
		w.stats.add(kind+": answered", 1)
		return a
	}
	w.stats.add(kind+": given up", 1)
	return nil
}

// lost records a lost answer for the log.
func (w *workload) lost(kind string, n *node, a *answer, err error) {
	what := ""
	if err != nil {
		what = err.Error()
		if strings.Contains(what, "Client.Timeout") {
			w.stats.add(kind+": no answer within 15 s (client timeout)", 1)
		}
	} else {
		what = a.String()
		if a.Status == http.StatusInternalServerError {
			// A node that loses its database answers 503 with
			// Retry-After (199004), never a 500.
			w.fail("%s on %s answered 500 (an outage must be a 503): %s", kind, n.name, a)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.lostLog) < 400 {
		w.lostLog = append(w.lostLog, fmt.Sprintf("%s %s %s: %s", time.Since(w.start).Round(time.Millisecond), kind, n.name, what))
	}
}

// send sends one attempt.
func (w *workload) send(ctx context.Context, method, target, key, body string, auth bool) (*answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.GetBody = nil // never resent by net/http on its own
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if auth {
		req.Header.Set("Api-Access-Token", w.apiKey)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := w.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	a := &answer{Status: res.StatusCode, Raw: raw, Replayed: res.Header.Get("Idempotent-Replayed") == "true",
		RetryAfter: res.Header.Get("Retry-After")}
	_ = json.Unmarshal(raw, a)
	return a, nil
}

// status reads a cart's status on one node.
func (w *workload) status(ctx context.Context, n *node, cartID string) (*answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.URL()+"/status/"+cartID, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Api-Access-Token", w.apiKey)
	res, err := w.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	a := &answer{Status: res.StatusCode, Raw: raw}
	if err := json.Unmarshal(raw, a); err != nil {
		return nil, fmt.Errorf("status %s on %s: %v: %s", cartID, n.name, err, raw)
	}
	return a, nil
}

func newKey() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "mn-" + hex.EncodeToString(b[:])
}

func pause(ctx context.Context, rng *mrand.Rand, lo, hi time.Duration) {
	d := lo + time.Duration(rng.Int64N(int64(hi-lo)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
