package e2e_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/omnicart/omnicart/internal/e2e"
)

// TestIdempotencyKeyLookup: GET /idempotency-keys/{key} tells a merchant
// what its request under that key did and what it answered; other
// merchants' keys are not found; refusals that reached a use case are kept
// too.
func TestIdempotencyKeyLookup(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus")
	_, other := srv.Merchant("pegasus")
	const initBody = `{"cartId":"cart-lookup-1","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`
	first := idDo(t, srv, c.APIKey, "POST", "/init", "lookup-1", initBody)
	if first.status != 201 {
		t.Fatalf("init: %+v", first)
	}

	got := idDo(t, srv, c.APIKey, "GET", "/idempotency-keys/lookup-1", "", "")
	if got.status != 200 {
		t.Fatalf("look-up: %+v", got)
	}
	var env struct {
		Code string `json:"code"`
		Data struct {
			IdempotencyKey string          `json:"idempotencyKey"`
			Method         string          `json:"method"`
			Path           string          `json:"path"`
			HTTPStatus     int             `json:"httpStatus"`
			Code           string          `json:"code"`
			CreatedAt      string          `json:"createdAt"`
			Response       json.RawMessage `json:"response"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(got.body), &env); err != nil {
		t.Fatal(err)
	}
	d := env.Data
	if env.Code != "000000" || d.IdempotencyKey != "lookup-1" || d.Method != "POST" || d.Path != "/init" ||
		d.HTTPStatus != 201 || d.Code != "000000" || d.CreatedAt == "" {
		t.Fatalf("look-up answer: %s", got.body)
	}
	var stored, original any
	_ = json.Unmarshal(d.Response, &stored)
	_ = json.Unmarshal([]byte(first.body), &original)
	if b1, b2 := mustJSON(t, stored), mustJSON(t, original); b1 != b2 {
		t.Fatalf("stored response differs from the answer given:\n%s\n%s", b1, b2)
	}

	// A refusal (the cart exists) under another key is kept as well.
	if r := idDo(t, srv, c.APIKey, "POST", "/init", "lookup-2", initBody); r.status != 409 {
		t.Fatalf("second init: %+v", r)
	}
	if r := idDo(t, srv, c.APIKey, "GET", "/idempotency-keys/lookup-2", "", ""); r.status != 200 ||
		!strings.Contains(r.body, `"httpStatus":409`) || !strings.Contains(r.body, `"code":"124101"`) {
		t.Fatalf("look-up of the refusal: %+v", r)
	}
	// Unknown keys, and keys of another merchant, are not found.
	for _, tc := range []struct{ key, apiKey string }{{"never-used", c.APIKey}, {"lookup-1", other.APIKey}} {
		if r := idDo(t, srv, tc.apiKey, "GET", "/idempotency-keys/"+tc.key, "", ""); r.status != 404 || !strings.Contains(r.body, `"199001"`) {
			t.Fatalf("look-up of %s: %+v", tc.key, r)
		}
	}
	if r := idDo(t, srv, "", "GET", "/idempotency-keys/lookup-1", "", ""); r.status != 401 {
		t.Fatalf("look-up without a key: %+v", r)
	}
}

// TestIdempotentAnswersSealed: the stored answer of an /init carries the
// payment link; the database (file and WAL, or tables) must not contain its
// token in clear. The answer key file is beside the database path (on
// PostgreSQL, where the harness puts it).
func TestIdempotentAnswersSealed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "sealed.db")
	srv := e2e.StartOn(t, db)
	_, c := srv.Merchant("pegasus")
	r := idDo(t, srv, c.APIKey, "POST", "/init", "sealed-1",
		`{"cartId":"cart-sealed-1","currency":"EUR","items":[{"pegasus":{"amount":250}}]}`)
	var env struct {
		Data struct {
			PaymentURL string `json:"paymentUrl"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.body), &env); err != nil || env.Data.PaymentURL == "" {
		t.Fatalf("init: %+v", r)
	}
	token := env.Data.PaymentURL[strings.LastIndex(env.Data.PaymentURL, "/")+1:]
	srv.Stop()
	for name, b := range srv.Stored(t) {
		if strings.Contains(string(b), token) {
			t.Fatalf("%s holds the payment token in clear", name)
		}
	}
	if _, err := os.Stat(db + ".key"); err != nil {
		t.Fatalf("the answer key file: %v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
