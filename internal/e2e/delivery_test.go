package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
	"github.com/omnicart/omnicart/internal/smtptest"
)

// dlWait bounds every wait for an asynchronous delivery.
const dlWait = 60 * time.Second

// dlReceiver is an SMS or push provider endpoint: it records what it gets
// and answers with the status that fail says.
type dlReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []dlRequest
	status  int
	changed chan struct{}
}

type dlRequest struct {
	Path, Auth, Key string
	Body            map[string]string
}

func dlNewReceiver(t *testing.T) *dlReceiver {
	r := &dlReceiver{status: http.StatusOK, changed: make(chan struct{}, 1)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var b map[string]string
		_ = json.NewDecoder(req.Body).Decode(&b)
		r.mu.Lock()
		r.reqs = append(r.reqs, dlRequest{req.URL.Path, req.Header.Get("Authorization"), req.Header.Get("Idempotency-Key"), b})
		st := r.status
		r.mu.Unlock()
		select {
		case r.changed <- struct{}{}:
		default:
		}
		w.WriteHeader(st)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *dlReceiver) setStatus(st int) {
	r.mu.Lock()
	r.status = st
	r.mu.Unlock()
}

func (r *dlReceiver) requests() []dlRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]dlRequest(nil), r.reqs...)
}

type dlDelivery struct {
	Channel       string `json:"channel"`
	Recipient     string `json:"recipient"`
	State         string `json:"state"`
	Attempts      int    `json:"attempts"`
	Via           string `json:"via"`
	LastError     string `json:"lastError"`
	SentAt        string `json:"sentAt"`
	NextAttemptAt string `json:"nextAttemptAt"`
}

// dlDeliveries reads GET /deliveries/{cartId}.
func dlDeliveries(t *testing.T, c *client.Client, cartID string) []dlDelivery {
	t.Helper()
	res, err := c.Do(context.Background(), http.MethodGet, "/deliveries/"+cartID, nil)
	if err != nil || res.Status != 200 {
		t.Fatalf("deliveries of %s: %v %+v", cartID, err, res)
	}
	var data struct {
		CartID     string       `json:"cartId"`
		Deliveries []dlDelivery `json:"deliveries"`
	}
	if err := res.Decode(&data); err != nil || data.CartID != cartID {
		t.Fatalf("deliveries data %s: %v", res.Data, err)
	}
	return data.Deliveries
}

// dlWaitState polls the cart's delivery until cond holds.
func dlWaitState(t *testing.T, c *client.Client, cartID string, what string, cond func(d dlDelivery) bool) dlDelivery {
	t.Helper()
	deadline := time.Now().Add(dlWait)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ds := dlDeliveries(t, c, cartID)
		if len(ds) == 1 && cond(ds[0]) {
			return ds[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: gave up waiting for %s; deliveries %+v", cartID, what, ds)
		}
		<-tick.C
	}
}

func dlInit(t *testing.T, c *client.Client, cartID, option, value string) string {
	return ppInit(t, c, `{"cartId":"`+cartID+`","currency":"EUR","items":[{"pegasus":{"amount":1350}}],`+
		`"paymentForm":{"deliveryOption":"`+option+`","value":"`+value+`"}}`)
}

// TestPaymentLinkDelivery sends payment links by email through a real SMTP
// server (with login) and by SMS and push to local HTTP providers (JSON
// with the bearer token), shows each cart's delivery state, and the links
// open the payment page.
func TestPaymentLinkDelivery(t *testing.T) {
	t.Parallel()
	smtpSrv := smtptest.Start(t, smtptest.Options{User: "relay", Password: "relay-pass"})
	sms, push := dlNewReceiver(t), dlNewReceiver(t)
	srv := e2e.Start(t, "--smtp-host", smtpSrv.Host, "--smtp-port", strconv.Itoa(smtpSrv.Port), "--smtp-user", "relay",
		"--smtp-password", "relay-pass", "--smtp-from", "pay@shop.example", "--smtp-starttls=false",
		"--sms-url", sms.URL+"/v1/sms", "--sms-token", "sms-token-1", "--push-url", push.URL+"/v1/push", "--push-token", "push-token-2")
	_, c := srv.Merchant("pegasus")

	emailURL := dlInit(t, c, "deliver-email-1", "email", "ada@customer.example")
	smsURL := dlInit(t, c, "deliver-sms-01", "sms", "+4915112345678")
	pushURL := dlInit(t, c, "deliver-push-1", "push", "device-token-abc")

	ctx, cancel := context.WithTimeout(context.Background(), dlWait)
	defer cancel()
	msgs, err := smtpSrv.Wait(ctx, 1)
	if err != nil {
		t.Fatalf("no email arrived: %v\n%s", err, srv.Logs())
	}
	m := msgs[0]
	if m.User != "relay" || m.From != "pay@shop.example" || len(m.To) != 1 || m.To[0] != "ada@customer.example" {
		t.Errorf("envelope %+v", m)
	}
	parsed, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(parsed.Body))
	if !strings.Contains(string(body), emailURL) || !strings.Contains(string(body), "13.50 EUR") {
		t.Errorf("email body lacks the link %s:\n%s", emailURL, body)
	}
	d := dlWaitState(t, c, "deliver-email-1", "sent", func(d dlDelivery) bool { return d.State == "sent" })
	if d.Via != "smtp" || d.Channel != "email" || d.Recipient != "ada@customer.example" || d.Attempts != 1 || d.SentAt == "" {
		t.Errorf("email delivery %+v", d)
	}

	for _, tc := range []struct {
		cartID, link, path, auth, field, value string
		r                                      *dlReceiver
	}{
		{"deliver-sms-01", smsURL, "/v1/sms", "Bearer sms-token-1", "to", "+4915112345678", sms},
		{"deliver-push-1", pushURL, "/v1/push", "Bearer push-token-2", "token", "device-token-abc", push},
	} {
		d := dlWaitState(t, c, tc.cartID, "sent", func(d dlDelivery) bool { return d.State == "sent" })
		if d.Via != "http" {
			t.Errorf("%s: %+v", tc.cartID, d)
		}
		reqs := tc.r.requests()
		if len(reqs) != 1 {
			t.Fatalf("%s: %d requests", tc.cartID, len(reqs))
		}
		q := reqs[0]
		text := q.Body["text"] + q.Body["url"]
		if q.Path != tc.path || q.Auth != tc.auth || q.Key == "" || q.Body[tc.field] != tc.value || !strings.Contains(text, tc.link) {
			t.Errorf("%s: request %+v", tc.cartID, q)
		}
	}
	// The delivered link is the payment page.
	resp, err := http.Get(emailURL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("open emailed link: %v %v", err, resp)
	}
	resp.Body.Close()
	// A redirect cart has no messages; deliveries are per merchant.
	ppInit(t, c, `{"cartId":"deliver-redir-1","currency":"EUR","items":[{"pegasus":{"amount":5}}]}`)
	if ds := dlDeliveries(t, c, "deliver-redir-1"); len(ds) != 0 {
		t.Errorf("redirect cart deliveries %+v", ds)
	}
	_, other := srv.Merchant("pegasus")
	if res, err := other.Do(context.Background(), http.MethodGet, "/deliveries/deliver-email-1", nil); err != nil || res.Status != 400 || res.Code != "123001" {
		t.Errorf("another merchant's cart: %v %+v", err, res)
	}
	anon := client.New(srv.URL, "")
	if res, err := anon.Do(context.Background(), http.MethodGet, "/deliveries/deliver-email-1", nil); err != nil || res.Status != 401 {
		t.Errorf("no key: %v %+v", err, res)
	}
	if res, err := c.Do(context.Background(), http.MethodPost, "/deliveries/deliver-email-1", `{}`); err != nil || res.Status != 405 {
		t.Errorf("POST: %v %+v", err, res)
	}
	// The password never reaches the log.
	if strings.Contains(srv.Logs(), "relay-pass") || strings.Contains(srv.Logs(), "sms-token-1") {
		t.Error("a provider secret is in the log")
	}
}

// TestPaymentLinkRetriedAcrossRestart: while the SMS provider fails the
// message stays queued with its error and is retried with backoff; it
// survives a restart and goes out once the provider answers.
func TestPaymentLinkRetriedAcrossRestart(t *testing.T) {
	t.Parallel()
	sms := dlNewReceiver(t)
	sms.setStatus(http.StatusServiceUnavailable)
	srv := e2e.Start(t, "--sms-url", sms.URL+"/sms", "--sms-token", "tok", "--notify-retry-min", "100ms")
	_, c := srv.Merchant("pegasus")
	dlInit(t, c, "deliver-retry-1", "sms", "+14155550100")
	d := dlWaitState(t, c, "deliver-retry-1", "two failed attempts", func(d dlDelivery) bool { return d.Attempts >= 2 })
	if d.State != "queued" || !strings.Contains(d.LastError, "503") || d.NextAttemptAt == "" {
		t.Fatalf("while failing: %+v", d)
	}
	srv.Stop()
	sms.setStatus(http.StatusOK)
	srv.Restart()
	c = srv.Client(c.APIKey) // the server listens on a new port
	d = dlWaitState(t, c, "deliver-retry-1", "sent", func(d dlDelivery) bool { return d.State == "sent" })
	if d.Via != "http" || d.Attempts < 3 || d.LastError != "" {
		t.Fatalf("after restart: %+v", d)
	}
	reqs := sms.requests()
	key := reqs[0].Key
	for _, r := range reqs {
		if r.Key != key || r.Body["to"] != "+14155550100" {
			t.Errorf("retries must carry the same message id: %+v", r)
		}
	}
}

// TestPaymentLinkSandboxOutbox: with nothing configured, a test-mode
// merchant's links land in the local outbox page and in the log.
func TestPaymentLinkSandboxOutbox(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus")
	link := dlInit(t, c, "deliver-outbox1", "email", "grace@customer.example")
	d := dlWaitState(t, c, "deliver-outbox1", "sent", func(d dlDelivery) bool { return d.State == "sent" })
	if d.Via != "outbox" {
		t.Fatalf("%+v", d)
	}
	get := func(url, key string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if key != "" {
			req.Header.Set("Api-Access-Token", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(page)
	}
	// Without a key the outbox is closed: it holds other people's links.
	if resp, page := get(srv.URL+"/sandbox/outbox", ""); resp.StatusCode != 401 || strings.Contains(page, "grace@") {
		t.Fatalf("outbox without a key: %d\n%s", resp.StatusCode, page)
	}
	// Another merchant's key sees none of it.
	_, other := srv.Merchant("pegasus")
	if resp, page := get(srv.URL+"/sandbox/outbox", other.APIKey); resp.StatusCode != 200 || strings.Contains(page, "grace@") {
		t.Fatalf("outbox for another merchant: %d\n%s", resp.StatusCode, page)
	}
	resp, page := get(srv.URL+"/sandbox/outbox", c.APIKey)
	if resp.StatusCode != 200 || !strings.Contains(page, "grace@customer.example") || !strings.Contains(page, `href="`+link+`"`) {
		t.Fatalf("outbox page %d:\n%s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("outbox CSP %q", csp)
	}
	if !srv.WaitForLog("payment link delivered to the sandbox outbox", 10*time.Second) || !strings.Contains(srv.Logs(), link) {
		t.Errorf("the log does not show the link")
	}
}

// TestPaymentLinkPublicOutbox: on a demo server the outbox page needs no
// key, so that a newcomer can click the link.
func TestPaymentLinkPublicOutbox(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t, "--public-outbox")
	_, c := srv.Merchant("pegasus")
	link := dlInit(t, c, "deliver-outbox2", "sms", "+14155550123")
	dlWaitState(t, c, "deliver-outbox2", "sent", func(d dlDelivery) bool { return d.State == "sent" })
	resp, err := http.Get(srv.URL + "/sandbox/outbox")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "14155550123") || !strings.Contains(string(page), `href="`+link+`"`) {
		t.Fatalf("public outbox %d:\n%s", resp.StatusCode, page)
	}
}

// TestPaymentFormValues: /init refuses delivery values that are not an
// email address, an E.164 number, a push token or an absolute http(s) URL
// with 122001.
func TestPaymentFormValues(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus")
	for i, tc := range []struct{ option, value string }{
		{"email", "not-an-email"},
		{"email", "Ada <ada@customer.example>"},
		{"email", "ada@customer.example\r\nBcc: eve@evil.example"},
		{"sms", "015112345678"},
		{"sms", "+0123456789"},
		{"sms", "+49 151 1234"},
		{"redirect", "/relative/path"},
		{"redirect", "ftp://shop.example/back"},
		{"redirect", "javascript:alert(1)"},
		{"push", ""},
		{"push", " padded "},
	} {
		value, _ := json.Marshal(tc.value)
		body := `{"cartId":"bad-form-` + strconv.Itoa(1000+i) + `","currency":"EUR","items":[{"pegasus":{"amount":5}}],` +
			`"paymentForm":{"deliveryOption":"` + tc.option + `","value":` + string(value) + `}}`
		res, err := c.Raw().Init(context.Background(), body)
		if err != nil || res.Status != 400 || res.Code != "122001" || !strings.HasSuffix(res.Message, "value has invalid format") {
			t.Errorf("%s %q: %v HTTP %d %s %q", tc.option, tc.value, err, res.Status, res.Code, res.Message)
		}
	}
}
