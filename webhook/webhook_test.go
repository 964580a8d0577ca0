package webhook_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/webhook"
)

func TestNewSecret(t *testing.T) {
	t.Parallel()
	a, b := webhook.NewSecret(), webhook.NewSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	for _, s := range []string{a, b} {
		raw, ok := strings.CutPrefix(s, "whsec_")
		key, err := base64.StdEncoding.DecodeString(raw)
		if !ok || err != nil || len(key) < 24 {
			t.Fatalf("secret %q: %v, %d bytes", s, err, len(key))
		}
	}
}

// TestSignVerifiesWithStandardWebhooks checks our signatures with the
// Standard Webhooks reference library: one secret, two secrets during a
// rotation (each verifies on its own), and a tampered body or id fails.
func TestSignVerifiesWithStandardWebhooks(t *testing.T) {
	t.Parallel()
	s1, s2 := webhook.NewSecret(), webhook.NewSecret()
	body := []byte(`{"id":"evt_1","type":"payment.status_changed"}`)
	now := time.Now()
	verify := func(secret, sig, id string, body []byte) error {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return err
		}
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", strings.TrimSpace(jsonNumber(now.Unix())))
		h.Set("webhook-signature", sig)
		return wh.Verify(body, h)
	}
	one, err := webhook.Sign([]string{s1}, "evt_1", now.Unix(), body)
	if err != nil || !strings.HasPrefix(one, "v1,") || strings.Contains(one, " ") {
		t.Fatalf("sign: %q %v", one, err)
	}
	if err := verify(s1, one, "evt_1", body); err != nil {
		t.Fatalf("verify: %v", err)
	}
	want, _ := standardwebhooks.NewWebhook(s1)
	if lib, _ := want.Sign("evt_1", time.Unix(now.Unix(), 0), body); lib != one {
		t.Fatalf("signature %q, library signs %q", one, lib)
	}
	two, err := webhook.Sign([]string{s2, s1}, "evt_1", now.Unix(), body)
	if err != nil || len(strings.Fields(two)) != 2 {
		t.Fatalf("sign with two secrets: %q %v", two, err)
	}
	for _, s := range []string{s1, s2} {
		if err := verify(s, two, "evt_1", body); err != nil {
			t.Fatalf("verify with %s: %v", s, err)
		}
	}
	if err := verify(s2, one, "evt_1", body); err == nil {
		t.Fatal("a signature made with s1 verified with s2")
	}
	if err := verify(s1, one, "evt_1", []byte(`{"id":"evt_1","type":"payment.status_changed" }`)); err == nil {
		t.Fatal("a tampered body verified")
	}
	if err := verify(s1, one, "evt_2", body); err == nil {
		t.Fatal("another id verified")
	}
	if _, err := webhook.Sign([]string{"whsec_not base64!"}, "evt_1", 1, body); err == nil {
		t.Fatal("a malformed secret signed")
	}
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestSchedule(t *testing.T) {
	t.Parallel()
	s := webhook.DefaultSchedule()
	var total time.Duration
	for _, d := range s {
		total += d
	}
	if s.Attempts() != 10 || total >= 72*time.Hour || total < 70*time.Hour {
		t.Fatalf("default schedule %s: %d attempts over %s; want 10 attempts within 3 days", s, s.Attempts(), total)
	}
	if d, ok := s.Next(1, 0); !ok || d != 5*time.Second {
		t.Fatalf("first retry: %s %v", d, ok)
	}
	if d, ok := s.Next(2, 0.999); !ok || d <= 4*time.Minute || d > 5*time.Minute {
		t.Fatalf("second retry with the most jitter: %s %v", d, ok)
	}
	if d, ok := s.Next(9, 0.5); !ok || d != 18*time.Hour {
		t.Fatalf("last retry with half jitter: %s %v", d, ok)
	}
	if _, ok := s.Next(10, 0); ok {
		t.Fatal("a retry after the last")
	}
	p, err := webhook.ParseSchedule("50ms, 1s,2m")
	if err != nil || p.String() != "50ms,1s,2m0s" {
		t.Fatalf("parse: %v %v", p, err)
	}
	for _, bad := range []string{"", "1s,-1s", "soon", ",", "0s"} {
		if _, err := webhook.ParseSchedule(bad); err == nil {
			t.Fatalf("ParseSchedule(%q) succeeded", bad)
		}
	}
}

func TestPublicAddr(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1": false, "127.1.2.3": false, "::1": false, "10.0.0.1": false, "172.16.5.4": false,
		"192.168.1.1": false, "169.254.169.254": false, "100.100.100.200": false, "fd00:ec2::254": false,
		"fe80::1": false, "0.0.0.0": false, "::": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false,
		"224.0.0.1": false, "255.255.255.255": false, "192.0.2.1": false, "64:ff9b::a00:1": false,
		"::127.0.0.1": false, "::ffff:0:7f00:1": false, "fec0::1": false, "2001:0:4136:e378:8000:63bf:3fff:fdd2": false,
		"2002:7f00:1::": false, "198.18.0.1": false,
		"8.8.8.8": true, "1.1.1.1": true, "93.184.216.34": true, "2606:4700:4700::1111": true, "::ffff:8.8.8.8": true,
	} {
		if got := webhook.PublicAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("PublicAddr(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url     string
		private bool
		code    omnicart.Code
	}{
		{"https://example.com/hook", false, ""},
		{"http://example.com:8080/hook?x=1", false, ""},
		{"http://127.0.0.1:9/hook", true, ""},
		{"http://localhost/hook", true, ""},
		{"http://127.0.0.1:9/hook", false, omnicart.CodeInvalidValue},
		{"http://localhost:9/hook", false, omnicart.CodeInvalidValue},
		{"http://api.localhost/hook", false, omnicart.CodeInvalidValue},
		{"http://[::1]/hook", false, omnicart.CodeInvalidValue},
		{"http://169.254.169.254/", false, omnicart.CodeInvalidValue},
		{"https://user:pw@example.com/", true, omnicart.CodeInvalidValue},
		{"https://example.com/#frag", true, omnicart.CodeInvalidValue},
		{"ftp://example.com/", true, omnicart.CodeInvalidFormat},
		{"example.com/hook", true, omnicart.CodeInvalidFormat},
		{"https://", true, omnicart.CodeInvalidFormat},
		{"https://exa mple.com/", true, omnicart.CodeInvalidFormat},
		{"https://example.com/" + strings.Repeat("a", 2048), true, omnicart.CodeInvalidFormat},
	} {
		err := webhook.CheckURL(tc.url, tc.private)
		if tc.code == "" {
			if err != nil {
				t.Errorf("CheckURL(%q, %v): %v", tc.url, tc.private, err)
			}
			continue
		}
		if got := omnicart.CodeOf(err); got != tc.code {
			t.Errorf("CheckURL(%q, %v) = %v, want %s", tc.url, tc.private, err, tc.code)
		}
	}
}

// TestClientRefusesPrivateAddressesAtConnect checks that the guard runs on
// the resolved address: an IP literal and a name that resolves to
// loopback are both refused by the default client, while a client that
// allows private addresses gets through.
func TestClientRefusesPrivateAddressesAtConnect(t *testing.T) {
	t.Parallel()
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	byName := "http://localhost:" + u.Port() + "/"
	guarded := webhook.NewClient(webhook.ClientOptions{})
	for _, target := range []string{srv.URL, byName} {
		resp, err := guarded.Post(target, "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: connected", target)
		}
		var be *webhook.BlockedAddressError
		if !errors.As(err, &be) || !errors.Is(err, webhook.ErrBlockedAddress) || !be.Addr.IsLoopback() {
			t.Fatalf("%s: %v", target, err)
		}
	}
	if hits != 0 {
		t.Fatalf("%d requests reached the server", hits)
	}
	open := webhook.NewClient(webhook.ClientOptions{AllowPrivate: true})
	resp, err := open.Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	followed := false
	mux := http.NewServeMux()
	mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) { followed = true })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := webhook.NewClient(webhook.ClientOptions{AllowPrivate: true}).Post(srv.URL+"/hook", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || followed {
		t.Fatalf("status %d, followed %v", resp.StatusCode, followed)
	}
}

func TestClientTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := webhook.NewClient(webhook.ClientOptions{AllowPrivate: true, Timeout: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("{}"))
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("a hanging receiver answered")
	}
}

// storedEvent marshals a domain event the way the store saves it.
func storedEvent(tb testing.TB, e omnicart.Event) []byte {
	tb.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestBuildPayload(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 4, 23, 18, 25, 43, 511_000_000, time.UTC)
	rem := int64(600)
	data := &omnicart.StatusView{CartID: "cart-0001", Currency: "XAU", TotalAmounts: omnicart.Amounts{Initiated: 250, Current: 0},
		Items: []map[string]omnicart.ItemView{{"pegasus": {PaymentStatus: omnicart.StatusCanceled,
			ItemAmounts: omnicart.Amounts{Initiated: 250}, PaymentSnapshot: omnicart.PaymentSnapshot{Amount: 250, Mode: omnicart.AmountDeclared}}}}}
	for _, tc := range []struct {
		name    string
		ev      omnicart.Event
		changes string
	}{
		{"payment", omnicart.Event{Type: omnicart.EventPaymentStatusChanged, CartID: "cart-0001", Sequence: 3, At: at, Data: data,
			Changes: []omnicart.Change{{ItemID: "pegasus", From: omnicart.StatusAuthorized, To: omnicart.StatusCanceled}}},
			`[{"itemId":"pegasus","from":"authorized","to":"canceled","itemAmounts":{"initiated":250,"captured":0,"refunded":0,"current":0}}]`},
		{"timer", omnicart.Event{Type: omnicart.EventTimerStatusChanged, CartID: "cart-0001", Sequence: 4, At: at, Data: data,
			Timers: []omnicart.TimerChange{{ItemID: "pegasus", From: omnicart.TimerPending, To: omnicart.TimerStarted, RemainingSecs: &rem},
				{ItemID: "naga", From: omnicart.TimerStarted, To: omnicart.TimerStopped}}},
			`[{"itemId":"pegasus","from":"pending","to":"started","remainingSecs":600},{"itemId":"naga","from":"started","to":"stopped","remainingSecs":null}]`},
		{"auto action", omnicart.Event{Type: omnicart.EventAutoActionPending, CartID: "cart-0001", Sequence: 5, At: at, Data: data,
			AutoActions: []omnicart.AutoActionNotice{{ItemID: "pegasus", AutoAction: omnicart.AutoCancel, DueAt: at.Add(time.Hour)}}},
			`[{"itemId":"pegasus","autoAction":"cancel","dueAt":"2025-04-23T19:25:43.511Z"}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, body, err := webhook.BuildPayload("mer_1", "cart-0001", storedEvent(t, tc.ev))
			if err != nil {
				t.Fatal(err)
			}
			dataJSON, _ := json.Marshal(data)
			want := `{"id":"` + id + `","type":"` + tc.ev.Type + `","createdAt":"2025-04-23T18:25:43.511Z","cartId":"cart-0001","sequence":` +
				jsonNumber(tc.ev.Sequence) + `,"changes":` + tc.changes + `,"data":` + string(dataJSON) + `}`
			if string(body) != want {
				t.Fatalf("payload\n got %s\nwant %s", body, want)
			}
			if id != webhook.EventID("mer_1", "cart-0001", tc.ev.Sequence) || !strings.HasPrefix(id, "evt_") || len(id) != 36 {
				t.Fatalf("id %q", id)
			}
		})
	}
	if webhook.EventID("mer_1", "cart-0001", 1) == webhook.EventID("mer_2", "cart-0001", 1) {
		t.Fatal("two merchants' events share an id")
	}
	if _, _, err := webhook.BuildPayload("m", "c", []byte(`{"type":"payment.refunded"}`)); err == nil {
		t.Fatal("an unknown type built")
	}
}
