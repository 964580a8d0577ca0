package omnicart

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestCardIsNeverPrinted: printing or logging a card, or a request that
// carries one, shows only its last four digits.
func TestCardIsNeverPrinted(t *testing.T) {
	t.Parallel()
	card := Card{Number: "4111 1111 1111 1111", Expiry: "12/30", CVC: "987", Holder: "Ada"}
	req := AuthorizeRequest{Operation: Operation{OpID: "op-1", Amount: 250}, Card: card}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "card", card, "req", req)
	for _, out := range []string{fmt.Sprint(card), fmt.Sprintf("%+v", req), fmt.Sprintf("%#v", card), fmt.Sprintf("%v", &req), logged.String()} {
		if strings.Contains(strings.ReplaceAll(out, " ", ""), "4111111111111111") || strings.Contains(out, "987") || strings.Contains(out, "4111 1111") {
			t.Errorf("card data printed: %s", out)
		}
	}
	if got := fmt.Sprint(card); got != "card ****1111" {
		t.Errorf("String() = %q", got)
	}
}

// TestCartTotalBound: a cart whose total is above 10^15 is refused, however
// many items share it.
func TestCartTotalBound(t *testing.T) {
	t.Parallel()
	m := &Merchant{ID: "m", CartExpirySecs: 7200, Privileges: DefaultPrivileges()}
	spec := &InitSpec{CartID: "cart-total-1", Currency: "EUR"}
	for i := range 3 {
		spec.Items = append(spec.Items, ItemSpec{ID: string(rune('a' + i)), Amount: MaxAmount / 2})
	}
	var sp StagedProblems
	if c := NewCart(spec, m, time.Now(), &sp); c != nil {
		t.Fatalf("a cart of 1.5 × 10^15 was accepted")
	}
	if got := sp.Ordered(); len(got) != 1 || got[0].Message() != "items has invalid value" {
		t.Fatalf("problems = %+v", got)
	}
	spec.Items = spec.Items[:2]
	sp = nil
	if c := NewCart(spec, m, time.Now(), &sp); c == nil {
		t.Fatalf("a cart of exactly 10^15 was refused: %+v", sp.Ordered())
	}
}
