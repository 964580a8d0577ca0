package sandbox_test

import (
	"errors"
	"testing"

	"github.com/omnicart/omnicart"
	"github.com/omnicart/omnicart/sandbox"
	"github.com/omnicart/omnicart/sandbox/sandboxtest"
)

const challengeCard = "4000 0000 0000 3220"

func chAuth(opID string, amount int64, threeDS bool) omnicart.AuthorizeRequest {
	return omnicart.AuthorizeRequest{
		Operation: omnicart.Operation{OpID: opID, Kind: omnicart.OpAuthorize, MerchantID: "m1", CartID: "c1", Currency: "EUR", Amount: amount},
		Card:      omnicart.Card{Number: challengeCard, Expiry: "12/99", CVC: "123", Holder: "T"},
		ThreeDS:   threeDS,
	}
}

func chOp(opID string, amount int64) omnicart.Operation {
	return omnicart.Operation{OpID: opID, Kind: omnicart.OpAuthorize, MerchantID: "m1", CartID: "c1", Currency: "EUR", Amount: amount}
}

// startChallenge authorizes the challenge card with ThreeDS and returns the
// challenge it asks for.
func startChallenge(t *testing.T, is *sandbox.Issuer, opID string, amount int64) *omnicart.ChallengeError {
	t.Helper()
	_, err := is.Authorize(t.Context(), chAuth(opID, amount, true))
	ch, ok := omnicart.IsChallenge(err)
	if !ok {
		t.Fatalf("authorize %s: err = %v, want a challenge", opID, err)
	}
	return ch
}

func balances(t *testing.T, is *sandbox.Issuer, holdRef string) (card, held int64) {
	t.Helper()
	card, err := is.CardBalance(t.Context(), challengeCard, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	if holdRef != "" {
		if held, err = is.Held(t.Context(), holdRef); err != nil {
			t.Fatal(err)
		}
	}
	if err := is.CheckInvariants(t.Context()); err != nil {
		t.Fatal(err)
	}
	return card, held
}

func TestChallenge(t *testing.T) {
	t.Parallel()
	t.Run("right code holds on the challenged card", func(t *testing.T) {
		t.Parallel()
		is := sandbox.New(sandboxtest.NewMemLedger(), []byte("k"))
		ch := startChallenge(t, is, "op1", 500)
		if ch.Card.Brand != "visa" || ch.Card.Last4 != "3220" || ch.Card.Fingerprint == "" || ch.Ref == "" {
			t.Fatalf("challenge %+v", ch)
		}
		if card, _ := balances(t, is, ""); card != sandbox.FundedBalance {
			t.Fatalf("a challenge held money: card %d", card)
		}
		auth, err := is.CompleteChallenge(t.Context(), omnicart.ChallengeRequest{Operation: chOp("op2", 400), Ref: ch.Ref, Code: sandbox.ChallengeCode})
		if err != nil {
			t.Fatal(err)
		}
		if auth.Ref != "op2" || auth.Card != ch.Card {
			t.Fatalf("authorization %+v", auth)
		}
		if card, held := balances(t, is, "op2"); card != sandbox.FundedBalance-400 || held != 400 {
			t.Fatalf("card %d held %d", card, held)
		}
		// Idempotent by opId: the same answer, nothing more held.
		again, err := is.CompleteChallenge(t.Context(), omnicart.ChallengeRequest{Operation: chOp("op2", 400), Ref: ch.Ref, Code: sandbox.ChallengeCode})
		if err != nil || again != auth {
			t.Fatalf("retry: %+v %v", again, err)
		}
		if card, _ := balances(t, is, "op2"); card != sandbox.FundedBalance-400 {
			t.Fatalf("retry moved money: card %d", card)
		}
		// Capture and release work on the resulting hold.
		capture := omnicart.Operation{OpID: "op3", Kind: omnicart.OpCapture, MerchantID: "m1", CartID: "c1", Currency: "EUR", Amount: 300, AuthRef: "op2"}
		if err := is.Capture(t.Context(), capture); err != nil {
			t.Fatal(err)
		}
		if mb, _ := is.MerchantBalance(t.Context(), "m1", "EUR"); mb != 300 {
			t.Fatalf("merchant %d", mb)
		}
	})
	t.Run("wrong code declines and holds nothing", func(t *testing.T) {
		t.Parallel()
		is := sandbox.New(sandboxtest.NewMemLedger(), []byte("k"))
		ch := startChallenge(t, is, "op1", 500)
		_, err := is.CompleteChallenge(t.Context(), omnicart.ChallengeRequest{Operation: chOp("op2", 500), Ref: ch.Ref, Code: "654321"})
		d, ok := omnicart.IsDecline(err)
		if !ok || d.Reason != sandbox.ReasonAuthentication {
			t.Fatalf("err = %v, want a 3-D Secure decline", err)
		}
		// The decline is the outcome of op2, whatever is sent again.
		_, err = is.CompleteChallenge(t.Context(), omnicart.ChallengeRequest{Operation: chOp("op2", 500), Ref: ch.Ref, Code: sandbox.ChallengeCode})
		if _, ok := omnicart.IsDecline(err); !ok {
			t.Fatalf("retry of a declined op: %v", err)
		}
		if card, _ := balances(t, is, ""); card != sandbox.FundedBalance {
			t.Fatalf("card %d", card)
		}
	})
	t.Run("starting is idempotent", func(t *testing.T) {
		t.Parallel()
		is := sandbox.New(sandboxtest.NewMemLedger(), []byte("k"))
		a := startChallenge(t, is, "op1", 500)
		b := startChallenge(t, is, "op1", 500)
		if *a != *b {
			t.Fatalf("%+v != %+v", a, b)
		}
	})
	t.Run("without ThreeDS the card is frictionless", func(t *testing.T) {
		t.Parallel()
		is := sandbox.New(sandboxtest.NewMemLedger(), []byte("k"))
		if _, err := is.Authorize(t.Context(), chAuth("op1", 500, false)); err != nil {
			t.Fatal(err)
		}
		if _, held := balances(t, is, "op1"); held != 500 {
			t.Fatalf("held %d", held)
		}
	})
	t.Run("other cards never ask", func(t *testing.T) {
		t.Parallel()
		is := sandbox.New(sandboxtest.NewMemLedger(), []byte("k"))
		req := chAuth("op1", 500, true)
		req.Card.Number = "4111 1111 1111 1111"
		if _, err := is.Authorize(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unknown challenge and wrong currency", func(t *testing.T) {
		t.Parallel()
		is := sandbox.New(sandboxtest.NewMemLedger(), []byte("k"))
		_, err := is.CompleteChallenge(t.Context(), omnicart.ChallengeRequest{Operation: chOp("op2", 5), Ref: "challenge:nope", Code: sandbox.ChallengeCode})
		if !errors.Is(err, sandbox.ErrUnknownAuthorization) {
			t.Fatalf("unknown ref: %v", err)
		}
		ch := startChallenge(t, is, "op1", 500)
		op := chOp("op3", 5)
		op.Currency = "USD"
		_, err = is.CompleteChallenge(t.Context(), omnicart.ChallengeRequest{Operation: op, Ref: ch.Ref, Code: sandbox.ChallengeCode})
		if !errors.Is(err, sandbox.ErrInvalidOperation) {
			t.Fatalf("currency: %v", err)
		}
		// An authorization's ref is not a challenge.
		if _, err := is.Authorize(t.Context(), chAuth("op4", 5, false)); err != nil {
			t.Fatal(err)
		}
		_, err = is.CompleteChallenge(t.Context(), omnicart.ChallengeRequest{Operation: chOp("op5", 5), Ref: "op4", Code: sandbox.ChallengeCode})
		if !errors.Is(err, sandbox.ErrConflict) {
			t.Fatalf("authorization used as a challenge: %v", err)
		}
	})
	t.Run("void after a challenge authorization releases it", func(t *testing.T) {
		t.Parallel()
		is := sandbox.New(sandboxtest.NewMemLedger(), []byte("k"))
		ch := startChallenge(t, is, "op1", 500)
		if _, err := is.CompleteChallenge(t.Context(), omnicart.ChallengeRequest{Operation: chOp("op2", 500), Ref: ch.Ref, Code: sandbox.ChallengeCode}); err != nil {
			t.Fatal(err)
		}
		if err := is.Void(t.Context(), "op2"); err != nil {
			t.Fatal(err)
		}
		if card, held := balances(t, is, "op2"); card != sandbox.FundedBalance || held != 0 {
			t.Fatalf("card %d held %d", card, held)
		}
	})
}
