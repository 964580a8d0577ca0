package omnicart

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestActorLabels(t *testing.T) {
	for _, c := range []struct {
		a     Actor
		label string
	}{
		{KeyActor("ock_test_AbCdEfGh"), "API key ock_test_AbCdEfGh…"},
		{PanelActor("ada@shop.example"), "Panel user ada@shop.example"},
		{ActorOperator, "operator (CLI)"},
		{"", "unknown"},
		{"robot", "robot"},
	} {
		if got := c.a.Label(); got != c.label {
			t.Errorf("%q.Label() = %q, want %q", c.a, got, c.label)
		}
	}
	if p, ok := KeyActor("ock_live_12345678").KeyPrefix(); !ok || p != "ock_live_12345678" {
		t.Errorf("KeyPrefix = %q, %v", p, ok)
	}
	if _, ok := PanelActor("key:x").KeyPrefix(); ok {
		t.Error("a Panel user is taken for a key")
	}
	if e, ok := PanelActor("ada@shop.example").PanelUser(); !ok || e != "ada@shop.example" {
		t.Errorf("PanelUser = %q, %v", e, ok)
	}
}

// TestEventActorNotInBody: the actor of an event is kept out of its JSON
// (the stored body that callback payloads are made of), and
// AttributeEvents marks only the events after the given sequence.
func TestEventActorNotInBody(t *testing.T) {
	c := &Cart{ID: "c1"}
	for range 3 {
		c.emit(Event{Type: EventPaymentStatusChanged})
	}
	c.AttributeEvents(KeyActor("ock_test_AbCdEfGh"), 1)
	c.AttributeEvents(PanelActor("late@shop.example"), 0) // only the first has none
	evs := c.TakeEvents()
	want := []Actor{PanelActor("late@shop.example"), KeyActor("ock_test_AbCdEfGh"), KeyActor("ock_test_AbCdEfGh")}
	for i, e := range evs {
		if e.Actor != want[i] {
			t.Errorf("event %d by %q, want %q", e.Sequence, e.Actor, want[i])
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "ock_test") || strings.Contains(string(b), "late@") {
			t.Errorf("event %d's JSON carries its actor: %s", e.Sequence, b)
		}
	}
}
