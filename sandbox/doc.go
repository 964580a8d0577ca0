// Package sandbox is OmniCart's test-mode issuer: it implements
// omnicart.Provider on top of a double-entry ledger of card, hold, merchant
// and funding accounts.
//
// The issuer decides the outcome of an authorization from the test card
// number (see SPEC §6) and expresses every money movement as a Journal of
// entries that sum to zero per currency. Storing journals is the job of a
// Ledger (sqlite.Ledger in production, sandboxtest.MemLedger in tests); the
// ledger enforces the invariants atomically on every posting: balanced
// journals, no negative balance except on the issuer's funding accounts, and
// idempotency by journal id.
//
// Accounts, each with one balance per currency:
//
//	issuer:funding:<currency>  the issuer's source of test money; may go negative
//	card:<fingerprint>         a test card; success cards are funded with 10^17
//	                           minor units on first use, the insufficient-funds card with 0
//	hold:<authRef>             the funds held by the authorization whose opId is authRef
//	merchant:<merchantId>      captured money, minus refunds
//
// The full card number and CVC are never stored or logged: a card is known by
// its keyed fingerprint, brand and last four digits only.
package sandbox
