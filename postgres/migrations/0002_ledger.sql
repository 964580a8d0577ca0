-- The sandbox issuer's double-entry ledger (package sandbox,
-- postgres/ledger.go), as in sqlite/migrations/0002_ledger.sql. Business
-- rules live in Go (omnicart.NewBalance); these tables store journals and
-- balances. The CHECK on ledger_accounts backs up the balance check the Go
-- code makes, under FOR UPDATE, before every update.

-- One balance per account and currency. may_go_negative is fixed when the
-- account is created (omnicart.MayGoNegative: the issuer's funding
-- accounts).
CREATE TABLE ledger_accounts (
	account         TEXT COLLATE "C" NOT NULL,
	currency        TEXT COLLATE "C" NOT NULL,
	balance         BIGINT NOT NULL,
	may_go_negative BOOLEAN NOT NULL,
	PRIMARY KEY (account, currency),
	CHECK (may_go_negative OR balance >= 0)
);

-- One row per posted journal; the id (an operation id, or a derived id such
-- as "fund:EUR:card:…" or "void:…") makes posting idempotent. refusal is
-- non-NULL for a refused operation recorded without entries.
CREATE TABLE ledger_journals (
	seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id      TEXT COLLATE "C" NOT NULL UNIQUE,
	kind    TEXT NOT NULL,
	refusal TEXT
);

-- The entries of each journal; per journal and currency they sum to zero.
CREATE TABLE ledger_entries (
	journal_seq BIGINT NOT NULL REFERENCES ledger_journals(seq),
	line        INTEGER NOT NULL,
	account     TEXT COLLATE "C" NOT NULL,
	currency    TEXT COLLATE "C" NOT NULL,
	amount      BIGINT NOT NULL CHECK (amount <> 0),
	PRIMARY KEY (journal_seq, line),
	FOREIGN KEY (account, currency) REFERENCES ledger_accounts(account, currency)
);
CREATE INDEX ledger_entries_account ON ledger_entries(account, currency);

-- The holds placed by authorizations: which card account to give released
-- and refunded money back to. The card is known by fingerprint, brand and
-- last four digits only, never by its number.
CREATE TABLE sandbox_authorizations (
	ref          TEXT COLLATE "C" PRIMARY KEY REFERENCES ledger_journals(id),
	card_account TEXT COLLATE "C" NOT NULL,
	currency     TEXT COLLATE "C" NOT NULL,
	amount       BIGINT NOT NULL CHECK (amount >= 0),
	brand        TEXT NOT NULL,
	last4        TEXT NOT NULL,
	fingerprint  TEXT NOT NULL
);
