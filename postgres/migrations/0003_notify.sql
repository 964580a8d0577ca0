-- Payment-link delivery (package notify, postgres/notify.go), as in
-- sqlite/migrations/0005_notify.sql: one row per message, written in the
-- /init transaction that creates its cart. Workers claim due rows with
-- FOR UPDATE SKIP LOCKED and push next_attempt_at to the end of their lease,
-- so a message whose sender died is tried again once the lease runs out.
-- pay_token is the secret of the payment link; it is cleared once the
-- message went out through a real channel (the sandbox outbox keeps it).
CREATE TABLE notify_messages (
	id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	merchant_id     TEXT COLLATE "C" NOT NULL,
	cart_id         TEXT COLLATE "C" NOT NULL,
	channel         TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
	recipient       TEXT NOT NULL,
	pay_token       TEXT NOT NULL,
	merchant_name   TEXT NOT NULL,
	amount          BIGINT NOT NULL,
	currency        TEXT NOT NULL,
	expires_at      BIGINT NOT NULL,
	sandbox         BOOLEAN NOT NULL,
	state           TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL,
	last_error      TEXT NOT NULL DEFAULT '',
	via             TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL,
	sent_at         BIGINT
);
CREATE INDEX notify_messages_due ON notify_messages(next_attempt_at, id) WHERE state = 'queued';
CREATE INDEX notify_messages_cart ON notify_messages(merchant_id, cart_id);
CREATE INDEX notify_messages_via ON notify_messages(via, id);
