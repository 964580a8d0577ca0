package e2e_test

import (
	"fmt"
	"testing"

	"github.com/omnicart/omnicart/internal/e2e"
)

// TestCallbackEndpointLimit: a merchant may register at most 20 callback
// endpoints; the 21st is refused with 123003 and nothing is stored.
func TestCallbackEndpointLimit(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t)
	_, c := srv.Merchant("pegasus")
	for i := range 20 {
		cbCall(t, c, "POST", "/callbacks/endpoints", map[string]any{"url": fmt.Sprintf("https://hooks.example.com/h%d", i)}, 201, "000000")
	}
	res := cbCall(t, c, "POST", "/callbacks/endpoints", map[string]any{"url": "https://hooks.example.com/one-too-many"}, 400, "123003")
	if res.Message != "endpoints has invalid value" {
		t.Fatalf("message %q", res.Message)
	}
	list := cbCall(t, c, "GET", "/callbacks/endpoints", nil, 200, "000000")
	var data struct {
		Endpoints []map[string]any `json:"endpoints"`
	}
	if err := list.Decode(&data); err != nil || len(data.Endpoints) != 20 {
		t.Fatalf("endpoints listed: %d %v %s", len(data.Endpoints), err, list.Raw)
	}
	// Another merchant is not affected by the first one's endpoints.
	_, other := srv.Merchant("pegasus")
	cbCall(t, other, "POST", "/callbacks/endpoints", map[string]any{"url": "https://hooks.example.com/other"}, 201, "000000")
}
