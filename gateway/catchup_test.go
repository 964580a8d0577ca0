package gateway_test

import (
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/sandbox"
	"github.com/omnicart/omnicart/sqlite"
)

// TestRefusalAfterCatchUpKeepsWhatFired: a capture arrives after the
// item's capture window ran out, before the scheduler fired its auto-cancel.
// The request fires the auto-cancel first, commits it (cart, operation,
// ledger together), and then refuses the capture (124114). The cart says
// canceled, the hold is released exactly once, the release is recorded and
// settled, and the next scheduler pass has nothing left to fire.
func TestRefusalAfterCatchUpKeepsWhatFired(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	iss := sandbox.New(sqlite.NewLedger(db), []byte("k"))
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	svc := &gateway.Service{Store: sqlite.NewStore(db),
		Provider:  func(*omnicart.Merchant) (omnicart.Provider, error) { return iss, nil },
		Now:       clk.Now,
		KeyPepper: []byte("p"),
		AnswerKey: make([]byte, 32),
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil))}
	priv := omnicart.AllPrivileges()
	priv.CaptureMinSecs = 1
	m, _, err := svc.CreateMerchant(ctx, gateway.NewMerchant{Name: "x", Mode: omnicart.ModeTest, Privileges: priv,
		Items: []omnicart.CatalogItem{{ItemID: "pegasus", DisplayName: "P"}}})
	if err != nil {
		t.Fatal(err)
	}
	two, cancel, window := true, omnicart.AutoCancel, int64(600)
	tok := initCart(t, svc, m, "cart-catchup-1", omnicart.ItemSpec{ID: "pegasus", Amount: 700,
		Level: omnicart.Level{Capture: &two, AutoAction: &cancel, WindowSecs: &window}})
	res, err := svc.Pay(ctx, tok, visa)
	if err != nil || res.Result != gateway.ResultAuthorized {
		t.Fatalf("pay: %+v, %v", res, err)
	}
	authRef := load(t, svc, m, "cart-catchup-1").AuthRef
	if held, err := iss.Held(ctx, authRef); err != nil || held != 700 {
		t.Fatalf("held after payment: %d, %v", held, err)
	}

	clk.Add(time.Duration(window+1) * time.Second) // the window ran out; no scheduler ran
	_, err = svc.Act(ctx, m, omnicart.ActionCapture, "cart-catchup-1", omnicart.Filter{}, nil)
	var de *omnicart.Error
	if !errors.As(err, &de) || de.Problems[0].Code != omnicart.CodeNoneAuthorized {
		t.Fatalf("capture after the window: %v, want 124114", err)
	}

	c := load(t, svc, m, "cart-catchup-1")
	if st := c.Items[0].Status; st != omnicart.StatusCanceled || c.Items[0].Pending != nil {
		t.Fatalf("item after the refused capture: %s (pending %+v), want canceled and settled", st, c.Items[0].Pending)
	}
	if held, err := iss.Held(ctx, authRef); err != nil || held != 0 {
		t.Fatalf("hold after the auto-cancel: %d, %v; want 0", held, err)
	}
	bs, err := iss.Balances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sandbox.CheckBalances(bs); err != nil {
		t.Fatal(err)
	}
	// The release was recorded and settled in the same commit: nothing is
	// left for recovery, whatever its age.
	var open []omnicart.Operation
	if err := svc.Store.View(ctx, func(tx omnicart.Tx) error {
		var err error
		open, err = tx.UnfinishedOperations(ctx, clk.Now().Add(time.Hour), 10)
		return err
	}); err != nil || len(open) != 0 {
		t.Fatalf("unsettled operations: %+v, %v", open, err)
	}
	if n, err := svc.Recover(ctx, 0); n != 0 || err != nil {
		t.Fatalf("Recover: %d, %v; want nothing to do", n, err)
	}
	if n, err := svc.FireDue(ctx, 100); n != 0 || err != nil {
		t.Fatalf("next scheduler pass fired %d carts (%v); want 0", n, err)
	}
	if held, _ := iss.Held(ctx, authRef); held != 0 || load(t, svc, m, "cart-catchup-1").Items[0].Status != omnicart.StatusCanceled {
		t.Fatal("the scheduler pass changed the cart or the hold")
	}
}
