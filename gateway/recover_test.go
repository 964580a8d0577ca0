package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/sandbox"
	"github.com/omnicart/omnicart/sqlite"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// remoteIssuer is the sandbox issuer seen as a provider across a network:
// without In, so the gateway runs its operations around the transaction
// (recorded, called, settled), which these tests exercise.
type remoteIssuer interface {
	omnicart.Provider
	omnicart.Challenger
}

// gatedProvider wraps the issuer; hooks let a test stop a call midway.
type gatedProvider struct {
	remoteIssuer
	afterAuthorize func(op omnicart.Operation)
	capture        func(op omnicart.Operation) error
}

func (g *gatedProvider) Authorize(ctx context.Context, req omnicart.AuthorizeRequest) (omnicart.Authorization, error) {
	a, err := g.remoteIssuer.Authorize(ctx, req)
	if g.afterAuthorize != nil {
		g.afterAuthorize(req.Operation)
	}
	return a, err
}

func (g *gatedProvider) Capture(ctx context.Context, op omnicart.Operation) error {
	if g.capture != nil {
		if err := g.capture(op); err != nil {
			return err
		}
	}
	return g.remoteIssuer.Capture(ctx, op)
}

func rig(t *testing.T) (*gateway.Service, *sandbox.Issuer, *gatedProvider, *clock, *omnicart.Merchant) {
	_, svc, iss, gp, clk, m := rigDB(t)
	return svc, iss, gp, clk, m
}

// rigDB is rig with its database.
func rigDB(t *testing.T) (*sqlite.DB, *gateway.Service, *sandbox.Issuer, *gatedProvider, *clock, *omnicart.Merchant) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	iss := sandbox.New(sqlite.NewLedger(db), []byte("k"))
	gp := &gatedProvider{remoteIssuer: iss}
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	svc := &gateway.Service{Store: sqlite.NewStore(db),
		Provider:  func(m *omnicart.Merchant) (omnicart.Provider, error) { return gp, nil },
		Now:       clk.Now,
		KeyPepper: []byte("p"),
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil))}
	m, _, err := svc.CreateMerchant(ctx, gateway.NewMerchant{Name: "x", Mode: omnicart.ModeTest,
		Privileges: omnicart.AllPrivileges(), Items: []omnicart.CatalogItem{{ItemID: "pegasus", DisplayName: "P"}, {ItemID: "naga", DisplayName: "N"}}})
	if err != nil {
		t.Fatal(err)
	}
	return db, svc, iss, gp, clk, m
}

func initCart(t *testing.T, svc *gateway.Service, m *omnicart.Merchant, id string, items ...omnicart.ItemSpec) string {
	if len(items) == 0 {
		items = []omnicart.ItemSpec{{ID: "pegasus", Amount: 1000}}
	}
	res, err := svc.Init(t.Context(), m, &omnicart.InitSpec{CartID: id, Currency: "EUR", Items: items}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.PayToken
}

func load(t *testing.T, svc *gateway.Service, m *omnicart.Merchant, id string) *omnicart.Cart {
	var c *omnicart.Cart
	if err := svc.Store.View(t.Context(), func(tx omnicart.Tx) error {
		var err error
		c, err = tx.Cart(t.Context(), m.ID, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

var visa = omnicart.Card{Number: "4111111111111111", Expiry: "12/39", CVC: "123", Holder: "A"}

// TestRecoverRacesLiveAuthorization: Recover gives up a slow live
// authorization (voiding it) and the customer pays again; when the slow call
// finally answers, nothing of it applies and no money stays held.
func TestRecoverRacesLiveAuthorization(t *testing.T) {
	svc, iss, gp, clk, m := rig(t)
	ctx := t.Context()
	tok := initCart(t, svc, m, "cart-race-1")

	entered, release := make(chan omnicart.Operation), make(chan struct{})
	var first sync.Mutex
	firstDone := false
	gp.afterAuthorize = func(op omnicart.Operation) {
		first.Lock()
		f := !firstDone
		firstDone = true
		first.Unlock()
		if f {
			entered <- op
			<-release
		}
	}
	type out struct {
		r   *gateway.PayResult
		err error
	}
	done := make(chan out)
	go func() { r, err := svc.Pay(ctx, tok, visa); done <- out{r, err} }()
	op1 := <-entered
	clk.Add(gateway.RecoverAfter + time.Second) // the live provider call is very slow
	if n, err := svc.Recover(ctx, gateway.RecoverAfter); n != 1 || err != nil {
		t.Fatalf("Recover: %d, %v", n, err)
	}

	// The customer pays again meanwhile (page shows it as payable).
	r2, err := svc.Pay(ctx, tok, visa)
	if err != nil {
		t.Fatal(err)
	}
	c := load(t, svc, m, "cart-race-1")
	op2 := c.AuthRef
	if r2.Result != gateway.ResultAuthorized {
		t.Fatalf("second payment: %+v", r2)
	}

	close(release)
	o := <-done
	if o.err != nil || o.r.Result != gateway.ResultExpired {
		t.Fatalf("the late first payment must not apply: %+v %v", o.r, o.err)
	}
	c = load(t, svc, m, "cart-race-1")
	if c.AuthRef != op2 || c.Items[0].Status != omnicart.StatusAuthorized {
		t.Fatalf("the late answer changed the cart: AuthRef %s (want %s), item %s", c.AuthRef, op2, c.Items[0].Status)
	}
	if h1, _ := iss.Held(ctx, op1.OpID); h1 != 0 {
		t.Fatalf("the voided first hold still holds %d", h1)
	}
	ids, err := svc.Act(ctx, m, omnicart.ActionCapture, "cart-race-1", omnicart.Filter{}, nil)
	if err != nil || len(ids) != 1 {
		t.Fatalf("capture: %v %v", ids, err)
	}
	c = load(t, svc, m, "cart-race-1")
	mb, _ := iss.MerchantBalance(ctx, m.ID, "EUR")
	h2, _ := iss.Held(ctx, op2)
	if c.Items[0].ReportedStatus() != omnicart.StatusCompleted || mb != 1000 || h2 != 0 {
		t.Fatalf("after capture: item %s, merchant balance %d, hold %d", c.Items[0].ReportedStatus(), mb, h2)
	}
	if err := iss.CheckInvariants(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRefusedAndTransientProviderFailures: a final refusal (ErrRefused)
// settles the operation as failed at once (the item is authorized again and
// the merchant gets an error); a transient failure leaves the item ongoing,
// the request succeeds, and Recover settles it later — also when many
// refused operations came before it.
func TestRefusedAndTransientProviderFailures(t *testing.T) {
	svc, _, gp, clk, m := rig(t)
	ctx := t.Context()
	mode := map[string]string{}
	var mu sync.Mutex
	gp.capture = func(op omnicart.Operation) error {
		mu.Lock()
		defer mu.Unlock()
		switch mode[op.CartID] {
		case "refuse":
			return fmt.Errorf("%w: acquirer said no", omnicart.ErrRefused)
		case "transient":
			return errors.New("acquirer: connection reset")
		}
		return nil
	}
	set := func(id, m string) { mu.Lock(); mode[id] = m; mu.Unlock() }
	for i := range 101 {
		id := fmt.Sprintf("cart-hol-%03d", i)
		tok := initCart(t, svc, m, id)
		if _, err := svc.Pay(ctx, tok, visa); err != nil {
			t.Fatal(err)
		}
		if i < 100 {
			set(id, "refuse")
			if _, err := svc.Act(ctx, m, omnicart.ActionCapture, id, omnicart.Filter{}, nil); !errors.Is(err, omnicart.ErrRefused) {
				t.Fatalf("%s: refused capture returned %v", id, err)
			}
			if st := load(t, svc, m, id).Items[0].ReportedStatus(); st != omnicart.StatusAuthorized {
				t.Fatalf("%s: after a refused capture the item is %s, want authorized", id, st)
			}
		} else {
			set(id, "transient")
			ids, err := svc.Act(ctx, m, omnicart.ActionCapture, id, omnicart.Filter{}, nil)
			if err != nil || len(ids) != 1 {
				t.Fatalf("transient failure after commit: ids %v, err %v", ids, err)
			}
			if st := load(t, svc, m, id).Items[0].ReportedStatus(); st != omnicart.StatusOngoing {
				t.Fatalf("after a transient failure the item is %s, want ongoing", st)
			}
		}
		clk.Add(time.Millisecond)
	}
	set("cart-hol-100", "")
	if n, err := svc.Recover(ctx, gateway.RecoverAfter); n != 0 || err != nil {
		t.Fatalf("Recover before RecoverAfter: %d, %v", n, err)
	}
	clk.Add(gateway.RecoverAfter + time.Second)
	if n, err := svc.Recover(ctx, gateway.RecoverAfter); n != 1 || err != nil {
		t.Fatalf("Recover: %d settled, %v", n, err)
	}
	c := load(t, svc, m, "cart-hol-100")
	if st := c.Items[0].ReportedStatus(); st != omnicart.StatusCompleted || c.Items[0].Captured != 1000 {
		t.Fatalf("cart-hol-100 after recovery: %s captured %d", st, c.Items[0].Captured)
	}
}

// TestCatchUpFiresEveryDueDeadline: a request on a cart fires every
// deadline that is due first, however many items the cart has, so a
// merchant cannot capture items whose auto-cancel is already due.
func TestCatchUpFiresEveryDueDeadline(t *testing.T) {
	svc, _, _, clk, m := rig(t)
	ctx := t.Context()
	var items []omnicart.ItemSpec
	ids := []string{}
	cat := []omnicart.CatalogItem{}
	for i := range 70 {
		id := fmt.Sprintf("it%02d", i)
		ids = append(ids, id)
		cat = append(cat, omnicart.CatalogItem{ItemID: id, DisplayName: id})
		items = append(items, omnicart.ItemSpec{ID: id, Amount: 100, Level: omnicart.Level{WindowSecs: ptr(int64(600 + i))}})
	}
	if err := svc.Store.Tx(ctx, func(tx omnicart.Tx) error { return tx.PutCatalogItems(ctx, m.ID, cat) }); err != nil {
		t.Fatal(err)
	}
	tok := initCart(t, svc, m, "cart-many", items...)
	if r, err := svc.Pay(ctx, tok, visa); err != nil || r.Result != "authorized" {
		t.Fatal(r, err)
	}
	clk.Add(2 * time.Hour) // every window (600..669 s) is over; scheduler has not run yet
	got, err := svc.Act(ctx, m, omnicart.ActionCapture, "cart-many", omnicart.Filter{}, nil)
	t.Logf("capture after every window ran out: captured %d items %v, err %v", len(got), got, err)
	if len(got) > 0 || omnicart.CodeOf(err) != omnicart.CodeNoneAuthorized {
		t.Errorf("%d items captured although their auto-cancel was due (err %v)", len(got), err)
	}
}
