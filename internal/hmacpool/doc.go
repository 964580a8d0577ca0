// Package hmacpool reuses HMAC-SHA256 states keyed with a key: a new HMAC
// hashes its key's two pads first, Reset restores them from a copy. The
// webhook signer (one pool per secret) and the API key hash (the pepper)
// run one per request.
package hmacpool
