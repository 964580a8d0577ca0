package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/omnicart/omnicart/client"
)

// These tests run against the real server TestMain started.

func wantCode(t *testing.T, what string, err error, status int, code string) *client.Error {
	t.Helper()
	var oe *client.Error
	if !errors.As(err, &oe) || oe.HTTPStatus != status || oe.Code != code {
		t.Fatalf("%s: %v, want HTTP %d %s", what, err, status, code)
	}
	if oe.RequestID == "" || oe.Message == "" || oe.Timestamp.IsZero() {
		t.Fatalf("%s: incomplete error %+v", what, oe)
	}
	return oe
}

// lossyProxy forwards requests to the server but drops the answer of the
// first request to each path in drop: the server did the work, the client
// never heard of it.
type lossyProxy struct {
	*httptest.Server
	mu      sync.Mutex
	drop    map[string]bool
	dropped []string
}

func newLossyProxy(t *testing.T, paths ...string) *lossyProxy {
	p := &lossyProxy{drop: map[string]bool{}}
	for _, x := range paths {
		p.drop[x] = true
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		out, err := http.NewRequestWithContext(r.Context(), r.Method, serverURL+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		p.mu.Lock()
		drop := p.drop[r.URL.Path]
		if drop {
			delete(p.drop, r.URL.Path)
			p.dropped = append(p.dropped, r.URL.Path)
		}
		p.mu.Unlock()
		if drop {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(answer)
	}))
	t.Cleanup(p.Close)
	return p
}

// TestLiveLostAnswers: when the answer of an init, a capture or a modify
// is lost after the server acted, the client sends the same request under
// the same key again and gets the stored answer: nothing happens twice.
func TestLiveLostAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, direct := newMerchant(t)
	proxy := newLossyProxy(t, "/init", "/modify", "/capture")
	c := client.New(proxy.URL, direct.APIKey)

	cart, err := c.Init(ctx, &client.InitRequest{CartID: "live-lost-0001", Currency: "EUR", Items: []client.Item{
		{ItemID: "pegasus", Amount: 250}, {ItemID: "naga", Amount: 1100},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !cart.Replayed || cart.Attempts != 2 || cart.HTTPStatus != 201 || cart.CartID != "live-lost-0001" || cart.PaymentURL == "" {
		t.Fatalf("init %+v", cart)
	}
	if pay, err := c.Pay(ctx, cart.PaymentURL, testCard); err != nil || pay.Result != client.ResultAuthorized {
		t.Fatalf("pay: %v %+v", err, pay)
	}
	mod, err := c.Modify(ctx, &client.ModifyRequest{CartID: cart.CartID, ModifyBox: client.ModifyBox{Items: []client.ModifyItem{
		{ItemID: "naga", ModifyAmount: &client.AmountChange{Amount: 1000}},
	}}})
	if err != nil || !mod.Replayed || mod.Attempts != 2 || !slices.Equal(mod.ModifiedAmounts, []string{"naga"}) {
		t.Fatalf("modify: %v %+v", err, mod)
	}
	capt, err := c.Capture(ctx, &client.ActionRequest{CartID: cart.CartID})
	if err != nil || !capt.Replayed || capt.Attempts != 2 || !slices.Equal(capt.ItemIDs, []string{"pegasus", "naga"}) {
		t.Fatalf("capture: %v %+v", err, capt)
	}
	if len(proxy.dropped) != 3 {
		t.Fatalf("dropped %v", proxy.dropped)
	}
	st, err := direct.Status(ctx, cart.CartID, client.StatusQuery{})
	if err != nil {
		t.Fatal(err)
	}
	want := client.Amounts{Initiated: 1350, Captured: 1250, Refunded: 0, Current: 1250}
	if st.TotalAmounts != want {
		t.Fatalf("totals %+v, want %+v (the modify applied once)", st.TotalAmounts, want)
	}
	// The key's record says the same.
	rec, err := direct.LookupIdempotencyKey(ctx, capt.IdempotencyKey)
	if err != nil {
		t.Fatal(err)
	}
	var stored client.ActionResult
	if err := rec.Result(&stored); err != nil || !slices.Equal(stored.ItemIDs, capt.ItemIDs) {
		t.Fatalf("stored capture: %v %+v", err, stored)
	}
}

func TestLiveIdempotencyLookup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, c := newMerchant(t)
	_, other := newMerchant(t)
	key := client.NewIdempotencyKey()
	before := time.Now().Add(-time.Minute)
	cart, err := c.Init(ctx, &client.InitRequest{CartID: "live-lookup-001", Currency: "EUR",
		Items: []client.Item{{ItemID: "pegasus", Amount: 250}}}, client.WithIdempotencyKey(key))
	if err != nil || cart.IdempotencyKey != key || cart.Replayed {
		t.Fatalf("init: %v %+v", err, cart)
	}
	rec, err := c.LookupIdempotencyKey(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if rec.IdempotencyKey != key || rec.Method != "POST" || rec.Path != "/init" || rec.HTTPStatus != 201 || rec.Code != client.CodeSuccess ||
		rec.CreatedAt.Before(before) || rec.CreatedAt.After(time.Now().Add(time.Minute)) {
		t.Fatalf("record %+v", rec)
	}
	var stored client.InitResult
	if err := rec.Result(&stored); err != nil || stored.CartID != cart.CartID || stored.PaymentURL != cart.PaymentURL || !stored.ExpiresAt.Equal(cart.ExpiresAt) {
		t.Fatalf("stored init: %v %+v, want %+v", err, stored, cart)
	}

	// A refusal is stored too, and read back as the error it was.
	refusal := client.NewIdempotencyKey()
	_, err = c.Capture(ctx, &client.ActionRequest{CartID: cart.CartID}, client.WithIdempotencyKey(refusal))
	wantCode(t, "capture of an unpaid cart", err, 400, client.CodeNoneAuthorized)
	rec, err = c.LookupIdempotencyKey(ctx, refusal)
	if err != nil {
		t.Fatal(err)
	}
	var oe *client.Error
	if err := rec.Result(nil); !errors.As(err, &oe) || oe.Code != client.CodeNoneAuthorized || oe.HTTPStatus != 400 || oe.Message != "No items in the authorized status" {
		t.Fatalf("stored refusal: %v", err)
	}
	// The same key with another request.
	_, err = c.Capture(ctx, &client.ActionRequest{CartID: cart.CartID, Debug: true}, client.WithIdempotencyKey(refusal))
	wantCode(t, "reused key", err, 409, client.CodeIdempotencyReused)

	// Unknown keys, and other merchants' keys, are not found.
	_, err = c.LookupIdempotencyKey(ctx, "never-used-key")
	wantCode(t, "unknown key", err, 404, client.CodeNotFound)
	_, err = other.LookupIdempotencyKey(ctx, key)
	wantCode(t, "another merchant's key", err, 404, client.CodeNotFound)
}

func TestLiveErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	id, c := newMerchant(t)
	_, err := client.New(serverURL, "ock_test_wrong").Status(ctx, "live-errors-0001", client.StatusQuery{})
	wantCode(t, "wrong key", err, 401, client.CodeAuth)

	init := &client.InitRequest{CartID: "live-errors-0001", Currency: "EUR", Items: []client.Item{{ItemID: "pegasus", Amount: 250}}}
	if _, err := c.Init(ctx, init); err != nil {
		t.Fatal(err)
	}
	_, err = c.Init(ctx, init)
	wantCode(t, "init twice", err, 409, client.CodeCartExists)

	_, err = c.Status(ctx, "live-errors-0001", client.StatusQuery{ItemIDs: []string{"wight"}, Debug: true})
	oe := wantCode(t, "status filter with no item left", err, 400, client.CodeNoItemsMatch)
	if !oe.Has("101005") {
		t.Errorf("debug %+v", oe.Debug)
	}

	out, err := testServer.admin("key", "create", "--merchant", id, "--methods", "status")
	if err != nil {
		t.Fatal(err)
	}
	statusOnly := client.New(serverURL, strings.TrimSpace(out))
	if _, err := statusOnly.Status(ctx, "live-errors-0001", client.StatusQuery{}); err != nil {
		t.Fatalf("status with a status key: %v", err)
	}
	_, err = statusOnly.Cancel(ctx, &client.ActionRequest{CartID: "live-errors-0001"})
	wantCode(t, "cancel with a status key", err, 405, client.CodeMethodNotAllowed)
	_, err = statusOnly.ListCallbackEndpoints(ctx)
	wantCode(t, "callbacks with a status key", err, 405, client.CodeMethodNotAllowed)

	_, live := newMerchant(t, "--mode", "live")
	_, err = live.AdvanceClock(ctx, time.Hour)
	wantCode(t, "clock of a live merchant", err, 405, client.CodeMethodNotAllowed)
	if _, err := c.AdvanceClock(ctx, 1500*time.Millisecond); err == nil {
		t.Error("clock moved by a fraction of a second")
	}
}

// TestLiveStatusTypes: the typed status holds everything the server says:
// encoded again, it is the server's JSON.
func TestLiveStatusTypes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, c := newMerchant(t)
	cart, err := c.Init(ctx, &client.InitRequest{
		CartID: "live-types-00001", CustomerID: "cust-42", Currency: "XAU",
		Scope: &client.Scope{Tags: []client.TagSettings{{Tag: "timed", Settings: client.Settings{
			EnableTimer: client.Bool(true), Timer: &client.Timer{TriggerEvent: client.TriggerManual, Value: 3600}}}}},
		Items: []client.Item{
			{ItemID: "pegasus", Amount: 250, Tag: "rampart", Settings: client.Settings{PaymentBox: &client.PaymentBox{
				CaptureSettings: &client.CaptureSettings{AutoAction: client.AutoComplete, Value: 7200}}}},
			{ItemID: "lich", Amount: 7, Quantity: client.Decimal("1.5"), Tag: "timed", Settings: client.Settings{PaymentBox: &client.PaymentBox{
				AmountMode: client.AmountCalculated, AmountModifier: client.Decimal("3.333333")}}},
			{ItemID: "wight", Amount: 40, Settings: client.Settings{EnableTimer: client.Bool(true), Timer: &client.Timer{TriggerEvent: client.StatusAuthorized}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pay(ctx, cart.PaymentURL, testCard); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx, cart.CartID, client.StatusQuery{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.Raw().Status(ctx, cart.CartID, client.StatusQuery{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(st.StatusData)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := jsonValue(t, again), jsonValue(t, raw.Data); !reflect.DeepEqual(a, b) {
		t.Fatalf("typed status encodes to\n%s\nthe server said\n%s", again, raw.Data)
	}
	if ids := []string{st.Items[0].ItemID, st.Items[1].ItemID, st.Items[2].ItemID}; !slices.Equal(ids, []string{"pegasus", "lich", "wight"}) {
		t.Fatalf("order %v", ids)
	}
	lich, wight, pegasus := st.Item("lich"), st.Item("wight"), st.Item("pegasus")
	if lich.ItemAmounts.Current != 35 || lich.TimerSnapshot == nil || lich.TimerSnapshot.TimerStatus != client.TimerPending ||
		*lich.TimerSnapshot.RemainingSecs != 3600 || string(lich.PaymentSnapshot.AmountModifier) != "3.333333" {
		t.Errorf("lich %+v %+v", lich, lich.TimerSnapshot)
	}
	if wight.TimerSnapshot == nil || wight.TimerSnapshot.TimerStatus != client.TimerStarted || wight.TimerSnapshot.RemainingSecs != nil {
		t.Errorf("wight %+v", wight.TimerSnapshot)
	}
	if pegasus.CaptureSnapshot == nil || pegasus.CaptureSnapshot.AutoAction != client.AutoComplete || pegasus.CaptureSnapshot.RemainingSecs > 7200 {
		t.Errorf("pegasus %+v", pegasus.CaptureSnapshot)
	}

	// Timers through Modify, and the information codes of no-op changes.
	start := &client.ModifyRequest{CartID: cart.CartID, ModifyBox: client.ModifyBox{Items: []client.ModifyItem{
		{ItemID: "lich", ModifyTimer: &client.TimerChange{ManualAction: client.TimerStart}},
	}}}
	mod, err := c.Modify(ctx, start)
	if err != nil || !slices.Equal(mod.ModifiedTimers, []string{"lich"}) || mod.Code != client.CodeSuccess {
		t.Fatalf("start: %v %+v", err, mod)
	}
	start.Debug = true
	mod, err = c.Modify(ctx, start)
	if err != nil || mod.Code != client.CodeTimerAlreadyStart || len(mod.ModifiedTimers) != 0 {
		t.Fatalf("start again: %v %+v", err, mod)
	}
	mod, err = c.Modify(ctx, &client.ModifyRequest{CartID: cart.CartID, ModifyBox: client.ModifyBox{
		Scope: &client.ModifyScope{Tags: []client.ModifyTag{{Tag: "timed", ModifyLevel: client.ModifyLevel{
			ModifyTimer: &client.TimerChange{TimerValue: client.Int64(60)}}}}},
		Items: []client.ModifyItem{{ItemID: "wight", EnableTimer: client.Bool(false)}, {ItemID: "pegasus", Tag: "moved"}},
	}})
	if err != nil || !slices.Equal(mod.ModifiedTimers, []string{"lich", "wight"}) {
		t.Fatalf("timers: %v %+v", err, mod)
	}
	st, err = c.Status(ctx, cart.CartID, client.StatusQuery{TimerEnabled: client.Bool(true), Tags: []string{"moved", "timed"}})
	// The items of tag moved have no timer: an information code.
	if err != nil || len(st.Items) != 1 || st.Items[0].ItemID != "lich" || *st.Items[0].TimerSnapshot.RemainingSecs > 60 || st.Code != client.CodeStatusNoTimer {
		t.Fatalf("timer filter: %v %+v", err, st)
	}
	st, err = c.Status(ctx, cart.CartID, client.StatusQuery{Tags: []string{"moved"}})
	if err != nil || len(st.Items) != 1 || st.Items[0].Tag != "moved" {
		t.Fatalf("retagged: %v %+v", err, st)
	}
}

func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// hookReceiver collects verified callbacks.
type hookReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	secrets []string
	got     []hookCall
	bad     int
}

type hookCall struct {
	event  *client.Event
	header http.Header
	body   []byte
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := client.VerifyWebhook(r.Header, body, h.secrets...); err != nil {
			h.bad++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		ev, err := client.ParseEvent(body)
		if err != nil {
			h.bad++
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.got = append(h.got, hookCall{ev, r.Header.Clone(), body})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) setSecrets(s ...string) {
	h.mu.Lock()
	h.secrets = s
	h.mu.Unlock()
}

// wait returns the calls received once n of them match keep.
func (h *hookReceiver) wait(t *testing.T, n int, keep func(hookCall) bool) []hookCall {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		h.mu.Lock()
		var out []hookCall
		for _, c := range h.got {
			if keep(c) {
				out = append(out, c)
			}
		}
		bad := h.bad
		h.mu.Unlock()
		if bad > 0 {
			t.Fatalf("%d callbacks failed verification", bad)
		}
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d matching callbacks, want %d", len(out), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLiveCallbacks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, c := newMerchant(t)
	recv := newHookReceiver(t)

	_, err := c.AddCallbackEndpoint(ctx, client.NewCallbackEndpoint{URL: "ftp://shop.example/hook"})
	wantCode(t, "ftp url", err, 400, client.CodeInvalidFormat)
	_, err = c.AddCallbackEndpoint(ctx, client.NewCallbackEndpoint{URL: "https://shop.example/hook", Events: []string{"cart.exploded"}})
	wantCode(t, "unknown event type", err, 400, client.CodeInvalidValue)

	ep, err := c.AddCallbackEndpoint(ctx, client.NewCallbackEndpoint{URL: recv.URL + "/hook", Enabled: client.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ep.Secret, "whsec_") || ep.Enabled || ep.Status != client.EndpointDisabled || len(ep.Events) != 3 || ep.CreatedAt.IsZero() {
		t.Fatalf("added %+v", ep)
	}
	secret1 := ep.Secret
	recv.setSecrets(secret1)
	if _, err := client.NewWebhookVerifier(secret1); err != nil {
		t.Fatal(err)
	}
	eps, err := c.ListCallbackEndpoints(ctx)
	if err != nil || len(eps) != 1 || eps[0].EndpointID != ep.EndpointID || eps[0].Secret != "" {
		t.Fatalf("list: %v %+v", err, eps)
	}
	got, err := c.UpdateCallbackEndpoint(ctx, ep.EndpointID, client.CallbackEndpointUpdate{Events: []string{client.EventPaymentStatusChanged}})
	if err != nil || !slices.Equal(got.Events, []string{client.EventPaymentStatusChanged}) || got.Enabled {
		t.Fatalf("update: %v %+v", err, got)
	}
	got, err = c.EnableCallbackEndpoint(ctx, ep.EndpointID)
	if err != nil || !got.Enabled || got.Status != client.EndpointActive {
		t.Fatalf("enable: %v %+v", err, got)
	}

	const cartID = "live-hooks-00001"
	cart, err := c.Init(ctx, &client.InitRequest{CartID: cartID, Currency: "EUR", Items: []client.Item{{ItemID: "pegasus", Amount: 250}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pay(ctx, cart.PaymentURL, testCard); err != nil {
		t.Fatal(err)
	}
	ofCart := func(h hookCall) bool { return h.event.CartID == cartID }
	first := recv.wait(t, 1, ofCart)[0]
	if first.event.Type != client.EventPaymentStatusChanged || first.event.Sequence != 1 || first.event.Changes[0].To != client.StatusAuthorized ||
		first.event.Changes[0].ItemAmounts == nil || first.event.Changes[0].ItemAmounts.Current != 250 || first.event.Data.Item("pegasus") == nil {
		t.Fatalf("first event %s", first.body)
	}

	// Rotation: during the overlap callbacks carry both signatures, and
	// either secret alone verifies them.
	overlap := time.Hour
	rotated, err := c.RotateCallbackSecret(ctx, ep.EndpointID, &overlap)
	if err != nil || rotated.Secret == "" || rotated.Secret == secret1 || rotated.PreviousSecretExpiresAt.IsZero() {
		t.Fatalf("rotate: %v %+v", err, rotated)
	}
	secret2 := rotated.Secret
	recv.setSecrets(secret2)
	if _, err := c.Capture(ctx, &client.ActionRequest{CartID: cartID}); err != nil {
		t.Fatal(err)
	}
	calls := recv.wait(t, 2, ofCart)
	second := calls[1]
	if n := len(strings.Fields(second.header.Get("webhook-signature"))); n != 2 {
		t.Fatalf("%d signatures during the overlap", n)
	}
	for _, s := range []string{secret1, secret2} {
		if err := client.VerifyWebhook(second.header, second.body, s); err != nil {
			t.Errorf("signature with one secret: %v", err)
		}
	}

	// Events and deliveries from the API.
	evs, err := c.CallbackEvents(ctx, client.EventQuery{CartID: cartID})
	if err != nil || len(evs) < 2 || evs[0].Sequence <= evs[1].Sequence {
		t.Fatalf("events: %v %+v", err, evs)
	}
	if !bytes.Equal(evs[len(evs)-1].Raw, first.body) {
		t.Errorf("listed event\n%s\ndiffers from the callback\n%s", evs[len(evs)-1].Raw, first.body)
	}
	page, err := c.CallbackEvents(ctx, client.EventQuery{CartID: cartID, Type: client.EventPaymentStatusChanged, Before: evs[0].ID, Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != evs[1].ID {
		t.Fatalf("page: %v %+v", err, page)
	}
	var detail *client.EventDetail
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		detail, err = c.CallbackEvent(ctx, first.event.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(detail.Deliveries) == 1 && detail.Deliveries[0].Status == "succeeded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("event detail %+v", detail)
		}
	}
	if detail.Event.ID != first.event.ID || detail.Deliveries[0].EndpointID != ep.EndpointID || *detail.Deliveries[0].LastHTTPStatus != 204 {
		t.Fatalf("event detail %+v", detail)
	}
	attempts, err := c.CallbackDeliveries(ctx, ep.EndpointID, 10)
	if err != nil || len(attempts) < 1 || attempts[0].HTTPStatus == nil || *attempts[0].HTTPStatus != 204 || attempts[0].CartID != cartID {
		t.Fatalf("deliveries: %v %+v", err, attempts)
	}

	// A re-send is the same event, signed anew.
	resent, err := c.ResendCallbackEvent(ctx, first.event.ID, ep.EndpointID)
	if err != nil || resent.EventID != first.event.ID || len(resent.Deliveries) != 1 || resent.Deliveries[0].EndpointID != ep.EndpointID {
		t.Fatalf("resend: %v %+v", err, resent)
	}
	again := recv.wait(t, 2, func(h hookCall) bool { return h.event.ID == first.event.ID })
	if !bytes.Equal(again[1].body, first.body) || again[1].header.Get("webhook-id") != first.event.ID {
		t.Errorf("re-sent event differs:\n%s\n%s", again[1].body, first.body)
	}

	got, err = c.DisableCallbackEndpoint(ctx, ep.EndpointID)
	if err != nil || got.Enabled || got.Status != client.EndpointDisabled {
		t.Fatalf("disable: %v %+v", err, got)
	}
	if err := c.RemoveCallbackEndpoint(ctx, ep.EndpointID); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetCallbackEndpoint(ctx, ep.EndpointID)
	wantCode(t, "removed endpoint", err, 404, client.CodeNotFound)
	_, err = c.CallbackEvent(ctx, "evt_00000000000000000000000000000000")
	wantCode(t, "unknown event", err, 404, client.CodeNotFound)
}

// TestLiveCodes: the code constants are the server's.
func TestLiveCodes(t *testing.T) {
	t.Parallel()
	_, c := newMerchant(t)
	codes, err := c.Codes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]int{}
	for _, e := range codes {
		status[e.Code] = e.HTTPStatus
	}
	for code, want := range map[string]int{
		client.CodeSuccess: 200, client.CodeTagsUnused: 200, client.CodeTagsUndefined: 200, client.CodeStatusNoTags: 200,
		client.CodeStatusNoItemIDs: 200, client.CodeStatusNoTimer: 200, client.CodeStatusNoNoTimer: 200,
		client.CodeTimerAlreadyStart: 200, client.CodeTimerAlreadyStop: 200, client.CodeTimerAlreadyPause: 200,
		client.CodeAuth: 401, client.CodeCartIDEmpty: 400, client.CodeCustomerIDRequired: 400, client.CodeNoItemsMatch: 400,
		client.CodeInvalidFormat: 400, client.CodeInvalidItemFormat: 400, client.CodeUnknownCurrency: 400, client.CodeCartNotFound: 400,
		client.CodeInvalidItemValue: 400, client.CodeInvalidValue: 400, client.CodeFilterNoTags: 400, client.CodeFilterNoItemIDs: 400,
		client.CodeFilterNoTimer: 400, client.CodeFilterNoNoTimer: 400, client.CodeCartExists: 409, client.CodeActiveTimer: 409,
		client.CodeItemNotInCatalog: 409, client.CodePausePending: 400, client.CodePauseElapsed: 400, client.CodePauseStopped: 400,
		client.CodeStartStopped: 400, client.CodeStartElapsed: 400, client.CodeStopPending: 400, client.CodeStopElapsed: 400,
		client.CodeCartAmountExceeds: 400, client.CodeItemAmountExceeds: 400, client.CodeQuantityExceeds: 400,
		client.CodeNoneAuthorized: 400, client.CodeNoneCompleted: 400, client.CodeIdempotencyReused: 409,
		client.CodeIdempotencyRunning: 409, client.CodeMethodNotAllowed: 405, client.CodeNoPermission: 400,
		client.CodeNoAmountPerm: 400, client.CodeNoTimerPerm: 400, client.CodeNoModifyPerm: 400, client.CodeOutOfRange: 400,
		client.CodeNoItemAmountPerm: 400, client.CodeNoItemTimerPerm: 400, client.CodeSystem: 500, client.CodeNotFound: 404,
		client.CodeTooManyRequests: 429, client.CodeBodyTooLarge: 413, client.CodeUnavailable: 503,
	} {
		got, ok := status[code]
		if !ok {
			t.Errorf("%s is not in /codes", code)
			continue
		}
		// Information codes may be 200 or 201.
		if got != want && !(want == 200 && got == 201) && !(want == 200 && got == 0) {
			t.Errorf("%s: /codes says HTTP %d, the client %d", code, got, want)
		}
	}
}

func TestLiveLinkDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, c := newMerchant(t)
	cart, err := c.Init(ctx, &client.InitRequest{CartID: "live-links-00001", Currency: "EUR",
		Items:       []client.Item{{ItemID: "pegasus", Amount: 250}},
		PaymentForm: &client.PaymentForm{DeliveryOption: client.DeliveryEmail, Value: "ada@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ds, err := c.LinkDeliveries(ctx, cart.CartID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 1 && ds[0].State == "sent" {
			if ds[0].Channel != client.DeliveryEmail || ds[0].Recipient != "ada@example.com" || ds[0].Via != "outbox" || ds[0].SentAt.IsZero() {
				t.Fatalf("delivery %+v", ds[0])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries %+v", ds)
		}
	}
}
