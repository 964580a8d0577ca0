package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicart/omnicart"
)

// The delivery path of the callback store: claims under endpoint leases,
// and attempt outcomes.

// NextDue returns the earliest next attempt of a pending delivery to an
// enabled endpoint; ok is false when there is none.
func (s *Callbacks) NextDue(ctx context.Context) (time.Time, bool, error) {
	var next *int64
	err := s.db.pool.QueryRow(ctx, `SELECT MIN(d.next_attempt_at) FROM callback_endpoints e CROSS JOIN LATERAL
		(SELECT next_attempt_at FROM callback_deliveries WHERE endpoint_id = e.id AND status = 'pending'
		 ORDER BY next_attempt_at LIMIT 1) d WHERE e.enabled`).Scan(&next)
	if err != nil {
		return time.Time{}, false, wrap("next due delivery", err)
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	return fromMs(*next), true, nil
}

// dueEndpointsSQL lists the enabled endpoints with deliveries due at $1
// whose lease no other owner than $2 holds at $1, the longest waiting
// first.
const dueEndpointsSQL = `SELECT ` + endpointCols + ` FROM callback_endpoints e
	CROSS JOIN LATERAL (SELECT next_attempt_at FROM callback_deliveries
		WHERE endpoint_id = e.id AND status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT 1) d
	WHERE e.enabled AND NOT EXISTS (SELECT 1 FROM callback_leases l WHERE l.endpoint_id = e.id AND l.owner <> $2 AND l.until > $1)
	ORDER BY d.next_attempt_at, e.id`

// leaseSQL gives endpoint $1 to owner $2 until $3 when it is free, its
// lease ran out by $4, or $2 holds it already, and returns a row when it
// did.
const leaseSQL = `INSERT INTO callback_leases(endpoint_id, owner, until) VALUES ($1, $2, $3)
	ON CONFLICT (endpoint_id) DO UPDATE SET owner = excluded.owner, until = excluded.until
	WHERE callback_leases.owner = excluded.owner OR callback_leases.until <= $4
	RETURNING endpoint_id`

// candidatesSQL lists up to $5 due deliveries of endpoint $1 at $2 that
// are not among $3, earliest next attempt first (then by id), after
// ($4, $6) in that order, with the facts of their carts that the ordering
// rule reads: the earliest pending delivery of the cart to the endpoint
// that has had no attempt (f), and the lowest sequence of the cart's
// events still in the outbox. All of them come from the statement's one
// snapshot: a fan-out commits the removal of an event from the outbox and
// its deliveries together, so a row sees either, never neither.
const candidatesSQL = `SELECT d.id, d.attempts, d.event_pk, d.cart_pk, d.sequence, d.next_attempt_at, f.id, f.sequence,
		(SELECT MIN(o.sequence) FROM callback_outbox o WHERE o.cart_pk = d.cart_pk)
	FROM callback_deliveries d
	LEFT JOIN LATERAL (SELECT p.id, p.sequence FROM callback_deliveries p
		WHERE p.cart_pk = d.cart_pk AND p.endpoint_id = d.endpoint_id AND p.status = 'pending' AND p.attempts = 0
		ORDER BY p.sequence, p.id LIMIT 1) f ON TRUE
	WHERE d.endpoint_id = $1 AND d.status = 'pending' AND d.next_attempt_at <= $2 AND d.id <> ALL($3::bigint[])
	  AND (d.next_attempt_at, d.id) > ($4, $6)
	ORDER BY d.next_attempt_at, d.id LIMIT $5`

// Claim hands r.Owner due deliveries of the endpoints it holds or can
// take, as r.Ready accepts them; see omnicart.CallbackStore. Each lease is
// taken by a statement of its own, committed before the endpoint's
// deliveries are read: the read then sees every outcome recorded under
// the previous owner's lease (Record holds that lease row until it
// commits). The deliveries are read a page at a time, each page with its
// facts in one statement (candidatesSQL), so a claim reads about as many
// rows as it looks at.
func (s *Callbacks) Claim(ctx context.Context, r omnicart.CallbackClaimRequest) ([]omnicart.CallbackClaim, error) {
	nowMs := ms(r.Now)
	rows, err := s.db.pool.Query(ctx, dueEndpointsSQL, nowMs, r.Owner)
	if err != nil {
		return nil, wrap("due endpoints", err)
	}
	eps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*omnicart.CallbackEndpoint, error) { return scanEndpoint(r) })
	if err != nil {
		return nil, wrap("due endpoints", err)
	}
	var out []omnicart.CallbackClaim
	var eventPKs []int64
	for _, e := range eps {
		if len(out) >= r.Limit {
			break
		}
		var id string
		err := s.db.pool.QueryRow(ctx, leaseSQL, e.ID, r.Owner, ms(r.Until), nowMs).Scan(&id)
		switch {
		case errors.Is(err, pgx.ErrNoRows) || ownCode(err, "23503"):
			continue // another owner serves the endpoint, or it is gone
		case err != nil:
			return nil, wrap("lease endpoint", err)
		}
		slots := min(r.PerEndpoint-len(r.Held[e.ID]), r.Limit-len(out))
		if slots <= 0 {
			continue
		}
		claims, pks, err := s.claimFor(ctx, e, nowMs, slots, r.Held[e.ID], r.Ready)
		if err != nil {
			return nil, err
		}
		out, eventPKs = append(out, claims...), append(eventPKs, pks...)
	}
	if len(out) == 0 {
		return nil, nil
	}
	if err := s.payloads(ctx, out, eventPKs); err != nil {
		return nil, err
	}
	return out, nil
}

// claimFor returns up to `slots` due deliveries of one endpoint that are
// not held and that ready accepts, with the event of each.
func (s *Callbacks) claimFor(ctx context.Context, e *omnicart.CallbackEndpoint, nowMs int64, slots int, held []int64,
	ready func(omnicart.CallbackCandidate) bool) ([]omnicart.CallbackClaim, []int64, error) {
	if held == nil {
		held = []int64{} // NULL would match no row
	}
	// A page holds a few times what is wanted: the rule turns down the
	// later deliveries of a cart whose earlier ones wait.
	page := 4*slots + 16
	var out []omnicart.CallbackClaim
	var eventPKs []int64
	afterAt, afterID := int64(-1<<63), int64(-1<<63)
	for len(out) < slots {
		rows, err := s.db.pool.Query(ctx, candidatesSQL, e.ID, nowMs, held, afterAt, page, afterID)
		if err != nil {
			return nil, nil, wrap("due deliveries", err)
		}
		n, full := 0, false
		for !full && rows.Next() {
			n++
			c := omnicart.CallbackCandidate{EndpointID: e.ID}
			var pk int64
			var firstID, firstSeq, unpublished *int64
			if err := rows.Scan(&c.DeliveryID, &c.Attempts, &pk, &c.CartPK, &c.Sequence, &afterAt, &firstID, &firstSeq, &unpublished); err != nil {
				rows.Close()
				return nil, nil, wrap("due deliveries", err)
			}
			afterID = c.DeliveryID
			if firstID != nil {
				c.FirstID, c.FirstSequence = *firstID, *firstSeq
			}
			if unpublished != nil {
				c.Unpublished = *unpublished
			}
			if ready != nil && !ready(c) {
				continue
			}
			out = append(out, omnicart.CallbackClaim{DeliveryID: c.DeliveryID, Attempt: c.Attempts + 1, Endpoint: *e})
			eventPKs = append(eventPKs, pk)
			full = len(out) >= slots
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, wrap("due deliveries", err)
		}
		if full || n < page {
			break // enough, or no more due deliveries
		}
	}
	return out, eventPKs, nil
}

// payloads fills in the event of each claim (eventPKs[i] is claims[i]'s),
// in one statement.
func (s *Callbacks) payloads(ctx context.Context, claims []omnicart.CallbackClaim, eventPKs []int64) error {
	rows, err := s.db.pool.Query(ctx, `SELECT event_pk, id, type, payload FROM callback_events WHERE event_pk = ANY($1)`, eventPKs)
	if err != nil {
		return wrap("load payloads", err)
	}
	type ev struct {
		id, typ string
		payload []byte
	}
	evs := make(map[int64]ev, len(claims))
	var pk int64
	var e ev
	_, err = pgx.ForEachRow(rows, []any{&pk, &e.id, &e.typ, &e.payload}, func() error {
		evs[pk] = e // Scan gave payload a new slice
		return nil
	})
	if err != nil {
		return wrap("load payloads", err)
	}
	for i := range claims {
		e := evs[eventPKs[i]]
		claims[i].EventID, claims[i].Type, claims[i].Payload = e.id, e.typ, e.payload
	}
	return nil
}

// Extend renews owner's endpoint leases, locking them in id order.
func (s *Callbacks) Extend(ctx context.Context, owner string, until time.Time) error {
	return wrap("renew leases", retry(ctx, func() error {
		_, err := s.db.pool.Exec(ctx, `UPDATE callback_leases l SET until = $2 FROM
			(SELECT endpoint_id FROM callback_leases WHERE owner = $1 ORDER BY endpoint_id FOR UPDATE) mine
			WHERE l.endpoint_id = mine.endpoint_id AND l.owner = $1`, owner, ms(until))
		return err
	}))
}

// Release gives up owner's endpoint leases and outbox claims, in one
// transaction.
func (s *Callbacks) Release(ctx context.Context, owner string) error {
	return s.writeTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM callback_leases WHERE endpoint_id IN
			(SELECT endpoint_id FROM callback_leases WHERE owner = $1 ORDER BY endpoint_id FOR UPDATE) AND owner = $1`, owner); err != nil {
			return wrap("release leases", err)
		}
		_, err := tx.Exec(ctx, `UPDATE callback_outbox o SET owner = '', until = 0 FROM
			(SELECT event_pk FROM callback_outbox WHERE owner = $1 ORDER BY event_pk FOR UPDATE) mine
			WHERE o.event_pk = mine.event_pk AND o.owner = $1`, owner)
		return wrap("release outbox claims", err)
	})
}

// outcomeArrays are a batch of outcomes as the columns of Record's
// statements.
type outcomeArrays struct {
	delivery []int64
	endpoint []string
	attempt  []int32
	at       []int64
	http     []*int32
	latency  []int64
	errs     []string
	response []string
	status   []string
	next     []*int64
	finished []*int64
}

func newOutcomeArrays(outs []omnicart.CallbackOutcome) *outcomeArrays {
	a := &outcomeArrays{}
	for _, o := range outs {
		var http *int32
		if o.HTTPStatus != 0 {
			v := int32(o.HTTPStatus)
			http = &v
		}
		var finished *int64
		if o.Status != omnicart.DeliveryPending {
			v := ms(o.At.Add(o.Latency))
			finished = &v
		}
		a.delivery, a.endpoint, a.attempt = append(a.delivery, o.DeliveryID), append(a.endpoint, o.EndpointID), append(a.attempt, int32(o.Attempt))
		a.at, a.http, a.latency = append(a.at, ms(o.At)), append(a.http, http), append(a.latency, o.Latency.Milliseconds())
		a.errs, a.response, a.status = append(a.errs, o.Error), append(a.response, o.Response), append(a.status, o.Status)
		a.next, a.finished = append(a.next, msOrNil(o.NextAttemptAt)), append(a.finished, finished)
	}
	return a
}

// Record saves attempt outcomes in one transaction; see
// omnicart.CallbackStore. Its statements go to the server in one batch:
//
//  1. the endpoints of the batch that will change (disabled, marked
//     failing, or cleared of the mark) are locked FOR NO KEY UPDATE, the
//     others FOR KEY SHARE (they cannot be removed meanwhile; fan-outs to
//     them go on), each set in id order;
//  2. the batch's lease rows that owner holds are locked FOR SHARE, so
//     that no other owner takes one over before this transaction ends, and
//     one that another owner took over is left out;
//  3. a log row for each outcome whose delivery and endpoint exist;
//  4. the new state of each delivery still pending whose endpoint's lease
//     owner holds (2);
//  5. the endpoints' marks, and the list of the batch's endpoints that are
//     disabled or gone.
func (s *Callbacks) Record(ctx context.Context, owner string, outs []omnicart.CallbackOutcome) ([]string, error) {
	if len(outs) == 0 {
		return nil, nil
	}
	a := newOutcomeArrays(outs)
	var eps, changing, healthy []string
	seen := map[string]bool{}
	var marks []omnicart.CallbackOutcome
	for _, o := range outs {
		if !seen[o.EndpointID] {
			seen[o.EndpointID] = true
			eps = append(eps, o.EndpointID)
		}
		switch {
		case o.DisableEndpoint || o.Failing:
			marks, changing = append(marks, o), append(changing, o.EndpointID)
		case o.Healthy:
			healthy = append(healthy, o.EndpointID)
		}
	}
	var stopped []string
	err := s.writeTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		if len(changing)+len(healthy) > 0 {
			b.Queue(`SELECT id FROM callback_endpoints WHERE id = ANY($1) OR (id = ANY($2) AND failing_since IS NOT NULL)
				ORDER BY id FOR NO KEY UPDATE`, changing, healthy)
		}
		b.Queue(`SELECT id FROM callback_endpoints WHERE id = ANY($1) ORDER BY id FOR KEY SHARE`, eps)
		b.Queue(`SELECT endpoint_id FROM callback_leases WHERE endpoint_id = ANY($1) AND owner = $2 ORDER BY endpoint_id FOR SHARE`,
			eps, owner)
		b.Queue(`INSERT INTO callback_attempts(delivery_id, endpoint_id, attempt, at, http_status, latency_ms, error, response)
			SELECT a.delivery_id, a.endpoint_id, a.attempt, a.at, a.http_status, a.latency_ms, a.error, a.response
			FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[], $5::int[], $6::bigint[], $7::text[], $8::text[]) WITH ORDINALITY
				AS a(delivery_id, endpoint_id, attempt, at, http_status, latency_ms, error, response, n)
			WHERE EXISTS (SELECT 1 FROM callback_deliveries d WHERE d.id = a.delivery_id)
			  AND EXISTS (SELECT 1 FROM callback_endpoints e WHERE e.id = a.endpoint_id)
			ORDER BY a.n`,
			a.delivery, a.endpoint, a.attempt, a.at, a.http, a.latency, a.errs, a.response)
		b.Queue(`UPDATE callback_deliveries d SET status = u.status, attempts = u.attempts, next_attempt_at = u.next,
				last_status = u.http_status, last_error = u.error, finished_at = u.finished
			FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[], $5::int[], $6::text[], $7::bigint[])
				AS u(id, status, attempts, next, http_status, error, finished)
			WHERE d.id = u.id AND d.status = 'pending'
			  AND d.endpoint_id IN (SELECT endpoint_id FROM callback_leases WHERE endpoint_id = ANY($8) AND owner = $9)`,
			a.delivery, a.status, a.attempt, a.next, a.http, a.errs, a.finished, eps, owner)
		for _, o := range marks {
			at := ms(o.At.Add(o.Latency))
			if o.DisableEndpoint {
				b.Queue(`UPDATE callback_endpoints SET enabled = FALSE, disabled_reason = $1, updated_at = $2 WHERE id = $3 AND enabled`,
					o.DisabledReason, at, o.EndpointID)
				b.Queue(cancelPendingSQL, at, o.EndpointID)
			} else {
				b.Queue(`UPDATE callback_endpoints SET failing_since = $1 WHERE id = $2 AND failing_since IS NULL`, at, o.EndpointID)
			}
		}
		if len(healthy) > 0 {
			b.Queue(`UPDATE callback_endpoints SET failing_since = NULL WHERE id = ANY($1) AND failing_since IS NOT NULL`, healthy)
		}
		b.Queue(`SELECT x.id FROM unnest($1::text[]) WITH ORDINALITY AS x(id, n)
			WHERE NOT EXISTS (SELECT 1 FROM callback_endpoints e WHERE e.id = x.id AND e.enabled) ORDER BY x.n`, eps)
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		for range b.Len() - 1 {
			if _, err := br.Exec(); err != nil {
				return wrap("record outcomes", err)
			}
		}
		rows, err := br.Query()
		if err != nil {
			return wrap("stopped endpoints", err)
		}
		if stopped, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return wrap("stopped endpoints", err)
		}
		return br.Close()
	})
	return stopped, err
}
