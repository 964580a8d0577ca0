package gateway_test

import (
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/gateway"
	"github.com/omnicart/omnicart/sandbox"
	"github.com/omnicart/omnicart/sqlite"
)

// unpayableRig is a service whose provider serves test mode only (as
// serve wires it while no live provider exists), with a test and a live
// merchant.
func unpayableRig(t *testing.T) (svc *gateway.Service, test, live *omnicart.Merchant) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "u.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	iss := sandbox.New(sqlite.NewLedger(db), []byte("k"))
	clk := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	svc = &gateway.Service{Store: sqlite.NewStore(db),
		Provider: func(m *omnicart.Merchant) (omnicart.Provider, error) {
			if m.Mode == omnicart.ModeTest {
				return iss, nil
			}
			return nil, gateway.ErrNoProvider
		},
		Now: clk.Now, KeyPepper: []byte("p"), AnswerKey: make([]byte, 32),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	items := []omnicart.CatalogItem{{ItemID: "pegasus", DisplayName: "P"}}
	test, _, err = svc.CreateMerchant(ctx, gateway.NewMerchant{Name: "t", Mode: omnicart.ModeTest, Privileges: omnicart.DefaultPrivileges(), Items: items})
	if err != nil {
		t.Fatal(err)
	}
	live, _, err = svc.CreateMerchant(ctx, gateway.NewMerchant{Name: "l", Mode: omnicart.ModeLive, Privileges: omnicart.DefaultPrivileges(), Items: items})
	if err != nil {
		t.Fatal(err)
	}
	return svc, test, live
}

func unpayableCodes(err error) []omnicart.Code {
	var de *omnicart.Error
	if !errors.As(err, &de) {
		return nil
	}
	var out []omnicart.Code
	for _, p := range de.Problems {
		out = append(out, p.Code)
	}
	return out
}

// TestInitRefusesUnpayable: a merchant whose mode no provider serves gets
// 131000 first of all, and nothing is created; a payment link on a channel
// with no sender is 123003 for it (test-mode merchants use the sandbox
// outbox instead).
func TestInitRefusesUnpayable(t *testing.T) {
	svc, test, live := unpayableRig(t)
	ctx := t.Context()
	if svc.CanPay(omnicart.ModeLive) || !svc.CanPay(omnicart.ModeTest) {
		t.Fatalf("CanPay live %v test %v", svc.CanPay(omnicart.ModeLive), svc.CanPay(omnicart.ModeTest))
	}
	spec := func(id, channel string) *omnicart.InitSpec {
		s := &omnicart.InitSpec{CartID: id, Currency: "EUR", Items: []omnicart.ItemSpec{{ID: "pegasus", Amount: 100}}}
		if channel != "" {
			s.PaymentForm = omnicart.PaymentForm{DeliveryOption: channel, Value: "x"}
		}
		return s
	}
	_, err := svc.Init(ctx, live, spec("live-cart-001", ""), nil)
	if got := unpayableCodes(err); len(got) != 1 || got[0] != omnicart.CodeMethodNotAllowed {
		t.Fatalf("live init: %v, want 131000 alone", err)
	}
	// 131000 comes before everything the decoder found, and the rest is
	// still reported (debug mode lists it).
	sp := omnicart.StagedProblems{{Stage: omnicart.StageBody, Problem: omnicart.Problem{Code: omnicart.CodeInvalidFormat, Arg: "debug"}}}
	_, err = svc.Init(ctx, live, spec("live-cart-002", omnicart.ChannelEmail), sp)
	want := []omnicart.Code{omnicart.CodeMethodNotAllowed, omnicart.CodeInvalidFormat, omnicart.CodeInvalidValue}
	if got := unpayableCodes(err); len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("live init with email: %v, want %v", got, want)
	}
	var de *omnicart.Error
	if errors.As(err, &de); de.Problems[2].Message() != "paymentForm.deliveryOption has invalid value" {
		t.Fatalf("message %q", de.Problems[2].Message())
	}
	if err := svc.Store.View(ctx, func(tx omnicart.Tx) error {
		for _, id := range []string{"live-cart-001", "live-cart-002"} {
			if ok, err := tx.CartExists(ctx, live.ID, id); ok || err != nil {
				t.Errorf("refused cart %s exists (%v)", id, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Test mode: every channel works without a sender (sandbox outbox).
	for i, ch := range []string{"", omnicart.ChannelEmail, omnicart.ChannelSMS, omnicart.ChannelPush} {
		if _, err := svc.Init(ctx, test, spec("test-cart-00"+string(rune('1'+i)), ch), nil); err != nil {
			t.Fatalf("test init with %q: %v", ch, err)
		}
	}
	// A live merchant's channel check follows the configured senders.
	svc.LinkSenders = func(ch string) bool { return ch == omnicart.ChannelEmail }
	_, err = svc.Init(ctx, live, spec("live-cart-003", omnicart.ChannelEmail), nil)
	if got := unpayableCodes(err); len(got) != 1 || got[0] != omnicart.CodeMethodNotAllowed {
		t.Fatalf("live init with email and SMTP: %v, want 131000 alone", got)
	}
	_, err = svc.Init(ctx, live, spec("live-cart-004", omnicart.ChannelSMS), nil)
	if got := unpayableCodes(err); len(got) != 2 || got[1] != omnicart.CodeInvalidValue {
		t.Fatalf("live init with sms and no SMS provider: %v", got)
	}
}
