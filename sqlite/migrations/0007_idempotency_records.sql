-- Idempotency records are now written in the transaction of the change they
-- answer, with sealed (encrypted) bodies; there is no "running" state. The
-- old table kept payment links in clear and is dropped with its rows (a key
-- used just before the upgrade runs again if retried).
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_records (
	merchant_id  TEXT NOT NULL,
	key          TEXT NOT NULL,
	request_hash BLOB NOT NULL,
	method       TEXT NOT NULL,
	path         TEXT NOT NULL,
	status       INTEGER NOT NULL,
	code         TEXT NOT NULL,
	body         BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (merchant_id, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_records_created ON idempotency_records(created_at);
