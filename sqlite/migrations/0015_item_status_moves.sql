-- A cart whose item statuses change from one to another (an item
-- authorized, then captured; a cart expired) moves its cart_item_statuses
-- row with one UPDATE (saveStatuses in store.go) instead of a DELETE and
-- an INSERT. The per-status counts follow such a move as they follow an
-- insert and a delete (0013_money_days).
CREATE TRIGGER cart_item_statuses_count_move AFTER UPDATE OF status ON cart_item_statuses
BEGIN
	UPDATE cart_status_counts SET n = n - 1 WHERE merchant_id = OLD.merchant_id AND status = OLD.status;
	INSERT INTO cart_status_counts(merchant_id, status, n) VALUES (NEW.merchant_id, NEW.status, 1)
	ON CONFLICT (merchant_id, status) DO UPDATE SET n = n + 1;
END;
