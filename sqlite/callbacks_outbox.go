package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/omnicart/omnicart"
)

// The outbox of the callback store: events not fanned out yet, one row
// each in callback_outbox (migration 0008), claimed per row under a lease.

// ClaimOutbox leases up to limit free outbox events to owner, oldest
// first, and returns them; see omnicart.CallbackStore.
func (s *Callbacks) ClaimOutbox(ctx context.Context, owner string, now, until time.Time, limit int) ([]omnicart.OutboxEvent, error) {
	var out []omnicart.OutboxEvent
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		// Live leases of other owners (and of owner: it is publishing them)
		// are skipped; free rows have until 0.
		lease, err := s.stmt(ctx, tx, `UPDATE callback_outbox SET owner = ?, until = ?
			WHERE event_pk IN (SELECT event_pk FROM callback_outbox WHERE until <= ? ORDER BY event_pk LIMIT ?)
			RETURNING event_pk`)
		if err != nil {
			return err
		}
		rows, err := lease.QueryContext(ctx, owner, ms(until), ms(now), limit)
		if err != nil {
			return wrap("claim outbox", err)
		}
		pks, err := scanInts(rows)
		if err != nil || len(pks) == 0 {
			return wrap("claim outbox", err)
		}
		pkJSON, err := json.Marshal(pks)
		if err != nil {
			return err
		}
		q, err := s.stmt(ctx, tx, `SELECT e.id, c.merchant_id, c.cart_id, e.cart_pk, e.sequence, e.type, e.body
			FROM json_each(?) AS j JOIN events e ON e.id = j.value JOIN carts c ON c.pk = e.cart_pk ORDER BY e.id`)
		if err != nil {
			return err
		}
		evRows, err := q.QueryContext(ctx, string(pkJSON))
		if err != nil {
			return wrap("read outbox", err)
		}
		defer evRows.Close()
		for evRows.Next() {
			var ev omnicart.OutboxEvent
			var body string
			if err := evRows.Scan(&ev.PK, &ev.MerchantID, &ev.CartID, &ev.CartPK, &ev.Sequence, &ev.Type, &body); err != nil {
				return err
			}
			ev.Body = []byte(body)
			out = append(out, ev)
		}
		return evRows.Err()
	})
	return out, err
}

// Publish takes owner's claimed events out of the outbox and records their
// published events and deliveries, in one transaction; see
// omnicart.CallbackStore.
func (s *Callbacks) Publish(ctx context.Context, owner string, done []int64, events []omnicart.CallbackEvent, ds []omnicart.NewCallbackDelivery) (int, error) {
	if len(done) == 0 {
		return 0, nil
	}
	doneJSON, err := json.Marshal(done)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		n = 0
		del, err := s.stmt(ctx, tx, `DELETE FROM callback_outbox WHERE owner = ? AND event_pk IN (SELECT value FROM json_each(?))
			RETURNING event_pk`)
		if err != nil {
			return err
		}
		rows, err := del.QueryContext(ctx, owner, string(doneJSON))
		if err != nil {
			return wrap("take events out of the outbox", err)
		}
		pks, err := scanInts(rows)
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
		if len(events) > 0 {
			st, err := s.stmt(ctx, tx, `INSERT OR IGNORE INTO callback_events(event_pk, id, merchant_id, cart_id, cart_pk, sequence, type, payload, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			for _, e := range events {
				if !taken[e.PK] {
					continue
				}
				if _, err := st.ExecContext(ctx, e.PK, e.ID, e.MerchantID, e.CartID, e.CartPK, e.Sequence, e.Type, e.Payload, ms(e.CreatedAt)); err != nil {
					return wrap("publish event", err)
				}
			}
		}
		kept := make([]omnicart.NewCallbackDelivery, 0, len(ds))
		for _, d := range ds {
			if taken[d.EventPK] {
				kept = append(kept, d)
			}
		}
		return s.insertDeliveries(ctx, tx, kept, nil)
	})
	return n, err
}

// scanInts reads a one-column result of integers and closes rows.
func scanInts(rows *sql.Rows) ([]int64, error) {
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
