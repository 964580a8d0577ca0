// Package omnicart is the domain of the OmniCart payment gateway: merchants,
// carts of items, the inheritance of payment settings from cart to tag to
// item, exact amount arithmetic, payment statuses and their transitions,
// request filters, and the catalogue of response codes.
//
// The package is pure: it performs no I/O, reads no clock (the current time is
// always passed in) and imports only the standard library. Use cases that load
// and save carts live in package gateway; storage engines, the HTTP API and the
// sandbox issuer are adapters that depend on this package, never the reverse.
package omnicart
