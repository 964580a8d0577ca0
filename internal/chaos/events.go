package chaos

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// The events and deadlines checks read the events table and the cart
// documents of the stopped server (events are written in the transaction
// of the change they report, so they are the history of every cart).
//
// events, for every cart of both merchants: the sequence numbers are 1…n
// with no gap and n is the cart's own count; each item's payment status
// changes form one chain from initiated to the stored status; amounts in
// the events' data never shrink and refunded ≤ captured ≤ initiated. For
// the campaign's merchant, whose carts follow a known lifecycle, no item
// reaches a status twice (nothing captured, refunded or released twice)
// and an item's captured amount changes once at most.
//
// deadlines — each deadline fired once, at or after its time, and, by the
// time the server was stopped, if it was due: per item at most one
// payment.auto_action_pending; a capture window's auto action (the
// release of an item whose autoAction is cancel, the capture of one whose
// autoAction is complete: the clients only ever do the other) follows
// exactly one warning, never before the window's end, and the warning
// never before the end minus the lead; no item is still authorized after
// its window; unpaid carts' items expired once, never before the cart's
// expiry; item timers started once, when the item reached their trigger,
// and elapsed once, never before their end.

// dbEvent is an events row.
type dbEvent struct {
	Type     string    `json:"type"`
	Sequence int64     `json:"sequence"`
	At       time.Time `json:"createdAt"`
	Changes  []struct {
		ItemID string `json:"itemId"`
		From   string `json:"from"`
		To     string `json:"to"`
	} `json:"changes"`
	Timers []struct {
		ItemID string `json:"itemId"`
		From   string `json:"from"`
		To     string `json:"to"`
	} `json:"timers"`
	AutoActions []struct {
		ItemID string    `json:"itemId"`
		DueAt  time.Time `json:"dueAt"`
	} `json:"autoActions"`
	Data *cartStatusDoc `json:"data"`
}

// cartStatusDoc is an event's data: the cart's status then.
type cartStatusDoc struct {
	Items []map[string]itemStatus `json:"items"`
}

// dbCart is a carts row's document, the parts the checks read.
type dbCart struct {
	MerchantID string    `json:"merchantId"`
	ID         string    `json:"cartId"`
	CreatedAt  time.Time `json:"createdAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	Sequence   int64     `json:"sequence"`
	Items      []struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Capture struct {
			Capture    bool   `json:"capture"`
			AutoAction string `json:"autoAction"`
			WindowSecs int64  `json:"windowSecs"`
		} `json:"captureSettings"`
		Timer *struct {
			Trigger string `json:"trigger"`
			Status  string `json:"status"`
		} `json:"timer"`
	} `json:"items"`
	events []*dbEvent
}

// leadTime is both merchants' auto-action lead (createMerchant).
const leadTime = time.Second

// fired is how long the server may take to fire a due deadline.
const fired = 2 * time.Second

func (c *campaign) checkEvents(ctx context.Context) error {
	db, err := sql.Open("sqlite", "file:"+c.srv.dbPath+"?mode=ro&_pragma=busy_timeout(30000)")
	if err != nil {
		return err
	}
	defer db.Close()
	carts := map[int64]*dbCart{}
	rows, err := db.QueryContext(ctx, `SELECT pk, doc FROM carts`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var pk int64
		var doc string
		if err := rows.Scan(&pk, &doc); err != nil {
			rows.Close()
			return err
		}
		var ct dbCart
		if err := json.Unmarshal([]byte(doc), &ct); err != nil {
			rows.Close()
			return fmt.Errorf("cart %d: %w", pk, err)
		}
		carts[pk] = &ct
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = db.QueryContext(ctx, `SELECT cart_pk, sequence, type, body FROM events ORDER BY cart_pk, sequence`)
	if err != nil {
		return err
	}
	n := 0
	for rows.Next() {
		var pk, seq int64
		var typ, body string
		if err := rows.Scan(&pk, &seq, &typ, &body); err != nil {
			rows.Close()
			return err
		}
		n++
		var ev dbEvent
		if err := json.Unmarshal([]byte(body), &ev); err != nil {
			c.fail(checkEvents, "event %d of cart %d does not parse: %v", seq, pk, err)
			continue
		}
		ct := carts[pk]
		switch {
		case ct == nil:
			c.fail(checkEvents, "event %d (%s) belongs to cart %d, which does not exist", seq, typ, pk)
			continue
		case ev.Type != typ || ev.Sequence != seq:
			c.fail(checkEvents, "cart %s: events row %d %s holds the body of event %d %s", ct.ID, seq, typ, ev.Sequence, ev.Type)
		}
		ct.events = append(ct.events, &ev)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	model := map[string]*cart{}
	for _, ct := range c.snapshotCarts() {
		model[ct.ID] = ct
	}
	for _, ct := range carts {
		c.checkCartEvents(ct, ct.MerchantID == c.merchantID, model[ct.ID])
	}
	c.stats.set("events", "events read", n)
	c.stats.set("events", "carts", len(carts))
	return nil
}

// itemHistory is what the events say of one item.
type itemHistory struct {
	status   string               // after the last change
	reached  map[string]time.Time // status → when first reached
	reachSeq map[string]int64     // status → the event that reached it
	warnings []*dbEvent
	warnDue  []time.Time
	timer    []string // "from→to" in order
	timerAt  []time.Time
	last     amounts
}

func (c *campaign) checkCartEvents(ct *dbCart, ours bool, m *cart) {
	fail := func(check, format string, args ...any) {
		c.fail(check, "cart %s: %s", ct.ID, fmt.Sprintf(format, args...))
	}
	sort.Slice(ct.events, func(i, j int) bool { return ct.events[i].Sequence < ct.events[j].Sequence })
	for i, ev := range ct.events {
		if ev.Sequence != int64(i+1) {
			fail(checkEvents, "event sequence numbers %v: not 1…%d", sequences(ct.events), len(ct.events))
			break
		}
	}
	if int64(len(ct.events)) != ct.Sequence {
		fail(checkEvents, "the cart counts %d events, the events table holds %d", ct.Sequence, len(ct.events))
	}
	hist := map[string]*itemHistory{}
	for _, it := range ct.Items {
		hist[it.ID] = &itemHistory{status: stInitiated, reached: map[string]time.Time{stInitiated: ct.CreatedAt}, reachSeq: map[string]int64{stInitiated: 0}}
	}
	for _, ev := range ct.events {
		for _, ch := range ev.Changes {
			h := hist[ch.ItemID]
			if h == nil {
				fail(checkEvents, "event %d changes item %s, which the cart does not have", ev.Sequence, ch.ItemID)
				continue
			}
			if ch.From != h.status {
				fail(checkEvents, "item %s: event %d moves it from %s to %s, but it was %s", ch.ItemID, ev.Sequence, ch.From, ch.To, h.status)
			}
			if _, again := h.reached[ch.To]; again && ours {
				fail(checkEvents, "item %s reached %s twice (event %d, and event %d before)", ch.ItemID, ch.To, ev.Sequence, h.reachSeq[ch.To])
			} else if !again {
				h.reached[ch.To], h.reachSeq[ch.To] = ev.At, ev.Sequence
			}
			h.status = ch.To
		}
		for _, t := range ev.Timers {
			if h := hist[t.ItemID]; h != nil {
				h.timer = append(h.timer, t.From+"→"+t.To)
				h.timerAt = append(h.timerAt, ev.At)
			}
		}
		if ev.Type == "payment.auto_action_pending" {
			for _, w := range ev.AutoActions {
				if h := hist[w.ItemID]; h != nil {
					h.warnings = append(h.warnings, ev)
					h.warnDue = append(h.warnDue, w.DueAt)
				}
			}
		}
		if ev.Data != nil {
			for _, el := range ev.Data.Items {
				for id, st := range el {
					h := hist[id]
					if h == nil {
						continue
					}
					a := st.ItemAmounts
					switch {
					case a.Captured < h.last.Captured || a.Refunded < h.last.Refunded:
						fail(checkEvents, "item %s: event %d reports captured %d refunded %d, less than before (%d, %d)", id, ev.Sequence, a.Captured, a.Refunded, h.last.Captured, h.last.Refunded)
					case a.Refunded > a.Captured || a.Captured > a.Initiated:
						fail(checkAmounts, "item %s: event %d reports initiated %d captured %d refunded %d", id, ev.Sequence, a.Initiated, a.Captured, a.Refunded)
					case ours && h.last.Captured != 0 && a.Captured != h.last.Captured:
						fail(checkAmounts, "item %s captured twice: event %d reports captured %d after %d", id, ev.Sequence, a.Captured, h.last.Captured)
					}
					h.last = a
				}
			}
		}
	}
	stopped := c.stoppedAt
	for _, it := range ct.Items {
		h := hist[it.ID]
		if h.status != it.Status {
			fail(checkEvents, "item %s is %s, but its events end at %s", it.ID, it.Status, h.status)
		}
		// Capture windows.
		if len(h.warnings) > 1 {
			fail(checkDeadlines, "item %s: %d payment.auto_action_pending events (events %v), want one at most", it.ID, len(h.warnings), sequences(h.warnings))
		}
		authAt, authorized := h.reached[stAuthorized]
		if it.Capture.Capture && authorized && ours {
			window := time.Duration(it.Capture.WindowSecs) * time.Second
			due := authAt.Add(window)
			autoTo := stCanceled
			if it.Capture.AutoAction == "complete" {
				autoTo = stCaptured
			}
			for i, w := range h.warnings {
				switch {
				case w.At.Before(due.Add(-leadTime - time.Millisecond)):
					fail(checkDeadlines, "item %s: warned at %s, before its window's end %s minus the lead", it.ID, stamp(w.At), stamp(due))
				case h.warnDue[i].Sub(due).Abs() > time.Millisecond:
					fail(checkDeadlines, "item %s: the warning gives dueAt %s, the window ends at %s", it.ID, stamp(h.warnDue[i]), stamp(due))
				}
			}
			if at, ok := h.reached[autoTo]; ok && h.reachSeq[autoTo] > h.reachSeq[stAuthorized] {
				c.stats.count("deadlines", "capture windows' auto actions fired")
				switch {
				case len(h.warnings) != 1:
					fail(checkDeadlines, "item %s: its auto action (%s) fired with %d warnings before, want 1", it.ID, it.Capture.AutoAction, len(h.warnings))
				case h.warnings[0].Sequence > h.reachSeq[autoTo]:
					fail(checkDeadlines, "item %s: warned (event %d) after its auto action (event %d)", it.ID, h.warnings[0].Sequence, h.reachSeq[autoTo])
				}
				if at.Before(due.Add(-time.Millisecond)) {
					fail(checkDeadlines, "item %s: its auto action fired at %s, before its window ended at %s", it.ID, stamp(at), stamp(due))
				}
			}
			if it.Status == stAuthorized && window < time.Hour && stopped.After(due.Add(fired)) {
				fail(checkDeadlines, "item %s: still authorized %s after its capture window ended (%s)", it.ID, stopped.Sub(due).Round(time.Millisecond), stamp(due))
			}
		}
		if len(h.warnings) > 0 {
			c.stats.add("deadlines", "auto-action warnings", len(h.warnings))
		}
		// Cart expiry.
		if at, ok := h.reached[stExpired]; ok {
			c.stats.count("deadlines", "items expired")
			if at.Before(ct.ExpiresAt.Add(-time.Millisecond)) {
				fail(checkDeadlines, "item %s expired at %s, before the cart's expiry %s", it.ID, stamp(at), stamp(ct.ExpiresAt))
			}
		}
		if ours && it.Status == stInitiated && stopped.After(ct.ExpiresAt.Add(fired)) {
			fail(checkDeadlines, "item %s: still initiated %s after the cart expired (%s)", it.ID, stopped.Sub(ct.ExpiresAt).Round(time.Millisecond), stamp(ct.ExpiresAt))
		}
		// Item timers.
		starts, ends := 0, 0
		var startedAt, endedAt time.Time
		for i, t := range h.timer {
			switch t {
			case "pending→started":
				starts++
				startedAt = h.timerAt[i]
			case "started→elapsed":
				ends++
				endedAt = h.timerAt[i]
			}
		}
		if ends > 0 {
			c.stats.add("deadlines", "item timers elapsed", ends)
		}
		if !ours || it.Timer == nil {
			continue
		}
		if starts > 1 || ends > 1 {
			fail(checkDeadlines, "item %s: its timer changed %v: started %d times, elapsed %d times", it.ID, h.timer, starts, ends)
		}
		tr, reached := h.reached[it.Timer.Trigger]
		switch {
		case reached && starts == 0:
			fail(checkDeadlines, "item %s reached %s (its timer's trigger) at %s, but its timer never started: %v", it.ID, it.Timer.Trigger, stamp(tr), h.timer)
		case !reached && starts > 0:
			fail(checkDeadlines, "item %s: its timer started at %s, but the item never reached %s", it.ID, stamp(startedAt), it.Timer.Trigger)
		case reached && startedAt.Sub(tr).Abs() > time.Millisecond:
			fail(checkDeadlines, "item %s: its timer started at %s, but the item reached %s at %s", it.ID, stamp(startedAt), it.Timer.Trigger, stamp(tr))
		}
		if starts == 1 && m != nil {
			var secs int64
			if mi := m.item(it.ID); mi != nil {
				secs = mi.TimerSecs
			}
			end := startedAt.Add(time.Duration(secs) * time.Second)
			switch {
			case ends == 1 && endedAt.Before(end.Add(-time.Millisecond)):
				fail(checkDeadlines, "item %s: its %d s timer started at %s elapsed at %s", it.ID, secs, stamp(startedAt), stamp(endedAt))
			case ends == 0 && stopped.After(end.Add(fired)):
				fail(checkDeadlines, "item %s: its %d s timer started at %s had not elapsed when the server stopped %s later (%v)",
					it.ID, secs, stamp(startedAt), stopped.Sub(startedAt).Round(time.Millisecond), h.timer)
			}
		}
	}
}

func sequences(evs []*dbEvent) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Sequence
	}
	return out
}

func stamp(t time.Time) string { return t.UTC().Format("15:04:05.000000") }

// waitDeadlines waits, before the final checks, until every deadline of
// the campaign's carts is due and fired: capture windows, the expiry of
// unpaid carts, item timers (bounded by two minutes).
func (c *campaign) waitDeadlines(ctx context.Context) {
	var until time.Time
	bump := func(t time.Time) {
		if t.After(until) {
			until = t
		}
	}
	for _, ct := range c.snapshotCarts() {
		var timer, window time.Duration
		for _, it := range ct.Items {
			timer = max(timer, time.Duration(it.TimerSecs)*time.Second)
			if it.TwoStep && it.Window < time.Minute {
				window = max(window, it.Window)
			}
		}
		if ct.Unpaid && !ct.InitAnswered.IsZero() {
			bump(ct.InitAnswered.Add(ct.expiry() + timer + fired))
		}
		if !ct.PayLastSent.IsZero() {
			bump(ct.PayLastSent.Add(window + timer + fired))
		}
		for _, r := range ct.Requests {
			bump(r.LastSent.Add(timer + fired))
		}
	}
	wait := time.Until(until)
	if wait <= 0 {
		return
	}
	if wait > 2*time.Minute {
		c.logf("deadlines: the last is %s away; waiting two minutes only", wait.Round(time.Second))
		wait = 2 * time.Minute
	} else {
		c.logf("deadlines: waiting %s for the last ones to fall due", wait.Round(time.Millisecond))
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
