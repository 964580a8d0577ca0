-- Recovery of unsettled provider operations is claimed with a lease
-- (Tx.ClaimUnfinishedOperations), so that processes sharing the database
-- do not all retry the same operations: claimed_until is the end of the
-- current claim (milliseconds; NULL: never claimed). Additive: an older
-- binary ignores the column.
ALTER TABLE operations ADD COLUMN claimed_until INTEGER;
