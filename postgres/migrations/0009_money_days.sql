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
