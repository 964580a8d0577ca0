package webhook

import (
	"context"
	"time"

	"github.com/omnicart/omnicart"
)

// endpointQueue holds one endpoint's claimed deliveries and counts its
// attempts running.
type endpointQueue struct {
	claims  []omnicart.CallbackClaim
	running int
}

// flushDelay is the longest an outcome waits to be recorded with others.
const flushDelay = 5 * time.Millisecond

// flushBatch is how many outcomes make a batch worth recording at once.
const flushBatch = 64

// storeJob is a batch of work for the store: outcomes to record, and
// whether to claim more (with room for how many, less the deliveries held).
type storeJob struct {
	outcomes []result
	claim    bool
	room     int
	held     map[string][]int64
}

// storeDone is what a storeJob gave: new claims, how long to wait before
// claiming again, and the held deliveries whose outcomes it recorded.
type storeDone struct {
	claims  []omnicart.CallbackClaim
	wait    time.Duration
	claimed bool
	settled []int64
	stopped []string // endpoints disabled or removed meanwhile
}

// deliverLoop claims due deliveries in batches, queues them per endpoint,
// runs at most PerEndpoint attempts at a time per endpoint (each in its own
// goroutine) and records the outcomes in batches. The store work (claims
// and outcomes) runs in a goroutine of its own, one job at a time, so that
// attempts keep starting while a transaction runs.
func (d *Dispatcher) deliverLoop(ctx context.Context) {
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	l := &loop{d: d, owner: d.owner(), results: make(chan result, d.MaxInFlight), queues: map[string]*endpointQueue{},
		jobs: make(chan storeJob), done: make(chan storeDone), held: map[int64]string{}, sendCtx: sendCtx, cancelSends: cancelSends}
	go l.storeWorker(context.WithoutCancel(ctx))
	l.run(ctx)
	close(l.jobs)
}

// loop is the state of deliverLoop, owned by its goroutine.
type loop struct {
	d        *Dispatcher
	owner    string
	results  chan result
	queues   map[string]*endpointQueue
	jobs     chan storeJob
	done     chan storeDone
	busy     bool             // a store job runs
	held     map[int64]string // deliveries queued, running, or waiting to be recorded, and their endpoints
	running  int
	outcomes []result
	// sendCtx carries the attempts; it outlives the loop's context by up
	// to StopGrace so that attempts under way when the process stops get
	// their answer and are recorded.
	sendCtx     context.Context
	cancelSends context.CancelFunc
}

// storeWorker runs store jobs until jobs is closed.
func (l *loop) storeWorker(ctx context.Context) {
	for job := range l.jobs {
		var out storeDone
		if len(job.outcomes) > 0 {
			out.stopped = l.d.record(ctx, l.owner, job.outcomes)
			for _, r := range job.outcomes {
				out.settled = append(out.settled, r.claim.DeliveryID)
			}
		}
		if job.claim {
			out.claimed = true
			out.claims, out.wait = l.d.claim(ctx, l.owner, job.room, job.held)
		}
		l.done <- out
	}
}

func (l *loop) run(ctx context.Context) {
	d := l.d
	claimTimer := d.Clock.NewTimer(0)
	defer claimTimer.Stop()
	flushTimer := d.Clock.NewTimer(flushDelay)
	flushTimer.Stop()
	defer flushTimer.Stop()
	// flushArmed: the timer runs for the outcomes waiting; flushNow: they
	// waited flushDelay.
	flushArmed, flushNow := false, false
	heartbeat := d.Clock.NewTimer(d.Lease / 3)
	defer heartbeat.Stop()
	needClaim := true
	for {
		if ctx.Err() != nil {
			l.stop()
			return
		}
		// Hand the store a job when it is free and there is enough to do:
		// a claim is wanted, a batch of outcomes is ready, or outcomes
		// waited long enough (or nothing runs that could add to them).
		due := needClaim || len(l.outcomes) >= flushBatch || (len(l.outcomes) > 0 && (l.running == 0 || flushNow))
		if !l.busy && due {
			job := storeJob{outcomes: l.outcomes, claim: needClaim, room: d.MaxInFlight - len(l.held)}
			l.outcomes = nil
			if job.room <= 0 {
				job.claim = false
			}
			if job.claim {
				// The job records its outcomes before it claims: those
				// deliveries are no longer held then.
				recorded := make(map[int64]bool, len(job.outcomes))
				for _, r := range job.outcomes {
					recorded[r.claim.DeliveryID] = true
				}
				job.held = map[string][]int64{}
				for id, ep := range l.held {
					if !recorded[id] {
						job.held[ep] = append(job.held[ep], id)
					}
				}
			}
			l.busy, needClaim, flushArmed, flushNow = true, false, false, false
			l.jobs <- job
		}
		if len(l.outcomes) > 0 && !flushArmed {
			flushTimer.Reset(flushDelay)
			flushArmed = true
		}
		select {
		case r := <-l.results:
			needClaim = l.take(ctx, r) || needClaim
		drain:
			for {
				select {
				case r := <-l.results:
					needClaim = l.take(ctx, r) || needClaim
				default:
					break drain
				}
			}
		case res := <-l.done:
			l.busy = false
			for _, id := range res.settled {
				delete(l.held, id)
			}
			for _, ep := range res.stopped {
				l.drop(ep)
			}
			for _, c := range res.claims {
				l.held[c.DeliveryID] = c.Endpoint.ID
				l.enqueue(c)
			}
			for id := range l.queues {
				l.pump(ctx, id)
			}
			if res.claimed {
				claimTimer.Reset(res.wait)
			}
		case <-d.wake:
			needClaim = true
		case <-claimTimer.C():
			needClaim = true
		case <-flushTimer.C():
			flushNow = flushArmed
		case <-heartbeat.C():
			heartbeat.Reset(d.Lease / 3)
			// Leases matter while deliveries are held; an idle endpoint's
			// lease lapses and is taken again by the next claim.
			if len(l.held) > 0 {
				if err := d.Store.Extend(ctx, l.owner, d.Clock.Now().Add(d.Lease)); err != nil && ctx.Err() == nil {
					d.Log.ErrorContext(ctx, "callbacks: renewing endpoint leases", "err", err)
				}
			}
		case <-ctx.Done():
		}
	}
}

func (l *loop) enqueue(c omnicart.CallbackClaim) {
	q := l.queues[c.Endpoint.ID]
	if q == nil {
		q = &endpointQueue{}
		l.queues[c.Endpoint.ID] = q
	}
	q.claims = append(q.claims, c)
}

// pump starts the queued attempts of an endpoint while it has room.
func (l *loop) pump(ctx context.Context, id string) {
	q := l.queues[id]
	if q == nil {
		return
	}
	for q.running < l.d.PerEndpoint && len(q.claims) > 0 && ctx.Err() == nil {
		c := q.claims[0]
		q.claims = q.claims[1:]
		q.running++
		l.running++
		go func() { l.results <- l.d.attempt(l.sendCtx, c) }()
	}
	if q.running == 0 && len(q.claims) == 0 {
		delete(l.queues, id)
	}
}

// drop forgets the queued (not started) deliveries of an endpoint that was
// disabled or removed; the store canceled or deleted them.
func (l *loop) drop(id string) {
	q := l.queues[id]
	if q == nil {
		return
	}
	for _, c := range q.claims {
		delete(l.held, c.DeliveryID)
	}
	q.claims = nil
	if q.running == 0 {
		delete(l.queues, id)
	}
}

// take handles a finished attempt, starts the next of its endpoint, and
// reports whether that endpoint's queue runs low (time to claim more).
func (l *loop) take(ctx context.Context, r result) bool {
	id := r.claim.Endpoint.ID
	q := l.queues[id]
	q.running--
	l.running--
	if r.canceled {
		delete(l.held, r.claim.DeliveryID) // attempted again by whoever serves the endpoint next
	} else {
		l.outcomes = append(l.outcomes, r)
	}
	if r.out.DisableEndpoint {
		l.drop(id) // 410 Gone: send nothing more to it
	}
	l.pump(ctx, id)
	q = l.queues[id]
	return q == nil || len(q.claims) < l.d.Prefetch/2
}

// stop waits for the store job and the attempts under way (for at most
// StopGrace; then they are abandoned and attempted again by whoever
// serves their endpoint next) and records the outcomes; Run then gives up
// the endpoint leases so that the next process takes over at once. Queued
// deliveries were never attempted; they stay due.
func (l *loop) stop() {
	if l.busy {
		<-l.done
	}
	grace := l.d.Clock.NewTimer(l.d.StopGrace)
	stopped := make(chan struct{})
	defer func() {
		grace.Stop()
		close(stopped)
	}()
	go func() {
		select {
		case <-grace.C():
			l.cancelSends()
		case <-stopped:
		}
	}()
	for l.running > 0 {
		r := <-l.results
		l.running--
		if !r.canceled {
			l.outcomes = append(l.outcomes, r)
		}
	}
	if len(l.outcomes) > 0 {
		l.jobs <- storeJob{outcomes: l.outcomes}
		<-l.done
	}
}

// claim leases due deliveries when some are due and returns them with how
// long to wait before looking again.
func (d *Dispatcher) claim(ctx context.Context, owner string, room int, held map[string][]int64) ([]omnicart.CallbackClaim, time.Duration) {
	next, ok, err := d.Store.NextDue(ctx)
	if err != nil {
		d.Log.ErrorContext(ctx, "callbacks: looking for due deliveries", "err", err)
		return nil, maxWait
	}
	now := d.Clock.Now() // after the look: never older than the store's answer
	if !ok {
		return nil, maxWait
	}
	if next.After(now) {
		return nil, min(next.Sub(now), maxWait)
	}
	claims, err := d.Store.Claim(ctx, omnicart.CallbackClaimRequest{Owner: owner, Now: now, Until: now.Add(d.Lease),
		PerEndpoint: d.Prefetch, Limit: room, Held: held, Ready: InOrder})
	if err != nil {
		d.Log.ErrorContext(ctx, "callbacks: claiming deliveries", "err", err)
		return nil, maxWait
	}
	if len(claims) == room {
		return claims, 0 // more may be due right away
	}
	// Due deliveries remain that wait for room at their endpoint, for an
	// earlier event of their cart, for another process, or for an expired
	// lease: look again soon, or when an endpoint's queue runs low.
	return claims, d.Poll
}
