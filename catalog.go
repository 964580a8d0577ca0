package omnicart

import "strings"

// CatalogEntry describes one response code: its message template and when it
// is used. Placeholders: {0} is Problem.Arg, {1} and {2} are Problem.Args, and
// [...] is Problem.Items written as [a, b, c].
type CatalogEntry struct {
	Code     Code
	Template string
	Meaning  string
}

// Catalog returns every response code OmniCart uses, in code order.
func Catalog() []CatalogEntry {
	return []CatalogEntry{
		{CodeSuccess, "Success", "No errors or info messages."},
		{CodeTagsUnused, "Tag(s) [...] defined but not used", "init: scope defines tags that no item uses (info)."},
		{CodeTagsUndefined, "Undefined tags in item(s): [...]", "init: items carry tags that the scope does not define (info)."},
		{CodeStatusNoTags, "Requested cart does not contain tag(s) [...]", "status: a filter tag matched nothing; the other items are returned."},
		{CodeStatusNoItemIDs, "Requested cart does not contain itemId(s) [...]", "status: a filter itemId matched nothing; the other items are returned."},
		{CodeStatusNoTimer, "Requested cart does not contain items with enabled timer", "status: the timerEnabled=true filter removed every item of a listed tag or itemId."},
		{CodeStatusNoNoTimer, "Requested cart does not contain items with disabled timer", "status: the timerEnabled=false filter removed every item of a listed tag or itemId."},
		{CodeTimerAlreadyStart, "Timer already started, item(s): [...]", "modify: start on a started timer; nothing changed."},
		{CodeTimerAlreadyStop, "Timer already stopped or expired, item(s): [...]", "modify: stop on a stopped or elapsed timer; nothing changed."},
		{CodeTimerAlreadyPause, "Timer already paused, items [...]", "modify: pause on a paused timer; nothing changed."},
		{"101001", "Tag(s) [...] defined but not used", "001001 listed in the debug of a failed request."},
		{"101002", "Undefined tags in item(s): [...]", "001002 listed in the debug of a failed request."},
		{"101004", "Requested cart does not contain tag(s) [...]", "001004 listed in the debug of a failed request."},
		{"101005", "Requested cart does not contain itemId(s) [...]", "001005 listed in the debug of a failed request."},
		{"101006", "Requested cart does not contain items with enabled timer", "001006 listed in the debug of a failed request."},
		{"101007", "Requested cart does not contain items with disabled timer", "001007 listed in the debug of a failed request."},
		{"101008", "Timer already started, item(s): [...]", "001008 listed in the debug of a failed request."},
		{"101009", "Timer already stopped, item(s): [...]", "001009 listed in the debug of a failed request."},
		{"101010", "Timer already paused, items [...]", "001010 listed in the debug of a failed request."},
		{CodeAuth, "Authentication error", "The Api-Access-Token header is missing, unknown or revoked."},
		{CodeCartIDEmpty, "cartId cannot be empty", "The request has no cartId."},
		{CodeCustomerIDRequired, "customerId required as there are items with enabled timer: [...]", "init: items have timers but the cart has no customerId."},
		{CodeNoItemsMatch, "No itemIds matching the request", "The filters leave no item."},
		{CodeInvalidFormat, "{0} has invalid format", "Wrong JSON type, bad syntax, unknown property, or a badly formed cartId, tag or itemId."},
		{CodeInvalidItemFormat, "{0} has invalid format for item(s) [...]", "Like 122001, for properties inside items."},
		{CodeUnknownCurrency, "Unknown currency", "currency is missing or not an ISO 4217 alphabetic code."},
		{CodeCartNotFound, "cartId does not exist", "No cart with this cartId for this merchant."},
		{CodeInvalidItemValue, "{0} has invalid value for item(s) [...]", "A well-formed property of items has a value outside its rules."},
		{CodeInvalidValue, "{0} has invalid value", "A well-formed property has a value outside its rules."},
		{CodeFilterNoTags, "Requested cart does not contain tag(s) [...]", "capture, cancel, refund, modify: a listed tag is not in the cart."},
		{CodeFilterNoItemIDs, "Requested cart does not contain itemId(s) [...]", "capture, cancel, refund, modify: a listed itemId is not in the cart."},
		{CodeFilterNoTimer, "Requested cart does not contain items with enabled timer", "capture, cancel, refund: timerEnabled=true leaves a listed tag or itemId without items."},
		{CodeFilterNoNoTimer, "Requested cart does not contain items with disabled timer", "capture, cancel, refund: timerEnabled=false leaves a listed tag or itemId without items."},
		{CodeCartExists, "cartId already exists", "init: this merchant already has a cart with this cartId."},
		{CodeActiveTimer, "customerId {0} is linked to itemId {1} in cartId {2} with an active timer", "init: the customer has an active timer on this item in another cart."},
		{CodeItemNotInCatalog, "{0} does not exist", "init: the itemId is not in the merchant's items catalog."},
		{CodePausePending, "Cannot pause a pending timer, item(s): [...]", "modify: invalid timer transition."},
		{CodePauseElapsed, "Cannot pause an expired timer, item(s): [...]", "modify: invalid timer transition."},
		{CodePauseStopped, "Cannot pause a stopped timer, item(s): [...]", "modify: invalid timer transition."},
		{CodeStartStopped, "Cannot start a stopped timer, item(s): [...]", "modify: invalid timer transition."},
		{CodeStartElapsed, "Cannot start an expired timer, item(s): [...]", "modify: invalid timer transition."},
		{CodeStopPending, "Cannot stop a pending timer, item(s): [...]", "modify: invalid timer transition."},
		{CodeStopElapsed, "Cannot stop an expired timer, item(s): [...]", "modify: invalid timer transition."},
		{CodeCartAmountExceeds, "Modified cart amount exceeds previous state", "modify: cart or tag amount settings would raise the cart total."},
		{CodeItemAmountExceeds, "Modified item amount exceeds previous state for item(s): [...]", "modify: the new full amount is above the item's current full amount."},
		{CodeQuantityExceeds, "Modified quantity exceeds previous state for item(s): [...]", "modify: the new quantity is above the previous quantity."},
		{CodeNoneAuthorized, "No items in the authorized status", "capture, cancel: nothing in scope is authorized."},
		{CodeNoneCompleted, "No items in the completed status", "refund: nothing in scope is completed."},
		{CodeIdempotencyReused, "Idempotency-Key reused with a different request", "The Idempotency-Key was used before with another request body."},
		{CodeIdempotencyRunning, "A request with this Idempotency-Key is in progress", "The first request with this Idempotency-Key has not finished."},
		{CodeMethodNotAllowed, "Not allowed to pass this method", "The API key may not call this method, or the HTTP method is wrong for the path."},
		{CodeNoPermission, "Insufficient permissions to pass {0}", "The merchant lacks the privilege for this property (e.g. cartExpiry)."},
		{CodeNoAmountPerm, "Insufficient permissions to set or modify amount settings", "Cart or tag amount settings without the amount-settings privilege."},
		{CodeNoTimerPerm, "Insufficient permissions to set or modify timer settings", "Cart or tag timer settings without the timers privilege."},
		{CodeNoModifyPerm, "Insufficient permissions to set or modify {0}", "A setting the merchant may not use (e.g. capture=false without the one-step privilege)."},
		{CodeOutOfRange, "{0} value {1} is out of permitted range, item(s): [...]", "A setting is outside the merchant's permitted range (capture window, autoAction complete)."},
		{CodeNoItemAmountPerm, "Insufficient permissions to set or modify amount settings, items: [...]", "Item amount settings without the amount-settings privilege."},
		{CodeNoItemTimerPerm, "Insufficient permissions to set or modify timer settings, items: [...]", "Item timer settings without the timers privilege."},
		{CodeSystem, "General system error", "An unexpected failure; it is logged with the request id."},
		{CodeNotFound, "Endpoint not found", "Unknown path."},
		{CodeTooManyRequests, "Too many requests", "The client exceeded its request rate."},
		{CodeBodyTooLarge, "Request body too large", "The request body is larger than 1 MiB."},
		{CodeUnavailable, "Service unavailable", "The database is unreachable or the server is shutting down; retry after Retry-After seconds."},
	}
}

// RenderMessage fills the template of code with its arguments. Unknown codes
// render as the general system error message.
func RenderMessage(code Code, arg string, args []string, items []string) string {
	tpl := ""
	for _, e := range Catalog() {
		if e.Code == code {
			tpl = e.Template
			break
		}
	}
	if tpl == "" {
		return "General system error"
	}
	r := strings.NewReplacer("{0}", arg, "[...]", "["+strings.Join(items, ", ")+"]")
	out := r.Replace(tpl)
	for i, a := range args {
		out = strings.ReplaceAll(out, "{"+string(rune('1'+i))+"}", a)
	}
	return out
}
