package omnicart

import "time"

// Delivery states of a payment-link message.
const (
	NotificationQueued = "queued"
	NotificationSent   = "sent"
	NotificationFailed = "failed"
)

// Channels that deliver payment links (paymentForm.deliveryOption other than
// redirect).
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
	ChannelPush  = "push"
)

// Ways a message was delivered.
const (
	ViaSMTP   = "smtp"
	ViaHTTP   = "http"
	ViaOutbox = "outbox"
)

// Notification is a payment link to deliver to the customer by email, SMS or
// push, kept in a durable queue from the moment its cart is created.
type Notification struct {
	ID         int64  `json:"id"`
	MerchantID string `json:"merchantId"`
	CartID     string `json:"cartId"`
	Channel    string `json:"channel"`
	Recipient  string `json:"recipient"`
	// PayToken is the secret of the payment link. Stores forget it once a
	// message has gone out through a real channel.
	PayToken     string    `json:"-"`
	MerchantName string    `json:"merchantName"`
	Amount       int64     `json:"amount"`
	Currency     string    `json:"currency"`
	ExpiresAt    time.Time `json:"expiresAt"`
	// Sandbox is set for test-mode merchants: when a channel has no
	// provider configured, their messages go to the local sandbox outbox.
	Sandbox       bool      `json:"sandbox"`
	State         string    `json:"state"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"nextAttemptAt"`
	LastError     string    `json:"lastError,omitempty"`
	Via           string    `json:"via,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	SentAt        time.Time `json:"sentAt,omitzero"`
}

// NotificationQuery selects notifications. Empty fields do not filter;
// Limit 0 means 100.
type NotificationQuery struct {
	MerchantID string
	CartID     string
	Via        string
	Limit      int
}

// PaymentLinkNotification returns the message that delivers the payment link
// of a new cart on its paymentForm channel, or nil for redirect. amount is
// what the link asks for.
func PaymentLinkNotification(c *Cart, m *Merchant, payToken string, now time.Time) *Notification {
	switch c.PaymentForm.DeliveryOption {
	case ChannelEmail, ChannelSMS, ChannelPush:
	default:
		return nil
	}
	_, amount := c.Payable()
	return &Notification{
		MerchantID: c.MerchantID, CartID: c.ID, Channel: c.PaymentForm.DeliveryOption, Recipient: c.PaymentForm.Value,
		PayToken: payToken, MerchantName: m.Name, Amount: amount, Currency: c.Currency, ExpiresAt: c.ExpiresAt,
		Sandbox: m.Mode == ModeTest, State: NotificationQueued, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
	}
}
