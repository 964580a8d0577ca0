package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/omnicart/omnicart"
)

// HTTP sends SMS or push messages to a provider endpoint: a JSON POST with
// the bearer token, the message id in the Idempotency-Key header, and any
// 2xx answer as success.
//
// The SMS body is {"id", "to", "text"}; the push body is {"id", "token",
// "title", "body", "url"}. A 4xx answer other than 408, 425 and 429 is a
// permanent refusal; anything else is retried.
type HTTP struct {
	// Channel is omnicart.ChannelSMS or omnicart.ChannelPush.
	Channel string
	URL     string
	Token   string
	// Client is the HTTP client; nil uses one with a 15 s timeout.
	Client *http.Client
}

// ValidEndpoint checks a provider URL: absolute http or https with a host.
func ValidEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	return nil
}

// Via is "http".
func (h *HTTP) Via() string { return omnicart.ViaHTTP }

type smsBody struct {
	ID   string `json:"id"`
	To   string `json:"to"`
	Text string `json:"text"`
}

type pushBody struct {
	ID    string `json:"id"`
	Token string `json:"token"`
	Title string `json:"title"`
	Body  string `json:"body"`
	URL   string `json:"url"`
}

// Send posts msg to the endpoint.
func (h *HTTP) Send(ctx context.Context, msg Message) error {
	var body any
	if h.Channel == omnicart.ChannelPush {
		body = pushBody{ID: msg.ID, Token: msg.To, Title: msg.Subject,
			Body: fmt.Sprintf("%s asks you to pay %s.", msg.Merchant, msg.Amount), URL: msg.Link}
	} else {
		body = smsBody{ID: msg.ID, To: msg.To, Text: msg.Text}
	}
	enc, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(enc))
	if err != nil {
		return Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "OmniCart")
	req.Header.Set("Idempotency-Key", msg.ID)
	if h.Token != "" {
		req.Header.Set("Authorization", "Bearer "+h.Token)
	}
	client := h.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		// The reason is shown to merchants (GET /deliveries) and logged:
		// keep the provider's URL (which may carry credentials) out of it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s provider unreachable: %w", h.Channel, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	// The provider's body is not passed on: it is the operator's business.
	err = fmt.Errorf("%s provider answered HTTP %d", h.Channel, resp.StatusCode)
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooEarly, resp.StatusCode == http.StatusTooManyRequests:
		return err
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return Permanent(err)
	}
	return err
}
