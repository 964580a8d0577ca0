-- The Merchant Panel: users, sessions, failed sign-ins, audit log, and the
-- columns and indexes of the cart listing (GET /carts and the Panel).
CREATE TABLE panel_users (
	id            TEXT PRIMARY KEY,
	merchant_id   TEXT NOT NULL REFERENCES merchants(id),
	email         TEXT NOT NULL UNIQUE,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX panel_users_merchant ON panel_users(merchant_id, created_at);

CREATE TABLE panel_sessions (
	hash         BLOB PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES panel_users(id) ON DELETE CASCADE,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	remote_addr  TEXT NOT NULL
) STRICT;
CREATE INDEX panel_sessions_user ON panel_sessions(user_id);

CREATE TABLE panel_failed_signins (
	id          INTEGER PRIMARY KEY,
	email       TEXT NOT NULL,
	remote_addr TEXT NOT NULL,
	at          INTEGER NOT NULL
) STRICT;
CREATE INDEX panel_failed_signins_email ON panel_failed_signins(email, at);

CREATE TABLE panel_audit (
	id          INTEGER PRIMARY KEY,
	merchant_id TEXT NOT NULL,
	actor       TEXT NOT NULL,
	action      TEXT NOT NULL,
	target      TEXT NOT NULL,
	detail      TEXT NOT NULL,
	remote_addr TEXT NOT NULL,
	at          INTEGER NOT NULL
) STRICT;
CREATE INDEX panel_audit_merchant ON panel_audit(merchant_id, id);

-- The listing filters on columns the cart document already holds: virtual
-- generated columns, indexed, so the store code that saves carts is
-- unchanged. Pages are keyset pages on pk (newest first).
ALTER TABLE carts ADD COLUMN customer_id TEXT GENERATED ALWAYS AS (json_extract(doc, '$.customerId')) VIRTUAL;
ALTER TABLE carts ADD COLUMN currency TEXT GENERATED ALWAYS AS (json_extract(doc, '$.currency')) VIRTUAL;
CREATE INDEX carts_list ON carts(merchant_id, pk);
CREATE INDEX carts_list_customer ON carts(merchant_id, customer_id, pk) WHERE customer_id IS NOT NULL;
CREATE INDEX carts_list_currency ON carts(merchant_id, currency, pk);
