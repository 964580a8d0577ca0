-- A sandbox balance in up to 16 rows: ledger_accounts' own balance (slot
-- 0) and the slots 1-15 here; the balance is their sum (the view
-- ledger_balances). One test card pays for every load test and one
-- merchant's account takes every capture: kept in one row, each commit
-- that changes it waits for the previous one's to be flushed. Spread, a
-- credit goes to the slot its journal's id picks and a debit takes from
-- the slot its journal's id picks first, then the next ones as needed,
-- each slot checked like the balance was (CHECK below; the Go code checks
-- the whole balance first), so transactions of different journals seldom
-- wait for each other. See postgres/ledger.go.
CREATE TABLE ledger_account_slots (
	account         TEXT COLLATE "C" NOT NULL,
	currency        TEXT COLLATE "C" NOT NULL,
	slot            SMALLINT NOT NULL CHECK (slot BETWEEN 1 AND 15),
	balance         BIGINT NOT NULL,
	may_go_negative BOOLEAN NOT NULL,
	PRIMARY KEY (account, currency, slot),
	FOREIGN KEY (account, currency) REFERENCES ledger_accounts(account, currency),
	CHECK (may_go_negative OR balance >= 0)
);

CREATE VIEW ledger_balances AS
SELECT a.account, a.currency,
	a.balance + COALESCE((SELECT sum(s.balance) FROM ledger_account_slots s
		WHERE s.account = a.account AND s.currency = a.currency), 0)::bigint AS balance
FROM ledger_accounts a;
