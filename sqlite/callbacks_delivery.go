package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/internal/jsonw"
)

// The delivery path of the callback store: deliveries, claims under
// endpoint leases, and attempt outcomes.

// insertDeliveries creates pending deliveries to enabled endpoints,
// appending their ids (0 for a skipped one) to ids when it is not nil.
func (s *Callbacks) insertDeliveries(ctx context.Context, tx *sql.Tx, ds []omnicart.NewCallbackDelivery, ids *[]int64) error {
	if len(ds) == 0 {
		return nil
	}
	st, err := s.stmt(ctx, tx, `INSERT INTO callback_deliveries(endpoint_id, event_pk, cart_pk, sequence, status, attempts, next_attempt_at, created_at)
		SELECT ?, ?, ?, ?, 'pending', 0, ?, ? WHERE EXISTS (SELECT 1 FROM callback_endpoints WHERE id = ? AND enabled = 1)`)
	if err != nil {
		return err
	}
	for _, d := range ds {
		res, err := st.ExecContext(ctx, d.EndpointID, d.EventPK, d.CartPK, d.Sequence, ms(d.DueAt), ms(d.DueAt), d.EndpointID)
		if err != nil {
			return wrap("create delivery", err)
		}
		if ids != nil {
			var id int64
			if n, _ := res.RowsAffected(); n == 1 {
				if id, err = res.LastInsertId(); err != nil {
					return err
				}
			}
			*ids = append(*ids, id)
		}
	}
	return nil
}

// AddDeliveries creates deliveries (re-sends) and returns their ids;
// deliveries to disabled or removed endpoints are skipped.
func (s *Callbacks) AddDeliveries(ctx context.Context, ds []omnicart.NewCallbackDelivery) ([]int64, error) {
	var ids []int64
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		ids = ids[:0]
		return s.insertDeliveries(ctx, tx, ds, &ids)
	})
	return ids, err
}

// NextDue returns the earliest next attempt of a pending delivery to an
// enabled endpoint.
func (s *Callbacks) NextDue(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	st, err := s.stmt(ctx, nil, `SELECT MIN((SELECT MIN(d.next_attempt_at) FROM callback_deliveries d
		WHERE d.endpoint_id = e.id AND d.status = 'pending')) FROM callback_endpoints e WHERE e.enabled = 1`)
	if err != nil {
		return time.Time{}, false, err
	}
	if err := st.QueryRowContext(ctx).Scan(&next); err != nil {
		return time.Time{}, false, wrap("next due delivery", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromMs(next.Int64), true, nil
}

// Claim hands r.Owner due deliveries of the endpoints it holds or can
// take, as r.Ready accepts them; see omnicart.CallbackStore.
func (s *Callbacks) Claim(ctx context.Context, r omnicart.CallbackClaimRequest) ([]omnicart.CallbackClaim, error) {
	var out []omnicart.CallbackClaim
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		nowMs := ms(r.Now)
		due, err := s.stmt(ctx, tx, `SELECT `+endpointCols+` FROM callback_endpoints e WHERE e.enabled = 1 AND EXISTS
			(SELECT 1 FROM callback_deliveries d WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.next_attempt_at <= ?)`)
		if err != nil {
			return err
		}
		rows, err := due.QueryContext(ctx, nowMs)
		if err != nil {
			return wrap("due endpoints", err)
		}
		var eps []*omnicart.CallbackEndpoint
		for rows.Next() {
			e, err := scanEndpoint(rows)
			if err != nil {
				rows.Close()
				return err
			}
			eps = append(eps, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		lease, err := s.stmt(ctx, tx, `INSERT INTO callback_leases(endpoint_id, owner, until) VALUES (?, ?, ?)
			ON CONFLICT(endpoint_id) DO UPDATE SET owner = excluded.owner, until = excluded.until
			WHERE callback_leases.owner = excluded.owner OR callback_leases.until <= ?`)
		if err != nil {
			return err
		}
		for _, e := range eps {
			if len(out) >= r.Limit {
				break
			}
			res, err := lease.ExecContext(ctx, e.ID, r.Owner, ms(r.Until), nowMs)
			if err != nil {
				return wrap("lease endpoint", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue // another process serves this endpoint
			}
			slots := min(r.PerEndpoint-len(r.Held[e.ID]), r.Limit-len(out))
			if slots <= 0 {
				continue
			}
			claims, err := s.claimFor(ctx, tx, e, nowMs, slots, r.Held[e.ID], r.Ready)
			if err != nil {
				return err
			}
			out = append(out, claims...)
		}
		return nil
	})
	return out, err
}

// candidatesSQL lists an endpoint's due deliveries that are not held,
// earliest next attempt first, with the facts of their carts: the
// earliest pending delivery of the cart to the endpoint that has had no
// attempt (f), and the lowest sequence of the cart's events still in the
// outbox. SQLite walks callback_deliveries_due in order and computes the
// facts of a row only when it is read, so a claim reads as many rows as it
// looks at.
const candidatesSQL = `SELECT d.id, d.attempts, d.event_pk, d.cart_pk, d.sequence, f.id, f.sequence,
		(SELECT MIN(o.sequence) FROM callback_outbox o WHERE o.cart_pk = d.cart_pk)
	FROM callback_deliveries d
	LEFT JOIN callback_deliveries f ON f.id = (SELECT p.id FROM callback_deliveries p
		WHERE p.cart_pk = d.cart_pk AND p.endpoint_id = d.endpoint_id AND p.status = 'pending' AND p.attempts = 0
		ORDER BY p.sequence, p.id LIMIT 1)
	WHERE d.endpoint_id = ? AND d.status = 'pending' AND d.next_attempt_at <= ?
	  AND d.id NOT IN (SELECT value FROM json_each(?))
	ORDER BY d.next_attempt_at, d.id`

// claimFor returns up to `slots` due deliveries of one endpoint that are
// not held and that ready accepts.
func (s *Callbacks) claimFor(ctx context.Context, tx *sql.Tx, e *omnicart.CallbackEndpoint, nowMs int64, slots int, held []int64,
	ready func(omnicart.CallbackCandidate) bool) ([]omnicart.CallbackClaim, error) {
	heldJSON, err := json.Marshal(held)
	if err != nil {
		return nil, err
	}
	if held == nil {
		heldJSON = []byte("[]")
	}
	q, err := s.stmt(ctx, tx, candidatesSQL)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, e.ID, nowMs, string(heldJSON))
	if err != nil {
		return nil, wrap("due deliveries", err)
	}
	var out []omnicart.CallbackClaim
	var eventPKs []int64
	for len(out) < slots && rows.Next() {
		c := omnicart.CallbackCandidate{EndpointID: e.ID}
		var pk int64
		var firstID, firstSeq, unpublished sql.NullInt64
		if err := rows.Scan(&c.DeliveryID, &c.Attempts, &pk, &c.CartPK, &c.Sequence, &firstID, &firstSeq, &unpublished); err != nil {
			rows.Close()
			return nil, err
		}
		c.FirstID, c.FirstSequence, c.Unpublished = firstID.Int64, firstSeq.Int64, unpublished.Int64
		if ready != nil && !ready(c) {
			continue
		}
		out = append(out, omnicart.CallbackClaim{DeliveryID: c.DeliveryID, Attempt: c.Attempts + 1, Endpoint: *e})
		eventPKs = append(eventPKs, pk)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return nil, err
	}
	// The payloads, in one statement.
	pkJSON, err := json.Marshal(eventPKs)
	if err != nil {
		return nil, err
	}
	pq, err := s.stmt(ctx, tx, `SELECT ce.event_pk, ce.id, ce.type, ce.payload FROM json_each(?) AS j
		JOIN callback_events ce ON ce.event_pk = j.value`)
	if err != nil {
		return nil, err
	}
	prow, err := pq.QueryContext(ctx, string(pkJSON))
	if err != nil {
		return nil, wrap("load payloads", err)
	}
	type ev struct {
		id, typ string
		payload []byte
	}
	evs := make(map[int64]ev, len(out))
	for prow.Next() {
		var pk int64
		var e ev
		if err := prow.Scan(&pk, &e.id, &e.typ, &e.payload); err != nil {
			prow.Close()
			return nil, err
		}
		evs[pk] = e
	}
	prow.Close()
	if err := prow.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		e := evs[eventPKs[i]]
		out[i].EventID, out[i].Type, out[i].Payload = e.id, e.typ, e.payload
	}
	return out, nil
}

// Extend renews owner's endpoint leases.
func (s *Callbacks) Extend(ctx context.Context, owner string, until time.Time) error {
	return s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		st, err := s.stmt(ctx, tx, `UPDATE callback_leases SET until = ? WHERE owner = ?`)
		if err != nil {
			return err
		}
		_, err = st.ExecContext(ctx, ms(until), owner)
		return wrap("renew leases", err)
	})
}

// Release gives up owner's endpoint leases and outbox claims.
func (s *Callbacks) Release(ctx context.Context, owner string) error {
	return s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM callback_leases WHERE owner = ?`, owner); err != nil {
			return wrap("release leases", err)
		}
		_, err := tx.ExecContext(ctx, `UPDATE callback_outbox SET owner = '', until = 0 WHERE owner = ?`, owner)
		return wrap("release outbox claims", err)
	})
}

// Record saves attempt outcomes; see omnicart.CallbackStore. The batch
// goes to SQLite as one JSON array per statement, so a batch costs a few
// statements whatever its size.
func (s *Callbacks) Record(ctx context.Context, owner string, outs []omnicart.CallbackOutcome) ([]string, error) {
	logJSON, updJSON, marks, healthy := outcomeRows(outs)
	seen := map[string]bool{}
	var eps []string
	for _, o := range outs {
		if !seen[o.EndpointID] {
			seen[o.EndpointID] = true
			eps = append(eps, o.EndpointID)
		}
	}
	epJSON, err := json.Marshal(eps)
	if err != nil {
		return nil, err
	}
	var stopped []string
	err = s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		stopped = stopped[:0]
		logSt, err := s.stmt(ctx, tx, `INSERT INTO callback_attempts(delivery_id, endpoint_id, attempt, at, http_status, latency_ms, error, response)
			SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4, j.value->>5, j.value->>6, j.value->>7
			FROM json_each(?) AS j WHERE EXISTS (SELECT 1 FROM callback_deliveries d WHERE d.id = j.value->>0)`)
		if err != nil {
			return err
		}
		if _, err := logSt.ExecContext(ctx, string(logJSON)); err != nil {
			return wrap("log attempts", err)
		}
		updSt, err := s.stmt(ctx, tx, `UPDATE callback_deliveries AS d SET status = j.value->>1, attempts = j.value->>2,
			next_attempt_at = j.value->>3, last_status = j.value->>4, last_error = j.value->>5, finished_at = j.value->>6
			FROM json_each(?) AS j WHERE d.id = j.value->>0 AND d.status = 'pending'
			  AND EXISTS (SELECT 1 FROM callback_leases l WHERE l.endpoint_id = d.endpoint_id AND l.owner = ?)`)
		if err != nil {
			return err
		}
		if _, err := updSt.ExecContext(ctx, string(updJSON), owner); err != nil {
			return wrap("update deliveries", err)
		}
		for _, o := range marks {
			if err := endpointMarks(ctx, tx, o); err != nil {
				return err
			}
		}
		if len(healthy) > 0 {
			clear, err := s.stmt(ctx, tx, `UPDATE callback_endpoints SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL`)
			if err != nil {
				return err
			}
			for id := range healthy {
				if _, err := clear.ExecContext(ctx, id); err != nil {
					return wrap("clear failing mark", err)
				}
			}
		}
		st, err := s.stmt(ctx, tx, `SELECT j.value FROM json_each(?) AS j
			WHERE NOT EXISTS (SELECT 1 FROM callback_endpoints e WHERE e.id = j.value AND e.enabled = 1)`)
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(ctx, string(epJSON))
		if err != nil {
			return wrap("stopped endpoints", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			stopped = append(stopped, id)
		}
		return rows.Err()
	})
	return stopped, err
}

// outcomeRows encodes outcomes as the JSON arrays of Record's statements
// (attempt log rows and delivery updates), and sorts out the outcomes that
// change their endpoint: disabling or marking it failing (marks), or
// clearing its failing mark (healthy). The JSON is built by hand: this
// runs for every delivery, and reflection over mixed rows costs more than
// the statements.
func outcomeRows(outs []omnicart.CallbackOutcome) (logJSON, updJSON []byte, marks []omnicart.CallbackOutcome, healthy map[string]bool) {
	healthy = map[string]bool{}
	logJSON = make([]byte, 0, 96*len(outs))
	updJSON = make([]byte, 0, 64*len(outs))
	logJSON, updJSON = append(logJSON, '['), append(updJSON, '[')
	for i, o := range outs {
		if i > 0 {
			logJSON, updJSON = append(logJSON, ','), append(updJSON, ',')
		}
		logJSON = append(logJSON, '[')
		logJSON = strconv.AppendInt(logJSON, o.DeliveryID, 10)
		logJSON = append(logJSON, ',')
		logJSON = jsonw.String(logJSON, o.EndpointID)
		logJSON = append(logJSON, ',')
		logJSON = strconv.AppendInt(logJSON, int64(o.Attempt), 10)
		logJSON = append(logJSON, ',')
		logJSON = strconv.AppendInt(logJSON, ms(o.At), 10)
		logJSON = append(logJSON, ',')
		logJSON = appendStatus(logJSON, o.HTTPStatus)
		logJSON = append(logJSON, ',')
		logJSON = strconv.AppendInt(logJSON, o.Latency.Milliseconds(), 10)
		logJSON = append(logJSON, ',')
		logJSON = jsonw.String(logJSON, o.Error)
		logJSON = append(logJSON, ',')
		logJSON = jsonw.String(logJSON, o.Response)
		logJSON = append(logJSON, ']')

		updJSON = append(updJSON, '[')
		updJSON = strconv.AppendInt(updJSON, o.DeliveryID, 10)
		updJSON = append(updJSON, ',')
		updJSON = jsonw.String(updJSON, o.Status)
		updJSON = append(updJSON, ',')
		updJSON = strconv.AppendInt(updJSON, int64(o.Attempt), 10)
		updJSON = append(updJSON, ',')
		if o.NextAttemptAt.IsZero() {
			updJSON = append(updJSON, "null"...)
		} else {
			updJSON = strconv.AppendInt(updJSON, ms(o.NextAttemptAt), 10)
		}
		updJSON = append(updJSON, ',')
		updJSON = appendStatus(updJSON, o.HTTPStatus)
		updJSON = append(updJSON, ',')
		updJSON = jsonw.String(updJSON, o.Error)
		updJSON = append(updJSON, ',')
		if o.Status == omnicart.DeliveryPending {
			updJSON = append(updJSON, "null"...)
		} else {
			updJSON = strconv.AppendInt(updJSON, ms(o.At.Add(o.Latency)), 10)
		}
		updJSON = append(updJSON, ']')
		switch {
		case o.DisableEndpoint || o.Failing:
			marks = append(marks, o)
		case o.Healthy:
			healthy[o.EndpointID] = true
		}
	}
	logJSON, updJSON = append(logJSON, ']'), append(updJSON, ']')
	return logJSON, updJSON, marks, healthy
}

// endpointMarks applies an outcome's consequences for its endpoint:
// disabling it (410) or marking it failing.
func endpointMarks(ctx context.Context, tx *sql.Tx, o omnicart.CallbackOutcome) error {
	at := ms(o.At.Add(o.Latency))
	var err error
	switch {
	case o.DisableEndpoint:
		if _, err = tx.ExecContext(ctx, `UPDATE callback_endpoints SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ? AND enabled = 1`,
			o.DisabledReason, at, o.EndpointID); err == nil {
			_, err = tx.ExecContext(ctx, cancelPendingSQL, at, o.EndpointID)
		}
	case o.Failing:
		_, err = tx.ExecContext(ctx, `UPDATE callback_endpoints SET failing_since = ? WHERE id = ? AND failing_since IS NULL`, at, o.EndpointID)
	}
	return wrap("update endpoint marks", err)
}

// appendStatus appends an HTTP status, or null for none.
func appendStatus(b []byte, status int) []byte {
	if status == 0 {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, int64(status), 10)
}
