// Package httpapi is OmniCart's HTTP face: the Merchant API (the ordered JSON
// codec for item lists, the response envelope, codes mapped to HTTP status),
// the customer's payment endpoint, operator endpoints (/healthz, /readyz,
// /codes) and the middleware around them (request ids, structured logs,
// authentication, body limits, panic recovery).
package httpapi
