-- The sandbox issuer's double-entry ledger (package sandbox, sqlite/ledger.go).
-- Business rules live in package sandbox; these tables only store journals
-- and balances. The CHECK on ledger_accounts backs up the balance check the
-- Go code makes before every update.

-- One balance per account and currency. may_go_negative is fixed when the
-- account is created (sandbox.MayGoNegative: the issuer's funding accounts).
CREATE TABLE ledger_accounts (
	account         TEXT NOT NULL,
	currency        TEXT NOT NULL,
	balance         INTEGER NOT NULL,
	may_go_negative INTEGER NOT NULL CHECK (may_go_negative IN (0, 1)),
	PRIMARY KEY (account, currency),
	CHECK (may_go_negative = 1 OR balance >= 0)
) STRICT, WITHOUT ROWID;

-- One row per posted journal; the id (an operation id, or a derived id such
-- as "fund:EUR:card:…" or "void:…") makes posting idempotent. refusal is
-- non-NULL for a refused operation recorded without entries.
CREATE TABLE ledger_journals (
	seq     INTEGER PRIMARY KEY,
	id      TEXT NOT NULL UNIQUE,
	kind    TEXT NOT NULL,
	refusal TEXT
) STRICT;

-- The entries of each journal; per journal and currency they sum to zero.
CREATE TABLE ledger_entries (
	journal_seq INTEGER NOT NULL REFERENCES ledger_journals(seq),
	line        INTEGER NOT NULL,
	account     TEXT NOT NULL,
	currency    TEXT NOT NULL,
	amount      INTEGER NOT NULL CHECK (amount <> 0),
	PRIMARY KEY (journal_seq, line),
	FOREIGN KEY (account, currency) REFERENCES ledger_accounts(account, currency)
) STRICT, WITHOUT ROWID;
CREATE INDEX ledger_entries_account ON ledger_entries(account, currency);

-- The holds placed by authorizations: which card account to give released
-- and refunded money back to. The card is known by fingerprint, brand and
-- last four digits only, never by its number.
CREATE TABLE sandbox_authorizations (
	ref          TEXT PRIMARY KEY REFERENCES ledger_journals(id),
	card_account TEXT NOT NULL,
	currency     TEXT NOT NULL,
	amount       INTEGER NOT NULL CHECK (amount >= 0),
	brand        TEXT NOT NULL,
	last4        TEXT NOT NULL,
	fingerprint  TEXT NOT NULL
) STRICT, WITHOUT ROWID;
