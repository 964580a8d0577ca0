package gateway_test

import (
	"encoding/json"
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

// TestActorRecordedWithTheRequestsEvents: the actor a request's context
// carries (gateway.WithActor) is stored with the events the request made
// (a cart's creation, a capture), never with those of the deadlines that
// fired before it (a capture window that ran out, a test clock's advance)
// nor with a customer's payment; with a local provider and with a remote
// one, whose capture settles after the change committed.
func TestActorRecordedWithTheRequestsEvents(t *testing.T) {
	for _, remote := range []bool{false, true} {
		name := "local provider"
		if remote {
			name = "remote provider"
		}
		t.Run(name, func(t *testing.T) { testActorRecorded(t, remote) })
	}
}

func testActorRecorded(t *testing.T, remote bool) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	iss := sandbox.New(sqlite.NewLedger(db), []byte("k"))
	var p omnicart.Provider = iss
	if remote {
		p = &gatedProvider{remoteIssuer: iss}
	}
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	svc := &gateway.Service{Store: sqlite.NewStore(db),
		Provider: func(*omnicart.Merchant) (omnicart.Provider, error) { return p, nil },
		Now:      clk.Now, KeyPepper: []byte("p"), AnswerKey: make([]byte, 32),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	priv := omnicart.AllPrivileges()
	priv.CaptureMinSecs = 1
	m, _, err := svc.CreateMerchant(ctx, gateway.NewMerchant{Name: "x", Mode: omnicart.ModeTest, Privileges: priv,
		Items: []omnicart.CatalogItem{{ItemID: "pegasus"}, {ItemID: "naga"}, {ItemID: "lich"}}})
	if err != nil {
		t.Fatal(err)
	}
	key, user := omnicart.KeyActor("ock_test_AbCdEfGh"), omnicart.PanelActor("ada@shop.example")
	two, cancel := true, omnicart.AutoCancel
	window := func(secs int64) omnicart.Level {
		return omnicart.Level{Capture: &two, AutoAction: &cancel, WindowSecs: &secs}
	}
	// pegasus's timer starts with the cart: its creation has an event.
	timed := window(600)
	on, trigger, long := true, "initiated", int64(100000)
	timed.EnableTimer, timed.Trigger, timed.TimerValue = &on, &trigger, &long
	res, err := svc.Init(gateway.WithActor(ctx, key), m, &omnicart.InitSpec{CartID: "cart-actor-1", Currency: "EUR", CustomerID: "cus-1",
		Items: []omnicart.ItemSpec{
			{ID: "pegasus", Amount: 700, Level: timed},
			{ID: "naga", Amount: 300, Level: window(3600)},
			{ID: "lich", Amount: 200, Level: window(5400)},
		}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	created := res.Cart.Sequence
	if created == 0 {
		t.Fatal("creating the cart produced no event")
	}
	if pay, err := svc.Pay(ctx, res.PayToken, visa); err != nil || pay.Result != gateway.ResultAuthorized {
		t.Fatalf("pay: %+v, %v", pay, err)
	}
	// pegasus's window has run out; no scheduler ran. The capture of naga
	// fires pegasus's auto-cancel first.
	clk.Add(601 * time.Second)
	if _, err := svc.Act(gateway.WithActor(ctx, key), m, omnicart.ActionCapture, "cart-actor-1",
		omnicart.Filter{ItemIDs: []string{"naga"}}, nil); err != nil {
		t.Fatal(err)
	}
	// A Panel user advances the test clock past lich's window: the
	// deadline's auto-cancel is not the user's.
	if _, err := svc.AdvanceClock(gateway.WithActor(ctx, user), m, 2*time.Hour); err != nil {
		t.Fatal(err)
	}

	last := load(t, svc, m, "cart-actor-1").Sequence
	var actors map[int64]omnicart.Actor
	if err := svc.Store.View(ctx, func(tx omnicart.Tx) error {
		actors, err = tx.EventActors(ctx, m.ID, "cart-actor-1", 1, last)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	evs, err := sqlite.NewCallbacks(db).ClaimOutbox(ctx, "test", clk.Now(), clk.Now().Add(time.Hour), 100)
	if err != nil || int64(len(evs)) != last {
		t.Fatalf("outbox: %d events (%v), the cart has %d", len(evs), err, last)
	}
	captured := false
	for _, ev := range evs {
		var body omnicart.Event
		if err := json.Unmarshal(ev.Body, &body); err != nil {
			t.Fatal(err)
		}
		var want omnicart.Actor
		for _, ch := range body.Changes {
			if ch.ItemID == "naga" && ch.From != omnicart.StatusInitiated {
				want = key // the capture and its settlement
				captured = captured || ch.To == omnicart.StatusCaptured
			}
		}
		if ev.Sequence <= created {
			want = key
		}
		if got := actors[ev.Sequence]; got != want {
			t.Errorf("event %d (%s %s) recorded by %q, want %q", ev.Sequence, ev.Type, ev.Body, got, want)
		}
	}
	if !captured {
		t.Error("no event shows naga captured")
	}
}
