package storetest

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/omnicart/omnicart"
)

// The delivery half of RunCallbacks: claims under endpoint leases with the
// facts of the ordering rule, outcomes, the delivery log, re-sends and
// pruning.

// testCBCartOrderFacts checks the facts a claim offers the ordering rule:
// per candidate, its cart's earliest pending delivery to the endpoint
// without an attempt, and its cart's lowest event sequence still in the
// outbox; and that the store returns exactly what Ready accepts.
func testCBCartOrderFacts(e *cbEnv) {
	t, ctx := e.t, e.ctx
	ep := e.endpoint()
	e.cart("cart-x")
	e.cart("cart-y")
	e.events("cart-x", 3)
	e.events("cart-y", 1)
	x1 := e.claimOutbox("fan-1", cbT0, 1)
	rest := e.claimOutbox("fan-2", cbT0, 10)
	if !slices.Equal(cbNames(x1), []string{"cart-x#1"}) || len(rest) != 3 {
		t.Fatalf("claimed %v and %v", cbNames(x1), cbNames(rest))
	}
	e.publish("fan-2", rest, cbT0, ep) // cart-x#1 is still in the outbox
	type fact struct {
		Seq, Attempts, FirstSeq, Unpublished int64
		First, Self                          bool
	}
	var order []string // the candidates of the last claim, in the order offered
	offered := func(now time.Time, held []int64, accept ...string) (map[string]fact, []omnicart.CallbackClaim) {
		t.Helper()
		order = nil
		facts := map[string]fact{}
		ids := map[int64]string{}
		claims, err := e.cs.Claim(ctx, omnicart.CallbackClaimRequest{Owner: "sender", Now: now, Until: now.Add(time.Minute), PerEndpoint: 10, Limit: 10,
			Held: map[string][]int64{ep.ID: held},
			Ready: func(c omnicart.CallbackCandidate) bool {
				if c.EndpointID != ep.ID {
					t.Errorf("candidate of endpoint %s", c.EndpointID)
				}
				name := fmt.Sprintf("%d:%d", c.CartPK, c.Sequence)
				for _, ev := range append(slices.Clone(x1), rest...) {
					if ev.CartPK == c.CartPK && ev.Sequence == c.Sequence {
						name = fmt.Sprintf("%s#%d", ev.CartID, ev.Sequence)
					}
				}
				if _, dup := facts[name]; dup {
					name += "'"
				}
				ids[c.DeliveryID] = name
				order = append(order, name)
				facts[name] = fact{Seq: c.Sequence, Attempts: int64(c.Attempts), FirstSeq: c.FirstSequence, Unpublished: c.Unpublished,
					First: c.FirstID != 0, Self: c.FirstID == c.DeliveryID}
				return slices.Contains(accept, name)
			}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range claims {
			got = append(got, ids[c.DeliveryID])
		}
		if !slices.Equal(got, accept) {
			t.Fatalf("claimed %v, want the accepted %v (offered %v)", got, accept, order)
		}
		return facts, claims
	}
	f, _ := offered(cbT0, nil)
	want := map[string]fact{
		"cart-x#2": {Seq: 2, FirstSeq: 2, Unpublished: 1, First: true, Self: true},
		"cart-x#3": {Seq: 3, FirstSeq: 2, Unpublished: 1, First: true},
		"cart-y#1": {Seq: 1, FirstSeq: 1, First: true, Self: true},
	}
	if fmt.Sprint(f) != fmt.Sprint(want) {
		t.Fatalf("facts with cart-x#1 in the outbox:\n got %v\nwant %v", f, want)
	}
	if want := []string{"cart-x#2", "cart-x#3", "cart-y#1"}; !slices.Equal(order, want) {
		t.Fatalf("offered %v, want %v (earliest next attempt, then id)", order, want)
	}
	// cart-x#1 is published after cart-x#2 and #3: its delivery has a
	// higher id and the lowest sequence.
	e.publish("fan-1", x1, cbT0, ep)
	f, claims := offered(cbT0, nil, "cart-y#1", "cart-x#1")
	want = map[string]fact{
		"cart-x#1": {Seq: 1, FirstSeq: 1, First: true, Self: true},
		"cart-x#2": {Seq: 2, FirstSeq: 1, First: true},
		"cart-x#3": {Seq: 3, FirstSeq: 1, First: true},
		"cart-y#1": {Seq: 1, FirstSeq: 1, First: true, Self: true},
	}
	if fmt.Sprint(f) != fmt.Sprint(want) {
		t.Fatalf("facts with every event published:\n got %v\nwant %v", f, want)
	}
	if want := []string{"cart-x#2", "cart-x#3", "cart-y#1", "cart-x#1"}; !slices.Equal(order, want) {
		t.Fatalf("offered %v, want %v (earliest next attempt, then id)", order, want)
	}
	for _, c := range claims {
		if c.Attempt != 1 || c.Endpoint.ID != ep.ID || c.Endpoint.Secret != ep.Secret || c.EventID == "" || string(c.Payload) != `{"id":"`+c.EventID+`"}` {
			t.Fatalf("claim %+v", c)
		}
	}
	// cart-x#1's first attempt fails and is retried in a minute; cart-y#1
	// is still being sent (held). cart-x#2 is now its cart's first
	// delivery without an attempt.
	var x1c, y1c omnicart.CallbackClaim
	for _, c := range claims {
		if c.EventID == cbEventID("cart-x", 1) {
			x1c = c
		} else {
			y1c = c
		}
	}
	if _, err := e.cs.Record(ctx, "sender", []omnicart.CallbackOutcome{{DeliveryID: x1c.DeliveryID, EndpointID: ep.ID, Attempt: 1, At: cbT0,
		HTTPStatus: 500, Error: "HTTP 500", Status: omnicart.DeliveryPending, NextAttemptAt: cbT0.Add(time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	f, _ = offered(cbT0, []int64{y1c.DeliveryID})
	want = map[string]fact{
		"cart-x#2": {Seq: 2, FirstSeq: 2, First: true, Self: true},
		"cart-x#3": {Seq: 3, FirstSeq: 2, First: true},
	}
	if fmt.Sprint(f) != fmt.Sprint(want) {
		t.Fatalf("facts after cart-x#1's first attempt:\n got %v\nwant %v", f, want)
	}
	// A re-send of cart-x#1 is its cart's first delivery without an
	// attempt again; the retry of cart-x#1, due in a minute, comes after
	// the re-send (same sequence, lower id) and is offered then.
	ids, err := e.cs.AddDeliveries(ctx, []omnicart.NewCallbackDelivery{{EventPK: x1[0].PK, EndpointID: ep.ID, CartPK: x1[0].CartPK,
		Sequence: 1, DueAt: cbT0.Add(time.Second)}})
	if err != nil || len(ids) != 1 || ids[0] == 0 {
		t.Fatalf("AddDeliveries = %v, %v", ids, err)
	}
	f, _ = offered(cbT0.Add(time.Minute), []int64{y1c.DeliveryID})
	want = map[string]fact{
		"cart-x#1":  {Seq: 1, FirstSeq: 1, First: true, Self: true},
		"cart-x#1'": {Seq: 1, Attempts: 1, FirstSeq: 1, First: true},
		"cart-x#2":  {Seq: 2, FirstSeq: 1, First: true},
		"cart-x#3":  {Seq: 3, FirstSeq: 1, First: true},
	}
	if fmt.Sprint(f) != fmt.Sprint(want) {
		t.Fatalf("facts after a re-send of cart-x#1:\n got %v\nwant %v", f, want)
	}
	if want := []string{"cart-x#2", "cart-x#3", "cart-x#1", "cart-x#1'"}; !slices.Equal(order, want) {
		t.Fatalf("offered %v, want %v (earliest next attempt, then id)", order, want)
	}
	// Ready nil accepts every due delivery that is not held.
	all, err := e.cs.Claim(ctx, omnicart.CallbackClaimRequest{Owner: "sender", Now: cbT0.Add(time.Minute), Until: cbT0.Add(2 * time.Minute),
		PerEndpoint: 10, Limit: 10, Held: map[string][]int64{ep.ID: {y1c.DeliveryID}}})
	if err != nil || len(all) != 4 {
		t.Fatalf("Claim without a rule: %d, %v", len(all), err)
	}
}

// testCBEndpointLeases checks the claim bounds: one owner at a time per
// endpoint, at most PerEndpoint held per endpoint and Limit in all, lease
// renewal, takeover of a stopped owner's endpoint and unrecorded
// deliveries once its lease runs out, and Release.
func testCBEndpointLeases(e *cbEnv) {
	t, ctx := e.t, e.ctx
	ep1, ep2 := e.endpoint(), e.endpoint()
	for i := range 6 {
		e.cart(fmt.Sprintf("cart-%d", i))
		e.events(fmt.Sprintf("cart-%d", i), 1)
	}
	e.publish("fan", e.claimOutbox("fan", cbT0, 100), cbT0, ep1, ep2)
	claim := func(owner string, at time.Time, per, limit int, held ...omnicart.CallbackClaim) []omnicart.CallbackClaim {
		t.Helper()
		h := map[string][]int64{}
		for _, c := range held {
			h[c.Endpoint.ID] = append(h[c.Endpoint.ID], c.DeliveryID)
		}
		cs, err := e.cs.Claim(ctx, omnicart.CallbackClaimRequest{Owner: owner, Now: at, Until: at.Add(5 * time.Second),
			PerEndpoint: per, Limit: limit, Held: h})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	byEndpoint := func(cs []omnicart.CallbackClaim) map[string]int {
		m := map[string]int{}
		for _, c := range cs {
			m[c.Endpoint.ID]++
		}
		return m
	}
	a := claim("owner-a", cbT0, 4, 6)
	n := byEndpoint(a)
	if len(a) != 6 || !(n[ep1.ID] == 4 && n[ep2.ID] == 2 || n[ep1.ID] == 2 && n[ep2.ID] == 4) {
		t.Fatalf("owner a claimed %v, want 4 of one endpoint and 2 of the other (limit 6)", n)
	}
	again := claim("owner-a", cbT0, 4, 100, a...)
	if m := byEndpoint(again); len(again) != 2 || n[again[0].Endpoint.ID] != 2 || m[again[0].Endpoint.ID] != 2 {
		t.Fatalf("owner a claimed %v more, want 2 of the endpoint it held 2 of", m)
	}
	a = append(a, again...)
	if b := claim("owner-b", cbT0.Add(4999*time.Millisecond), 4, 100); len(b) != 0 {
		t.Fatalf("owner b claimed %d while owner a serves both endpoints", len(b))
	}
	// One outcome makes room for one more.
	ok := omnicart.CallbackOutcome{DeliveryID: a[0].DeliveryID, EndpointID: a[0].Endpoint.ID, Attempt: 1, At: cbT0, HTTPStatus: 204,
		Status: omnicart.DeliverySucceeded, Healthy: true}
	if stopped, err := e.cs.Record(ctx, "owner-a", []omnicart.CallbackOutcome{ok}); err != nil || len(stopped) != 0 {
		t.Fatalf("Record = %v, %v", stopped, err)
	}
	recorded := a[0]
	a = a[1:]
	more := claim("owner-a", cbT0, 4, 100, a...)
	if len(more) != 1 || more[0].Endpoint.ID != recorded.Endpoint.ID {
		t.Fatalf("owner a claimed %v after one outcome, want 1 of %s", byEndpoint(more), recorded.Endpoint.ID)
	}
	a = append(a, more...)
	// Renewed leases hold past their first end.
	if err := e.cs.Extend(ctx, "owner-a", cbT0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if b := claim("owner-b", cbT0.Add(9*time.Second), 4, 100); len(b) != 0 {
		t.Fatalf("owner b claimed %d from renewed leases", len(b))
	}
	// Owner a stops: once its leases run out, owner c takes both endpoints
	// and the deliveries a never recorded, still on their first attempt.
	later := cbT0.Add(10 * time.Second)
	c := claim("owner-c", later, 10, 100)
	if len(c) != 11 {
		t.Fatalf("owner c took over %d deliveries, want the 11 pending", len(c))
	}
	for _, y := range a {
		if !slices.ContainsFunc(c, func(x omnicart.CallbackClaim) bool { return x.DeliveryID == y.DeliveryID && x.Attempt == 1 }) {
			t.Fatalf("delivery %d of the stopped owner not taken over on its first attempt", y.DeliveryID)
		}
	}
	// Owner a's late outcome is logged but changes nothing.
	late := ok
	late.DeliveryID, late.EndpointID, late.At = a[0].DeliveryID, a[0].Endpoint.ID, later
	if _, err := e.cs.Record(ctx, "owner-a", []omnicart.CallbackOutcome{late}); err != nil {
		t.Fatal(err)
	}
	ev := c[0].EventID
	for _, x := range c {
		if x.DeliveryID == a[0].DeliveryID {
			ev = x.EventID
		}
	}
	ds, err := e.cs.Deliveries(ctx, e.m.ID, ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.ID == a[0].DeliveryID && (d.Status != omnicart.DeliveryPending || d.Attempts != 0) {
			t.Fatalf("a stale outcome changed the delivery: %+v", d)
		}
	}
	log, err := e.cs.Attempts(ctx, e.m.ID, a[0].Endpoint.ID, 100)
	if err != nil || !slices.ContainsFunc(log, func(r omnicart.CallbackAttemptRecord) bool { return r.DeliveryID == a[0].DeliveryID }) {
		t.Fatalf("the stale outcome is not in the log: %+v, %v", log, err)
	}
	// Released leases are free at once.
	if err := e.cs.Release(ctx, "owner-c"); err != nil {
		t.Fatal(err)
	}
	if d := claim("owner-d", later, 2, 100); len(d) != 4 {
		t.Fatalf("owner d claimed %d after owner c released, want 2 per endpoint", len(d))
	}
}

// testCBOutcomes checks what attempt outcomes do (retry, give up,
// success), the endpoint marks they set, the delivery log, and NextDue.
func testCBOutcomes(e *cbEnv) {
	t, ctx := e.t, e.ctx
	ep := e.endpoint()
	for i := range 3 {
		e.cart(fmt.Sprintf("cart-%d", i))
		e.events(fmt.Sprintf("cart-%d", i), 1)
	}
	if _, ok, err := e.cs.NextDue(ctx); ok || err != nil {
		t.Fatalf("NextDue with no deliveries: %v %v", ok, err)
	}
	e.publish("fan", e.claimOutbox("fan", cbT0, 10), cbT0, ep)
	if next, ok, err := e.cs.NextDue(ctx); !ok || err != nil || !next.Equal(cbT0) {
		t.Fatalf("NextDue = %s %v %v", next, ok, err)
	}
	claim := func(at time.Time, per int) []omnicart.CallbackClaim {
		t.Helper()
		cs, err := e.cs.Claim(ctx, omnicart.CallbackClaimRequest{Owner: "owner", Now: at, Until: at.Add(time.Hour), PerEndpoint: per, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	record := func(outs ...omnicart.CallbackOutcome) []string {
		t.Helper()
		stopped, err := e.cs.Record(ctx, "owner", outs)
		if err != nil {
			t.Fatal(err)
		}
		return stopped
	}
	c := claim(cbT0, 1)
	if len(c) != 1 || c[0].Attempt != 1 {
		t.Fatalf("claimed %+v", c)
	}
	first := c[0]
	retry := omnicart.CallbackOutcome{DeliveryID: first.DeliveryID, EndpointID: ep.ID, Attempt: 1, At: cbT0, HTTPStatus: 500, Latency: 40 * time.Millisecond,
		Error: "HTTP 500", Response: "oops", Status: omnicart.DeliveryPending, NextAttemptAt: cbT0.Add(time.Second)}
	record(retry)
	// The other two are due at cbT0, the retry a second later.
	c = claim(cbT0, 10)
	if len(c) != 2 {
		t.Fatalf("claimed %d, want the two never attempted", len(c))
	}
	gaveUp := omnicart.CallbackOutcome{DeliveryID: c[0].DeliveryID, EndpointID: ep.ID, Attempt: 1, At: cbT0, Error: "connection refused",
		Status: omnicart.DeliveryFailed, Failing: true}
	if stopped := record(gaveUp); len(stopped) != 0 {
		t.Fatalf("stopped %v", stopped)
	}
	if got, _ := e.cs.Endpoint(ctx, e.m.ID, ep.ID); got.Status() != omnicart.EndpointFailing || !got.FailingSince.Equal(cbT0) {
		t.Fatalf("after giving up: %+v", got)
	}
	if next, ok, _ := e.cs.NextDue(ctx); !ok || !next.Equal(cbT0) {
		t.Fatalf("NextDue = %s %v, want the held delivery still due", next, ok)
	}
	if n := len(claim(cbT0.Add(999*time.Millisecond), 10)); n != 1 {
		t.Fatalf("claimed %d before the retry time, want only the unrecorded one", n)
	}
	c = claim(cbT0.Add(time.Second), 10)
	var second omnicart.CallbackClaim
	for _, x := range c {
		if x.DeliveryID == first.DeliveryID {
			second = x
		}
	}
	if second.Attempt != 2 {
		t.Fatalf("retry: %+v", c)
	}
	okOut := omnicart.CallbackOutcome{DeliveryID: first.DeliveryID, EndpointID: ep.ID, Attempt: 2, At: cbT0.Add(time.Second), HTTPStatus: 204,
		Latency: 5 * time.Millisecond, Status: omnicart.DeliverySucceeded, Healthy: true}
	record(okOut)
	if got, _ := e.cs.Endpoint(ctx, e.m.ID, ep.ID); got.Status() != omnicart.EndpointActive {
		t.Fatalf("after a success: %+v", got)
	}
	ds := e.deliveries("cart-0", 1)
	if len(ds) != 1 || ds[0].Status != omnicart.DeliverySucceeded || ds[0].Attempts != 2 || ds[0].LastStatus != 204 ||
		!ds[0].FinishedAt.Equal(cbT0.Add(time.Second+5*time.Millisecond)) || !ds[0].CreatedAt.Equal(cbT0) {
		t.Fatalf("deliveries of cart-0#1: %+v", ds)
	}
	log, err := e.cs.Attempts(ctx, e.m.ID, ep.ID, 10)
	if err != nil || len(log) != 3 {
		t.Fatalf("Attempts = %+v, %v", log, err)
	}
	if l := log[0]; l.DeliveryID != first.DeliveryID || l.Attempt != 2 || l.HTTPStatus != 204 || l.Status != omnicart.DeliverySucceeded ||
		l.CartID != "cart-0" || l.EventType != omnicart.EventTimerStatusChanged || l.EventID != cbEventID("cart-0", 1) {
		t.Fatalf("newest log row %+v", l)
	}
	if l := log[2]; l.Attempt != 1 || l.HTTPStatus != 500 || l.Error != "HTTP 500" || l.Response != "oops" || l.Latency != 40*time.Millisecond ||
		!l.At.Equal(cbT0) {
		t.Fatalf("oldest log row %+v", l)
	}
	if log[1].HTTPStatus != 0 || log[1].Status != omnicart.DeliveryFailed {
		t.Fatalf("log row of the given-up delivery %+v", log[1])
	}
	if short, _ := e.cs.Attempts(ctx, e.m.ID, ep.ID, 1); len(short) != 1 {
		t.Fatalf("Attempts limit 1: %d rows", len(short))
	}
	if other, _ := e.cs.Attempts(ctx, "mer_other", ep.ID, 10); len(other) != 0 {
		t.Fatalf("another merchant sees %d log rows", len(other))
	}
}

// testCBResendsAndDisabling checks the event list, re-sends, and what
// disabling (by the merchant or by a 410 answer) and removing an endpoint
// do to its deliveries.
func testCBResendsAndDisabling(e *cbEnv) {
	t, ctx := e.t, e.ctx
	ep, spare := e.endpoint(), e.endpoint(omnicart.EventPaymentStatusChanged)
	for i := range 3 {
		e.cart(fmt.Sprintf("cart-%d", i))
		e.events(fmt.Sprintf("cart-%d", i), 1)
	}
	e.publish("fan", e.claimOutbox("fan", cbT0, 10), cbT0, ep, spare)
	// Events: filters and paging, newest first.
	all, err := e.cs.Events(ctx, e.m.ID, omnicart.CallbackEventQuery{Limit: 10})
	if err != nil || len(all) != 3 || all[0].CartID != "cart-2" || all[2].CartID != "cart-0" {
		t.Fatalf("Events = %+v, %v", all, err)
	}
	page, _ := e.cs.Events(ctx, e.m.ID, omnicart.CallbackEventQuery{Before: all[0].ID, Limit: 1})
	byCart, _ := e.cs.Events(ctx, e.m.ID, omnicart.CallbackEventQuery{CartID: "cart-1", Limit: 10})
	byType, _ := e.cs.Events(ctx, e.m.ID, omnicart.CallbackEventQuery{Type: omnicart.EventPaymentStatusChanged, Limit: 10})
	if len(page) != 1 || page[0].ID != all[1].ID || len(byCart) != 1 || byCart[0].CartID != "cart-1" || len(byType) != 0 {
		t.Fatalf("paged %+v, by cart %+v, by type %+v", page, byCart, byType)
	}
	if others, _ := e.cs.Events(ctx, "mer_other", omnicart.CallbackEventQuery{Limit: 10}); len(others) != 0 {
		t.Fatalf("another merchant sees %d events", len(others))
	}
	if _, err := e.cs.Event(ctx, "mer_other", all[0].ID); !errors.Is(err, omnicart.ErrNotFound) {
		t.Fatalf("another merchant's event: %v, want ErrNotFound", err)
	}
	status := func(endpointID string) map[string]int {
		t.Helper()
		n := map[string]int{}
		for _, r := range all {
			for _, d := range e.deliveries(r.CartID, r.Sequence) {
				if d.EndpointID == endpointID {
					n[d.Status]++
				}
			}
		}
		return n
	}
	// The merchant disables spare: its pending deliveries are canceled.
	spare.Enabled, spare.UpdatedAt = false, cbT0.Add(time.Second)
	if _, err := e.cs.UpdateEndpoint(ctx, e.m.ID, spare.ID, e.setEndpoint(spare, true)); err != nil {
		t.Fatal(err)
	}
	if n := status(spare.ID); n[omnicart.DeliveryCanceled] != 3 {
		t.Fatalf("deliveries of the disabled endpoint: %v, want 3 canceled", n)
	}
	for _, d := range e.deliveries("cart-0", 1) {
		if d.EndpointID == spare.ID && !d.FinishedAt.Equal(spare.UpdatedAt) {
			t.Fatalf("canceled delivery %+v, want finished when disabled", d)
		}
	}
	// Re-sends: to an enabled endpoint a new delivery, to a disabled one
	// none (id 0).
	ev0, err := e.cs.Event(ctx, e.m.ID, cbEventID("cart-0", 1))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := e.cs.AddDeliveries(ctx, []omnicart.NewCallbackDelivery{
		{EventPK: ev0.PK, EndpointID: spare.ID, CartPK: ev0.CartPK, Sequence: 1, DueAt: cbT0},
		{EventPK: ev0.PK, EndpointID: ep.ID, CartPK: ev0.CartPK, Sequence: 1, DueAt: cbT0.Add(2 * time.Second)},
	})
	if err != nil || len(ids) != 2 || ids[0] != 0 || ids[1] == 0 {
		t.Fatalf("AddDeliveries = %v, %v", ids, err)
	}
	if ds := e.deliveries("cart-0", 1); len(ds) != 3 || ds[2].ID != ids[1] || ds[2].EndpointID != ep.ID || ds[2].Status != omnicart.DeliveryPending {
		t.Fatalf("deliveries after a re-send: %+v", ds)
	}
	// 410: the endpoint is disabled, its other pending deliveries canceled
	// (also those being sent: their outcomes change nothing), and Record
	// reports it stopped.
	c, err := e.cs.Claim(ctx, omnicart.CallbackClaimRequest{Owner: "owner", Now: cbT0.Add(2 * time.Second), Until: cbT0.Add(time.Hour),
		PerEndpoint: 10, Limit: 10})
	if err != nil || len(c) != 4 {
		t.Fatalf("claimed %d, want the three events and the re-send: %v", len(c), err)
	}
	gone := omnicart.CallbackOutcome{DeliveryID: c[0].DeliveryID, EndpointID: ep.ID, Attempt: 1, At: cbT0.Add(2 * time.Second), HTTPStatus: 410,
		Status: omnicart.DeliveryFailed, DisableEndpoint: true, DisabledReason: "gone"}
	if stopped, err := e.cs.Record(ctx, "owner", []omnicart.CallbackOutcome{gone}); err != nil || !slices.Equal(stopped, []string{ep.ID}) {
		t.Fatalf("Record = %v, %v; want %s stopped", stopped, err, ep.ID)
	}
	got, _ := e.cs.Endpoint(ctx, e.m.ID, ep.ID)
	if got.Enabled || got.DisabledReason != "gone" || got.Status() != omnicart.EndpointDisabled {
		t.Fatalf("after 410: %+v", got)
	}
	late := omnicart.CallbackOutcome{DeliveryID: c[1].DeliveryID, EndpointID: ep.ID, Attempt: 1, At: cbT0.Add(2 * time.Second), HTTPStatus: 204,
		Status: omnicart.DeliverySucceeded, Healthy: true}
	if stopped, err := e.cs.Record(ctx, "owner", []omnicart.CallbackOutcome{late}); err != nil || !slices.Equal(stopped, []string{ep.ID}) {
		t.Fatalf("Record after the 410 = %v, %v; want %s stopped", stopped, err, ep.ID)
	}
	if n := status(ep.ID); n[omnicart.DeliveryFailed] != 1 || n[omnicart.DeliveryCanceled] != 3 {
		t.Fatalf("deliveries after the 410: %v, want 1 failed and 3 canceled", n)
	}
	if _, ok, _ := e.cs.NextDue(ctx); ok {
		t.Fatal("disabled endpoints have due deliveries")
	}
	if c, _ := e.cs.Claim(ctx, omnicart.CallbackClaimRequest{Owner: "owner", Now: cbT0.Add(time.Hour), Until: cbT0.Add(2 * time.Hour),
		PerEndpoint: 10, Limit: 10}); len(c) != 0 {
		t.Fatalf("claimed %d for disabled endpoints", len(c))
	}
	// Removing the endpoint removes its deliveries and log.
	if err := e.cs.DeleteEndpoint(ctx, e.m.ID, ep.ID); err != nil {
		t.Fatal(err)
	}
	if n := status(ep.ID); len(n) != 0 {
		t.Fatalf("deliveries of a removed endpoint: %v", n)
	}
	if log, _ := e.cs.Attempts(ctx, e.m.ID, ep.ID, 10); len(log) != 0 {
		t.Fatalf("log of a removed endpoint: %d rows", len(log))
	}
}

// testCBPrune checks that log rows and finished deliveries older than the
// cutoff go, and pending deliveries and events stay.
func testCBPrune(e *cbEnv) {
	t, ctx := e.t, e.ctx
	ep := e.endpoint()
	for i := range 4 {
		e.cart(fmt.Sprintf("cart-%d", i))
		e.events(fmt.Sprintf("cart-%d", i), 1)
	}
	e.publish("fan", e.claimOutbox("fan", cbT0, 10), cbT0, ep)
	c, err := e.cs.Claim(ctx, omnicart.CallbackClaimRequest{Owner: "owner", Now: cbT0, Until: cbT0.Add(time.Hour), PerEndpoint: 10, Limit: 10})
	if err != nil || len(c) != 4 {
		t.Fatalf("claimed %d, %v", len(c), err)
	}
	out := func(c omnicart.CallbackClaim, status string, at time.Time) omnicart.CallbackOutcome {
		o := omnicart.CallbackOutcome{DeliveryID: c.DeliveryID, EndpointID: ep.ID, Attempt: 1, At: at, HTTPStatus: 200, Status: status}
		if status == omnicart.DeliveryPending {
			o.HTTPStatus, o.NextAttemptAt = 500, at.Add(time.Hour)
		}
		return o
	}
	cutoff := cbT0.Add(24 * time.Hour)
	if _, err := e.cs.Record(ctx, "owner", []omnicart.CallbackOutcome{
		out(c[0], omnicart.DeliverySucceeded, cbT0),
		out(c[1], omnicart.DeliveryPending, cbT0),
		out(c[3], omnicart.DeliverySucceeded, cutoff.Add(time.Minute)),
	}); err != nil {
		t.Fatal(err)
	}
	total := 0
	for {
		n, err := e.cs.Prune(ctx, cutoff, 500)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		total += n
	}
	// Gone: the two old attempts and the delivery that finished long ago.
	if total != 3 {
		t.Fatalf("pruned %d rows, want 3", total)
	}
	log, _ := e.cs.Attempts(ctx, e.m.ID, ep.ID, 10)
	if len(log) != 1 || log[0].DeliveryID != c[3].DeliveryID {
		t.Fatalf("log after prune: %+v", log)
	}
	evs, _ := e.cs.Events(ctx, e.m.ID, omnicart.CallbackEventQuery{Limit: 10})
	if len(evs) != 4 {
		t.Fatalf("events after prune: %d", len(evs))
	}
	states := map[int64]string{}
	for _, ev := range evs {
		ds, _ := e.cs.Deliveries(ctx, e.m.ID, ev.ID)
		for _, d := range ds {
			states[d.ID] = d.Status
		}
	}
	if _, ok := states[c[0].DeliveryID]; ok || states[c[1].DeliveryID] != omnicart.DeliveryPending || states[c[2].DeliveryID] != omnicart.DeliveryPending ||
		states[c[3].DeliveryID] != omnicart.DeliverySucceeded {
		t.Fatalf("deliveries after prune: %v", states)
	}
}
