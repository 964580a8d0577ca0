// Package sandboxtest holds what tests of the sandbox issuer share: an
// in-memory sandbox.Ledger, and the conformance suites every Ledger
// implementation must pass (RunLedger) and that check the issuer's business
// rules on top of it (RunIssuer).
package sandboxtest
