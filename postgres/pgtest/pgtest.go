package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the administrator's URL of the test server.
const EnvVar = "OMNICART_TEST_POSTGRES"

// URL returns the URL of a new, empty database on the server named by
// OMNICART_TEST_POSTGRES, or skips tb when the variable is unset. The
// database is dropped when tb ends, its connections terminated first (the
// test's pools should be closed by then: register their Close after
// calling URL). A server that cannot create the database fails tb.
func URL(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv(EnvVar)
	if admin == "" {
		tb.Skipf("%s is not set: no PostgreSQL server to test on", EnvVar)
	}
	dbURL, drop, err := Create(admin, "omnicart_test_")
	if err != nil {
		tb.Fatalf("%s: %v", EnvVar, err)
	}
	tb.Cleanup(func() {
		if err := drop(); err != nil {
			tb.Errorf("drop test database: %v", err)
		}
	})
	return dbURL
}

// Create creates a new, empty database named prefix and random hex on the
// server at admin (an administrator's URL) and returns its URL and a drop
// that removes it, its connections terminated first. For tests and
// benchmark programs.
func Create(admin, prefix string) (dbURL string, drop func() error, err error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	name := prefix + hex.EncodeToString(b[:])
	if dbURL, err = withDatabase(admin, name); err != nil {
		return "", nil, err
	}
	if err := exec(admin, `CREATE DATABASE `+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	return dbURL, func() error { return exec(admin, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`) }, nil
}

// exec runs one statement on a connection of its own to the server at
// admin.
func exec(admin, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}

// withDatabase returns the connection string s naming database name
// instead.
func withDatabase(s, name string) (string, error) {
	if u, err := url.Parse(s); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		q := u.Query()
		q.Del("dbname")
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	if strings.Contains(s, "://") {
		return "", errors.New("not a postgres:// URL")
	}
	return s + " dbname=" + name, nil // key=value form: the last one wins
}
