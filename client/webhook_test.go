package client_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/webhook"
)

const (
	secretA = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secretB = "whsec_YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY="
	vecID   = "evt_ab16a9c38af89ae0ddf52d8f6c79a75f"
	vecTS   = 1745432743
	vecBody = `{"id":"evt_ab16a9c38af89ae0ddf52d8f6c79a75f","type":"payment.status_changed","createdAt":"2025-04-23T18:25:43.511Z","cartId":"6f891edb-1e1f-48bb-b042-2cb790a0f402","sequence":2,"changes":[{"itemId":"pegasus","from":"authorized","to":"canceled"}],"data":null}`
)

// webhookVectors were produced by webhook.Sign (the server's signer);
// TestWebhookVectorsMatchServer checks they still are.
var webhookVectors = []struct {
	secrets []string
	id      string
	ts      int64
	body    string
	header  string
}{
	{[]string{secretA}, vecID, vecTS, vecBody, "v1,jGBMXmTVw4sGuUvDQL06hdLJTlB+fWICBO9jGyzN6ug="},
	{[]string{secretB}, vecID, vecTS, vecBody, "v1,95bLc1xk+VnufiNISLlTAvNtdDwvYF/NivwObT26PwY="},
	// During a rotation's overlap: the new secret first, then the old.
	{[]string{secretB, secretA}, vecID, vecTS, vecBody,
		"v1,95bLc1xk+VnufiNISLlTAvNtdDwvYF/NivwObT26PwY= v1,jGBMXmTVw4sGuUvDQL06hdLJTlB+fWICBO9jGyzN6ug="},
	// The Standard Webhooks specification's own example.
	{[]string{secretA}, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, `{"test": 2432232314}`, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
}

func hookHeader(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set(client.HeaderWebhookID, id)
	h.Set(client.HeaderWebhookTimestamp, strconv.FormatInt(ts, 10))
	h.Set(client.HeaderWebhookSignature, sig)
	return h
}

func at(ts int64) func() time.Time { return func() time.Time { return time.Unix(ts, 0) } }

func TestWebhookVectorsMatchServer(t *testing.T) {
	for i, v := range webhookVectors {
		got, err := webhook.Sign(v.secrets, v.id, v.ts, []byte(v.body))
		if err != nil || got != v.header {
			t.Errorf("vector %d: webhook.Sign = %q, %v; the vector says %q", i, got, err, v.header)
		}
		mine, err := client.SignWebhook(v.id, v.ts, []byte(v.body), v.secrets...)
		if err != nil || mine != v.header {
			t.Errorf("vector %d: SignWebhook = %q, %v; want %q", i, mine, err, v.header)
		}
	}
}

func TestWebhookVerifyVectors(t *testing.T) {
	for i, v := range webhookVectors {
		h := hookHeader(v.id, v.ts, v.header)
		// Any one of the signing secrets verifies; so does a list holding
		// it among others (a receiver in the middle of its own rotation).
		for _, s := range v.secrets {
			vf := &client.WebhookVerifier{Secrets: []string{s}, Now: at(v.ts)}
			if err := vf.Verify(h, []byte(v.body)); err != nil {
				t.Errorf("vector %d with %s: %v", i, s, err)
			}
			vf.Secrets = []string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("another secret, not this one")), s}
			if err := vf.Verify(h, []byte(v.body)); err != nil {
				t.Errorf("vector %d with %s second: %v", i, s, err)
			}
		}
		// Another secret does not.
		other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
		vf := &client.WebhookVerifier{Secrets: []string{other}, Now: at(v.ts)}
		if err := vf.Verify(h, []byte(v.body)); !errors.Is(err, client.ErrWebhookSignature) {
			t.Errorf("vector %d with a foreign secret: %v", i, err)
		}
	}
}

// TestWebhookVerifyServerSigned: random messages signed by the server's
// signer verify, and any change to them does not.
func TestWebhookVerifyServerSigned(t *testing.T) {
	now := time.Now().Unix()
	for i := range 50 {
		secrets := []string{webhook.NewSecret()}
		if i%2 == 1 {
			secrets = append(secrets, webhook.NewSecret())
		}
		body := make([]byte, i*37)
		rand.Read(body)
		id := fmt.Sprintf("evt_%032x", i)
		sig, err := webhook.Sign(secrets, id, now, body)
		if err != nil {
			t.Fatal(err)
		}
		h := hookHeader(id, now, sig)
		if err := client.VerifyWebhook(h, body, secrets[len(secrets)-1]); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if err := client.VerifyWebhook(h, body, secrets...); err != nil {
			t.Fatalf("message %d, every secret: %v", i, err)
		}
		tampered := append(append([]byte(nil), body...), ' ')
		if err := client.VerifyWebhook(h, tampered, secrets...); !errors.Is(err, client.ErrWebhookSignature) {
			t.Fatalf("message %d with another body: %v", i, err)
		}
		if err := client.VerifyWebhook(hookHeader(id+"0", now, sig), body, secrets...); !errors.Is(err, client.ErrWebhookSignature) {
			t.Fatalf("message %d with another id: %v", i, err)
		}
		if err := client.VerifyWebhook(hookHeader(id, now-1, sig), body, secrets...); !errors.Is(err, client.ErrWebhookSignature) {
			t.Fatalf("message %d with another timestamp: %v", i, err)
		}
	}
}

func TestWebhookTimestampTolerance(t *testing.T) {
	v := webhookVectors[0]
	h := hookHeader(v.id, v.ts, v.header)
	for _, tc := range []struct {
		skew      time.Duration
		tolerance time.Duration
		ok        bool
	}{
		{0, 0, true},
		{4 * time.Minute, 0, true},
		{-4 * time.Minute, 0, true},
		{5 * time.Minute, 0, true},
		{5*time.Minute + time.Second, 0, false},  // too old
		{-5*time.Minute - time.Second, 0, false}, // from the future
		{time.Hour, 0, false},
		{50 * time.Second, time.Minute, true},
		{61 * time.Second, time.Minute, false},
		{30 * time.Minute, time.Hour, true},
	} {
		vf := &client.WebhookVerifier{Secrets: v.secrets, Tolerance: tc.tolerance,
			Now: func() time.Time { return time.Unix(v.ts, 0).Add(tc.skew) }}
		err := vf.Verify(h, []byte(v.body))
		switch {
		case tc.ok && err != nil:
			t.Errorf("skew %v tolerance %v: %v", tc.skew, tc.tolerance, err)
		case !tc.ok && !errors.Is(err, client.ErrWebhookTimestamp):
			t.Errorf("skew %v tolerance %v: %v, want ErrWebhookTimestamp", tc.skew, tc.tolerance, err)
		}
	}
}

func TestWebhookHeaders(t *testing.T) {
	v := webhookVectors[0]
	body := []byte(v.body)
	vf := &client.WebhookVerifier{Secrets: []string{secretA}, Now: at(v.ts)}
	sig := v.header
	for name, h := range map[string]http.Header{
		"no id":         {"Webhook-Timestamp": {strconv.Itoa(vecTS)}, "Webhook-Signature": {sig}},
		"no timestamp":  {"Webhook-Id": {vecID}, "Webhook-Signature": {sig}},
		"no signature":  {"Webhook-Id": {vecID}, "Webhook-Timestamp": {strconv.Itoa(vecTS)}},
		"bad timestamp": hookHeader(vecID, vecTS, sig).Clone(),
		"no v1 entry":   hookHeader(vecID, vecTS, "v1a,"+sig[3:]),
		"not base64":    hookHeader(vecID, vecTS, "v1,@@@@"),
	} {
		if name == "bad timestamp" {
			h.Set(client.HeaderWebhookTimestamp, "soon")
		}
		if err := vf.Verify(h, body); !errors.Is(err, client.ErrWebhookHeaders) {
			t.Errorf("%s: %v, want ErrWebhookHeaders", name, err)
		}
	}
	// Unknown schemes and broken entries next to a good one are skipped;
	// header names are case-insensitive.
	h := http.Header{}
	h["WEBHOOK-ID"] = []string{vecID}
	h.Set("Webhook-Timestamp", strconv.Itoa(vecTS))
	h.Set("webhook-signature", "v1a,AAAA v1,@@@ v2,"+sig[3:]+" v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))+"  "+sig)
	h2 := http.Header{}
	for k, vs := range h {
		for _, x := range vs {
			h2.Add(k, x)
		}
	}
	if err := vf.Verify(h2, body); err != nil {
		t.Errorf("mixed entries: %v", err)
	}
	// A secret without its prefix is the same secret.
	vf.Secrets = []string{secretA[len("whsec_"):]}
	if err := vf.Verify(hookHeader(vecID, vecTS, sig), body); err != nil {
		t.Errorf("secret without whsec_: %v", err)
	}
	// Broken secrets are reported as such.
	vf.Secrets = []string{"whsec_not base64!"}
	if err := vf.Verify(hookHeader(vecID, vecTS, sig), body); !errors.Is(err, client.ErrWebhookSecret) {
		t.Errorf("broken secret: %v", err)
	}
	if _, err := client.NewWebhookVerifier("whsec_not base64!"); !errors.Is(err, client.ErrWebhookSecret) {
		t.Errorf("NewWebhookVerifier with a broken secret: %v", err)
	}
	if _, err := client.NewWebhookVerifier(); !errors.Is(err, client.ErrWebhookSecret) {
		t.Errorf("NewWebhookVerifier without secrets: %v", err)
	}
	if err := (&client.WebhookVerifier{Now: at(vecTS)}).Verify(hookHeader(vecID, vecTS, sig), body); !errors.Is(err, client.ErrWebhookSecret) {
		t.Errorf("verifier without secrets: %v", err)
	}
}

func TestWebhookVerifyRequest(t *testing.T) {
	now := time.Now().Unix()
	sig, err := webhook.Sign([]string{secretB}, vecID, now, []byte(vecBody))
	if err != nil {
		t.Fatal(err)
	}
	vf, err := client.NewWebhookVerifier(secretB)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader([]byte(vecBody)))
	r.Header = hookHeader(vecID, now, sig)
	ev, err := vf.VerifyRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != vecID || ev.Type != client.EventPaymentStatusChanged || ev.Sequence != 2 || len(ev.Changes) != 1 ||
		ev.Changes[0].From != "authorized" || ev.Changes[0].To != "canceled" || ev.Data != nil || string(ev.Raw) != vecBody ||
		!ev.CreatedAt.Equal(time.Date(2025, 4, 23, 18, 25, 43, 511e6, time.UTC)) {
		t.Errorf("event %+v", ev)
	}
	r = httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader([]byte(vecBody+" ")))
	r.Header = hookHeader(vecID, now, sig)
	if _, err := vf.VerifyRequest(r); !errors.Is(err, client.ErrWebhookSignature) {
		t.Errorf("another body: %v", err)
	}
}
