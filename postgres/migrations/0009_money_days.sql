-- The money each merchant moved per day and currency, and how many carts
-- have an item in each status, for the Panel's overview, so that it reads
-- a few rows instead of every cart.
--
-- Nodes write these figures at once for different carts, and one row per
-- merchant and day would make every settlement wait for the commit of the
-- previous one. So triggers only insert move rows (money_day_moves when
-- an operation's outcome is set to succeeded, cart_status_moves when a
-- cart gains or loses a status in cart_item_statuses): inserts take no
-- lock another transaction waits for. Every node folds the moves into the
-- totals (money_days, cart_status_counts) every few seconds, deleting the
-- moves it adds in the same transaction (postgres/rollup.go); a reader
-- adds the totals and the moves not folded yet, in one statement.
--
-- day is the number of days since 1970-01-01 of the operation's settled_at
-- (merchant time, UTC).
CREATE TABLE money_days (
	merchant_id TEXT COLLATE "C" NOT NULL,
	day         BIGINT NOT NULL,
	currency    TEXT COLLATE "C" NOT NULL,
	authorized  BIGINT NOT NULL DEFAULT 0,
	captured    BIGINT NOT NULL DEFAULT 0,
	released    BIGINT NOT NULL DEFAULT 0,
	refunded    BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (merchant_id, day, currency)
);

CREATE TABLE money_day_moves (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	merchant_id TEXT COLLATE "C" NOT NULL,
	day         BIGINT NOT NULL,
	currency    TEXT COLLATE "C" NOT NULL,
	authorized  BIGINT NOT NULL DEFAULT 0,
	captured    BIGINT NOT NULL DEFAULT 0,
	released    BIGINT NOT NULL DEFAULT 0,
	refunded    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX money_day_moves_merchant ON money_day_moves(merchant_id, day);

CREATE FUNCTION money_day_moves_add() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	op     jsonb := NEW.body::jsonb;
	kind   text := op ->> 'kind';
	amount bigint := (op ->> 'amount')::bigint;
BEGIN
	INSERT INTO money_day_moves (merchant_id, day, currency, authorized, captured, released, refunded)
	VALUES (op ->> 'merchantId', NEW.settled_at / 86400000, op ->> 'currency',
		CASE WHEN kind = 'authorize' THEN amount ELSE 0 END, CASE WHEN kind = 'capture' THEN amount ELSE 0 END,
		CASE WHEN kind = 'release' THEN amount ELSE 0 END, CASE WHEN kind = 'refund' THEN amount ELSE 0 END);
	RETURN NULL;
END
$$;

CREATE TRIGGER operations_money_days AFTER UPDATE OF outcome ON operations FOR EACH ROW
WHEN (NEW.outcome = 'succeeded' AND OLD.outcome IS NULL AND NEW.settled_at IS NOT NULL)
EXECUTE FUNCTION money_day_moves_add();

-- The operations settled before.
INSERT INTO money_days(merchant_id, day, currency, authorized, captured, released, refunded)
SELECT m, d, cur,
	sum(CASE WHEN k = 'authorize' THEN a ELSE 0 END), sum(CASE WHEN k = 'capture' THEN a ELSE 0 END),
	sum(CASE WHEN k = 'release' THEN a ELSE 0 END), sum(CASE WHEN k = 'refund' THEN a ELSE 0 END)
FROM (SELECT body::jsonb ->> 'merchantId' AS m, settled_at / 86400000 AS d, body::jsonb ->> 'currency' AS cur,
		body::jsonb ->> 'kind' AS k, (body::jsonb ->> 'amount')::bigint AS a
	FROM operations WHERE outcome = 'succeeded' AND settled_at IS NOT NULL) o
GROUP BY m, d, cur;

-- A merchant's carts by next deadline, for the overview's auto-actions of
-- the next 24 hours (PanelStore.CartsDue): without it that query walks
-- every cart of the merchant.
CREATE INDEX carts_due_merchant ON carts(merchant_id, next_due_at) WHERE next_due_at IS NOT NULL;

CREATE TABLE cart_status_counts (
	merchant_id TEXT COLLATE "C" NOT NULL,
	status      TEXT COLLATE "C" NOT NULL,
	n           BIGINT NOT NULL,
	PRIMARY KEY (merchant_id, status)
);

CREATE TABLE cart_status_moves (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	merchant_id TEXT COLLATE "C" NOT NULL,
	status      TEXT COLLATE "C" NOT NULL,
	n           INTEGER NOT NULL
);
CREATE INDEX cart_status_moves_merchant ON cart_status_moves(merchant_id);

CREATE FUNCTION cart_status_moves_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO cart_status_moves (merchant_id, status, n) VALUES (NEW.merchant_id, NEW.status, 1);
	ELSE
		INSERT INTO cart_status_moves (merchant_id, status, n) VALUES (OLD.merchant_id, OLD.status, -1);
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER cart_item_statuses_count AFTER INSERT OR DELETE ON cart_item_statuses FOR EACH ROW
EXECUTE FUNCTION cart_status_moves_add();

INSERT INTO cart_status_counts(merchant_id, status, n)
SELECT merchant_id, status, count(*) FROM cart_item_statuses GROUP BY merchant_id, status;
