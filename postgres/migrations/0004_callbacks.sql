-- Callbacks (package webhook; postgres/callbacks*.go): the tables of
-- sqlite/migrations/0004_callbacks.sql and 0008_callback_outbox.sql with
-- PostgreSQL types. Times are BIGINT milliseconds, as everywhere on this
-- engine. Business rules (who gets what, retries, disabling, the order of
-- a cart's deliveries) live in package webhook.

-- Inserts into events wait until this migration commits (CREATE TRIGGER
-- would take this lock later; taking it first keeps the order of locks
-- plain): the outbox backfill below and the trigger together see every
-- event exactly once.
LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE;

-- A merchant's callback endpoints. events lists the event types the
-- endpoint receives. secret signs every delivery; during a rotation's
-- overlap previous_secret signs too, until previous_expires_at.
CREATE TABLE callback_endpoints (
	id                  TEXT COLLATE "C" PRIMARY KEY,
	merchant_id         TEXT COLLATE "C" NOT NULL REFERENCES merchants(id),
	url                 TEXT NOT NULL,
	events              TEXT[] NOT NULL,
	enabled             BOOLEAN NOT NULL,
	disabled_reason     TEXT NOT NULL DEFAULT '',
	secret              TEXT NOT NULL,
	previous_secret     TEXT,
	previous_expires_at BIGINT,
	failing_since       BIGINT,
	created_at          BIGINT NOT NULL,
	updated_at          BIGINT NOT NULL
);
CREATE INDEX callback_endpoints_merchant ON callback_endpoints(merchant_id, created_at);

-- Published events: the public id (evt_…) and the exact JSON body sent.
CREATE TABLE callback_events (
	event_pk    BIGINT PRIMARY KEY REFERENCES events(id),
	id          TEXT COLLATE "C" NOT NULL UNIQUE,
	merchant_id TEXT COLLATE "C" NOT NULL,
	cart_id     TEXT COLLATE "C" NOT NULL,
	cart_pk     BIGINT NOT NULL,
	sequence    BIGINT NOT NULL,
	type        TEXT NOT NULL,
	payload     BYTEA NOT NULL,
	created_at  BIGINT NOT NULL
);
CREATE INDEX callback_events_merchant ON callback_events(merchant_id, event_pk);
CREATE INDEX callback_events_cart ON callback_events(merchant_id, cart_id, event_pk);

-- One delivery of one event to one endpoint (re-sends add rows). Times are
-- real-time milliseconds.
CREATE TABLE callback_deliveries (
	id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	endpoint_id     TEXT COLLATE "C" NOT NULL REFERENCES callback_endpoints(id) ON DELETE CASCADE,
	event_pk        BIGINT NOT NULL REFERENCES callback_events(event_pk),
	cart_pk         BIGINT NOT NULL,
	sequence        BIGINT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at BIGINT,
	last_status     INTEGER,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	finished_at     BIGINT
);
CREATE INDEX callback_deliveries_due ON callback_deliveries(endpoint_id, next_attempt_at, id) WHERE status = 'pending';
-- A cart's deliveries, for the per-cart order of first attempts; its
-- columns never change, so outcomes do not touch it.
CREATE INDEX callback_deliveries_cart ON callback_deliveries(cart_pk, endpoint_id, sequence);
CREATE INDEX callback_deliveries_event ON callback_deliveries(event_pk);
-- Removing an endpoint removes all its deliveries (ON DELETE CASCADE),
-- which without this index would read the whole table.
CREATE INDEX callback_deliveries_endpoint ON callback_deliveries(endpoint_id);

-- Which dispatcher (a random id per process start) sends an endpoint's
-- deliveries, until when. One owner at a time per endpoint keeps the
-- endpoint's concurrency bound across nodes; the owner renews its leases
-- while it runs, so a crashed node's endpoints (and the deliveries it had
-- not recorded) are taken over once its leases expire.
CREATE TABLE callback_leases (
	endpoint_id TEXT COLLATE "C" PRIMARY KEY REFERENCES callback_endpoints(id) ON DELETE CASCADE,
	owner       TEXT NOT NULL,
	until       BIGINT NOT NULL
);
CREATE INDEX callback_leases_owner ON callback_leases(owner);

-- The delivery log: one row per attempt, kept 30 days. Rows are written
-- in time order, so pruning walks them by id (as it does deliveries).
-- Removing an endpoint removes its log.
CREATE TABLE callback_attempts (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	delivery_id BIGINT NOT NULL,
	endpoint_id TEXT COLLATE "C" NOT NULL REFERENCES callback_endpoints(id) ON DELETE CASCADE,
	attempt     INTEGER NOT NULL,
	at          BIGINT NOT NULL,
	http_status INTEGER,
	latency_ms  BIGINT NOT NULL,
	error       TEXT NOT NULL DEFAULT '',
	response    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX callback_attempts_endpoint ON callback_attempts(endpoint_id, id);

-- The outbox: the events not fanned out yet, a row each, claimed per row
-- (FOR UPDATE SKIP LOCKED) under a lease (owner, until; until 0 when
-- free) and deleted in the transaction that publishes the event, so each
-- event is fanned out once and a lease that ran out frees its events for
-- another node. No cursor: an event whose transaction took its id before
-- another's and committed after it is a row like any other. cart_pk and
-- sequence let the delivery claim tell, per cart, whether an earlier event
-- still waits here (CallbackCandidate.Unpublished).
CREATE TABLE callback_outbox (
	event_pk BIGINT PRIMARY KEY REFERENCES events(id),
	cart_pk  BIGINT NOT NULL,
	sequence BIGINT NOT NULL,
	owner    TEXT NOT NULL DEFAULT '',
	until    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX callback_outbox_cart ON callback_outbox(cart_pk, sequence);

-- The trigger writes the outbox rows in the statement that inserts the
-- events (the cart change that causes them), so an event is in the outbox
-- if and only if its change committed, whichever path (or node, old or
-- new) wrote it. One call per statement, with the statement's rows as a
-- transition table: a cart change inserts its events in one statement.
CREATE FUNCTION callback_outbox_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO callback_outbox(event_pk, cart_pk, sequence) SELECT id, cart_pk, sequence FROM new_events;
	RETURN NULL;
END
$$;
CREATE TRIGGER events_outbox AFTER INSERT ON events REFERENCING NEW TABLE AS new_events
	FOR EACH STATEMENT EXECUTE FUNCTION callback_outbox_add();

-- The events written before this migration are still to fan out (as on
-- SQLite, whose cursor started at 0).
INSERT INTO callback_outbox(event_pk, cart_pk, sequence) SELECT id, cart_pk, sequence FROM events;
