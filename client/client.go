package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// UserAgent is the User-Agent the client sends unless Client.UserAgent is
// set.
const UserAgent = "omnicart-go-client/1"

// maxResponse bounds the body read from the server.
const maxResponse = 16 << 20

// Client talks to one OmniCart server with one API key. Its methods may be
// called from several goroutines at once; do not change its fields while
// calls are running.
type Client struct {
	// BaseURL is the server's address, such as "http://127.0.0.1:8080".
	BaseURL string
	// APIKey is sent as Api-Access-Token.
	APIKey string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// UserAgent replaces the default User-Agent when not empty.
	UserAgent string
	// Retry bounds the retries of the typed methods; the zero value is the
	// default policy (see RetryPolicy).
	Retry RetryPolicy
}

// New returns a client for baseURL (such as "http://127.0.0.1:8080") with
// an API key.
func New(baseURL, apiKey string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), APIKey: apiKey, HTTP: &http.Client{}}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// DebugEntry is one code of a response's debug list.
type DebugEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Envelope is the body of every Merchant API response.
type Envelope struct {
	CartID    string          `json:"cartId,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
	Code      string          `json:"code"`
	Message   string          `json:"message"`
	Debug     []DebugEntry    `json:"debug,omitempty"`
	Timestamp string          `json:"timestamp"`
}

// Response is a whole Merchant API response, as Do and Raw return it.
type Response struct {
	Status int
	Header http.Header
	Raw    []byte
	Envelope
}

// Decode unmarshals the response's data into v.
func (r *Response) Decode(v any) error {
	if len(r.Data) == 0 {
		return fmt.Errorf("response %s has no data", r.Code)
	}
	return json.Unmarshal(r.Data, v)
}

// Meta describes the answer to a call: its HTTP status, its code and
// message (000000 "Success", or an information code such as 001004 when a
// status filter matched nothing, or the first information message with
// debug on), the other messages of the debug list, the server's
// timestamp, the Request-Id, and the Idempotency-Key it was sent with.
type Meta struct {
	HTTPStatus int
	Code       string
	Message    string
	Debug      []DebugEntry
	// Timestamp is when the server received the request (of the first
	// attempt, when the answer is replayed).
	Timestamp time.Time
	// RequestID is the Request-Id header of the answer.
	RequestID string
	// IdempotencyKey is the key the request was sent with ("" for reads).
	IdempotencyKey string
	// Replayed is set when the server answered with the stored response
	// of an earlier request with the same key (Idempotent-Replayed).
	Replayed bool
	// Attempts is how many times the client sent the request (net/http
	// may also resend a read by itself when a kept-alive connection
	// breaks).
	Attempts int
}

// CallOption changes one call.
type CallOption func(*callOptions)

type callOptions struct {
	key       string
	requestID string
	meta      *Meta
	header    http.Header
}

// WithIdempotencyKey sends the call under key (1–255 printable ASCII
// characters) instead of a new random one. Use the same key when you send
// the same request again, for example after your own process restarted.
func WithIdempotencyKey(key string) CallOption {
	return func(o *callOptions) { o.key = key }
}

// WithRequestID sends a Request-Id header (1–64 characters of
// [A-Za-z0-9_.-]); the server uses it in its logs and answers with it.
func WithRequestID(id string) CallOption {
	return func(o *callOptions) { o.requestID = id }
}

// WithMeta stores the answer's Meta in m, for the methods whose result
// does not carry it (callbacks, look-ups) and for failed calls too.
func WithMeta(m *Meta) CallOption {
	return func(o *callOptions) { o.meta = m }
}

// WithHeader adds a request header.
func WithHeader(name, value string) CallOption {
	return func(o *callOptions) {
		if o.header == nil {
			o.header = http.Header{}
		}
		o.header.Add(name, value)
	}
}

func applyOptions(opts []CallOption) callOptions {
	var o callOptions
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// request is one typed call.
type request struct {
	method string
	// url is absolute (payment links) or a path under BaseURL.
	url      string
	absolute bool
	body     []byte // nil: no body
	// keyed: send an Idempotency-Key.
	keyed bool
	// replaySafe: the request may be sent again after a failure whose
	// outcome is unknown (reads, and writes the server deduplicates by
	// their key).
	replaySafe bool
	// noAuth: do not send the API key (payment links are the customer's).
	noAuth bool
}

// answer is what came back from the last attempt of a call.
type answer struct {
	status int
	header http.Header
	raw    []byte
	meta   Meta
}

func jsonBody(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("omnicart: encode request: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// send runs a call with its retries and returns the last answer; an error
// only when no answer came back.
func (c *Client) send(ctx context.Context, rq request, o *callOptions) (*answer, error) {
	key := ""
	if rq.keyed {
		key = o.key
		if key == "" {
			key = NewIdempotencyKey()
		}
	}
	target := rq.url
	if !rq.absolute {
		target = strings.TrimRight(c.BaseURL, "/") + rq.url
	}
	pol := c.Retry.withDefaults()
	fail := func(err error, attempts int) error {
		if attempts > 1 {
			return fmt.Errorf("omnicart: %s %s (%d attempts): %w", rq.method, redact(rq), attempts, err)
		}
		return fmt.Errorf("omnicart: %s %s: %w", rq.method, redact(rq), err)
	}
	for attempt := 1; ; attempt++ {
		ans, err := c.attempt(ctx, rq, target, key, o)
		if ans != nil {
			ans.meta.IdempotencyKey = key
			ans.meta.Attempts = attempt
		}
		if err != nil && ctx.Err() != nil {
			return nil, fail(err, attempt)
		}
		wait, retry := pol.decide(rq, ans, err, attempt)
		if !retry {
			if err != nil {
				return nil, fail(err, attempt)
			}
			return ans, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if err == nil {
				return ans, nil // the last answer stands
			}
			return nil, fail(fmt.Errorf("%w (while waiting to retry after: %v)", ctx.Err(), err), attempt)
		case <-t.C:
		}
	}
}

// redact is the request's path for messages: payment links carry a
// secret token, so only their shape is shown.
func redact(rq request) string {
	if rq.absolute {
		return "payment link"
	}
	return rq.url
}

// attempt sends the request once.
func (c *Client) attempt(ctx context.Context, rq request, target, key string, o *callOptions) (*answer, error) {
	var rd io.Reader
	if rq.body != nil {
		rd = bytes.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, target, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		// net/http resends a request with a body it can rewind and an
		// Idempotency-Key when a kept-alive connection breaks after the
		// request went out. Requests the server does not deduplicate must
		// not go twice, and those it does are resent by send's policy.
		req.GetBody = nil
	}
	for name, vals := range o.header {
		for _, v := range vals {
			req.Header.Add(name, v)
		}
	}
	if rq.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	ua := c.UserAgent
	if ua == "" {
		ua = UserAgent
	}
	req.Header.Set("User-Agent", ua)
	if !rq.noAuth && c.APIKey != "" {
		req.Header.Set("Api-Access-Token", c.APIKey)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if o.requestID != "" {
		req.Header.Set("Request-Id", o.requestID)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		var ue *url.Error
		if rq.absolute && errors.As(err, &ue) {
			ue.URL = "(payment link)" // its token is the customer's
		}
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, err // the answer was cut short: as good as none
	}
	ans := &answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	ans.meta.HTTPStatus = resp.StatusCode
	ans.meta.RequestID = resp.Header.Get("Request-Id")
	ans.meta.Replayed = resp.Header.Get("Idempotent-Replayed") == "true"
	return ans, nil
}

// call runs an API call that answers with an envelope: on success (2xx)
// it decodes data into out (when not nil) and returns the envelope's Meta
// and the envelope itself; any other answer is an *Error.
func (c *Client) call(ctx context.Context, rq request, in any, out any, opts []CallOption) (Meta, *Envelope, error) {
	o := applyOptions(opts)
	if in != nil {
		b, err := jsonBody(in)
		if err != nil {
			return Meta{}, nil, err
		}
		rq.body = b
	}
	if rq.method == http.MethodPost || rq.method == http.MethodPatch {
		rq.keyed = true
		if rq.body == nil {
			rq.body = []byte("{}") // a body keeps net/http from resending it (see attempt)
		}
	}
	ans, err := c.send(ctx, rq, &o)
	if err != nil {
		return Meta{}, nil, err
	}
	env, perr := parseEnvelope(ans.raw)
	if env != nil {
		ans.meta.Code = env.Code
		ans.meta.Message = env.Message
		ans.meta.Debug = env.Debug
		ans.meta.Timestamp = parseStamp(env.Timestamp)
	}
	if o.meta != nil {
		*o.meta = ans.meta
	}
	if ans.status < 200 || ans.status > 299 {
		return ans.meta, env, newError(rq, ans, env)
	}
	if perr != nil {
		return ans.meta, nil, fmt.Errorf("omnicart: %s %s: HTTP %d, the answer is not an OmniCart envelope: %w", rq.method, redact(rq), ans.status, perr)
	}
	if out != nil {
		if len(env.Data) == 0 || string(env.Data) == "null" {
			return ans.meta, env, fmt.Errorf("omnicart: %s %s: the answer has no data", rq.method, redact(rq))
		}
		if err := json.Unmarshal(env.Data, out); err != nil {
			return ans.meta, env, fmt.Errorf("omnicart: %s %s: decode data: %w", rq.method, redact(rq), err)
		}
	}
	return ans.meta, env, nil
}

func parseEnvelope(raw []byte) (*Envelope, error) {
	var env Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, err
	}
	if env.Code == "" {
		return nil, errors.New("no code")
	}
	return &env, nil
}

// parseStamp reads an API timestamp; a malformed one is the zero time.
func parseStamp(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Do sends one request exactly as given: body may be nil, a string or
// []byte (sent as is), or any value (encoded as JSON). It returns the
// whole response whatever its HTTP status, and an error only when no
// answer was received or the body is not an OmniCart envelope. It sends
// no Idempotency-Key unless WithIdempotencyKey is given, and never
// retries.
func (c *Client) Do(ctx context.Context, method, path string, body any, opts ...CallOption) (*Response, error) {
	var b []byte
	switch v := body.(type) {
	case nil:
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		enc, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		b = enc
	}
	o := applyOptions(opts)
	rq := request{method: method, url: path, body: b}
	if body != nil && b == nil {
		rq.body = []byte{}
	}
	ans, err := c.attempt(ctx, rq, strings.TrimRight(c.BaseURL, "/")+path, o.key, &o)
	if err != nil {
		return nil, err
	}
	out := &Response{Status: ans.status, Header: ans.header, Raw: ans.raw}
	if err := json.Unmarshal(ans.raw, &out.Envelope); err != nil {
		return out, fmt.Errorf("%s %s: HTTP %d, body is not an envelope: %w: %s", method, path, ans.status, err, ans.raw)
	}
	if o.meta != nil {
		*o.meta = Meta{HTTPStatus: ans.status, Code: out.Code, Message: out.Message, Debug: out.Debug,
			Timestamp: parseStamp(out.Timestamp), RequestID: ans.meta.RequestID, IdempotencyKey: o.key,
			Replayed: ans.meta.Replayed, Attempts: 1}
	}
	return out, nil
}

// Raw sends Merchant API requests exactly as given, like Do: no retries,
// no generated Idempotency-Key, and the whole response whatever its
// status. It is meant for tests of the server and for bodies the typed
// methods cannot express (malformed on purpose).
type Raw struct{ c *Client }

// Raw returns the raw form of the Merchant API methods.
func (c *Client) Raw() Raw { return Raw{c} }

// Init posts body to /init.
func (r Raw) Init(ctx context.Context, body any, opts ...CallOption) (*Response, error) {
	return r.c.Do(ctx, http.MethodPost, "/init", body, opts...)
}

// Status reads a cart with the filters of q.
func (r Raw) Status(ctx context.Context, cartID string, q StatusQuery, opts ...CallOption) (*Response, error) {
	return r.c.Do(ctx, http.MethodGet, statusPath(cartID, q), nil, opts...)
}

// Capture posts body to /capture.
func (r Raw) Capture(ctx context.Context, body any, opts ...CallOption) (*Response, error) {
	return r.c.Do(ctx, http.MethodPost, "/capture", body, opts...)
}

// Cancel posts body to /cancel.
func (r Raw) Cancel(ctx context.Context, body any, opts ...CallOption) (*Response, error) {
	return r.c.Do(ctx, http.MethodPost, "/cancel", body, opts...)
}

// Refund posts body to /refund.
func (r Raw) Refund(ctx context.Context, body any, opts ...CallOption) (*Response, error) {
	return r.c.Do(ctx, http.MethodPost, "/refund", body, opts...)
}

// Modify sends body to PATCH /modify.
func (r Raw) Modify(ctx context.Context, body any, opts ...CallOption) (*Response, error) {
	return r.c.Do(ctx, http.MethodPatch, "/modify", body, opts...)
}

// statusPath is the path of a status request with its filters.
func statusPath(cartID string, q StatusQuery) string {
	v := url.Values{}
	if len(q.Tags) > 0 {
		v.Set("tags", strings.Join(q.Tags, ","))
	}
	if len(q.ItemIDs) > 0 {
		v.Set("itemIds", strings.Join(q.ItemIDs, ","))
	}
	if q.TimerEnabled != nil {
		v.Set("timerEnabled", fmt.Sprint(*q.TimerEnabled))
	}
	if q.Debug {
		v.Set("debug", "true")
	}
	path := "/status/" + url.PathEscape(cartID)
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	return path
}
