package sandboxtest

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/sandbox"
)

// RunIssuer runs the issuer's business rules on ledgers from open.
func RunIssuer(t *testing.T, open OpenLedger) {
	t.Run("TestCards", func(t *testing.T) { t.Parallel(); testCards(t, open) })
	t.Run("CardData", func(t *testing.T) { t.Parallel(); testCardData(t, open) })
	t.Run("Flow", func(t *testing.T) { t.Parallel(); testFlow(t, open) })
	t.Run("Idempotent", func(t *testing.T) { t.Parallel(); testIssuerIdempotent(t, open) })
	t.Run("Refused", func(t *testing.T) { t.Parallel(); testRefused(t, open) })
	t.Run("Void", func(t *testing.T) { t.Parallel(); testVoid(t, open) })
	t.Run("Errors", func(t *testing.T) { t.Parallel(); testIssuerErrors(t, open) })
	t.Run("Currencies", func(t *testing.T) { t.Parallel(); testIssuerCurrencies(t, open) })
	t.Run("Concurrent", func(t *testing.T) { t.Parallel(); testIssuerConcurrent(t, open) })
}

const (
	visa        = "4111 1111 1111 1111"
	threeDS     = "4000 0000 0000 0002"
	noFunds     = "4000 0000 0000 0069"
	blocked     = "4000 0000 0000 0259"
	challenge   = "4000 0000 0000 3220"
	merchant    = "m1"
	cur         = "EUR"
	testKey     = "fingerprint-key"
	funded      = sandbox.FundedBalance
	unknownCard = "4242 4242 4242 4242"
)

func newIssuer(tb testing.TB, open OpenLedger) *sandbox.Issuer {
	tb.Helper()
	return sandbox.New(open(tb), []byte(testKey))
}

func authReq(opID, number string, amount int64) omnicart.AuthorizeRequest {
	return omnicart.AuthorizeRequest{
		Operation: omnicart.Operation{OpID: opID, Kind: omnicart.OpAuthorize, MerchantID: merchant, CartID: "c1", Currency: cur, Amount: amount},
		Card:      omnicart.Card{Number: number, Expiry: "12/99", CVC: "123", Holder: "Test"},
	}
}

func op(kind omnicart.OpKind, opID, authRef string, amount int64) omnicart.Operation {
	return omnicart.Operation{OpID: opID, Kind: kind, MerchantID: merchant, CartID: "c1", Currency: cur, Amount: amount, AuthRef: authRef}
}

func mustAuthorize(tb testing.TB, is *sandbox.Issuer, opID, number string, amount int64) omnicart.Authorization {
	tb.Helper()
	a, err := is.Authorize(tb.Context(), authReq(opID, number, amount))
	if err != nil {
		tb.Fatalf("authorize %s: %v", opID, err)
	}
	if a.Ref != opID {
		tb.Fatalf("authorize %s: ref = %q, want the opId", opID, a.Ref)
	}
	return a
}

func wantDecline(tb testing.TB, err error, reason string) {
	tb.Helper()
	d, ok := omnicart.IsDecline(err)
	if !ok {
		tb.Fatalf("err = %v, want a decline %q", err, reason)
	}
	if d.Reason != reason {
		tb.Errorf("decline reason = %q, want %q", d.Reason, reason)
	}
}

// state is what the tests check after each step.
type state struct{ card, held, merchant int64 }

func wantState(tb testing.TB, is *sandbox.Issuer, number, authRef string, want state) {
	tb.Helper()
	ctx := tb.Context()
	var got state
	var err error
	if got.card, err = is.CardBalance(ctx, number, cur); err != nil {
		tb.Fatal(err)
	}
	if got.held, err = is.Held(ctx, authRef); err != nil {
		tb.Fatal(err)
	}
	if got.merchant, err = is.MerchantBalance(ctx, merchant, cur); err != nil {
		tb.Fatal(err)
	}
	if got != want {
		tb.Errorf("card, held, merchant = %+v, want %+v", got, want)
	}
	if err := is.CheckInvariants(ctx); err != nil {
		tb.Error(err)
	}
}

func testCards(t *testing.T, open OpenLedger) {
	success := []string{
		"4111111111111111", "4012888888881881", "5500000000000004", "5105105105105100",
		"6011000000000004", "6011111111111117", "3530111302000000", "3566111111111113",
		challenge,
	}
	for _, number := range success {
		t.Run(number, func(t *testing.T) {
			t.Parallel()
			is := newIssuer(t, open)
			mustAuthorize(t, is, "auth", number, 1234)
			wantState(t, is, number, "auth", state{card: funded - 1234, held: 1234})
		})
	}
	declines := map[string]string{
		threeDS:               sandbox.ReasonAuthentication,
		noFunds:               sandbox.ReasonInsufficientFunds,
		blocked:               sandbox.ReasonBlocked,
		unknownCard:           sandbox.ReasonUnknownCard,
		"4111 1111 1111 1112": sandbox.ReasonUnknownCard,
		"4111x111111111111":   sandbox.ReasonUnknownCard,
		"":                    sandbox.ReasonUnknownCard,
	}
	for number, reason := range declines {
		t.Run("decline "+number, func(t *testing.T) {
			t.Parallel()
			is := newIssuer(t, open)
			_, err := is.Authorize(t.Context(), authReq("auth", number, 1))
			wantDecline(t, err, reason)
			if _, err := is.Held(t.Context(), "auth"); !errors.Is(err, sandbox.ErrUnknownAuthorization) {
				t.Errorf("held after decline: err = %v, want ErrUnknownAuthorization", err)
			}
			bs, err := is.Balances(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range bs {
				if b.Amount != 0 {
					t.Errorf("balance after decline: %+v", b)
				}
			}
		})
	}
	if !sandbox.RequiresChallenge(challenge) || sandbox.RequiresChallenge(visa) {
		t.Error("RequiresChallenge is wrong")
	}
}

func testCardData(t *testing.T, open OpenLedger) {
	is := newIssuer(t, open)
	a := mustAuthorize(t, is, "auth", visa, 100)
	fp := regexp.MustCompile(`^[0-9a-f]{32}$`)
	if a.Card.Brand != "visa" || a.Card.Last4 != "1111" || !fp.MatchString(a.Card.Fingerprint) {
		t.Errorf("card info = %+v", a.Card)
	}
	if info, _ := is.CardInfo("4111-1111-1111-1111"); info != a.Card {
		t.Errorf("card info with dashes = %+v, want %+v", info, a.Card)
	}
	other, _ := sandbox.New(sandboxtestLedger{}, []byte("another key")).CardInfo(visa)
	if other.Fingerprint == a.Card.Fingerprint {
		t.Error("fingerprint does not depend on the key")
	}
	for number, want := range map[string]string{
		"4111111111111111": "visa", "5500000000000004": "mastercard", "2221000000000009": "mastercard",
		"2720990000000007": "mastercard", "2721000000000000": "card", "6011000000000004": "discover",
		"6500000000000002": "discover", "3530111302000000": "jcb", "3589000000000000": "jcb",
		"378282246310005": "amex", "340000000000009": "amex", "9999999999999995": "card",
	} {
		if info, _ := is.CardInfo(number); info.Brand != want || info.Last4 != number[len(number)-4:] {
			t.Errorf("card info of %s = %+v, want brand %s", number, info, want)
		}
	}
	// Nothing the ledger keeps holds the card number.
	bs, err := is.Balances(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if strings.Contains(b.Account, "4111111111111111") || strings.Contains(b.Account, "1111 1111") {
			t.Errorf("account %s holds the card number", b.Account)
		}
	}
}

// sandboxtestLedger is a Ledger that is never called, for CardInfo.
type sandboxtestLedger struct{ sandbox.Ledger }

func testFlow(t *testing.T, open OpenLedger) {
	is := newIssuer(t, open)
	ctx := t.Context()
	mustAuthorize(t, is, "auth", visa, 1000)
	wantState(t, is, visa, "auth", state{card: funded - 1000, held: 1000})
	if err := is.Capture(ctx, op(omnicart.OpCapture, "cap1", "auth", 300)); err != nil {
		t.Fatal(err)
	}
	wantState(t, is, visa, "auth", state{card: funded - 1000, held: 700, merchant: 300})
	if err := is.Release(ctx, op(omnicart.OpRelease, "rel1", "auth", 200)); err != nil {
		t.Fatal(err)
	}
	wantState(t, is, visa, "auth", state{card: funded - 800, held: 500, merchant: 300})
	if err := is.Capture(ctx, op(omnicart.OpCapture, "cap2", "auth", 500)); err != nil {
		t.Fatal(err)
	}
	wantState(t, is, visa, "auth", state{card: funded - 800, held: 0, merchant: 800})
	if err := is.Refund(ctx, op(omnicart.OpRefund, "ref1", "auth", 100)); err != nil {
		t.Fatal(err)
	}
	wantState(t, is, visa, "auth", state{card: funded - 700, held: 0, merchant: 700})
	// A zero-amount operation succeeds and moves nothing.
	if err := is.Capture(ctx, op(omnicart.OpCapture, "cap0", "auth", 0)); err != nil {
		t.Fatal(err)
	}
	wantState(t, is, visa, "auth", state{card: funded - 700, held: 0, merchant: 700})
}

func testIssuerIdempotent(t *testing.T, open OpenLedger) {
	is := newIssuer(t, open)
	ctx := t.Context()
	a1 := mustAuthorize(t, is, "auth", visa, 1000)
	// The same OpID with another card and amount returns the first outcome.
	a2 := mustAuthorize(t, is, "auth", "5500000000000004", 9)
	if a2 != a1 {
		t.Errorf("repeated authorize = %+v, want %+v", a2, a1)
	}
	wantState(t, is, visa, "auth", state{card: funded - 1000, held: 1000})
	for range 2 {
		if err := is.Capture(ctx, op(omnicart.OpCapture, "cap", "auth", 400)); err != nil {
			t.Fatal(err)
		}
		if err := is.Release(ctx, op(omnicart.OpRelease, "rel", "auth", 100)); err != nil {
			t.Fatal(err)
		}
		if err := is.Refund(ctx, op(omnicart.OpRefund, "ref", "auth", 50)); err != nil {
			t.Fatal(err)
		}
	}
	wantState(t, is, visa, "auth", state{card: funded - 850, held: 500, merchant: 350})
	// A declined authorization stays declined, even with a good card.
	for _, tc := range []struct{ opID, first, reason string }{
		{"d-3ds", threeDS, sandbox.ReasonAuthentication},
		{"d-funds", noFunds, sandbox.ReasonInsufficientFunds},
		{"d-unknown", unknownCard, sandbox.ReasonUnknownCard},
	} {
		_, err := is.Authorize(ctx, authReq(tc.opID, tc.first, 10))
		wantDecline(t, err, tc.reason)
		_, err = is.Authorize(ctx, authReq(tc.opID, visa, 10))
		wantDecline(t, err, tc.reason)
	}
	wantState(t, is, visa, "auth", state{card: funded - 850, held: 500, merchant: 350})
}

func testRefused(t *testing.T, open OpenLedger) {
	is := newIssuer(t, open)
	ctx := t.Context()
	mustAuthorize(t, is, "auth", visa, 1000)
	if err := is.Capture(ctx, op(omnicart.OpCapture, "big", "auth", 1001)); !errors.Is(err, sandbox.ErrInsufficientFunds) {
		t.Errorf("over-capture: err = %v, want ErrInsufficientFunds", err)
	}
	// The refusal is the outcome of its OpID, even when retried with less.
	if err := is.Capture(ctx, op(omnicart.OpCapture, "big", "auth", 10)); !errors.Is(err, sandbox.ErrInsufficientFunds) {
		t.Errorf("retried over-capture: err = %v, want ErrInsufficientFunds", err)
	}
	if err := is.Release(ctx, op(omnicart.OpRelease, "big-rel", "auth", 1001)); !errors.Is(err, sandbox.ErrInsufficientFunds) {
		t.Errorf("over-release: err = %v, want ErrInsufficientFunds", err)
	}
	if err := is.Refund(ctx, op(omnicart.OpRefund, "big-ref", "auth", 1)); !errors.Is(err, sandbox.ErrInsufficientFunds) {
		t.Errorf("refund before capture: err = %v, want ErrInsufficientFunds", err)
	}
	wantState(t, is, visa, "auth", state{card: funded - 1000, held: 1000})
	if err := is.Capture(ctx, op(omnicart.OpCapture, "all", "auth", 1000)); err != nil {
		t.Fatal(err)
	}
	if err := is.Refund(ctx, op(omnicart.OpRefund, "over-ref", "auth", 1001)); !errors.Is(err, sandbox.ErrInsufficientFunds) {
		t.Errorf("over-refund: err = %v, want ErrInsufficientFunds", err)
	}
	wantState(t, is, visa, "auth", state{card: funded - 1000, held: 0, merchant: 1000})
}

func testVoid(t *testing.T, open OpenLedger) {
	is := newIssuer(t, open)
	ctx := t.Context()
	mustAuthorize(t, is, "auth", visa, 1000)
	if err := is.Capture(ctx, op(omnicart.OpCapture, "cap", "auth", 400)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := is.Void(ctx, "auth"); err != nil {
			t.Fatal(err)
		}
		wantState(t, is, visa, "auth", state{card: funded - 400, held: 0, merchant: 400})
	}
	if err := is.Capture(ctx, op(omnicart.OpCapture, "cap-late", "auth", 1)); !errors.Is(err, sandbox.ErrInsufficientFunds) {
		t.Errorf("capture after void: err = %v, want ErrInsufficientFunds", err)
	}
	// Voiding an OpID never authorized moves nothing, and the OpID can no
	// longer place a hold.
	before, err := is.Balances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := is.Void(ctx, "never"); err != nil {
		t.Fatal(err)
	}
	if err := is.Void(ctx, "never"); err != nil {
		t.Fatal(err)
	}
	_, err = is.Authorize(ctx, authReq("never", visa, 10))
	wantDecline(t, err, sandbox.ReasonVoided)
	// Voiding a declined authorization or another operation does nothing.
	_, err = is.Authorize(ctx, authReq("declined", blocked, 10))
	wantDecline(t, err, sandbox.ReasonBlocked)
	if err := is.Void(ctx, "declined"); err != nil {
		t.Fatal(err)
	}
	if err := is.Void(ctx, "cap"); err != nil {
		t.Fatal(err)
	}
	after, err := is.Balances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("balances moved: %+v, then %+v", before, after)
	}
}

func testIssuerErrors(t *testing.T, open OpenLedger) {
	is := newIssuer(t, open)
	ctx := t.Context()
	mustAuthorize(t, is, "auth", visa, 1000)
	usd := op(omnicart.OpCapture, "usd", "auth", 1)
	usd.Currency = "USD"
	noMerchant := op(omnicart.OpCapture, "nom", "auth", 1)
	noMerchant.MerchantID = ""
	for name, tc := range map[string]struct {
		err  error
		call func() error
	}{
		"unknown auth": {sandbox.ErrUnknownAuthorization, func() error { return is.Capture(ctx, op(omnicart.OpCapture, "c", "nope", 1)) }},
		"currency":     {sandbox.ErrInvalidOperation, func() error { return is.Capture(ctx, usd) }},
		"negative":     {sandbox.ErrInvalidOperation, func() error { return is.Release(ctx, op(omnicart.OpRelease, "r", "auth", -1)) }},
		"no authRef":   {sandbox.ErrInvalidOperation, func() error { return is.Refund(ctx, op(omnicart.OpRefund, "r", "", 1)) }},
		"no opId":      {sandbox.ErrInvalidOperation, func() error { return is.Capture(ctx, op(omnicart.OpCapture, "", "auth", 1)) }},
		"no merchant":  {sandbox.ErrInvalidOperation, func() error { return is.Capture(ctx, noMerchant) }},
		"zero auth": {sandbox.ErrInvalidOperation, func() error {
			_, err := is.Authorize(ctx, authReq("zero", visa, 0))
			return err
		}},
		"void no opId": {sandbox.ErrInvalidOperation, func() error { return is.Void(ctx, "") }},
		"opId reused":  {sandbox.ErrConflict, func() error { return is.Capture(ctx, op(omnicart.OpCapture, "auth", "auth", 1)) }},
	} {
		if err := tc.call(); !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.err)
		}
	}
	wantState(t, is, visa, "auth", state{card: funded - 1000, held: 1000})
}

func testIssuerCurrencies(t *testing.T, open OpenLedger) {
	is := newIssuer(t, open)
	ctx := t.Context()
	mustAuthorize(t, is, "eur", visa, 1000)
	req := authReq("usd", visa, 70)
	req.Currency = "USD"
	if _, err := is.Authorize(ctx, req); err != nil {
		t.Fatal(err)
	}
	for c, want := range map[string]int64{"EUR": funded - 1000, "USD": funded - 70} {
		if got, err := is.CardBalance(ctx, visa, c); err != nil || got != want {
			t.Errorf("card balance in %s = %d, %v; want %d", c, got, err, want)
		}
	}
	if got, err := is.Held(ctx, "usd"); err != nil || got != 70 {
		t.Errorf("held usd = %d, %v; want 70", got, err)
	}
	if err := is.CheckInvariants(ctx); err != nil {
		t.Error(err)
	}
}

// testIssuerConcurrent runs 20 customers' payments at once, each operation
// sent twice concurrently, and checks the ledger adds up.
func testIssuerConcurrent(t *testing.T, open OpenLedger) {
	const workers = 20
	is := newIssuer(t, open)
	ctx := t.Context()
	cards := []string{visa, "5500000000000004", "6011000000000004", noFunds}
	var wg sync.WaitGroup
	errs := make(chan error, workers*16)
	twice := func(f func() error) {
		var inner sync.WaitGroup
		for range 2 {
			inner.Go(func() {
				if err := f(); err != nil {
					errs <- err
				}
			})
		}
		inner.Wait()
	}
	for w := range workers {
		wg.Go(func() {
			ref := fmt.Sprintf("auth-%d", w)
			card := cards[w%len(cards)]
			twice(func() error {
				_, err := is.Authorize(ctx, authReq(ref, card, 1000))
				if card == noFunds {
					if d, ok := omnicart.IsDecline(err); ok && d.Reason == sandbox.ReasonInsufficientFunds {
						return nil
					}
					return fmt.Errorf("%s: want insufficient funds, got %v", ref, err)
				}
				return err
			})
			if card == noFunds {
				return
			}
			twice(func() error { return is.Capture(ctx, op(omnicart.OpCapture, ref+"-cap", ref, 600)) })
			twice(func() error { return is.Release(ctx, op(omnicart.OpRelease, ref+"-rel", ref, 100)) })
			twice(func() error { return is.Refund(ctx, op(omnicart.OpRefund, ref+"-ref", ref, 50)) })
			twice(func() error { return is.Void(ctx, ref) })
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := is.CheckInvariants(ctx); err != nil {
		t.Error(err)
	}
	paid := workers - workers/len(cards)
	if got, err := is.MerchantBalance(ctx, merchant, cur); err != nil || got != int64(paid*550) {
		t.Errorf("merchant balance = %d, %v; want %d", got, err, paid*550)
	}
	for w := range workers {
		if held, err := is.Held(ctx, fmt.Sprintf("auth-%d", w)); err == nil && held != 0 {
			t.Errorf("auth-%d still holds %d", w, held)
		}
	}
	if got, err := is.CardBalance(ctx, visa, cur); err != nil || got != funded-int64(workers/len(cards))*550 {
		t.Errorf("visa balance = %d, %v", got, err)
	}
}
