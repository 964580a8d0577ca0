-- The Merchant Panel: users, sessions, failed sign-ins, audit log, and the
-- columns and indexes of the cart listing (GET /carts and the Panel).
-- (0004 is left to the callback store's tables.)
CREATE TABLE panel_users (
	id            TEXT COLLATE "C" PRIMARY KEY,
	merchant_id   TEXT COLLATE "C" NOT NULL REFERENCES merchants(id),
	email         TEXT COLLATE "C" NOT NULL UNIQUE,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    BIGINT NOT NULL
);
CREATE INDEX panel_users_merchant ON panel_users(merchant_id, created_at);

CREATE TABLE panel_sessions (
	hash         BYTEA PRIMARY KEY,
	user_id      TEXT COLLATE "C" NOT NULL REFERENCES panel_users(id) ON DELETE CASCADE,
	created_at   BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL,
	remote_addr  TEXT NOT NULL
);
CREATE INDEX panel_sessions_user ON panel_sessions(user_id);

CREATE TABLE panel_failed_signins (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email       TEXT COLLATE "C" NOT NULL,
	remote_addr TEXT NOT NULL,
	at          BIGINT NOT NULL
);
CREATE INDEX panel_failed_signins_email ON panel_failed_signins(email, at);

CREATE TABLE panel_audit (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	merchant_id TEXT COLLATE "C" NOT NULL,
	actor       TEXT NOT NULL,
	action      TEXT NOT NULL,
	target      TEXT NOT NULL,
	detail      TEXT NOT NULL,
	remote_addr TEXT NOT NULL,
	at          BIGINT NOT NULL
);
CREATE INDEX panel_audit_merchant ON panel_audit(merchant_id, id);

-- The listing filters on columns the cart document already holds: stored
-- generated columns, indexed, so the store code that saves carts is
-- unchanged. Pages are keyset pages on pk (newest first).
ALTER TABLE carts ADD COLUMN customer_id TEXT COLLATE "C" GENERATED ALWAYS AS ((doc::jsonb) ->> 'customerId') STORED;
ALTER TABLE carts ADD COLUMN currency TEXT COLLATE "C" GENERATED ALWAYS AS ((doc::jsonb) ->> 'currency') STORED;
CREATE INDEX carts_list ON carts(merchant_id, pk);
CREATE INDEX carts_list_customer ON carts(merchant_id, customer_id, pk) WHERE customer_id IS NOT NULL;
CREATE INDEX carts_list_currency ON carts(merchant_id, currency, pk);
