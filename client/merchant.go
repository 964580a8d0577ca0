package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

var errNilRequest = errors.New("omnicart: nil request")

// merchantWrite is a Merchant API POST or PATCH: the server deduplicates
// it by its Idempotency-Key, so it may be sent again after any failure.
func merchantWrite(method, path string) request {
	return request{method: method, url: path, replaySafe: true}
}

// read is a GET, safe to send again.
func read(path string) request {
	return request{method: http.MethodGet, url: path, replaySafe: true}
}

// Init opens a cart and returns its payment link (POST /init, HTTP 201).
// A cartId that already exists is *Error CodeCartExists.
func (c *Client) Init(ctx context.Context, req *InitRequest, opts ...CallOption) (*InitResult, error) {
	if req == nil {
		return nil, errNilRequest
	}
	var res InitResult
	meta, env, err := c.call(ctx, merchantWrite(http.MethodPost, "/init"), req, &res, opts)
	if err != nil {
		return nil, err
	}
	res.Meta, res.CartID = meta, env.CartID
	return &res, nil
}

// Status reads a cart (GET /status/{cartId}) with the filters of q. An
// unknown cart is *Error CodeCartNotFound; a filter that leaves no item is
// CodeNoItemsMatch.
func (c *Client) Status(ctx context.Context, cartID string, q StatusQuery, opts ...CallOption) (*CartStatus, error) {
	var res CartStatus
	meta, _, err := c.call(ctx, read(statusPath(cartID, q)), nil, &res, opts)
	if err != nil {
		return nil, err
	}
	res.Meta = meta
	return &res, nil
}

func (c *Client) action(ctx context.Context, path string, req *ActionRequest, opts []CallOption) (*ActionResult, error) {
	if req == nil {
		return nil, errNilRequest
	}
	var res ActionResult
	meta, _, err := c.call(ctx, merchantWrite(http.MethodPost, path), req, &res, opts)
	if err != nil {
		return nil, err
	}
	res.Meta = meta
	return &res, nil
}

// Capture captures the authorized items of the scope (POST /capture).
// Nothing authorized in the scope is *Error CodeNoneAuthorized.
func (c *Client) Capture(ctx context.Context, req *ActionRequest, opts ...CallOption) (*ActionResult, error) {
	return c.action(ctx, "/capture", req, opts)
}

// Cancel releases the holds of the authorized items of the scope (POST
// /cancel). Nothing authorized in the scope is *Error CodeNoneAuthorized.
func (c *Client) Cancel(ctx context.Context, req *ActionRequest, opts ...CallOption) (*ActionResult, error) {
	return c.action(ctx, "/cancel", req, opts)
}

// Refund refunds the completed items of the scope (POST /refund). Nothing
// completed in the scope is *Error CodeNoneCompleted.
func (c *Client) Refund(ctx context.Context, req *ActionRequest, opts ...CallOption) (*ActionResult, error) {
	return c.action(ctx, "/refund", req, opts)
}

// Modify changes amounts, tags, timers or the customer of a cart (PATCH
// /modify).
func (c *Client) Modify(ctx context.Context, req *ModifyRequest, opts ...CallOption) (*ModifyResult, error) {
	if req == nil {
		return nil, errNilRequest
	}
	var res ModifyResult
	meta, _, err := c.call(ctx, merchantWrite(http.MethodPatch, "/modify"), req, &res, opts)
	if err != nil {
		return nil, err
	}
	res.Meta = meta
	return &res, nil
}

// AdvanceClock moves a test-mode merchant's clock forward by d (whole
// seconds) and returns once every deadline that fell due has fired (POST
// /sandbox/clock). Live-mode keys, and keys limited to some methods, get
// *Error CodeMethodNotAllowed.
//
// The server does not deduplicate clock moves, so a call whose answer is
// lost is not sent again (unless the connection was never made).
func (c *Client) AdvanceClock(ctx context.Context, d time.Duration, opts ...CallOption) (*ClockResult, error) {
	if d < 0 || d%time.Second != 0 {
		return nil, fmt.Errorf("omnicart: advance the clock by whole seconds, not %v", d)
	}
	var res ClockResult
	body := struct {
		AdvanceSecs int64 `json:"advanceSecs"`
	}{int64(d / time.Second)}
	meta, _, err := c.call(ctx, request{method: http.MethodPost, url: "/sandbox/clock"}, body, &res, opts)
	if err != nil {
		return nil, err
	}
	res.Meta = meta
	return &res, nil
}

// LinkDeliveries lists the payment-link messages of a cart (email, SMS,
// push) and their delivery state (GET /deliveries/{cartId}).
func (c *Client) LinkDeliveries(ctx context.Context, cartID string, opts ...CallOption) ([]LinkDelivery, error) {
	var res struct {
		Deliveries []LinkDelivery `json:"deliveries"`
	}
	if _, _, err := c.call(ctx, read("/deliveries/"+url.PathEscape(cartID)), nil, &res, opts); err != nil {
		return nil, err
	}
	return res.Deliveries, nil
}

// LookupIdempotencyKey returns what the request sent under key did (GET
// /idempotency-keys/{key}): for a request whose answer was lost. A key
// with no stored answer (never used, older than 24 hours, or refused
// before it changed anything) is *Error CodeNotFound.
func (c *Client) LookupIdempotencyKey(ctx context.Context, key string, opts ...CallOption) (*IdempotencyRecord, error) {
	var res IdempotencyRecord
	if _, _, err := c.call(ctx, read("/idempotency-keys/"+url.PathEscape(key)), nil, &res, opts); err != nil {
		return nil, err
	}
	return &res, nil
}

// Codes returns the server's code catalogue (GET /codes).
func (c *Client) Codes(ctx context.Context, opts ...CallOption) ([]CodeInfo, error) {
	var res struct {
		Codes []CodeInfo `json:"codes"`
	}
	if _, _, err := c.call(ctx, read("/codes"), nil, &res, opts); err != nil {
		return nil, err
	}
	return res.Codes, nil
}
