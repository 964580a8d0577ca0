package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Client talks to one OmniCart server with one API key.
type Client struct {
	BaseURL string
	APIKey  string
	HTTP    *http.Client
}

// New returns a client for baseURL (such as "http://127.0.0.1:8080").
func New(baseURL, apiKey string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), APIKey: apiKey, HTTP: &http.Client{}}
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

// Response is a Merchant API response.
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

// Do sends a request. body may be nil, a string or []byte (sent as is), or
// any value (encoded as JSON). It returns an error only when no HTTP
// response was received or the body is not an OmniCart envelope.
func (c *Client) Do(ctx context.Context, method, path string, body any) (*Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.APIKey != "" {
		req.Header.Set("Api-Access-Token", c.APIKey)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if err := json.Unmarshal(raw, &out.Envelope); err != nil {
		return out, fmt.Errorf("%s %s: HTTP %d, body is not an envelope: %w: %s", method, path, resp.StatusCode, err, raw)
	}
	return out, nil
}

// Init opens a cart.
func (c *Client) Init(ctx context.Context, body any) (*Response, error) {
	return c.Do(ctx, http.MethodPost, "/init", body)
}

// StatusQuery holds the status filters.
type StatusQuery struct {
	Tags         []string
	ItemIDs      []string
	TimerEnabled *bool
	Debug        bool
}

// Status reads a cart.
func (c *Client) Status(ctx context.Context, cartID string, q StatusQuery) (*Response, error) {
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
	return c.Do(ctx, http.MethodGet, path, nil)
}

// Capture captures authorized items.
func (c *Client) Capture(ctx context.Context, body any) (*Response, error) {
	return c.Do(ctx, http.MethodPost, "/capture", body)
}

// Cancel releases authorized items.
func (c *Client) Cancel(ctx context.Context, body any) (*Response, error) {
	return c.Do(ctx, http.MethodPost, "/cancel", body)
}

// Refund refunds completed items.
func (c *Client) Refund(ctx context.Context, body any) (*Response, error) {
	return c.Do(ctx, http.MethodPost, "/refund", body)
}

// Modify changes amounts, tags and timers.
func (c *Client) Modify(ctx context.Context, body any) (*Response, error) {
	return c.Do(ctx, http.MethodPatch, "/modify", body)
}

// Card is what a customer types on the payment page.
type Card struct {
	CardNumber string `json:"cardNumber"`
	Expiry     string `json:"expiry"`
	CVC        string `json:"cvc"`
	Cardholder string `json:"cardholder"`
}

// PayResult is the JSON answer of the payment endpoint.
type PayResult struct {
	Status      int    `json:"-"`
	Result      string `json:"result"`
	Reason      string `json:"reason,omitempty"`
	RedirectURL string `json:"redirectUrl,omitempty"`
	// ChallengeURL is where to POST {"code": "..."} when Result is
	// "challenge" (3-D Secure).
	ChallengeURL string            `json:"challengeUrl,omitempty"`
	Fields       map[string]string `json:"fields,omitempty"`
}

// Pay posts a card to a cart's payment URL (data.paymentUrl of /init), as
// an app would.
func (c *Client) Pay(ctx context.Context, paymentURL string, card Card) (*PayResult, error) {
	enc, err := json.Marshal(card)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, paymentURL, bytes.NewReader(enc))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out PayResult
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("pay: HTTP %d: %w", resp.StatusCode, err)
	}
	out.Status = resp.StatusCode
	return &out, nil
}
