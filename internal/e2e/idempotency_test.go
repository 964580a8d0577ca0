package e2e_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/omnicart/omnicart/internal/e2e"
)

type idResp struct {
	status   int
	replayed string
	body     string
}

func idDo(tb testing.TB, srv *e2e.Server, key, method, path, idemKey, body string) idResp {
	tb.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Api-Access-Token", key)
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return idResp{resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), string(b)}
}

// TestIdempotencyKey: the same Idempotency-Key with the same request
// replays the stored response; with another request it is 124190.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus")
	_, other := srv.Merchant("pegasus")
	const initBody = `{"cartId":"cart-idem-1","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`

	first := idDo(t, srv, c.APIKey, "POST", "/init", "key-1", initBody)
	again := idDo(t, srv, c.APIKey, "POST", "/init", "key-1", initBody)
	if first.status != 201 || first.replayed != "" {
		t.Fatalf("first init: %+v", first)
	}
	if again.status != 201 || again.replayed != "true" || again.body != first.body {
		t.Fatalf("replayed init differs:\n first %+v\n again %+v", first, again)
	}
	// Without the key the cart exists: only one was created.
	if r := idDo(t, srv, c.APIKey, "POST", "/init", "", initBody); r.status != 409 || !strings.Contains(r.body, `"124101"`) {
		t.Fatalf("plain init after the keyed one: %+v", r)
	}
	// The same key with another body.
	r := idDo(t, srv, c.APIKey, "POST", "/init", "key-1", strings.Replace(initBody, "250", "260", 1))
	if r.status != 409 || !strings.Contains(r.body, `"code":"124190","message":"Idempotency-Key reused with a different request"`) {
		t.Fatalf("reused key: %+v", r)
	}
	// Keys are per merchant.
	if r := idDo(t, srv, other.APIKey, "POST", "/init", "key-1", initBody); r.status != 201 || r.replayed != "" {
		t.Fatalf("another merchant's key-1: %+v", r)
	}
	// A replayed capture answers what the first one did, not 124114.
	url := tmInit(t, c, `{"cartId":"cart-idem-2","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`)
	tmPay(t, c, url)
	cap1 := idDo(t, srv, c.APIKey, "POST", "/capture", "cap-1", `{"cartId":"cart-idem-2"}`)
	cap2 := idDo(t, srv, c.APIKey, "POST", "/capture", "cap-1", `{"cartId":"cart-idem-2"}`)
	if cap1.status != 200 || cap2.status != 200 || cap2.replayed != "true" || !strings.Contains(cap2.body, `"itemIds":["pegasus"]`) {
		t.Fatalf("captures:\n%+v\n%+v", cap1, cap2)
	}
	// A malformed key.
	if r := idDo(t, srv, c.APIKey, "POST", "/init", strings.Repeat("k", 256), initBody); r.status != 400 || !strings.Contains(r.body, "Idempotency-Key has invalid format") {
		t.Fatalf("long key: %+v", r)
	}
}

// TestIdempotencyKeyConcurrent: concurrent requests with one key create one
// cart; the others replay it or are told the first is still running.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus")
	const body = `{"cartId":"cart-idem-3","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`
	var wg sync.WaitGroup
	out := make([]idResp, 20)
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = idDo(t, srv, c.APIKey, "POST", "/init", "key-c", body)
		}()
	}
	wg.Wait()
	created := 0
	for _, r := range out {
		switch {
		case r.status == 201 && r.replayed == "":
			created++
		case r.status == 201 && r.replayed == "true":
		case r.status == 409 && strings.Contains(r.body, `"124191"`):
		default:
			t.Fatalf("unexpected answer: %+v", r)
		}
	}
	if created != 1 {
		t.Fatalf("%d requests created the cart", created)
	}
}
