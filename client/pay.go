package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// Card is what a customer types on the payment page.
type Card struct {
	CardNumber string `json:"cardNumber"`
	// Expiry is MM/YY.
	Expiry     string `json:"expiry"`
	CVC        string `json:"cvc"`
	Cardholder string `json:"cardholder"`
}

// Results of a payment (PayResult.Result).
const (
	ResultAuthorized = "authorized" // the money is held (HTTP 200)
	ResultChallenge  = "challenge"  // 3-D Secure: answer with CompleteChallenge (200)
	ResultDeclined   = "declined"   // the customer may try again (402)
	ResultRejected   = "rejected"   // too many declines: the items are rejected (402)
	ResultExpired    = "expired"    // the cart can no longer be paid (410)
	ResultInvalid    = "invalid"    // field errors in Fields, or an unknown link (400, 404)
)

// PayResult is the JSON answer of the payment endpoint.
type PayResult struct {
	// Status is the HTTP status.
	Status int    `json:"-"`
	Result string `json:"result"`
	// Reason explains a decline, a challenge or an invalid request.
	Reason string `json:"reason,omitempty"`
	// RedirectURL is the merchant's return URL with cartId and result,
	// when the cart has one.
	RedirectURL string `json:"redirectUrl,omitempty"`
	// ChallengeURL is where to answer a 3-D Secure challenge
	// (CompleteChallenge) when Result is ResultChallenge.
	ChallengeURL string `json:"challengeUrl,omitempty"`
	// Fields are field errors by field name (cardNumber, expiry, cvc,
	// cardholder, code).
	Fields map[string]string `json:"fields,omitempty"`
	// RequestID is the answer's Request-Id.
	RequestID string `json:"-"`
}

// Pay posts a card to a cart's payment link (InitResult.PaymentURL) as an
// app does, and returns the outcome: authorized, a 3-D Secure challenge,
// declined, rejected, expired or invalid are all results, not errors. A
// repeated payment of a cart already paid moves no money and answers
// authorized. The error is an *Error only when the answer is not a
// payment answer.
//
// A decline counts as an attempt, so a payment whose answer is lost is
// not sent again (unless the connection was never made).
func (c *Client) Pay(ctx context.Context, paymentURL string, card Card, opts ...CallOption) (*PayResult, error) {
	return c.pay(ctx, paymentURL, card, opts)
}

// CompleteChallenge answers a 3-D Secure challenge with the code the
// customer got (PayResult.ChallengeURL); in the sandbox, 123456 passes.
func (c *Client) CompleteChallenge(ctx context.Context, challengeURL, code string, opts ...CallOption) (*PayResult, error) {
	if challengeURL == "" {
		return nil, errors.New("omnicart: no challenge URL")
	}
	return c.pay(ctx, challengeURL, struct {
		Code string `json:"code"`
	}{code}, opts)
}

func (c *Client) pay(ctx context.Context, target string, in any, opts []CallOption) (*PayResult, error) {
	o := applyOptions(opts)
	body, err := jsonBody(in)
	if err != nil {
		return nil, err
	}
	rq := request{method: http.MethodPost, url: target, absolute: true, body: body, keyed: true, noAuth: true}
	ans, err := c.send(ctx, rq, &o)
	if err != nil {
		return nil, err
	}
	if o.meta != nil {
		*o.meta = ans.meta
	}
	var out PayResult
	if json.Unmarshal(ans.raw, &out) != nil || out.Result == "" {
		env, _ := parseEnvelope(ans.raw)
		return nil, newError(rq, ans, env)
	}
	out.Status = ans.status
	out.RequestID = ans.meta.RequestID
	return &out, nil
}
