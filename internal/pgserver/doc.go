// Package pgserver runs a private PostgreSQL server for tests that must stop,
// kill or restart the database under load (the multi-node test), which they
// cannot do to the machine's shared cluster. It uses the Debian binaries
// (/usr/lib/postgresql/*/bin): initdb in a temporary directory, pg_ctl
// start on a free port, trust authentication. When the process runs as root
// the server runs as the postgres user (PostgreSQL refuses to run as root).
package pgserver
