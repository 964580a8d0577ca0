package gateway

import (
	"context"
	"time"

	"github.com/omnicart/omnicart"
)

// enqueuePaymentLink queues the message that sends the payment link of a new
// cart on its email, sms or push channel, in the transaction that creates the
// cart. now is real time (the queue's clock).
func enqueuePaymentLink(ctx context.Context, tx omnicart.Tx, c *omnicart.Cart, m *omnicart.Merchant, token string, now time.Time) error {
	n := omnicart.PaymentLinkNotification(c, m, token, now)
	if n == nil {
		return nil
	}
	return tx.EnqueueNotification(ctx, n)
}

// canSendLink reports whether the payment link of m's carts can be sent on
// channel: redirect needs nothing, test-mode merchants' messages go to the
// sandbox outbox when the channel has no sender, and live merchants' need
// the channel's sender (LinkSenders).
func (s *Service) canSendLink(m *omnicart.Merchant, channel string) bool {
	switch channel {
	case omnicart.ChannelEmail, omnicart.ChannelSMS, omnicart.ChannelPush:
	default:
		return true
	}
	if m.Mode == omnicart.ModeTest {
		return true
	}
	return s.LinkSenders != nil && s.LinkSenders(channel)
}

// Deliveries lists the payment-link messages of one of the merchant's carts,
// newest first. An unknown cart gives 123001.
func (s *Service) Deliveries(ctx context.Context, m *omnicart.Merchant, cartID string) ([]omnicart.Notification, error) {
	var out []omnicart.Notification
	err := s.Store.View(ctx, func(tx omnicart.Tx) error {
		ok, err := tx.CartExists(ctx, m.ID, cartID)
		if err != nil {
			return err
		}
		if !ok {
			return omnicart.Errorf(omnicart.CodeCartNotFound, "")
		}
		out, err = tx.Notifications(ctx, omnicart.NotificationQuery{MerchantID: m.ID, CartID: cartID})
		return err
	})
	return out, err
}

// SandboxOutbox lists the newest messages delivered to the local sandbox
// outbox (test-mode merchants' messages on channels with no provider
// configured), of one merchant (or of all when merchantID is empty).
func (s *Service) SandboxOutbox(ctx context.Context, merchantID string, limit int) ([]omnicart.Notification, error) {
	var out []omnicart.Notification
	err := s.Store.View(ctx, func(tx omnicart.Tx) error {
		var err error
		out, err = tx.Notifications(ctx, omnicart.NotificationQuery{MerchantID: merchantID, Via: omnicart.ViaOutbox, Limit: limit})
		return err
	})
	return out, err
}
