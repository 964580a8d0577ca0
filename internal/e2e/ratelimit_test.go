package e2e_test

import (
	"context"
	"testing"

	"github.com/omnicart/omnicart/client"
	"github.com/omnicart/omnicart/internal/e2e"
)

// TestRateLimit: with --rate-limit 1 a key gets a burst of 10 requests, then
// 429 199002 with Retry-After; another key is not affected.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	srv := e2e.Start(t, "--rate-limit", "1")
	_, c := srv.Merchant("pegasus")
	_, other := srv.Merchant("pegasus")
	ctx := context.Background()
	for i := range 10 {
		res, err := c.Raw().Status(ctx, "cart-missing-1", client.StatusQuery{})
		if err != nil || res.Code != "123001" {
			t.Fatalf("request %d: %v %s", i, err, res.Raw)
		}
	}
	res, err := c.Raw().Status(ctx, "cart-missing-1", client.StatusQuery{})
	if err != nil || res.Status != 429 || res.Code != "199002" || res.Message != "Too many requests" || res.Header.Get("Retry-After") == "" {
		t.Fatalf("11th request: %v %d %s %q", err, res.Status, res.Raw, res.Header.Get("Retry-After"))
	}
	if res, _ := other.Raw().Status(ctx, "cart-missing-1", client.StatusQuery{}); res.Code != "123001" {
		t.Fatalf("another key was limited: %s", res.Raw)
	}
}
