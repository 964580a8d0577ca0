// Package webhook delivers OmniCart callbacks: signed, durable, retried
// webhooks for payment and timer status changes (SPEC section 7).
//
// The pieces, in the order an event travels:
//
//   - The outbox holds the events the store writes in the same
//     transaction as the cart change that causes them, so an event exists
//     if and only if its change committed, until they are fanned out.
//   - The Dispatcher's fan-out step claims a batch of outbox events under a
//     lease (per row, so an event that commits after later ones is not
//     skipped, and several processes share the work), builds each event's
//     callback body once (Payload), and creates one delivery per enabled
//     endpoint of the merchant subscribed to the event's type, atomically
//     with taking the events out of the outbox.
//   - The Dispatcher's delivery loop claims due deliveries in small batches
//     under a renewable lease (safe with several processes on one
//     database), in each cart's order (InOrder decides, from facts the
//     store reports), at most PerEndpoint at a time per endpoint, sends
//     each with Standard Webhooks headers and v1 HMAC-SHA256 signatures
//     through an SSRF-safe client (Guard, NewClient), and records every
//     attempt in the delivery log. Any 2xx is success; 410 disables the endpoint; anything
//     else is retried on the Schedule (exponential, with jitter, for up to
//     three days) after which the endpoint is marked failing and the
//     operator is told in the log.
//   - The Manager is the use-case layer of endpoint management (add, list,
//     update, remove, rotate secrets with an overlap), of the event and
//     delivery log, and of re-sending events. The CLI and the management
//     JSON API call it.
//
// Storage is behind omnicart.CallbackStore, which storage engines
// implement (sqlite.Callbacks) with the plain data types it carries
// (omnicart.CallbackEndpoint, CallbackClaim, CallbackOutcome, ...); this
// package holds the rules.
//
// The Dispatcher reads the time and waits through an omnicart.Clock (the
// Manager reads it through a Now function) and draws jitter through a Rand
// function, so tests control both: they advance the shared fake of package
// clock instead of sleeping.
package webhook
