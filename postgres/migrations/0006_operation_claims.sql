-- Recovery of unsettled provider operations is claimed with a lease
-- (Tx.ClaimUnfinishedOperations, FOR UPDATE SKIP LOCKED), so that nodes
-- do not all retry the same operations: claimed_until is the end of the
-- current claim (milliseconds; NULL: never claimed). Additive: a node of
-- the previous version ignores the column during a rolling upgrade.
ALTER TABLE operations ADD COLUMN claimed_until BIGINT;
