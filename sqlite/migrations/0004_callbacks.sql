-- Callbacks (package webhook, sqlite/callbacks.go). The outbox is the
-- events table of 0001_core: rows there are written in the transaction of
-- the state change that causes them. The fan-out step reads it in id order
-- behind a durable cursor and turns each event into one published event
-- (callback_events, with the exact payload every delivery sends) and one
-- delivery per subscribed endpoint (callback_deliveries). Business rules
-- (who gets what, retries, disabling) live in package webhook.

-- A merchant's callback endpoints. events is a comma-separated list of
-- event types. secret signs every delivery; during a rotation's overlap
-- previous_secret signs too, until previous_expires_at (ms).
CREATE TABLE callback_endpoints (
	id                  TEXT PRIMARY KEY,
	merchant_id         TEXT NOT NULL REFERENCES merchants(id),
	url                 TEXT NOT NULL,
	events              TEXT NOT NULL,
	enabled             INTEGER NOT NULL CHECK (enabled IN (0, 1)),
	disabled_reason     TEXT NOT NULL DEFAULT '',
	secret              TEXT NOT NULL,
	previous_secret     TEXT,
	previous_expires_at INTEGER,
	failing_since       INTEGER,
	created_at          INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL
) STRICT;
CREATE INDEX callback_endpoints_merchant ON callback_endpoints(merchant_id, created_at);

-- The fan-out cursor: the id of the last events row fanned out.
CREATE TABLE callback_cursor (
	name     TEXT PRIMARY KEY,
	event_pk INTEGER NOT NULL
) STRICT;
INSERT INTO callback_cursor(name, event_pk) VALUES ('fanout', 0);

-- Published events: the public id (evt_…) and the exact JSON body sent.
CREATE TABLE callback_events (
	event_pk    INTEGER PRIMARY KEY REFERENCES events(id),
	id          TEXT NOT NULL UNIQUE,
	merchant_id TEXT NOT NULL,
	cart_id     TEXT NOT NULL,
	cart_pk     INTEGER NOT NULL,
	sequence    INTEGER NOT NULL,
	type        TEXT NOT NULL,
	payload     BLOB NOT NULL,
	created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX callback_events_merchant ON callback_events(merchant_id, event_pk);
CREATE INDEX callback_events_cart ON callback_events(merchant_id, cart_id, event_pk);

-- One delivery of one event to one endpoint (re-sends add rows). Times are
-- real-time milliseconds.
CREATE TABLE callback_deliveries (
	id              INTEGER PRIMARY KEY,
	endpoint_id     TEXT NOT NULL REFERENCES callback_endpoints(id) ON DELETE CASCADE,
	event_pk        INTEGER NOT NULL REFERENCES callback_events(event_pk),
	cart_pk         INTEGER NOT NULL,
	sequence        INTEGER NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER,
	last_status     INTEGER,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	finished_at     INTEGER
) STRICT;
CREATE INDEX callback_deliveries_due ON callback_deliveries(endpoint_id, next_attempt_at) WHERE status = 'pending';
-- A cart's deliveries, for the per-cart order of first attempts; its
-- columns never change, so outcomes do not touch it.
CREATE INDEX callback_deliveries_cart ON callback_deliveries(cart_pk, endpoint_id, sequence);
CREATE INDEX callback_deliveries_event ON callback_deliveries(event_pk);

-- Which dispatcher (a random id per process start) sends an endpoint's
-- deliveries, until when. One owner at a time per endpoint keeps the
-- endpoint's concurrency bound across processes; the owner renews its
-- leases while it runs, so a crashed process's endpoints (and the
-- deliveries it had not recorded) are taken over once its leases expire.
CREATE TABLE callback_leases (
	endpoint_id TEXT PRIMARY KEY REFERENCES callback_endpoints(id) ON DELETE CASCADE,
	owner       TEXT NOT NULL,
	until       INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX callback_leases_owner ON callback_leases(owner);

-- The delivery log: one row per attempt, kept 30 days. Rows are written
-- in time order, so pruning walks them by id (as it does deliveries)
-- instead of keeping more indexes up to date on every attempt. Removing an
-- endpoint removes its log; a pruned delivery's attempts are older than it
-- and gone before it.
CREATE TABLE callback_attempts (
	id          INTEGER PRIMARY KEY,
	delivery_id INTEGER NOT NULL,
	endpoint_id TEXT NOT NULL REFERENCES callback_endpoints(id) ON DELETE CASCADE,
	attempt     INTEGER NOT NULL,
	at          INTEGER NOT NULL,
	http_status INTEGER,
	latency_ms  INTEGER NOT NULL,
	error       TEXT NOT NULL DEFAULT '',
	response    TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX callback_attempts_endpoint ON callback_attempts(endpoint_id, id);
