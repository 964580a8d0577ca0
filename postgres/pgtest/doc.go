// Package pgtest gives tests a PostgreSQL database of their own. URL
// creates a fresh database, named at random, on the server that
// OMNICART_TEST_POSTGRES names (an administrator's URL, such as
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) and drops it
// when the test ends; without the variable, the test is skipped.
package pgtest
