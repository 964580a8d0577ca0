-- The money each merchant moved per day and currency, for the Panel's
-- overview: amounts authorized, captured, released (canceled) and
-- refunded, added up by a trigger when an operation settles as succeeded
-- (the UPDATE of FinishOperation), so the roll-up commits with the
-- operation it counts and the overview reads thirty rows per currency
-- instead of every cart. day is the number of days since 1970-01-01 of
-- the operation's settled_at (merchant time, UTC). One writer changes
-- these rows here; on PostgreSQL, where nodes write at once, the triggers
-- write move rows that are folded in later instead.
CREATE TABLE money_days (
	merchant_id TEXT NOT NULL,
	day         INTEGER NOT NULL,
	currency    TEXT NOT NULL,
	authorized  INTEGER NOT NULL DEFAULT 0,
	captured    INTEGER NOT NULL DEFAULT 0,
	released    INTEGER NOT NULL DEFAULT 0,
	refunded    INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (merchant_id, day, currency)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER operations_money_days AFTER UPDATE OF outcome ON operations
WHEN NEW.outcome = 'succeeded' AND OLD.outcome IS NULL AND NEW.settled_at IS NOT NULL
BEGIN
	INSERT INTO money_days(merchant_id, day, currency, authorized, captured, released, refunded)
	SELECT json_extract(NEW.body, '$.merchantId'), NEW.settled_at / 86400000, json_extract(NEW.body, '$.currency'),
		CASE k WHEN 'authorize' THEN a ELSE 0 END, CASE k WHEN 'capture' THEN a ELSE 0 END,
		CASE k WHEN 'release' THEN a ELSE 0 END, CASE k WHEN 'refund' THEN a ELSE 0 END
	FROM (SELECT json_extract(NEW.body, '$.kind') AS k, json_extract(NEW.body, '$.amount') AS a)
	WHERE true
	ON CONFLICT (merchant_id, day, currency) DO UPDATE SET
		authorized = authorized + excluded.authorized, captured = captured + excluded.captured,
		released = released + excluded.released, refunded = refunded + excluded.refunded;
END;

-- The operations settled before.
INSERT INTO money_days(merchant_id, day, currency, authorized, captured, released, refunded)
SELECT m, d, cur,
	sum(CASE k WHEN 'authorize' THEN a ELSE 0 END), sum(CASE k WHEN 'capture' THEN a ELSE 0 END),
	sum(CASE k WHEN 'release' THEN a ELSE 0 END), sum(CASE k WHEN 'refund' THEN a ELSE 0 END)
FROM (SELECT json_extract(body, '$.merchantId') AS m, settled_at / 86400000 AS d, json_extract(body, '$.currency') AS cur,
		json_extract(body, '$.kind') AS k, json_extract(body, '$.amount') AS a
	FROM operations WHERE outcome = 'succeeded' AND settled_at IS NOT NULL)
GROUP BY m, d, cur;

-- A merchant's carts by next deadline, for the overview's auto-actions of
-- the next 24 hours (DueCarts of one merchant): without it that query
-- walks every cart of the merchant.
CREATE INDEX carts_due_merchant ON carts(merchant_id, next_due_at) WHERE next_due_at IS NOT NULL;

-- How many carts have an item in each status, per merchant, for the
-- overview: kept by triggers on cart_item_statuses (a row per cart and
-- status), so the overview reads a few rows instead of counting them all.
CREATE TABLE cart_status_counts (
	merchant_id TEXT NOT NULL,
	status      TEXT NOT NULL,
	n           INTEGER NOT NULL,
	PRIMARY KEY (merchant_id, status)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER cart_item_statuses_count_in AFTER INSERT ON cart_item_statuses
BEGIN
	INSERT INTO cart_status_counts(merchant_id, status, n) VALUES (NEW.merchant_id, NEW.status, 1)
	ON CONFLICT (merchant_id, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER cart_item_statuses_count_out AFTER DELETE ON cart_item_statuses
BEGIN
	UPDATE cart_status_counts SET n = n - 1 WHERE merchant_id = OLD.merchant_id AND status = OLD.status;
END;

INSERT INTO cart_status_counts(merchant_id, status, n)
SELECT merchant_id, status, count(*) FROM cart_item_statuses GROUP BY merchant_id, status;
