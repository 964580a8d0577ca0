-- Payment-link delivery (package notify, sqlite/notify.go): one row per
-- message, written in the /init transaction that creates its cart, so that a
-- message exists if and only if its cart does. Workers claim due rows by
-- pushing next_attempt_at forward (a lease), so a message whose sender died
-- is tried again once the lease runs out. pay_token is the secret of the
-- payment link; it is cleared once the message went out through a real
-- channel (the sandbox outbox keeps it to show the link).
CREATE TABLE notify_messages (
	id              INTEGER PRIMARY KEY,
	merchant_id     TEXT NOT NULL,
	cart_id         TEXT NOT NULL,
	channel         TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
	recipient       TEXT NOT NULL,
	pay_token       TEXT NOT NULL,
	merchant_name   TEXT NOT NULL,
	amount          INTEGER NOT NULL,
	currency        TEXT NOT NULL,
	expires_at      INTEGER NOT NULL,
	sandbox         INTEGER NOT NULL CHECK (sandbox IN (0, 1)),
	state           TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	last_error      TEXT NOT NULL DEFAULT '',
	via             TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	sent_at         INTEGER
) STRICT;
CREATE INDEX notify_messages_due ON notify_messages(next_attempt_at) WHERE state = 'queued';
CREATE INDEX notify_messages_cart ON notify_messages(merchant_id, cart_id);
CREATE INDEX notify_messages_via ON notify_messages(via, id);
