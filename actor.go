package omnicart

import "strings"

// Actor names who made a change: a Merchant API key (by its non-secret
// prefix, the one the keys list shows), a Panel user (by email), or the
// operator (the CLI and the other programs run on the server). The zero
// Actor is "not recorded": deadlines and customers' payments have none,
// and nor do changes made before actors were recorded.
//
// An Actor is stored as text: "key:PREFIX", "panel:EMAIL" or "operator".
type Actor string

// ActorOperator is the operator, who works with the CLI.
const ActorOperator Actor = "operator"

const (
	keyActorPrefix   = "key:"
	panelActorPrefix = "panel:"
)

// KeyActor is the API key with this prefix.
func KeyActor(prefix string) Actor { return Actor(keyActorPrefix + prefix) }

// PanelActor is the Panel user with this email.
func PanelActor(email string) Actor { return Actor(panelActorPrefix + email) }

// KeyPrefix returns the prefix of the API key a names; ok is false when a
// is not a key.
func (a Actor) KeyPrefix() (prefix string, ok bool) {
	return strings.CutPrefix(string(a), keyActorPrefix)
}

// PanelUser returns the email of the Panel user a names; ok is false when
// a is not a Panel user.
func (a Actor) PanelUser() (email string, ok bool) {
	return strings.CutPrefix(string(a), panelActorPrefix)
}

// Label is a for people: "API key ock_test_AbCdEfG…", "Panel user
// EMAIL", "operator (CLI)", "unknown" for the zero Actor, or the stored
// text for any other.
func (a Actor) Label() string {
	if p, ok := a.KeyPrefix(); ok {
		return "API key " + p + "…"
	}
	if e, ok := a.PanelUser(); ok {
		return "Panel user " + e
	}
	switch a {
	case ActorOperator:
		return "operator (CLI)"
	case "":
		return "unknown"
	}
	return string(a)
}
