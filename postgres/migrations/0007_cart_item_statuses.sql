-- The item statuses each cart has, for the listing's item-status filter
-- (GET /carts?status=, the Panel's carts page): one row per cart and
-- distinct item status, kept in step with the cart document by the store
-- (CreateCart, SaveCart), as item_timers is. The listing walks the primary
-- key backwards from its cursor (cart_pk, newest first), so a page reads
-- at most a page of entries, however rare the status.
CREATE TABLE cart_item_statuses (
	merchant_id TEXT COLLATE "C" NOT NULL,
	status      TEXT COLLATE "C" NOT NULL,
	cart_pk     BIGINT NOT NULL REFERENCES carts(pk),
	PRIMARY KEY (merchant_id, status, cart_pk)
);
CREATE INDEX cart_item_statuses_cart ON cart_item_statuses(cart_pk);

-- The carts stored before: their documents' item statuses.
INSERT INTO cart_item_statuses(merchant_id, status, cart_pk)
SELECT DISTINCT c.merchant_id, i.value ->> 'status', c.pk
FROM carts c,
	jsonb_array_elements(CASE WHEN jsonb_typeof(c.doc::jsonb -> 'items') = 'array' THEN c.doc::jsonb -> 'items' ELSE '[]'::jsonb END) AS i(value)
WHERE jsonb_typeof(i.value -> 'status') = 'string' AND i.value ->> 'status' <> ''
ON CONFLICT DO NOTHING;
ANALYZE cart_item_statuses;
