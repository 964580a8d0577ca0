package gateway_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/httpapi"
)

// F1: remote provider refuses a capture that runs after the commit. The
// answer hook stored the success answer in the transaction; the live answer
// is 500; the retry under the same key replays 200 — for a capture that
// did not happen.
func TestF1RemoteRefusalStoredAsSuccess(t *testing.T) {
	r := newRig(t, "remote")
	tok := r.initCart(t, "cart-idem-1", twoStep("pegasus", 1000, 600, omnicart.AutoCancel))
	if res, err := r.svc.Pay(t.Context(), tok, visa); err != nil || res.Result != gateway.ResultAuthorized {
		t.Fatalf("pay: %+v %v", res, err)
	}
	r.k.refuseCapture.Store(true)
	srv := httptest.NewServer((&httpapi.Server{Service: r.svc, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicURL: "http://x"}).Handler())
	defer srv.Close()
	post := func() (int, string, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/capture", strings.NewReader(`{"cartId":"cart-idem-1"}`))
		req.Header.Set("Api-Access-Token", r.key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "k-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), string(b)
	}
	s1, _, b1 := post()
	s2, rep, b2 := post()
	c := r.load(t, "cart-idem-1")
	t.Logf("first answer: %d %s", s1, b1)
	t.Logf("retry answer: %d replayed=%q %s", s2, rep, b2)
	t.Logf("item status after: %s pending=%v; captures tried=%d", c.Items[0].Status, c.Items[0].Pending, r.k.captures.Load())
	if s1 != s2 {
		t.Errorf("BUG: same key, different answers: %d then %d (replayed=%s); item is %s", s1, s2, rep, c.Items[0].Status)
	}
}

// F2 (remote): a refused auto-action leaves its deadline due: every
// scheduler pass fires it again (a new operation each time), and
// AdvanceClock loops until its context ends.
func TestF2RefusedAutoActionRefiresForever(t *testing.T) {
	r := newRig(t, "remote")
	tok := r.initCart(t, "cart-refire-1", twoStep("pegasus", 1000, 600, omnicart.AutoCancel))
	if res, err := r.svc.Pay(t.Context(), tok, visa); err != nil || res.Result != gateway.ResultAuthorized {
		t.Fatalf("pay: %+v %v", res, err)
	}
	r.k.refuseRelease.Store(true)
	r.clk.Add(601 * time.Second)
	for i := range 5 {
		n, err := r.svc.FireDue(t.Context(), 100)
		t.Logf("FireDue pass %d: n=%d err=%v", i, n, err)
	}
	t.Logf("releases sent after 5 passes: %d", r.k.releases.Load())
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	before := r.k.releases.Load()
	start := time.Now()
	_, err := r.svc.AdvanceClock(ctx, r.m, time.Second)
	t.Logf("AdvanceClock returned after %v with %v; releases sent meanwhile: %d", time.Since(start).Round(time.Millisecond), err, r.k.releases.Load()-before)
	if r.k.releases.Load() > 5 {
		t.Errorf("BUG: one refused auto-cancel was sent %d times", r.k.releases.Load())
	}
}

// F2/F5 (local): the catch-up of any request fires the refused auto-action
// 3n+8 times, and its refusal replaces the request's own (committed) result.
func TestF5CatchUpRefusalHijacksCommittedAction(t *testing.T) {
	r := newRig(t, "local")
	tok := r.initCart(t, "cart-hijack-1", twoStep("pegasus", 1000, 600, omnicart.AutoCancel), twoStep("naga", 500, 100000, omnicart.AutoCancel))
	if res, err := r.svc.Pay(t.Context(), tok, visa); err != nil || res.Result != gateway.ResultAuthorized {
		t.Fatalf("pay: %+v %v", res, err)
	}
	r.k.refuseRelease.Store(true)
	r.clk.Add(601 * time.Second)
	ids, err := r.svc.Act(t.Context(), r.m, omnicart.ActionCapture, "cart-hijack-1", omnicart.Filter{ItemIDs: []string{"naga"}}, nil)
	c := r.load(t, "cart-hijack-1")
	t.Logf("Act capture naga: ids=%v err=%v", ids, err)
	t.Logf("after: pegasus=%s naga=%s; releases tried in one request=%d", c.Items[0].Status, c.Items[1].ReportedStatus(), r.k.releases.Load())
	if err != nil && c.Items[1].ReportedStatus() == omnicart.StatusCompleted {
		t.Errorf("BUG: the capture committed (naga completed, money moved) but the request failed with %v", err)
	}
	if mb, _ := r.iss.MerchantBalance(t.Context(), r.m.ID, "EUR"); mb != 500 {
		t.Errorf("merchant balance %d", mb)
	}
}

// F3: a refusal decided on an earlier unit's uncommitted writes survives
// the batch's commit failure, and its answer is stored under the key in a
// transaction of its own.
func TestF3RefusalOnPhantomStateSurvivesCommitFailure(t *testing.T) {
	r := newRig(t, "sandbox")
	ctx := t.Context()
	tok := r.initCart(t, "cart-phantom-1", twoStep("pegasus", 1000, 600, omnicart.AutoCancel))
	if res, err := r.svc.Pay(ctx, tok, visa); err != nil || res.Result != gateway.ResultAuthorized {
		t.Fatalf("pay: %+v %v", res, err)
	}
	block, started := make(chan struct{}), make(chan struct{})
	go r.db.WriteTx(ctx, func(tx *sql.Tx) error { close(started); <-block; return nil })
	<-started
	errA, errB, errP := make(chan error, 1), make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := r.svc.Act(ctx, r.m, omnicart.ActionCapture, "cart-phantom-1", omnicart.Filter{}, nil)
		errA <- err
	}()
	time.Sleep(100 * time.Millisecond)
	var hookCalls []string
	hook := func(ctx context.Context, tx omnicart.Tx, result any, refusal error) error {
		hookCalls = append(hookCalls, "refusal="+errString(refusal))
		return r.svc.StoreAnswer(ctx, tx, r.m, "cancel-key", omnicart.IdempotentRecord{RequestHash: []byte("h"), Method: "POST", Path: "/cancel",
			Status: 400, Code: "124114", Body: []byte(`{"code":"124114"}`)})
	}
	go func() {
		_, err := r.svc.Act(gateway.WithAnswerHook(ctx, hook), r.m, omnicart.ActionCancel, "cart-phantom-1", omnicart.Filter{}, nil)
		errB <- err
	}()
	time.Sleep(100 * time.Millisecond)
	go func() {
		errP <- r.db.WriteTx(ctx, func(tx *sql.Tx) error {
			// Any unit whose work makes COMMIT fail (here a deferred FK
			// violation; in production an I/O error or a full disk).
			if _, err := tx.Exec(`PRAGMA defer_foreign_keys = ON`); err != nil {
				return err
			}
			_, err := tx.Exec(`INSERT INTO item_timers(merchant_id, customer_id, item_id, cart_pk, active_until) VALUES ('x','y','z', 999999, NULL)`)
			return err
		})
	}()
	time.Sleep(100 * time.Millisecond)
	close(block)
	a, b, p := <-errA, <-errB, <-errP
	t.Logf("capture (unit A): %v", a)
	t.Logf("cancel  (unit B): %v", b)
	t.Logf("poison  (unit P): %v", p)
	t.Logf("hook calls: %v", hookCalls)
	c := r.load(t, "cart-phantom-1")
	rec, found, err := r.svc.IdempotencyRecord(ctx, r.m, "cancel-key")
	t.Logf("item after: %s; stored answer under cancel-key: found=%v code=%s err=%v", c.Items[0].Status, found, rec.Code, err)
	var de *omnicart.Error
	if a != nil && errors.As(b, &de) && c.Items[0].Status == omnicart.StatusAuthorized {
		t.Errorf("BUG: the batch did not commit, the item is still authorized, yet the cancel was answered %v (stored: %v)", b, found)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// F5b: a refused auto-cancel does not make every later status fail or the
// scheduler resend it.
func TestF5bStatusBricked(t *testing.T) {
	r := newRig(t, "local")
	tok := r.initCart(t, "cart-brick-1", twoStep("pegasus", 1000, 600, omnicart.AutoCancel))
	if res, err := r.svc.Pay(t.Context(), tok, visa); err != nil || res.Result != gateway.ResultAuthorized {
		t.Fatalf("pay: %+v %v", res, err)
	}
	r.k.refuseRelease.Store(true)
	r.clk.Add(601 * time.Second)
	for i := range 3 {
		_, err := r.svc.Status(t.Context(), r.m, "cart-brick-1", omnicart.Filter{}, nil)
		n, ferr := r.svc.FireDue(t.Context(), 100)
		t.Logf("round %d: status err=%v; FireDue n=%d err=%v; releases so far %d", i, err, n, ferr, r.k.releases.Load())
		if err != nil {
			t.Errorf("round %d: status fails after a refused auto-cancel: %v", i, err)
		}
	}
	// The refused auto action used its window up: it was sent once.
	if n := r.k.releases.Load(); n != 1 {
		t.Errorf("the refused auto-cancel was sent %d times, want 1", n)
	}
}

// F7: one cart whose catch-up fails with an error (here: the merchant's
// provider cannot be built) rolls back FireDue's whole batch, every pass:
// the other merchants' due deadlines never fire.
func TestF7PoisonCartWedgesScheduler(t *testing.T) {
	r := newRig(t, "sandbox")
	ctx := t.Context()
	priv := omnicart.AllPrivileges()
	priv.CaptureMinSecs = 1
	m2, _, err := r.svc.CreateMerchant(ctx, gateway.NewMerchant{Name: "y", Mode: omnicart.ModeTest, Privileges: priv,
		Items: []omnicart.CatalogItem{{ItemID: "pegasus", DisplayName: "P"}}})
	if err != nil {
		t.Fatal(err)
	}
	tok1 := r.initCart(t, "cart-poison-1", twoStep("pegasus", 1000, 600, omnicart.AutoCancel))
	if _, err := r.svc.Pay(ctx, tok1, visa); err != nil {
		t.Fatal(err)
	}
	r.clk.Add(time.Second)
	res2, err := r.svc.Init(ctx, m2, &omnicart.InitSpec{CartID: "cart-healthy-1", Currency: "EUR", Items: []omnicart.ItemSpec{twoStep("pegasus", 1000, 600, omnicart.AutoCancel)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.Pay(ctx, res2.PayToken, visa); err != nil {
		t.Fatal(err)
	}
	good := r.svc.Provider
	r.svc.Provider = func(m *omnicart.Merchant) (omnicart.Provider, error) {
		if m.ID == r.m.ID {
			return nil, errors.New("acquirer credentials missing")
		}
		return good(m)
	}
	r.clk.Add(2 * time.Hour)
	for range 3 {
		n, err := r.svc.FireDue(ctx, 100)
		t.Logf("FireDue: n=%d err=%v", n, err)
	}
	var c *omnicart.Cart
	_ = r.store.View(ctx, func(tx omnicart.Tx) error { c, _ = tx.Cart(ctx, m2.ID, "cart-healthy-1"); return nil })
	t.Logf("healthy merchant's cart: %s (window ran out %v ago)", c.Items[0].Status, time.Hour+59*time.Minute)
	if c.Items[0].Status == omnicart.StatusAuthorized {
		t.Errorf("BUG: another merchant's cart blocks this auto-cancel forever")
	}
}
