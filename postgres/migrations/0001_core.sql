-- The core of OmniCart on PostgreSQL: the same tables as sqlite/migrations
-- (0001, 0003, 0006 and 0007 there), with PostgreSQL types. Times are
-- BIGINT milliseconds since the Unix epoch, as on SQLite, so both engines
-- compare the same numbers; hashes and secrets are BYTEA; documents (a
-- merchant, a cart, an event, an operation) are TEXT holding JSON, stored
-- and loaded whole (TEXT round-trips faster than JSONB, and no query looks
-- inside them). Identifiers that queries order by use the "C" collation,
-- the byte order SQLite's BINARY uses, whatever the database's locale.

-- Server secrets (the API-key pepper, the card-fingerprint key, ...),
-- created once and shared by every node.
CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value BYTEA NOT NULL
);

-- clock_offset_ms is the merchant's test-clock offset (0 in live mode).
-- Write transactions read a merchant FOR SHARE and a test-clock advance
-- updates the row, so a cart change and an advance of the same merchant
-- serialize (see postgres/store.go).
CREATE TABLE merchants (
	id              TEXT COLLATE "C" PRIMARY KEY,
	name            TEXT NOT NULL,
	doc             TEXT NOT NULL,
	created_at      BIGINT NOT NULL,
	clock_offset_ms BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
	hash        BYTEA PRIMARY KEY,
	prefix      TEXT COLLATE "C" NOT NULL,
	merchant_id TEXT COLLATE "C" NOT NULL REFERENCES merchants(id),
	methods     TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	revoked_at  BIGINT
);
CREATE INDEX api_keys_merchant ON api_keys(merchant_id, prefix);

CREATE TABLE catalog_items (
	merchant_id  TEXT COLLATE "C" NOT NULL REFERENCES merchants(id),
	item_id      TEXT COLLATE "C" NOT NULL,
	display_name TEXT NOT NULL,
	PRIMARY KEY (merchant_id, item_id)
);

-- A cart is one JSON document (doc) with the columns queries need beside
-- it. next_due_at is the cart's next deadline in real time (NULL: none);
-- the scheduler claims due rows with FOR UPDATE SKIP LOCKED, earliest
-- first, through carts_due (all merchants) or carts_merchant_due (one
-- merchant: the test clock).
CREATE TABLE carts (
	pk          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	merchant_id TEXT COLLATE "C" NOT NULL REFERENCES merchants(id),
	cart_id     TEXT COLLATE "C" NOT NULL,
	token_hash  BYTEA NOT NULL UNIQUE,
	doc         TEXT NOT NULL,
	next_due_at BIGINT,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	UNIQUE (merchant_id, cart_id)
);
CREATE INDEX carts_due ON carts(next_due_at, pk) WHERE next_due_at IS NOT NULL;
CREATE INDEX carts_merchant_due ON carts(merchant_id, next_due_at, pk) WHERE next_due_at IS NOT NULL;

-- One row per active item timer, kept in step with the cart document, for
-- the active-timer lock of /init. active_until is NULL while the timer is
-- active with no end in sight (pending, paused, infinite) and the deadline
-- while it runs; stopped and elapsed timers have no row.
CREATE TABLE item_timers (
	merchant_id  TEXT COLLATE "C" NOT NULL,
	customer_id  TEXT COLLATE "C" NOT NULL,
	item_id      TEXT COLLATE "C" NOT NULL,
	cart_pk      BIGINT NOT NULL REFERENCES carts(pk),
	active_until BIGINT,
	PRIMARY KEY (merchant_id, customer_id, item_id, cart_pk)
);
CREATE INDEX item_timers_cart ON item_timers(cart_pk);

-- The events of cart changes, written in the transaction of the change
-- (the callbacks' outbox; the callback tables come with the
-- omnicart.CallbackStore of this engine).
CREATE TABLE events (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	cart_pk    BIGINT NOT NULL REFERENCES carts(pk),
	sequence   BIGINT NOT NULL,
	type       TEXT NOT NULL,
	body       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	UNIQUE (cart_pk, sequence)
);

CREATE TABLE operations (
	op_id      TEXT COLLATE "C" PRIMARY KEY,
	cart_pk    BIGINT,
	body       TEXT NOT NULL,
	outcome    TEXT,
	created_at BIGINT NOT NULL,
	settled_at BIGINT
);
CREATE INDEX operations_unsettled ON operations(created_at, op_id) WHERE outcome IS NULL;

-- Idempotency-Key records, written in the transaction of the change they
-- answer, with sealed bodies.
CREATE TABLE idempotency_records (
	merchant_id  TEXT COLLATE "C" NOT NULL,
	key          TEXT COLLATE "C" NOT NULL,
	request_hash BYTEA NOT NULL,
	method       TEXT NOT NULL,
	path         TEXT NOT NULL,
	status       INTEGER NOT NULL,
	code         TEXT NOT NULL,
	body         BYTEA NOT NULL,
	created_at   BIGINT NOT NULL,
	PRIMARY KEY (merchant_id, key)
);
CREATE INDEX idempotency_records_created ON idempotency_records(created_at);
