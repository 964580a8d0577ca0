-- The merchant's test-clock offset in milliseconds (0 in live mode). Cart
-- deadlines are kept in merchant time inside the cart document and in real
-- time in carts.next_due_at, so moving a test clock shifts that column.
ALTER TABLE merchants ADD COLUMN clock_offset_ms INTEGER NOT NULL DEFAULT 0;
