package omnicart

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
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
