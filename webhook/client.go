package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// AttemptTimeout bounds one delivery attempt: connecting, sending and
// reading the answer.
const AttemptTimeout = 10 * time.Second

// ErrBlockedAddress is wrapped by the error of a connection refused because
// its destination is not a public address.
var ErrBlockedAddress = errors.New("destination address not allowed")

// BlockedAddressError names the address a connection was refused to.
type BlockedAddressError struct{ Addr netip.Addr }

func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("destination address %s is loopback, private, link-local or reserved and callbacks to it are not allowed (start the server with --allow-private-callbacks to allow them)", e.Addr)
}

// Unwrap makes errors.Is(err, ErrBlockedAddress) true.
func (e *BlockedAddressError) Unwrap() error { return ErrBlockedAddress }

// nonPublic are the IPv4 and IPv6 ranges callbacks may not reach besides
// those netip classifies (loopback, private, link-local, multicast,
// unspecified): shared address space (carrier NAT, where 100.100.100.200
// is a cloud metadata address), "this network", IETF protocol assignments,
// benchmarking, documentation, reserved, NAT64 and 6to4 (which embed IPv4
// addresses), documentation IPv6 and discard-only.
func nonPublic() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),
		netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("192.0.0.0/24"),
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("198.18.0.0/15"),
		netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"),
		netip.MustParsePrefix("240.0.0.0/4"),
		netip.MustParsePrefix("64:ff9b::/96"),
		netip.MustParsePrefix("64:ff9b:1::/48"),
		netip.MustParsePrefix("2002::/16"),
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("100::/64"),
		netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
		netip.MustParsePrefix("::ffff:0:0:0/96"), // SIIT IPv4-translated
		netip.MustParsePrefix("2001::/32"),       // Teredo
		netip.MustParsePrefix("2001:10::/28"),    // ORCHID
		netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
	}
}

// PublicAddr reports whether callbacks may connect to ip: false for
// loopback, private (including IPv6 unique-local, where fd00:ec2::254 is a
// cloud metadata address), link-local (including 169.254.169.254, the
// metadata address of most clouds), multicast, unspecified and the reserved
// ranges above. IPv4-mapped IPv6 addresses are judged as IPv4.
func PublicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic() {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// guardControl is a net.Dialer Control function: it runs after name
// resolution, on the address actually being connected to, and refuses
// non-public ones. Checking there (not when the URL is saved) means a name
// that resolves to a public address at one moment and to a private one the
// next (DNS rebinding) cannot get through.
func guardControl(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("network %s not allowed for callbacks: %w", network, ErrBlockedAddress)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("callback address %q: %w", address, ErrBlockedAddress)
	}
	if !PublicAddr(ap.Addr()) {
		return &BlockedAddressError{Addr: ap.Addr().Unmap()}
	}
	return nil
}

// ClientOptions configure NewClient.
type ClientOptions struct {
	// AllowPrivate lets callbacks reach loopback, private and link-local
	// addresses (development, tests, receivers on the same network).
	AllowPrivate bool
	// Timeout bounds each attempt (AttemptTimeout when zero).
	Timeout time.Duration
	// MaxConnsPerHost bounds the connections kept to one receiver host
	// (default 8).
	MaxConnsPerHost int
}

// NewClient returns the HTTP client that sends callbacks. It never follows
// redirects (a 3xx answer is a failed attempt), ignores proxy environment
// variables (a proxy would hide the destination address from the guard),
// keeps connections alive, bounds every attempt by the timeout, and unless
// AllowPrivate refuses to connect to non-public addresses, checked on the
// resolved address at connect time.
func NewClient(o ClientOptions) *http.Client {
	if o.Timeout <= 0 {
		o.Timeout = AttemptTimeout
	}
	if o.MaxConnsPerHost <= 0 {
		o.MaxConnsPerHost = 8
	}
	d := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		d.Control = guardControl
	}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   o.MaxConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
