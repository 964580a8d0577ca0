package client

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Error is an answer of the server that is not a success: its OmniCart
// code and message (the first problem found), the other problems (Debug,
// with debug on), the HTTP status and the Request-Id to quote to the
// operator. Code is empty when the answer was not an OmniCart envelope
// (a proxy's error page, for instance); Body then holds its start.
type Error struct {
	HTTPStatus int
	Code       string
	Message    string
	Debug      []DebugEntry
	RequestID  string
	// Timestamp is when the server received the request.
	Timestamp time.Time
	// RetryAfter is the server's Retry-After (199002, 124191, 199004),
	// or 0.
	RetryAfter time.Duration
	// IdempotencyKey is the key the request was sent with.
	IdempotencyKey string
	// Attempts is how many times the request was sent.
	Attempts int
	// Method and Path name the request ("POST", "/capture"); Path is
	// "payment link" for payment links, whose token is a secret.
	Method, Path string
	// Body is the raw answer when it was not an envelope (at most 512
	// bytes).
	Body []byte
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("omnicart: ")
	if e.Method != "" {
		fmt.Fprintf(&b, "%s %s: ", e.Method, e.Path)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, "%s %s", e.Code, e.Message)
	} else {
		fmt.Fprintf(&b, "unexpected answer")
		if len(e.Body) > 0 {
			fmt.Fprintf(&b, " %q", e.Body)
		}
	}
	fmt.Fprintf(&b, " (HTTP %d", e.HTTPStatus)
	if e.RequestID != "" {
		fmt.Fprintf(&b, ", Request-Id %s", e.RequestID)
	}
	b.WriteString(")")
	for _, d := range e.Debug {
		fmt.Fprintf(&b, "; %s %s", d.Code, d.Message)
	}
	return b.String()
}

// Is makes errors.Is(err, &client.Error{Code: c}) true for every *Error
// with code c.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code != "" && t.Code == e.Code && (t.HTTPStatus == 0 || t.HTTPStatus == e.HTTPStatus)
}

// Has reports whether the error's main code or one of its debug entries
// is code.
func (e *Error) Has(code string) bool {
	if e.Code == code {
		return true
	}
	for _, d := range e.Debug {
		if d.Code == code {
			return true
		}
	}
	return false
}

// ErrorCode returns the OmniCart code of err when it is (or wraps) an
// *Error, or "".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func newError(rq request, ans *answer, env *Envelope) *Error {
	e := &Error{HTTPStatus: ans.status, RequestID: ans.meta.RequestID, IdempotencyKey: ans.meta.IdempotencyKey,
		Attempts: ans.meta.Attempts, Method: rq.method, Path: redact(rq)}
	if d, ok := retryAfter(ans.header.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = d
	}
	if env == nil {
		e.Body = truncate(ans.raw, 512)
		return e
	}
	e.Code, e.Message, e.Debug = env.Code, env.Message, env.Debug
	e.Timestamp = parseStamp(env.Timestamp)
	return e
}

func truncate(b []byte, n int) []byte {
	if len(b) <= n {
		return append([]byte(nil), b...)
	}
	b = b[:n]
	for len(b) > 0 && !utf8.Valid(b) {
		b = b[:len(b)-1]
	}
	return append([]byte(nil), b...)
}

// OmniCart response codes (GET /codes serves them all with their HTTP
// status, message template and meaning).
const (
	CodeSuccess = "000000"

	// Information codes: the call succeeded.
	CodeTagsUnused        = "001001" // Tag(s) [...] defined but not used
	CodeTagsUndefined     = "001002" // Undefined tags in item(s): [...]
	CodeStatusNoTags      = "001004" // status: a filter tag matched nothing
	CodeStatusNoItemIDs   = "001005" // status: a filter itemId matched nothing
	CodeStatusNoTimer     = "001006" // status: no item with an enabled timer
	CodeStatusNoNoTimer   = "001007" // status: no item with a disabled timer
	CodeTimerAlreadyStart = "001008"
	CodeTimerAlreadyStop  = "001009"
	CodeTimerAlreadyPause = "001010"

	CodeAuth               = "111000" // 401 Authentication error
	CodeCartIDEmpty        = "121101"
	CodeCustomerIDRequired = "121102"
	CodeNoItemsMatch       = "121103" // the filter leaves no item
	CodeInvalidFormat      = "122001" // {0} has invalid format
	CodeInvalidItemFormat  = "122002"
	CodeUnknownCurrency    = "123000"
	CodeCartNotFound       = "123001" // no such cart for this merchant
	CodeInvalidItemValue   = "123002"
	CodeInvalidValue       = "123003" // {0} has invalid value
	CodeFilterNoTags       = "124004"
	CodeFilterNoItemIDs    = "124005"
	CodeFilterNoTimer      = "124006"
	CodeFilterNoNoTimer    = "124007"
	CodeCartExists         = "124101" // 409 cartId already exists
	CodeActiveTimer        = "124102" // 409 the customer has an active timer on an item
	CodeItemNotInCatalog   = "124103" // 409 {itemId} does not exist
	CodePausePending       = "124104"
	CodePauseElapsed       = "124105"
	CodePauseStopped       = "124106"
	CodeStartStopped       = "124107"
	CodeStartElapsed       = "124108"
	CodeStopPending        = "124109"
	CodeStopElapsed        = "124110"
	CodeCartAmountExceeds  = "124111"
	CodeItemAmountExceeds  = "124112"
	CodeQuantityExceeds    = "124113"
	CodeNoneAuthorized     = "124114" // no items in the authorized status
	CodeNoneCompleted      = "124115" // no items in the completed status
	CodeIdempotencyReused  = "124190" // 409 Idempotency-Key reused with a different request
	CodeIdempotencyRunning = "124191" // 409 a request with this Idempotency-Key is in progress
	CodeMethodNotAllowed   = "131000" // 405
	CodeNoPermission       = "132000"
	CodeNoAmountPerm       = "132001"
	CodeNoTimerPerm        = "132002"
	CodeNoModifyPerm       = "132003"
	CodeOutOfRange         = "133000"
	CodeNoItemAmountPerm   = "133004"
	CodeNoItemTimerPerm    = "133005"
	CodeSystem             = "199000" // 500 General system error
	CodeNotFound           = "199001" // 404 Endpoint not found (or unknown id)
	CodeTooManyRequests    = "199002" // 429
	CodeBodyTooLarge       = "199003" // 413
	CodeUnavailable        = "199004" // 503, with Retry-After
)
