-- The money each merchant moved per day and currency, for the Panel's
-- overview: amounts authorized, captured, released (canceled) and
-- refunded, added up by a trigger when an operation settles as succeeded
-- (the UPDATE of FinishOperation), so the roll-up commits with the
-- operation it counts and the overview reads a few rows per day instead
-- of every cart. day is the number of days since 1970-01-01 of the
-- operation's settled_at (merchant time, UTC). A day's figures are spread
-- over 16 lanes by cart, so that nodes settling operations of different
-- carts at once seldom wait for each other's row; a reader adds the lanes
-- up.
CREATE TABLE money_days (
	merchant_id TEXT COLLATE "C" NOT NULL,
	day         BIGINT NOT NULL,
	currency    TEXT COLLATE "C" NOT NULL,
	lane        INTEGER NOT NULL DEFAULT 0,
	authorized  BIGINT NOT NULL DEFAULT 0,
	captured    BIGINT NOT NULL DEFAULT 0,
	released    BIGINT NOT NULL DEFAULT 0,
	refunded    BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (merchant_id, day, currency, lane)
);

CREATE FUNCTION money_days_add() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	op     jsonb := NEW.body::jsonb;
	kind   text := op ->> 'kind';
	amount bigint := (op ->> 'amount')::bigint;
BEGIN
	INSERT INTO money_days AS d (merchant_id, day, currency, lane, authorized, captured, released, refunded)
	VALUES (op ->> 'merchantId', NEW.settled_at / 86400000, op ->> 'currency', hashtext(op ->> 'cartId') & 15,
		CASE WHEN kind = 'authorize' THEN amount ELSE 0 END, CASE WHEN kind = 'capture' THEN amount ELSE 0 END,
		CASE WHEN kind = 'release' THEN amount ELSE 0 END, CASE WHEN kind = 'refund' THEN amount ELSE 0 END)
	ON CONFLICT (merchant_id, day, currency, lane) DO UPDATE SET
		authorized = d.authorized + EXCLUDED.authorized, captured = d.captured + EXCLUDED.captured,
		released = d.released + EXCLUDED.released, refunded = d.refunded + EXCLUDED.refunded;
	RETURN NULL;
END
$$;

CREATE TRIGGER operations_money_days AFTER UPDATE OF outcome ON operations FOR EACH ROW
WHEN (NEW.outcome = 'succeeded' AND OLD.outcome IS NULL AND NEW.settled_at IS NOT NULL)
EXECUTE FUNCTION money_days_add();

-- The operations settled before.
INSERT INTO money_days(merchant_id, day, currency, lane, authorized, captured, released, refunded)
SELECT m, d, cur, 0,
	sum(CASE WHEN k = 'authorize' THEN a ELSE 0 END), sum(CASE WHEN k = 'capture' THEN a ELSE 0 END),
	sum(CASE WHEN k = 'release' THEN a ELSE 0 END), sum(CASE WHEN k = 'refund' THEN a ELSE 0 END)
FROM (SELECT body::jsonb ->> 'merchantId' AS m, settled_at / 86400000 AS d, body::jsonb ->> 'currency' AS cur,
		body::jsonb ->> 'kind' AS k, (body::jsonb ->> 'amount')::bigint AS a
	FROM operations WHERE outcome = 'succeeded' AND settled_at IS NOT NULL) o
GROUP BY m, d, cur;

-- A merchant's carts by next deadline, for the overview's auto-actions of
-- the next 24 hours (DueCarts of one merchant): without it that query
-- walks every cart of the merchant.
CREATE INDEX carts_due_merchant ON carts(merchant_id, next_due_at) WHERE next_due_at IS NOT NULL;

-- How many carts have an item in each status, per merchant, for the
-- overview: kept by triggers on cart_item_statuses (a row per cart and
-- status), so the overview reads a few rows instead of counting them all;
-- spread over 16 lanes by cart, as money_days is.
CREATE TABLE cart_status_counts (
	merchant_id TEXT COLLATE "C" NOT NULL,
	status      TEXT COLLATE "C" NOT NULL,
	lane        INTEGER NOT NULL DEFAULT 0,
	n           BIGINT NOT NULL,
	PRIMARY KEY (merchant_id, status, lane)
);

CREATE FUNCTION cart_status_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO cart_status_counts AS c (merchant_id, status, lane, n) VALUES (NEW.merchant_id, NEW.status, NEW.cart_pk & 15, 1)
		ON CONFLICT (merchant_id, status, lane) DO UPDATE SET n = c.n + 1;
	ELSE
		UPDATE cart_status_counts SET n = n - 1 WHERE merchant_id = OLD.merchant_id AND status = OLD.status AND lane = OLD.cart_pk & 15;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER cart_item_statuses_count AFTER INSERT OR DELETE ON cart_item_statuses FOR EACH ROW
EXECUTE FUNCTION cart_status_counts_add();

INSERT INTO cart_status_counts(merchant_id, status, lane, n)
SELECT merchant_id, status, cart_pk & 15, count(*) FROM cart_item_statuses GROUP BY merchant_id, status, cart_pk & 15;
