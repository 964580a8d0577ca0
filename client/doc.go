// Package client is a typed Go client for OmniCart, for merchants.
//
// It covers the Merchant API (Init, Status, Capture, Cancel, Refund,
// Modify), the payment endpoint's JSON flow as an app uses it (Pay,
// CompleteChallenge), the sandbox test clock (AdvanceClock), payment-link
// deliveries, the callback management API (ListCallbackEndpoints,
// AddCallbackEndpoint, RotateCallbackSecret, CallbackEvents,
// ResendCallbackEvent and their siblings), the look-up of an
// Idempotency-Key's stored request (LookupIdempotencyKey) and the code
// catalogue (Codes). Webhooks that OmniCart sends are checked with
// WebhookVerifier or VerifyWebhook.
//
// # Answers and errors
//
// A successful Merchant API call returns its typed result, which embeds
// Meta: the response code (000000, or an information code such as 001004),
// message, debug list, the Request-Id and whether the answer was replayed
// for an Idempotency-Key. Every other answer is an *Error carrying the
// OmniCart code, message, debug list, HTTP status and Request-Id:
//
//	res, err := c.Capture(ctx, &client.ActionRequest{CartID: id})
//	var oe *client.Error
//	if errors.As(err, &oe) && oe.Code == client.CodeNoneAuthorized {
//		// nothing left to capture
//	}
//
// Errors that are not *Error mean that no answer was received (the
// network, a cancelled context) or that the answer was not OmniCart's.
//
// # Idempotency and retries
//
// Every POST and PATCH carries an Idempotency-Key: the one given with
// WithIdempotencyKey, or a new random one per call. Within a call the key
// and the body stay the same on every attempt, so a retry never acts
// twice: the server answers it with the stored response of the first
// attempt (Meta.Replayed). A call is retried (see RetryPolicy) when:
//
//   - no answer came back and the request is safe to send again: a GET, or
//     a Merchant API POST/PATCH, which the server deduplicates by its key;
//     requests the server does not deduplicate (the test clock, adding or
//     removing an endpoint, rotating a secret, re-sending an event,
//     paying) are sent again only when the connection was never made;
//   - the answer is 409 124191 (a request with this key is still running);
//   - the answer is 429 199002 (rate limit; nothing was done);
//   - the answer is 503, for requests that are safe to send again.
//
// Retry-After is honoured; otherwise attempts back off exponentially with
// jitter. To keep a retry safe across restarts of your own process, make
// the key yourself (NewIdempotencyKey), store it with your order, and pass
// it with WithIdempotencyKey; if the answer is lost for good,
// LookupIdempotencyKey tells what the request did.
//
// # Raw access
//
// Do and Raw send requests exactly as given and return the whole response
// (HTTP status, headers, envelope and raw body) whatever its status,
// without retries or generated keys: for tests of the server and for
// requests this package has no type for.
package client
