package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnicart/omnicart"
)

// The outbox of the callback store: events not fanned out yet, one row
// each in callback_outbox (written by the trigger on events of migration
// 0004_callbacks), claimed per row under a lease.

// claimOutboxSQL leases up to $4 free outbox rows to $1 until $2 ($3:
// now), oldest first, and returns their events. Rows another transaction
// has locked (a claim or a publish in progress) are skipped rather than
// waited for, and a row whose lease another claim took since this
// statement's snapshot is checked again once locked and left out. The
// events are read in the same statement: a row of the outbox is visible
// only with the event the trigger wrote it for.
const claimOutboxSQL = `WITH free AS (
		SELECT event_pk FROM callback_outbox WHERE until <= $3 ORDER BY event_pk LIMIT $4 FOR UPDATE SKIP LOCKED),
	claimed AS (
		UPDATE callback_outbox o SET owner = $1, until = $2 FROM free WHERE o.event_pk = free.event_pk RETURNING o.event_pk)
	SELECT e.id, c.merchant_id, c.cart_id, e.cart_pk, e.sequence, e.type, e.body
	FROM claimed JOIN events e ON e.id = claimed.event_pk JOIN carts c ON c.pk = e.cart_pk
	ORDER BY e.id`

// ClaimOutbox leases up to limit free outbox events to owner, oldest
// first, and returns them; see omnicart.CallbackStore. It never waits for
// another node's claim.
func (s *Callbacks) ClaimOutbox(ctx context.Context, owner string, now, until time.Time, limit int) ([]omnicart.OutboxEvent, error) {
	rows, err := s.db.pool.Query(ctx, claimOutboxSQL, owner, ms(until), ms(now), limit)
	if err != nil {
		return nil, wrap("claim outbox", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (omnicart.OutboxEvent, error) {
		var ev omnicart.OutboxEvent
		var body string
		err := r.Scan(&ev.PK, &ev.MerchantID, &ev.CartID, &ev.CartPK, &ev.Sequence, &ev.Type, &body)
		ev.Body = []byte(body)
		return ev, err
	})
	return out, wrap("claim outbox", err)
}

// Publish takes owner's claimed events out of the outbox and records their
// published events and deliveries, in one transaction; see
// omnicart.CallbackStore. The delete waits for a claim of the same rows in
// progress and checks the owner again afterwards, so of two owners that
// both held an event (the first one's lease ran out) only the one holding
// it now publishes it.
func (s *Callbacks) Publish(ctx context.Context, owner string, done []int64, events []omnicart.CallbackEvent, ds []omnicart.NewCallbackDelivery) (int, error) {
	if len(done) == 0 {
		return 0, nil
	}
	done = slices.Sorted(slices.Values(done)) // rows locked in id order
	n := 0
	err := s.writeTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM callback_outbox WHERE event_pk IN
			(SELECT event_pk FROM callback_outbox WHERE event_pk = ANY($2) ORDER BY event_pk FOR UPDATE)
			AND owner = $1 RETURNING event_pk`, owner, done)
		if err != nil {
			return wrap("take events out of the outbox", err)
		}
		pks, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return wrap("take events out of the outbox", err)
		}
		n = len(pks)
		if n == 0 {
			return nil
		}
		taken := make(map[int64]bool, n)
		for _, pk := range pks {
			taken[pk] = true
		}
		if err := insertEvents(ctx, tx, events, taken); err != nil {
			return err
		}
		kept := make([]omnicart.NewCallbackDelivery, 0, len(ds))
		for _, d := range ds {
			if taken[d.EventPK] {
				kept = append(kept, d)
			}
		}
		return insertDeliveries(ctx, tx, kept)
	})
	return n, err
}

// insertEvents records the published events among events whose PK is
// taken, in one statement.
func insertEvents(ctx context.Context, tx pgx.Tx, events []omnicart.CallbackEvent, taken map[int64]bool) error {
	var (
		pks, cartPKs, seqs, ats []int64
		ids, merchants, carts   []string
		types                   []string
		payloads                [][]byte
	)
	for _, e := range events {
		if !taken[e.PK] {
			continue
		}
		pks, ids, merchants, carts = append(pks, e.PK), append(ids, e.ID), append(merchants, e.MerchantID), append(carts, e.CartID)
		cartPKs, seqs, types = append(cartPKs, e.CartPK), append(seqs, e.Sequence), append(types, e.Type)
		payloads, ats = append(payloads, e.Payload), append(ats, ms(e.CreatedAt))
	}
	if len(pks) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO callback_events(event_pk, id, merchant_id, cart_id, cart_pk, sequence, type, payload, created_at)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::bytea[], $9::bigint[])
		ON CONFLICT DO NOTHING`, pks, ids, merchants, carts, cartPKs, seqs, types, payloads, ats)
	return wrap("publish events", err)
}

// lockEndpointsSQL locks the enabled endpoints among $1 FOR SHARE, in id
// order: a delivery is created only while its endpoint is enabled and
// stays so until the transaction ends (UpdateEndpoint, which disables and
// cancels, waits for it or goes first; then the endpoint is no longer
// enabled when checked again here). It is a CTE of the statements that
// create deliveries.
const lockEndpointsSQL = `ep AS MATERIALIZED (SELECT id FROM callback_endpoints WHERE id = ANY($1) AND enabled ORDER BY id FOR SHARE)`

// insertDeliveries creates the pending deliveries ds to enabled endpoints
// in one statement, skipping the others.
func insertDeliveries(ctx context.Context, tx pgx.Tx, ds []omnicart.NewCallbackDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	eps, events, cartPKs, seqs, dues := make([]string, len(ds)), make([]int64, len(ds)), make([]int64, len(ds)), make([]int64, len(ds)),
		make([]int64, len(ds))
	for i, d := range ds {
		eps[i], events[i], cartPKs[i], seqs[i], dues[i] = d.EndpointID, d.EventPK, d.CartPK, d.Sequence, ms(d.DueAt)
	}
	_, err := tx.Exec(ctx, `WITH `+lockEndpointsSQL+`
		INSERT INTO callback_deliveries(endpoint_id, event_pk, cart_pk, sequence, status, attempts, next_attempt_at, created_at)
		SELECT d.endpoint_id, d.event_pk, d.cart_pk, d.sequence, 'pending', 0, d.due, d.due
		FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) WITH ORDINALITY
			AS d(endpoint_id, event_pk, cart_pk, sequence, due, n)
		WHERE d.endpoint_id IN (SELECT id FROM ep) ORDER BY d.n`, eps, events, cartPKs, seqs, dues)
	return wrap("create deliveries", err)
}

// AddDeliveries creates deliveries (re-sends) in one transaction and
// returns their ids in the order asked; deliveries to disabled or removed
// endpoints are skipped (id 0).
func (s *Callbacks) AddDeliveries(ctx context.Context, ds []omnicart.NewCallbackDelivery) ([]int64, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	var eps []string
	for _, d := range ds {
		eps = append(eps, d.EndpointID)
	}
	var ids []int64
	err := s.writeTx(ctx, func(tx pgx.Tx) error {
		ids = make([]int64, 0, len(ds))
		b := &pgx.Batch{}
		b.Queue(`WITH `+lockEndpointsSQL+` SELECT id FROM ep`, eps)
		for _, d := range ds {
			b.Queue(`INSERT INTO callback_deliveries(endpoint_id, event_pk, cart_pk, sequence, status, attempts, next_attempt_at, created_at)
				SELECT id, $2, $3, $4, 'pending', 0, $5, $5 FROM callback_endpoints WHERE id = $1 AND enabled RETURNING id`,
				d.EndpointID, d.EventPK, d.CartPK, d.Sequence, ms(d.DueAt))
		}
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return wrap("lock endpoints", err)
		}
		for range ds {
			rows, err := br.Query()
			if err != nil {
				return wrap("create delivery", err)
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return wrap("create delivery", err)
			}
			var id int64
			if len(got) == 1 {
				id = got[0]
			}
			ids = append(ids, id)
		}
		return br.Close()
	})
	return ids, err
}
