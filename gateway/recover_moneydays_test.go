package gateway_test

import (
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/sqlite"
)

// TestRecoveredAuthorizationNotCountedAsAuthorized checks that an
// authorization Recover gives up (voided at the provider) is not counted
// as money authorized by the overview's roll-up: it is settled "voided",
// not "succeeded".
func TestRecoveredAuthorizationNotCountedAsAuthorized(t *testing.T) {
	ctx := t.Context()
	db, svc, _, gp, clk, m := rigDB(t)
	tok := initCart(t, svc, m, "cart-md-1")

	entered, release := make(chan struct{}), make(chan struct{})
	gp.afterAuthorize = func(op omnicart.Operation) { close(entered); <-release }
	done := make(chan error)
	go func() { _, err := svc.Pay(ctx, tok, visa); done <- err }()
	<-entered
	clk.Add(gateway.RecoverAfter + time.Second)
	if n, err := svc.Recover(ctx, gateway.RecoverAfter); n != 1 || err != nil {
		t.Fatalf("Recover: %d, %v", n, err)
	}
	close(release)
	<-done

	days, err := sqlite.NewPanel(db).MoneyDays(ctx, m.ID, clk.Now().Add(-48*time.Hour), clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	var authorized int64
	for _, d := range days {
		authorized += d.Authorized
	}
	c := load(t, svc, m, "cart-md-1")
	t.Logf("item status %s, money_days %+v", c.Items[0].Status, days)
	if authorized != 0 {
		t.Fatalf("money_days counts %d authorized for an authorization that was voided by recovery (item %s)", authorized, c.Items[0].Status)
	}
}
