package webhook

import "github.com/omnicart/omnicart"

// InOrder is the ordering rule of deliveries, which the dispatcher hands
// the store when it claims (omnicart.CallbackClaimRequest.Ready): per
// endpoint and cart, a due delivery waits
//
//   - while an earlier event of its cart (lower sequence) has not been
//     fanned out yet (it may be in the hands of another process's fan-out),
//     and
//   - while an earlier delivery of its cart to the endpoint (lower
//     sequence, or the same sequence and a lower id: a re-send) has not had
//     its first attempt,
//
// so that receivers that answer get a cart's events in order. Only the
// first attempt is waited for: a delivery being retried holds up no one,
// or a receiver that fails one event would stop its cart's callbacks for
// days.
func InOrder(c omnicart.CallbackCandidate) bool {
	if c.Unpublished != 0 && c.Unpublished < c.Sequence {
		return false
	}
	if c.FirstID == 0 || c.FirstID == c.DeliveryID {
		return true
	}
	return c.FirstSequence > c.Sequence || (c.FirstSequence == c.Sequence && c.FirstID > c.DeliveryID)
}
