// Package client is a Go client for the OmniCart Merchant API and the
// payment endpoint. It returns every response whole (HTTP status, headers,
// envelope and raw body) so that callers can act on codes exactly; it adds
// no retries of its own.
package client
