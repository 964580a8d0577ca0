// Package e2e starts the real omnicart binary for end-to-end tests: it
// builds cmd/omnicart once per test process, runs `omnicart serve` on
// 127.0.0.1:0 with a temporary SQLite database, runs operator subcommands
// against the same database, and stops, kills or restarts the server.
package e2e
