package postgres

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/omnicart/omnicart"
)

// TestUnavailable checks which errors mark the database as unavailable
// (answered 503 with Retry-After) and which are the statement's own.
func TestUnavailable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "57P01"}, true}, // admin shutdown
		{&pgconn.PgError{Code: "57P03"}, true}, // cannot connect now (starting)
		{&pgconn.PgError{Code: "08006"}, true}, // connection failure
		{&pgconn.PgError{Code: "53300"}, true}, // too many connections
		{fmt.Errorf("load cart: %w", io.ErrUnexpectedEOF), true},
		{errors.New("conn closed"), true},
		{&pgconn.PgError{Code: "23505"}, false}, // unique violation
		{&pgconn.PgError{Code: "40P01"}, false}, // deadlock: retried, not an outage
		{omnicart.ErrNotFound, false},
		{errors.New("decode merchant m: bad json"), false},
	} {
		got := unavailable(c.err)
		if errors.Is(got, omnicart.ErrUnavailable) != c.want {
			t.Errorf("unavailable(%v) = %v, want marked %v", c.err, got, c.want)
		}
		if !errors.Is(got, c.err) {
			t.Errorf("unavailable(%v) lost the error: %v", c.err, got)
		}
	}
	if unavailable(nil) != nil {
		t.Error("unavailable(nil) != nil")
	}
}
