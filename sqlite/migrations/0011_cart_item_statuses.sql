-- The item statuses each cart has, for the listing's item-status filter
-- (GET /carts?status=, the Panel's carts page): one row per cart and
-- distinct item status, kept in step with the cart document by the store
-- (CreateCart, SaveCart), as item_timers is. The listing walks the primary
-- key backwards from its cursor (cart_pk, newest first), so a page reads
-- at most a page of entries, however rare the status.
CREATE TABLE cart_item_statuses (
	merchant_id TEXT NOT NULL,
	status      TEXT NOT NULL,
	cart_pk     INTEGER NOT NULL REFERENCES carts(pk),
	PRIMARY KEY (merchant_id, status, cart_pk)
) STRICT, WITHOUT ROWID;
CREATE INDEX cart_item_statuses_cart ON cart_item_statuses(cart_pk);

-- The carts stored before: their documents' item statuses.
INSERT OR IGNORE INTO cart_item_statuses(merchant_id, status, cart_pk)
SELECT DISTINCT c.merchant_id, json_extract(i.value, '$.status'), c.pk
FROM carts c, json_each(c.doc, '$.items') i
WHERE json_type(i.value, '$.status') = 'text' AND json_extract(i.value, '$.status') <> '';
