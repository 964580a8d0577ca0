CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) STRICT;

CREATE TABLE merchants (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	doc        TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
	hash        BLOB PRIMARY KEY,
	prefix      TEXT NOT NULL,
	merchant_id TEXT NOT NULL REFERENCES merchants(id),
	methods     TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	revoked_at  INTEGER
) STRICT;
CREATE INDEX api_keys_merchant ON api_keys(merchant_id, prefix);

CREATE TABLE catalog_items (
	merchant_id  TEXT NOT NULL REFERENCES merchants(id),
	item_id      TEXT NOT NULL,
	display_name TEXT NOT NULL,
	PRIMARY KEY (merchant_id, item_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE carts (
	pk          INTEGER PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants(id),
	cart_id     TEXT NOT NULL,
	token_hash  BLOB NOT NULL UNIQUE,
	doc         TEXT NOT NULL,
	next_due_at INTEGER,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	UNIQUE (merchant_id, cart_id)
) STRICT;
CREATE INDEX carts_due ON carts(next_due_at) WHERE next_due_at IS NOT NULL;

-- One row per item timer, kept in step with the cart document, for the
-- active-timer lock of /init. active_until is NULL while the timer is active
-- with no end in sight (pending, paused, infinite) and the deadline while it
-- runs; stopped and elapsed timers have no row.
CREATE TABLE item_timers (
	merchant_id  TEXT NOT NULL,
	customer_id  TEXT NOT NULL,
	item_id      TEXT NOT NULL,
	cart_pk      INTEGER NOT NULL REFERENCES carts(pk),
	active_until INTEGER,
	PRIMARY KEY (merchant_id, customer_id, item_id, cart_pk)
) STRICT, WITHOUT ROWID;
CREATE INDEX item_timers_cart ON item_timers(cart_pk);

CREATE TABLE events (
	id         INTEGER PRIMARY KEY,
	cart_pk    INTEGER NOT NULL REFERENCES carts(pk),
	sequence   INTEGER NOT NULL,
	type       TEXT NOT NULL,
	body       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (cart_pk, sequence)
) STRICT;

CREATE TABLE operations (
	op_id      TEXT PRIMARY KEY,
	cart_pk    INTEGER,
	body       TEXT NOT NULL,
	outcome    TEXT,
	created_at INTEGER NOT NULL,
	settled_at INTEGER
) STRICT;
CREATE INDEX operations_unsettled ON operations(created_at) WHERE outcome IS NULL;
