// Package egress is genflow's one outbound HTTP policy: the rules every
// connection follows that genflow makes on a user's or a provider's word
// (downloading the outputs a webhook or a fetch reply lists, POSTing a
// run's notification to its notify URL).
//
// A Policy builds an *http.Client that
//
//   - speaks http and https only (file://, ftp:// and the rest are
//     refused before anything is sent);
//   - resolves each host itself and checks every address it resolves to
//     before it connects, then connects to that checked address, so a name
//     that resolves to a public address when checked and to 127.0.0.1 when
//     connecting (DNS rebinding) gains nothing; the dialer checks the
//     address once more at connect time;
//   - refuses loopback, private (RFC 1918, IPv6 unique local), link-local
//     (169.254.0.0/16 with the cloud metadata service 169.254.169.254,
//     fe80::/10), shared CGNAT (100.64.0.0/10), multicast, unspecified,
//     reserved, benchmarking and documentation addresses, and the IPv6
//     forms that embed an IPv4 address (IPv4-mapped, NAT64, 6to4) when the
//     embedded one is refused;
//   - applies the same checks to every redirect, and follows at most
//     MaxRedirects of them (none for notifications: a 307 would resend
//     the body and its signature to wherever the receiver says);
//   - never uses a proxy from the environment (HTTP_PROXY and the like):
//     the address checked is the address connected to.
//
// The ranges refused can be let through one by one with Policy.Allow
// (OUTBOUND_ALLOW_CIDRS for the worker): the local stack and the tests
// allow 127.0.0.0/8, since their fake provider and receivers listen on
// loopback. Nothing is allowed by default.
//
// Ports are not restricted: the address check is what keeps requests away
// from internal services, and output links and notify receivers use any
// port.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// DefaultMaxRedirects is how many redirects a request follows when
// Policy.MaxRedirects is zero.
const DefaultMaxRedirects = 5

// NoRedirects is the Policy.MaxRedirects that follows no redirect: the
// client returns the 3xx answer itself.
const NoRedirects = -1

// ErrRefused is what every refusal of the policy wraps (errors.Is).
var ErrRefused = errors.New("refused by the outbound policy")

// RefusedError is a request the policy refused: its scheme, an address
// its host resolved to, or one redirect too many.
type RefusedError struct {
	// Host is the host name asked for, when the refusal is about an
	// address.
	Host string
	// Addr is the refused address; the zero Addr when the refusal is not
	// about an address.
	Addr netip.Addr
	// Reason says why, for people: "loopback", "private", "scheme
	// \"file\" is not http or https", ...
	Reason string
}

func (e *RefusedError) Error() string {
	if !e.Addr.IsValid() {
		return ErrRefused.Error() + ": " + e.Reason
	}
	what := e.Addr.String() + " is"
	if e.Host != "" && e.Host != e.Addr.String() {
		what = e.Host + " resolves to " + e.Addr.String() + ","
	}
	return fmt.Sprintf("%s: %s a %s address (only public addresses are reached unless OUTBOUND_ALLOW_CIDRS allows the range)",
		ErrRefused, what, e.Reason)
}

// Is makes errors.Is(err, ErrRefused) hold.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// IsRefused reports whether err is, or wraps, a refusal of the policy.
func IsRefused(err error) bool { return errors.Is(err, ErrRefused) }

// Resolver looks up a host's addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ Resolver = (*net.Resolver)(nil)

// Policy says where outbound requests may go. The zero Policy is the
// strict default: public addresses only, at most DefaultMaxRedirects
// redirects, no overall timeout.
type Policy struct {
	// Allow are address ranges reached although a refused range holds
	// them: 127.0.0.0/8 for a local stack whose fake provider serves on
	// loopback. Default none.
	Allow []netip.Prefix
	// MaxRedirects is how many redirects a request follows; NoRedirects
	// follows none. Zero means DefaultMaxRedirects.
	MaxRedirects int
	// Timeout bounds each request as http.Client.Timeout does. Zero: no
	// bound (a caller bounds it with its context).
	Timeout time.Duration
	// Resolver looks up host names. Nil means net.DefaultResolver.
	Resolver Resolver
	// DialTimeout bounds each connection attempt. Zero means 30 s.
	DialTimeout time.Duration
}

// Client returns an *http.Client that follows p. Each call makes a new
// connection pool: build it once and share it.
func (p Policy) Client() *http.Client {
	t := &http.Transport{
		// No Proxy: the address checked must be the one connected to.
		DialContext:           p.dialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport:     &schemeCheck{base: t},
		CheckRedirect: p.checkRedirect,
		Timeout:       p.Timeout,
	}
}

// CheckURL refuses a URL whose scheme is not http or https, or which has
// no host, before any request is made. Addresses are checked when the
// client connects.
func CheckURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return &RefusedError{Reason: fmt.Sprintf("scheme %q is not http or https", u.Scheme)}
	}
	if u.Host == "" {
		return &RefusedError{Reason: "the URL has no host"}
	}
	return nil
}

// CheckAddr says whether p lets a connection to a through: nil, or a
// *RefusedError naming the range that holds it.
func (p Policy) CheckAddr(a netip.Addr) error {
	if r := p.check(a); r != nil {
		return r
	}
	return nil
}

// check is CheckAddr with its concrete type: nil when a is let through.
func (p Policy) check(a netip.Addr) *RefusedError {
	a = a.WithZone("")
	if p.allowed(a) {
		return nil
	}
	if reason := refusedRange(a); reason != "" {
		return &RefusedError{Addr: a, Reason: reason}
	}
	return nil
}

// allowed: a, or the IPv4 address it maps, is in an Allow range.
func (p Policy) allowed(a netip.Addr) bool {
	for _, pre := range p.Allow {
		if pre.Contains(a) || a.Is4In6() && pre.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// refused are the ranges refused, the most specific first where they
// nest.
var refused = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\" (unspecified)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (CGNAT)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.169.254/32"), "cloud metadata (link-local)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay (reserved)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved (or broadcast)"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible (reserved)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001::/32"), "Teredo"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fc00::/7"), "private (unique local)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local (reserved)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// refusedRange names the refused range that holds a, or is "" when a is
// a public address. IPv6 addresses that embed an IPv4 address are judged
// by it.
func refusedRange(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	b := a.As16()
	switch {
	case a.Is4In6():
		if r := refusedRange(a.Unmap()); r != "" {
			return "IPv4-mapped " + r
		}
		return ""
	case nat64.Contains(a):
		if r := refusedRange(netip.AddrFrom4([4]byte(b[12:16]))); r != "" {
			return "NAT64 " + r
		}
		return ""
	case sixToFour.Contains(a):
		if r := refusedRange(netip.AddrFrom4([4]byte(b[2:6]))); r != "" {
			return "6to4 " + r
		}
		return ""
	}
	for _, r := range refused {
		if r.prefix.Contains(a) {
			return r.reason
		}
	}
	return ""
}

// dialContext resolves address's host, checks every address it resolves
// to, and connects to the checked ones in turn.
func (p Policy) dialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	addrs, err := p.resolve(ctx, network, host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	// Refuse the host when any of its addresses is refused: an answer
	// that mixes a public address with 127.0.0.1 is no honest host.
	for i, a := range addrs {
		if r := p.check(a); r != nil {
			r.Host = host
			return nil, r
		}
		addrs[i] = a.Unmap()
	}
	d := &net.Dialer{Timeout: p.DialTimeout, KeepAlive: 30 * time.Second, Control: p.control}
	if d.Timeout == 0 {
		d.Timeout = 30 * time.Second
	}
	var errs []error
	for _, a := range addrs {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// resolve returns host's addresses: itself when it is an IP literal.
func (p Policy) resolve(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ipNet := "ip"
	switch network {
	case "tcp4":
		ipNet = "ip4"
	case "tcp6":
		ipNet = "ip6"
	}
	return r.LookupNetIP(ctx, ipNet, host)
}

// control checks the address the socket is about to connect to: the
// last word, whatever resolved it.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Reason: fmt.Sprintf("cannot check the address %q", address)}
	}
	if r := p.check(ap.Addr()); r != nil {
		return r
	}
	return nil
}

// checkRedirect follows at most MaxRedirects redirects, to http(s) URLs
// only; the dialer checks where each one goes.
func (p Policy) checkRedirect(req *http.Request, via []*http.Request) error {
	limit := p.MaxRedirects
	switch {
	case limit < 0:
		return http.ErrUseLastResponse
	case limit == 0:
		limit = DefaultMaxRedirects
	}
	if len(via) > limit {
		return &RefusedError{Reason: fmt.Sprintf("more than %d redirects", limit)}
	}
	return CheckURL(req.URL)
}

// schemeCheck refuses requests that are not http(s) before its base
// transport sees them (http.Transport would only say "unsupported
// protocol scheme", which reads as worth retrying).
type schemeCheck struct{ base http.RoundTripper }

func (s *schemeCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := CheckURL(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return s.base.RoundTrip(req)
}

// Redact returns raw as scheme://host/path, without the user
// information, query and fragment where tokens travel, for logs, errors
// and state. A string that is not a URL becomes "(unparsable URL)".
func Redact(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "(unparsable URL)"
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return r.String()
}

// RedactIn replaces raw, a URL, in msg with its Redact form: as it is,
// and as http.Client quotes it (its password as "***"). For messages
// made before the URL could be redacted at their source, such as
// activity errors recorded by earlier releases.
func RedactIn(msg, raw string) string {
	if raw == "" {
		return msg
	}
	safe := Redact(raw)
	msg = strings.ReplaceAll(msg, raw, safe)
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			// As net/http's stripPassword writes it.
			quoted := strings.Replace(u.String(), u.User.String()+"@", u.User.Username()+":***@", 1)
			msg = strings.ReplaceAll(msg, quoted, safe)
		}
	}
	return msg
}

// RedactError rewrites the URL of a *url.Error in err's chain (what
// http.Client returns, whose message quotes the whole URL) with Redact.
func RedactError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = Redact(ue.URL)
	}
	return err
}

// ParseAllow reads a comma-separated list of ranges for Policy.Allow:
// CIDR prefixes ("127.0.0.0/8", "fd00::/8") or single addresses
// ("10.1.2.3").
func ParseAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if a, err := netip.ParseAddr(part); err == nil {
			out = append(out, netip.PrefixFrom(a.WithZone(""), a.BitLen()))
			continue
		}
		pre, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR range such as 127.0.0.0/8", part)
		}
		out = append(out, pre.Masked())
	}
	return out, nil
}
