// Command omnicart-bench-callbacks measures callback throughput: how many
// deliveries per second the webhook dispatcher (fan-out from the events
// outbox, claims, signing, HTTP, delivery log, all on a real SQLite file)
// makes to a local receiver, against a raw keep-alive http.Client posting
// the same payloads to the same receiver with the same concurrency, in the
// same run. It is a program, not a timed test:
//
//	go run ./cmd/omnicart-bench-callbacks -events 20000 -endpoints 1 -rounds 3
//
// The outbox is filled before the clock starts, with real cart events: each
// cart has two items whose payment window ran out (payment.status_changed
// initiated→expired, with the cart's status data), written by the real
// store. The fan-out (outbox to deliveries) is timed on its own; the
// dispatcher's number is from Run's start until the receiver has answered
// every delivery. Results and how to read them: docs/PERFORMANCE.md.
package main
