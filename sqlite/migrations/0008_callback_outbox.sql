-- Callbacks: the outbox is claimed per row instead of read behind a
-- cursor. A cursor over events.id skips an event whose transaction took
-- its id before another's and committed after it (PostgreSQL assigns ids
-- at insert, not at commit); a row per event not yet fanned out, claimed
-- with a lease, cannot be skipped.
--
-- callback_outbox holds the events not yet fanned out. The trigger writes
-- the row in the transaction that inserts the event (the cart change that
-- causes it), so an event is in the outbox if and only if its change
-- committed. A fan-out leases rows (owner, until: real-time ms; 0 when
-- free) and deletes them in the transaction that publishes their events,
-- so each event is fanned out once; a lease that ran out is free again,
-- so the events of a fan-out that died are taken over. cart_pk and
-- sequence let the delivery claim tell, per cart, whether an earlier event
-- still waits here (see CallbackCandidate.Unpublished).
CREATE TABLE callback_outbox (
	event_pk INTEGER PRIMARY KEY REFERENCES events(id),
	cart_pk  INTEGER NOT NULL,
	sequence INTEGER NOT NULL,
	owner    TEXT NOT NULL DEFAULT '',
	until    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX callback_outbox_cart ON callback_outbox(cart_pk, sequence);

CREATE TRIGGER events_outbox AFTER INSERT ON events BEGIN
	INSERT INTO callback_outbox(event_pk, cart_pk, sequence) VALUES (NEW.id, NEW.cart_pk, NEW.sequence);
END;

-- The events the cursor had not reached yet are still to fan out.
INSERT INTO callback_outbox(event_pk, cart_pk, sequence)
	SELECT id, cart_pk, sequence FROM events WHERE id > (SELECT event_pk FROM callback_cursor WHERE name = 'fanout');
DROP TABLE callback_cursor;
