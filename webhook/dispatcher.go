package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/omnicart/omnicart"
)

// Dispatcher moves events from the outbox to the merchants' endpoints.
// Store, Client, Log and Clock are required; the other fields have defaults.
type Dispatcher struct {
	Store omnicart.CallbackStore
	// Client sends the callbacks; use NewClient.
	Client *http.Client
	Log    *slog.Logger
	// Clock tells the time and runs every wait of the dispatcher: polls,
	// retry times, lease renewals, log pruning and the stop grace (real
	// time: retries are not affected by a merchant's test clock).
	Clock omnicart.Clock
	// Rand returns a number in [0, 1) for retry jitter (math/rand when
	// nil).
	Rand func() float64
	// Schedule is the retry schedule (DefaultSchedule when nil).
	Schedule Schedule
	// PerEndpoint bounds the attempts in flight to one endpoint (default
	// 4), so that a slow endpoint cannot take every worker. An endpoint is
	// served by one process at a time (see omnicart.CallbackStore.Claim),
	// so the bound holds across processes.
	PerEndpoint int
	// Prefetch is how many due deliveries of one endpoint this process
	// holds at most, queued or being sent (default 512): larger batches
	// mean fewer database transactions per delivery, and a deeper queue
	// keeps attempts going while the store records and claims.
	Prefetch int
	// MaxInFlight bounds the deliveries this process holds, queued or
	// being sent (default 4096: eight endpoints' Prefetch).
	MaxInFlight int
	// Lease is how long an endpoint lease lasts without renewal (default
	// 5 s); the dispatcher renews its leases every Lease/3, so a crashed
	// process's endpoints (and the deliveries it had not recorded) are
	// taken over within Lease. Outbox events claimed by a fan-out are
	// leased as long, and taken over as soon, if it dies before publishing
	// them.
	Lease time.Duration
	// Poll is how often the outbox is polled for new events (default
	// 50 ms).
	Poll time.Duration
	// Batch is how many events one fan-out step handles (default 200).
	Batch int
	// Retention is how long the delivery log is kept (default 30 days).
	Retention time.Duration
	// UserAgent is sent with every callback.
	UserAgent string
	// StopGrace is how long attempts under way may still take when Run's
	// context ends (default 5 s).
	StopGrace time.Duration

	wakeOnce  sync.Once
	wake      chan struct{}
	ownerOnce sync.Once
	ownerID   string
	keys      keyCache
}

// Defaults of the Dispatcher.
const (
	DefaultPerEndpoint = 4
	DefaultPrefetch    = 512
	DefaultMaxInFlight = 4096
	DefaultLease       = 5 * time.Second
	DefaultPoll        = 50 * time.Millisecond
	DefaultBatch       = 200
	DefaultRetention   = 30 * 24 * time.Hour
	// maxWait is the longest the delivery loop sleeps without looking for
	// due deliveries (re-sends made by another process are found then).
	maxWait = time.Second
)

func (d *Dispatcher) defaults() {
	if d.Rand == nil {
		d.Rand = mrand.Float64
	}
	if d.Schedule == nil {
		d.Schedule = DefaultSchedule()
	}
	if d.PerEndpoint <= 0 {
		d.PerEndpoint = DefaultPerEndpoint
	}
	if d.Prefetch < d.PerEndpoint {
		d.Prefetch = max(DefaultPrefetch, d.PerEndpoint)
	}
	if d.MaxInFlight <= 0 {
		d.MaxInFlight = DefaultMaxInFlight
	}
	if d.Lease <= 0 {
		d.Lease = DefaultLease
	}
	if d.Poll <= 0 {
		d.Poll = DefaultPoll
	}
	if d.Batch <= 0 {
		d.Batch = DefaultBatch
	}
	if d.Retention <= 0 {
		d.Retention = DefaultRetention
	}
	if d.StopGrace <= 0 {
		d.StopGrace = 5 * time.Second
	}
	if d.UserAgent == "" {
		d.UserAgent = "OmniCart-Webhooks/1.0"
	}
	d.wakeOnce.Do(func() { d.wake = make(chan struct{}, 1) })
}

// Poke tells a running dispatcher that deliveries may be due now (after a
// re-send), so that it does not wait for its next look.
func (d *Dispatcher) Poke() {
	d.wakeOnce.Do(func() { d.wake = make(chan struct{}, 1) })
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run fans out and delivers until ctx ends. Attempts under way when ctx
// ends may finish for StopGrace and are recorded; those still running then
// are abandoned (attempted again by the next run, without counting as
// attempts). Run returns when everything it started has stopped, after
// giving up its endpoint leases and outbox claims so that another process
// takes them over at once.
func (d *Dispatcher) Run(ctx context.Context) {
	d.defaults()
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		d.fanOutLoop(ctx)
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		d.pruneLoop(ctx)
	}()
	d.deliverLoop(ctx)
	<-done
	<-done
	if err := d.Store.Release(context.WithoutCancel(ctx), d.owner()); err != nil {
		d.Log.Error("callbacks: releasing endpoint leases and outbox claims", "err", err)
	}
}

// fanOutLoop fans out until ctx ends: again at once after a full batch,
// else Poll after the last look.
func (d *Dispatcher) fanOutLoop(ctx context.Context) {
	t := d.Clock.NewTimer(d.Poll)
	t.Stop() // armed only while the loop waits
	defer t.Stop()
	for {
		n, err := d.FanOut(ctx)
		if err != nil && ctx.Err() == nil {
			d.Log.ErrorContext(ctx, "callbacks: fan-out failed", "err", err)
		}
		if n > 0 {
			d.Poke()
		}
		if n == d.Batch && err == nil && ctx.Err() == nil {
			continue
		}
		t.Reset(d.Poll)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// FanOut handles one batch of the outbox: it claims up to Batch events
// that no other process holds, builds each event's payload and a delivery
// for every enabled endpoint of the event's merchant that wants its type,
// and publishes them, which takes the events out of the outbox. It returns
// how many events it claimed (0 when the outbox has none free).
func (d *Dispatcher) FanOut(ctx context.Context) (int, error) {
	d.defaults()
	now := d.Clock.Now()
	owner := d.owner()
	evs, err := d.Store.ClaimOutbox(ctx, owner, now, now.Add(d.Lease), d.Batch)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	eps, err := d.Store.Endpoints(ctx, "")
	if err != nil {
		return 0, err
	}
	byMerchant := map[string][]*omnicart.CallbackEndpoint{}
	for _, e := range eps {
		if e.Enabled {
			byMerchant[e.MerchantID] = append(byMerchant[e.MerchantID], e)
		}
	}
	done := make([]int64, 0, len(evs))
	pubs := make([]omnicart.CallbackEvent, 0, len(evs))
	var ds []omnicart.NewCallbackDelivery
	for _, ev := range evs {
		done = append(done, ev.PK)
		id, body, err := BuildPayload(ev.MerchantID, ev.CartID, ev.Body)
		if err != nil {
			// A stored event that cannot be read is a bug; leaving it in
			// the outbox would hold up its cart's later events forever,
			// so it is taken out unpublished.
			d.Log.ErrorContext(ctx, "callbacks: skipping unreadable event", "event_pk", ev.PK, "merchant", ev.MerchantID, "cart", ev.CartID, "err", err)
			continue
		}
		pubs = append(pubs, omnicart.CallbackEvent{PK: ev.PK, ID: id, MerchantID: ev.MerchantID, CartID: ev.CartID, CartPK: ev.CartPK,
			Sequence: ev.Sequence, Type: ev.Type, Payload: body, CreatedAt: now})
		for _, e := range byMerchant[ev.MerchantID] {
			if e.Wants(ev.Type) {
				ds = append(ds, omnicart.NewCallbackDelivery{EventPK: ev.PK, EndpointID: e.ID, CartPK: ev.CartPK, Sequence: ev.Sequence, DueAt: now})
			}
		}
	}
	// Events another process took over meanwhile (our lease ran out) are
	// left to it.
	if _, err := d.Store.Publish(ctx, owner, done, pubs, ds); err != nil {
		return 0, err
	}
	return len(evs), nil
}

// result is a finished attempt: its outcome, or canceled when the attempt
// was abandoned because the dispatcher is stopping.
type result struct {
	claim    omnicart.CallbackClaim
	out      omnicart.CallbackOutcome
	canceled bool
}

// owner is the dispatcher's name in the leases it takes (endpoints and
// outbox events): random, once per Dispatcher.
func (d *Dispatcher) owner() string {
	d.ownerOnce.Do(func() {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			panic(fmt.Sprintf("crypto/rand failed: %v", err))
		}
		d.ownerID = "dsp_" + hex.EncodeToString(b)
	})
	return d.ownerID
}

// attempt sends one delivery and decides what follows.
func (d *Dispatcher) attempt(ctx context.Context, c omnicart.CallbackClaim) result {
	start := d.Clock.Now()
	out := omnicart.CallbackOutcome{DeliveryID: c.DeliveryID, EndpointID: c.Endpoint.ID, Attempt: c.Attempt, At: start}
	status, resp, err := d.post(ctx, c, start)
	out.Latency = d.Clock.Now().Sub(start)
	if err != nil && status == 0 && ctx.Err() != nil {
		return result{claim: c, canceled: true} // stopping: not an attempt
	}
	out.HTTPStatus, out.Response = status, resp
	if err != nil {
		out.Error = err.Error()
	}
	d.decide(&out, d.Clock.Now())
	return result{claim: c, out: out}
}

// post sends the request and returns the status code and the start of the
// answer. A non-2xx answer is an error too.
func (d *Dispatcher) post(ctx context.Context, c omnicart.CallbackClaim, now time.Time) (int, string, error) {
	ts := now.Unix()
	sig, err := signWith(d.keys.signer, c.Endpoint.Secrets(now), c.EventID, ts, c.Payload)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint.URL, bytes.NewReader(c.Payload))
	if err != nil {
		return 0, "", fmt.Errorf("bad callback URL: %w", err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", d.UserAgent)
	h[HeaderID] = []string{c.EventID}
	h[HeaderTimestamp] = []string{strconv.FormatInt(ts, 10)}
	h[HeaderSignature] = []string{sig}
	resp, err := d.Client.Do(req)
	if err != nil {
		return 0, "", describe(err)
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	snippet := printable(head)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp.StatusCode, snippet, nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, snippet, fmt.Errorf("HTTP %d: redirect to %q not followed", resp.StatusCode, resp.Header.Get("Location"))
	}
	return resp.StatusCode, snippet, fmt.Errorf("HTTP %d", resp.StatusCode)
}

// describe shortens a client error for the delivery log.
func describe(err error) error {
	var be *BlockedAddressError
	switch {
	case errors.As(err, &be):
		return be
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout"):
		return errors.New("timeout: no answer within the attempt timeout")
	}
	return err
}

func printable(b []byte) string { return strings.ToValidUTF8(string(b), "\uFFFD") }

// decide sets what follows an attempt: success, a retry on the schedule,
// giving up (the endpoint is marked failing), or disabling the endpoint on
// 410 Gone.
func (d *Dispatcher) decide(out *omnicart.CallbackOutcome, now time.Time) {
	switch {
	case out.HTTPStatus >= 200 && out.HTTPStatus < 300:
		out.Status, out.Healthy = omnicart.DeliverySucceeded, true
	case out.HTTPStatus == http.StatusGone:
		out.Status, out.DisableEndpoint = omnicart.DeliveryFailed, true
		out.DisabledReason = "the endpoint answered 410 Gone"
	default:
		if delay, ok := d.Schedule.Next(out.Attempt, d.Rand()); ok {
			out.Status, out.NextAttemptAt = omnicart.DeliveryPending, now.Add(delay)
		} else {
			out.Status, out.Failing = omnicart.DeliveryFailed, true
		}
	}
}

// record saves outcomes, tells the operator what needs attention, and
// returns the endpoints that are now disabled or removed.
func (d *Dispatcher) record(ctx context.Context, owner string, rs []result) []string {
	outs := make([]omnicart.CallbackOutcome, len(rs))
	for i, r := range rs {
		outs[i] = r.out
	}
	stopped, err := d.Store.Record(ctx, owner, outs)
	if err != nil {
		// The deliveries stay pending and are attempted again.
		d.Log.ErrorContext(ctx, "callbacks: recording delivery attempts", "err", err, "count", len(outs))
		return nil
	}
	for _, r := range rs {
		o, c := r.out, r.claim
		attrs := []any{"merchant", c.Endpoint.MerchantID, "endpoint", c.Endpoint.ID, "host", redactedHost(c.Endpoint.URL),
			"event", c.EventID, "type", c.Type, "attempt", o.Attempt, "http_status", o.HTTPStatus, "error", o.Error}
		switch {
		case o.DisableEndpoint:
			d.Log.WarnContext(ctx, "callbacks: endpoint disabled: it answered 410 Gone; its pending deliveries are canceled", attrs...)
		case o.Failing:
			d.Log.ErrorContext(ctx, "callbacks: delivery failed after every retry; endpoint marked failing", append(attrs, "attempts", o.Attempt)...)
		case o.Status == omnicart.DeliveryPending:
			d.Log.InfoContext(ctx, "callbacks: delivery attempt failed; will retry", append(attrs, "next_attempt_at", Stamp(o.NextAttemptAt))...)
		}
	}
	return stopped
}

// pruneLoop prunes the delivery log a minute after the start and then
// hourly, until ctx ends.
func (d *Dispatcher) pruneLoop(ctx context.Context) {
	t := d.Clock.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		n, err := d.Prune(ctx)
		if err != nil && ctx.Err() == nil {
			d.Log.ErrorContext(ctx, "callbacks: pruning the delivery log", "err", err)
		} else if n > 0 {
			d.Log.InfoContext(ctx, "callbacks: pruned the delivery log", "rows", n)
		}
		t.Reset(time.Hour)
	}
}

// Prune deletes delivery log rows and finished deliveries older than the
// retention, in small transactions, and returns how many rows went.
func (d *Dispatcher) Prune(ctx context.Context) (int, error) {
	d.defaults()
	before := d.Clock.Now().Add(-d.Retention)
	total := 0
	for {
		n, err := d.Store.Prune(ctx, before, 500)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// redactedHost is the scheme and host of a callback URL, for logs: paths and
// queries often carry the merchant's tokens.
func redactedHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host
}
