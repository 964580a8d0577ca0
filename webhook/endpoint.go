package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/omnicart/omnicart"
)

// EventTypes lists every callback event type, in documentation order.
func EventTypes() []string {
	return []string{omnicart.EventPaymentStatusChanged, omnicart.EventTimerStatusChanged, omnicart.EventAutoActionPending}
}

// ValidEventType reports whether t is a callback event type.
func ValidEventType(t string) bool {
	for _, v := range EventTypes() {
		if v == t {
			return true
		}
	}
	return false
}

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// SecretBytes is how many random bytes a signing secret carries.
const SecretBytes = 32

// NewSecret returns a new signing secret: "whsec_" and the standard base64
// of SecretBytes random bytes, the format of the Standard Webhooks
// libraries.
func NewSecret() string {
	b := make([]byte, SecretBytes)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // no randomness: nothing safe to do
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// SecretKey returns the HMAC key of a secret: the base64-decoded part after
// "whsec_".
func SecretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		return nil, fmt.Errorf("webhook secret is not whsec_ and base64: %w", err)
	}
	return key, nil
}

func newEndpointID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return "ep_" + hex.EncodeToString(b)
}

// MaxURLLength is the longest callback URL accepted.
const MaxURLLength = 2048

// CheckURL checks a callback URL: an absolute http or https URL with a
// host, without credentials or fragment, at most MaxURLLength long. Unless
// allowPrivate, a host that is literally a loopback, private, link-local or
// metadata address (or "localhost") is refused too; names that resolve to
// such addresses are refused when a delivery connects (see Guard). It
// returns an *omnicart.Error: 122001 "url has invalid format" for a
// malformed URL, 123003 "url has invalid value" for a refused one.
func CheckURL(raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil || len(raw) > MaxURLLength || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" ||
		u.Opaque != "" || strings.ContainsAny(raw, " \t\r\n") {
		return omnicart.Errorf(omnicart.CodeInvalidFormat, "url")
	}
	if u.User != nil || u.Fragment != "" || strings.Contains(raw, "#") {
		return omnicart.Errorf(omnicart.CodeInvalidValue, "url")
	}
	if allowPrivate {
		return nil
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return omnicart.Errorf(omnicart.CodeInvalidValue, "url")
	}
	if ip, err := netip.ParseAddr(host); err == nil && !PublicAddr(ip) {
		return omnicart.Errorf(omnicart.CodeInvalidValue, "url")
	}
	return nil
}

// CheckEvents checks a list of event types: at least one, each known. It
// returns the list without duplicates (in the given order), or an
// *omnicart.Error 123003 "events has invalid value".
func CheckEvents(types []string) ([]string, error) {
	if len(types) == 0 {
		return nil, omnicart.Errorf(omnicart.CodeInvalidValue, "events")
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range types {
		if !ValidEventType(t) {
			return nil, omnicart.Errorf(omnicart.CodeInvalidValue, "events")
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}
