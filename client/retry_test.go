package client_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart/client"
)

// fake is a stand-in server that answers each request with the next step
// of a script and records what it got.
type fake struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []seen
	steps []step
}

type seen struct {
	method, path, key, body string
	header                  http.Header
}

// step answers one request; drop closes the connection without an answer
// (as a crash or a network cut would after the request arrived).
type step struct {
	status int
	header map[string]string
	body   string
	drop   bool
}

func newFake(t *testing.T, steps ...step) *fake {
	f := &fake{steps: steps}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, seen{r.Method, r.URL.RequestURI(), r.Header.Get("Idempotency-Key"), string(b), r.Header.Clone()})
		st := f.steps[min(n, len(f.steps)-1)]
		f.mu.Unlock()
		if st.drop {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.Header().Set("Request-Id", "req-"+string(rune('a'+n)))
		for k, v := range st.header {
			w.Header().Set(k, v)
		}
		if st.status == 0 {
			st.status = http.StatusOK
		}
		w.WriteHeader(st.status)
		io.WriteString(w, st.body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) seen() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func (f *fake) client() *client.Client {
	c := client.New(f.URL, "ock_test_key")
	c.Retry = client.RetryPolicy{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}
	return c
}

func env(code, message, data string) string {
	s := `{"code":"` + code + `","message":"` + message + `","timestamp":"2025-04-23T18:25:43.511Z"`
	if data != "" {
		s += `,"data":` + data
	} else if code != client.CodeSuccess {
		s += `,"debug":[]`
	}
	return s + "}"
}

var (
	okCapture  = step{body: env("000000", "Success", `{"itemIds":["pegasus"]}`)}
	inProgress = step{status: 409, header: map[string]string{"Retry-After": "0"},
		body: env(client.CodeIdempotencyRunning, "A request with this Idempotency-Key is in progress", "")}
	tooMany = step{status: 429, header: map[string]string{"Retry-After": "0"},
		body: env(client.CodeTooManyRequests, "Too many requests", "")}
	unavailable = step{status: 503, header: map[string]string{"Retry-After": "0"}, body: env(client.CodeUnavailable, "Service unavailable", "")}
	okClock     = step{body: env("000000", "Success", `{"now":"2025-04-25T18:25:43.511Z"}`)}
	uuidV4      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

// sameRequest checks that every attempt carried the same key and body.
func sameRequest(t *testing.T, reqs []seen, n int) {
	t.Helper()
	if len(reqs) != n {
		t.Fatalf("%d requests, want %d: %+v", len(reqs), n, reqs)
	}
	for _, r := range reqs[1:] {
		if r.key != reqs[0].key || r.body != reqs[0].body || r.path != reqs[0].path {
			t.Fatalf("a retry differs from the first attempt:\n%+v\n%+v", reqs[0], r)
		}
	}
}

func TestRetryInProgress(t *testing.T) {
	replayed := okCapture
	replayed.header = map[string]string{"Idempotent-Replayed": "true"}
	f := newFake(t, inProgress, inProgress, replayed)
	res, err := f.client().Capture(context.Background(), &client.ActionRequest{CartID: "cart-000001"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ItemIDs) != 1 || res.ItemIDs[0] != "pegasus" || !res.Replayed || res.Attempts != 3 || res.RequestID != "req-c" {
		t.Fatalf("result %+v", res)
	}
	reqs := f.seen()
	sameRequest(t, reqs, 3)
	if !uuidV4.MatchString(reqs[0].key) || res.IdempotencyKey != reqs[0].key {
		t.Fatalf("key %q, result's key %q", reqs[0].key, res.IdempotencyKey)
	}
	if reqs[0].body != `{"cartId":"cart-000001"}` || reqs[0].method != "POST" || reqs[0].path != "/capture" {
		t.Fatalf("request %+v", reqs[0])
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	wait := inProgress
	wait.header = map[string]string{"Retry-After": "1"}
	f := newFake(t, wait, okCapture)
	start := time.Now()
	if _, err := f.client().Capture(context.Background(), &client.ActionRequest{CartID: "cart-000001"}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("retried after %v, Retry-After said 1 s", d)
	}
	sameRequest(t, f.seen(), 2)

	// An HTTP date works too.
	limited := tooMany
	limited.header = map[string]string{"Retry-After": time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)}
	f = newFake(t, limited, okClock)
	if _, err := f.client().AdvanceClock(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	sameRequest(t, f.seen(), 2)
}

// TestRetryLostAnswer: when the connection breaks after the request went
// out, requests the server deduplicates are sent again with the same key
// and body; the others are not, since they may have been done.
func TestRetryLostAnswer(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, step{drop: true}, okCapture)
	res, err := f.client().Capture(ctx, &client.ActionRequest{CartID: "cart-000001"})
	if err != nil || res.Attempts != 2 {
		t.Fatalf("capture: %v %+v", err, res)
	}
	sameRequest(t, f.seen(), 2)

	f = newFake(t, step{drop: true}, okCapture)
	if _, err := f.client().Modify(ctx, &client.ModifyRequest{CartID: "cart-000001"}); err != nil {
		t.Fatalf("modify: %v", err)
	}
	sameRequest(t, f.seen(), 2)

	f = newFake(t, step{drop: true}, step{body: env("000000", "Success", `{"cartId":"cart-000001","currency":"EUR","totalAmounts":{"initiated":1,"captured":0,"refunded":0,"current":1},"items":[]}`)})
	if _, err := f.client().Status(ctx, "cart-000001", client.StatusQuery{}); err != nil {
		t.Fatalf("status: %v", err)
	}
	if n := len(f.seen()); n != 2 {
		t.Fatalf("status sent %d times", n)
	}

	for name, call := range map[string]func(c *client.Client) error{
		"clock": func(c *client.Client) error { _, err := c.AdvanceClock(ctx, time.Second); return err },
		"pay": func(c *client.Client) error {
			_, err := c.Pay(ctx, f.URL+"/pay/tok_0123456789abcdef", testCard)
			return err
		},
		"add endpoint": func(c *client.Client) error {
			_, err := c.AddCallbackEndpoint(ctx, client.NewCallbackEndpoint{URL: "https://shop.example/hook"})
			return err
		},
		"resend": func(c *client.Client) error { _, err := c.ResendCallbackEvent(ctx, "evt_1", ""); return err },
	} {
		f = newFake(t, step{drop: true}, okClock)
		err := call(f.client())
		var oe *client.Error
		if err == nil || errors.As(err, &oe) {
			t.Errorf("%s: %v, want a transport error", name, err)
		}
		if n := len(f.seen()); n != 1 {
			t.Errorf("%s sent %d times after a lost answer", name, n)
		}
		if err != nil && strings.Contains(err.Error(), "tok_") {
			t.Errorf("%s: the error shows the payment token: %v", name, err)
		}
	}
}

// TestRetryNeverSent: a request that never reached the server (no
// connection) is sent again whatever it is, within MaxAttempts.
func TestRetryNeverSent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := client.New("http://"+addr, "k")
	c.Retry = client.RetryPolicy{MaxAttempts: 3, MinDelay: time.Millisecond}
	_, err = c.AdvanceClock(context.Background(), time.Second)
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" || !strings.Contains(err.Error(), "3 attempts") {
		t.Fatalf("err %v", err)
	}
}

func TestRetryUnavailable(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, unavailable, okCapture)
	if _, err := f.client().Refund(ctx, &client.ActionRequest{CartID: "cart-000001"}); err != nil {
		t.Fatal(err)
	}
	sameRequest(t, f.seen(), 2)
	// The clock may have moved: not again.
	f = newFake(t, unavailable, okClock)
	_, err := f.client().AdvanceClock(ctx, time.Second)
	var oe *client.Error
	if !errors.As(err, &oe) || oe.HTTPStatus != 503 || oe.Code != client.CodeUnavailable || len(f.seen()) != 1 {
		t.Fatalf("clock: %v, %d requests", err, len(f.seen()))
	}
	// 429 is refused before anything is done: again, whatever it is.
	f = newFake(t, tooMany, okClock)
	if _, err := f.client().AdvanceClock(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	sameRequest(t, f.seen(), 2)
	// 500 is not retried.
	f = newFake(t, step{status: 500, body: env(client.CodeSystem, "General system error", "")}, okCapture)
	if _, err := f.client().Capture(ctx, &client.ActionRequest{CartID: "cart-000001"}); client.ErrorCode(err) != client.CodeSystem || len(f.seen()) != 1 {
		t.Fatalf("500: %v, %d requests", err, len(f.seen()))
	}
}

func TestRetryBounded(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, inProgress)
	c := f.client()
	_, err := c.Capture(ctx, &client.ActionRequest{CartID: "cart-000001"})
	var oe *client.Error
	if !errors.As(err, &oe) || oe.Code != client.CodeIdempotencyRunning || oe.Attempts != client.DefaultMaxAttempts || oe.HTTPStatus != 409 {
		t.Fatalf("err %v (%+v)", err, oe)
	}
	sameRequest(t, f.seen(), client.DefaultMaxAttempts)

	f = newFake(t, inProgress)
	c = f.client()
	c.Retry.MaxAttempts = 1
	if _, err := c.Capture(ctx, &client.ActionRequest{CartID: "cart-000001"}); client.ErrorCode(err) != client.CodeIdempotencyRunning || len(f.seen()) != 1 {
		t.Fatalf("no retries: %v, %d requests", err, len(f.seen()))
	}

	// A Retry-After beyond MaxRetryAfter ends the call.
	long := tooMany
	long.header = map[string]string{"Retry-After": "120"}
	f = newFake(t, long, okCapture)
	_, err = f.client().Capture(ctx, &client.ActionRequest{CartID: "cart-000001"})
	if !errors.As(err, &oe) || oe.Code != client.CodeTooManyRequests || oe.RetryAfter != 2*time.Minute || len(f.seen()) != 1 {
		t.Fatalf("long Retry-After: %v %+v, %d requests", err, oe, len(f.seen()))
	}
}

func TestRetryContextEnds(t *testing.T) {
	slow := inProgress
	slow.header = map[string]string{"Retry-After": "10"}
	f := newFake(t, slow, okCapture)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.client().Capture(ctx, &client.ActionRequest{CartID: "cart-000001"})
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("returned after %v", d)
	}
	// The last answer stands.
	if client.ErrorCode(err) != client.CodeIdempotencyRunning {
		t.Fatalf("err %v", err)
	}

	// Waiting after a transport error: the context's error.
	f = newFake(t, step{drop: true})
	c := f.client()
	c.Retry = client.RetryPolicy{MinDelay: 10 * time.Second, MaxDelay: 10 * time.Second}
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = c.Capture(ctx, &client.ActionRequest{CartID: "cart-000001"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
}

func TestIdempotencyKeyHeaders(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, okCapture)
	c := f.client()
	for range 2 {
		if _, err := c.Cancel(ctx, &client.ActionRequest{CartID: "cart-000001"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Cancel(ctx, &client.ActionRequest{CartID: "cart-000001"}, client.WithIdempotencyKey("order-42-cancel"), client.WithRequestID("my-req-1")); err != nil {
		t.Fatal(err)
	}
	c.Raw().Capture(ctx, `{"cartId":"cart-000001"}`)
	c.Do(ctx, "POST", "/capture", `{"cartId":"cart-000001"}`, client.WithIdempotencyKey("raw-key"))
	c.Status(ctx, "cart-000001", client.StatusQuery{})
	c.Pay(ctx, f.URL+"/pay/tok_0123456789abcdef", testCard)
	reqs := f.seen()
	if len(reqs) != 7 {
		t.Fatalf("%d requests", len(reqs))
	}
	if !uuidV4.MatchString(reqs[0].key) || !uuidV4.MatchString(reqs[1].key) || reqs[0].key == reqs[1].key {
		t.Errorf("generated keys %q %q", reqs[0].key, reqs[1].key)
	}
	if reqs[2].key != "order-42-cancel" || reqs[2].header.Get("Request-Id") != "my-req-1" {
		t.Errorf("given key: %+v", reqs[2])
	}
	if reqs[3].key != "" || reqs[4].key != "raw-key" {
		t.Errorf("raw requests: key %q, %q", reqs[3].key, reqs[4].key)
	}
	if reqs[5].method != "GET" || reqs[5].key != "" || reqs[5].header.Get("Content-Type") != "" {
		t.Errorf("status request: %+v", reqs[5])
	}
	for i, r := range reqs[:6] {
		if r.header.Get("Api-Access-Token") != "ock_test_key" {
			t.Errorf("request %d without the API key", i)
		}
	}
	if reqs[0].header.Get("User-Agent") != client.UserAgent || reqs[0].header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", reqs[0].header)
	}
	// The payment link is the customer's: no API key goes there.
	if reqs[6].header.Get("Api-Access-Token") != "" || reqs[6].path != "/pay/tok_0123456789abcdef" ||
		reqs[6].body != `{"cardNumber":"4111 1111 1111 1111","expiry":"12/39","cvc":"123","cardholder":"Ada Lovelace"}` {
		t.Errorf("pay request %+v", reqs[6])
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, step{status: 400, body: `{"code":"123000","message":"Unknown currency","debug":[{"code":"124103","message":"unicorn does not exist"}],"timestamp":"2025-04-23T18:25:43.511Z"}`})
	_, err := f.client().Init(ctx, &client.InitRequest{CartID: "cart-000001", Currency: "ZZZ", Items: []client.Item{{ItemID: "unicorn", Amount: 1}}, Debug: true})
	var oe *client.Error
	if !errors.As(err, &oe) {
		t.Fatalf("err %T %v", err, err)
	}
	if oe.HTTPStatus != 400 || oe.Code != "123000" || oe.Message != "Unknown currency" || oe.RequestID != "req-a" ||
		len(oe.Debug) != 1 || oe.Debug[0].Code != "124103" || !oe.Has("124103") || oe.Has("124101") ||
		oe.Method != "POST" || oe.Path != "/init" || oe.Attempts != 1 || oe.IdempotencyKey == "" ||
		!oe.Timestamp.Equal(time.Date(2025, 4, 23, 18, 25, 43, 511e6, time.UTC)) {
		t.Fatalf("error %+v", oe)
	}
	want := "omnicart: POST /init: 123000 Unknown currency (HTTP 400, Request-Id req-a); 124103 unicorn does not exist"
	if err.Error() != want {
		t.Errorf("Error() = %q\nwant %q", err.Error(), want)
	}
	if !errors.Is(err, &client.Error{Code: client.CodeUnknownCurrency}) || errors.Is(err, &client.Error{Code: client.CodeCartExists}) ||
		!errors.Is(err, &client.Error{Code: client.CodeUnknownCurrency, HTTPStatus: 400}) || errors.Is(err, &client.Error{Code: client.CodeUnknownCurrency, HTTPStatus: 409}) {
		t.Error("errors.Is by code")
	}

	// Not an envelope: a proxy's page.
	f = newFake(t, step{status: 502, body: "<html>Bad Gateway</html>"})
	_, err = f.client().Status(ctx, "cart-000001", client.StatusQuery{})
	if !errors.As(err, &oe) || oe.HTTPStatus != 502 || oe.Code != "" || string(oe.Body) != "<html>Bad Gateway</html>" {
		t.Fatalf("502: %v %+v", err, oe)
	}
	// A success that is not an envelope is an error, not an *Error.
	f = newFake(t, step{status: 200, body: "hello"})
	_, err = f.client().Status(ctx, "cart-000001", client.StatusQuery{})
	if err == nil || errors.As(err, &oe) {
		t.Fatalf("200 not an envelope: %v", err)
	}
	// The payment endpoint's envelope errors (405) are *Error too.
	f = newFake(t, step{status: 405, body: env(client.CodeMethodNotAllowed, "Not allowed to pass this method", "")})
	_, err = f.client().Pay(ctx, f.URL+"/pay/tok_0123456789abcdef", testCard)
	if !errors.As(err, &oe) || oe.Code != client.CodeMethodNotAllowed || oe.Path != "payment link" {
		t.Fatalf("pay 405: %v", err)
	}
	if strings.Contains(err.Error(), "tok_") {
		t.Errorf("the error shows the payment token: %v", err)
	}
	// Declines are results.
	f = newFake(t, step{status: 402, body: `{"result":"declined","reason":"Insufficient funds."}`})
	pay, err := f.client().Pay(ctx, f.URL+"/pay/tok_0123456789abcdef", testCard)
	if err != nil || pay.Status != 402 || pay.Result != client.ResultDeclined || pay.Reason != "Insufficient funds." || pay.RequestID != "req-a" {
		t.Fatalf("decline: %v %+v", err, pay)
	}
	if client.ErrorCode(errors.New("other")) != "" {
		t.Error("ErrorCode of a foreign error")
	}
}

func TestWithMetaAndRaw(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, step{header: map[string]string{"Idempotent-Replayed": "true"}, body: env("000000", "Success", `{"endpoints":[]}`)})
	var m client.Meta
	eps, err := f.client().ListCallbackEndpoints(ctx, client.WithMeta(&m))
	if err != nil || eps == nil || len(eps) != 0 {
		t.Fatalf("%v %v", eps, err)
	}
	if m.HTTPStatus != 200 || m.Code != "000000" || m.RequestID != "req-a" || m.Attempts != 1 || !m.Replayed {
		t.Fatalf("meta %+v", m)
	}
	// Raw and Do never retry and return whatever came.
	f = newFake(t, inProgress, okCapture)
	res, err := f.client().Raw().Capture(ctx, `{"cartId":"cart-000001"}`)
	if err != nil || res.Status != 409 || res.Code != client.CodeIdempotencyRunning || len(f.seen()) != 1 {
		t.Fatalf("raw: %v %+v", err, res)
	}
}

// TestNoHiddenReplays: net/http itself resends a request that carries an
// Idempotency-Key when a kept-alive connection breaks after the request
// went out; requests the server does not deduplicate must not be.
func TestNoHiddenReplays(t *testing.T) {
	ctx := context.Background()
	for name, call := range map[string]func(c *client.Client, url string) error{
		"clock": func(c *client.Client, _ string) error { _, err := c.AdvanceClock(ctx, time.Second); return err },
		"pay": func(c *client.Client, url string) error {
			_, err := c.Pay(ctx, url+"/pay/tok_0123456789abcdef", testCard)
			return err
		},
		"rotate": func(c *client.Client, _ string) error { _, err := c.RotateCallbackSecret(ctx, "ep_1", nil); return err },
		"resend": func(c *client.Client, _ string) error { _, err := c.ResendCallbackEvent(ctx, "evt_1", ""); return err },
	} {
		f := newFake(t, okClock, step{drop: true}, okClock)
		c := f.client()
		if _, err := c.Do(ctx, "GET", "/warm-up", nil); err != nil { // opens the connection to reuse
			t.Fatal(err)
		}
		if err := call(c, f.URL); err == nil {
			t.Errorf("%s: no error after a lost answer", name)
		}
		if n := len(f.seen()); n != 2 {
			t.Errorf("%s: the server got %d requests, want 2", name, n)
		}
	}
	// Requests the server deduplicates may go again (same key, same body).
	f := newFake(t, okClock, step{drop: true}, okCapture)
	c := f.client()
	c.Do(ctx, "GET", "/warm-up", nil)
	if _, err := c.Capture(ctx, &client.ActionRequest{CartID: "cart-000001"}); err != nil {
		t.Fatal(err)
	}
	sameRequest(t, f.seen()[1:], 2)
}
