package egress_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/internal/egress"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func TestCheckAddrRefusesEveryInternalRange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ addr, reason string }{
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"169.254.169.254", "cloud metadata"},
		{"169.254.1.1", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"100.64.0.1", "CGNAT"},
		{"100.127.255.255", "CGNAT"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"fc00::1", "unique local"},
		{"fd00:ec2::254", "unique local"}, // AWS's IPv6 metadata address
		{"192.0.0.8", "IETF"},
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"192.0.2.1", "documentation"},
		{"2001:db8::1", "documentation"},
		{"255.255.255.255", "reserved"},
		{"::ffff:127.0.0.1", "IPv4-mapped loopback"},
		{"::ffff:169.254.169.254", "IPv4-mapped cloud metadata"},
		{"::ffff:10.0.0.1", "IPv4-mapped private"},
		{"::127.0.0.1", "IPv4-compatible"},
		{"64:ff9b::7f00:1", "NAT64 loopback"},
		{"64:ff9b::a9fe:a9fe", "NAT64 cloud metadata"},
		{"2002:7f00:1::1", "6to4 loopback"},
		{"2002:a00:1::1", "6to4 private"},
		{"2001::1", "Teredo"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			t.Parallel()
			err := egress.Policy{}.CheckAddr(netip.MustParseAddr(tc.addr))
			require.Error(t, err)
			require.ErrorIs(t, err, egress.ErrRefused)
			var re *egress.RefusedError
			require.ErrorAs(t, err, &re)
			require.Contains(t, re.Reason, tc.reason)
		})
	}
}

func TestCheckAddrLetsPublicAddressesThrough(t *testing.T) {
	t.Parallel()
	for _, a := range []string{
		"8.8.8.8", "1.1.1.1", "104.18.0.1", "172.32.0.1", "100.128.0.1", "198.20.0.1", "169.255.0.1",
		"2606:4700::1111", "2a00:1450:4001::1", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
	} {
		require.NoError(t, egress.Policy{}.CheckAddr(netip.MustParseAddr(a)), a)
	}
}

func TestAllowLetsARangeThrough(t *testing.T) {
	t.Parallel()
	p := egress.Policy{Allow: loopback}
	require.NoError(t, p.CheckAddr(netip.MustParseAddr("127.0.0.1")))
	require.NoError(t, p.CheckAddr(netip.MustParseAddr("127.0.0.53")))
	require.NoError(t, p.CheckAddr(netip.MustParseAddr("::1")))
	require.NoError(t, p.CheckAddr(netip.MustParseAddr("::ffff:127.0.0.1")), "the mapped form of an allowed address")
	require.ErrorIs(t, p.CheckAddr(netip.MustParseAddr("10.0.0.1")), egress.ErrRefused, "only the allowed range")
	require.ErrorIs(t, p.CheckAddr(netip.MustParseAddr("169.254.169.254")), egress.ErrRefused)
}

// server is an httptest server on addr (host:0) that counts its requests.
func server(t *testing.T, addr string, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &hits
}

func ok(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "fine") }

func get(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestClientRefusesLoopbackByDefault(t *testing.T) {
	t.Parallel()
	srv, hits := server(t, "127.0.0.1:0", ok)
	_, err := get(egress.Policy{}.Client(), srv.URL+"/latest/meta-data/")
	require.ErrorIs(t, err, egress.ErrRefused)
	require.ErrorContains(t, err, "127.0.0.1 is a loopback address")
	require.ErrorContains(t, err, "OUTBOUND_ALLOW_CIDRS", "the message names the setting")
	require.Zero(t, hits.Load(), "nothing reached the server")

	body, err := get(egress.Policy{Allow: loopback}.Client(), srv.URL)
	require.NoError(t, err, "allowed explicitly")
	require.Equal(t, "fine", body)
}

// resolver answers every name with its addresses.
type resolver map[string][]netip.Addr

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestClientChecksTheAddressesANameResolvesTo(t *testing.T) {
	t.Parallel()
	srv, hits := server(t, "127.0.0.1:0", ok)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	r := resolver{
		"internal.example.com": {netip.MustParseAddr("127.0.0.1")},
		// One honest-looking address and one internal: refused whole.
		"mixed.example.com":  {netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("127.0.0.1")},
		"mapped.example.com": {netip.MustParseAddr("::ffff:127.0.0.1")},
	}
	c := egress.Policy{Resolver: r}.Client()
	for _, host := range []string{"internal.example.com", "mixed.example.com", "mapped.example.com"} {
		_, err := get(c, "http://"+host+":"+port+"/")
		require.ErrorIs(t, err, egress.ErrRefused, host)
		require.ErrorContains(t, err, host+" resolves to ", host)
	}
	require.Zero(t, hits.Load())

	// Allowed, the name reaches the address it resolved to.
	body, err := get(egress.Policy{Resolver: r, Allow: loopback}.Client(), "http://internal.example.com:"+port+"/")
	require.NoError(t, err)
	require.Equal(t, "fine", body)
}

func TestClientChecksEveryRedirect(t *testing.T) {
	t.Parallel()
	internal, internalHits := server(t, "127.0.0.1:0", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"AccessKeyId":"AKIA..."}`)
	})
	// The "public" host: 127.0.0.2, allowed for the test, redirecting to
	// 127.0.0.1, which is not.
	public, _ := server(t, "127.0.0.2:0", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+"/latest/meta-data/iam/security-credentials/", http.StatusFound)
	})
	c := egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}.Client()
	_, err := get(c, public.URL+"/output.png")
	require.ErrorIs(t, err, egress.ErrRefused)
	require.ErrorContains(t, err, "127.0.0.1 is a loopback address")
	require.Zero(t, internalHits.Load())
}

func TestClientFollowsAtMostMaxRedirects(t *testing.T) {
	t.Parallel()
	var srv *httptest.Server
	srv, hits := server(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		var n int
		_, _ = fmt.Sscanf(r.URL.Path, "/%d", &n)
		http.Redirect(w, r, fmt.Sprintf("%s/%d", srv.URL, n+1), http.StatusFound)
	})
	_, err := get(egress.Policy{Allow: loopback}.Client(), srv.URL+"/0")
	require.ErrorIs(t, err, egress.ErrRefused)
	require.ErrorContains(t, err, "more than 5 redirects")
	require.EqualValues(t, 1+egress.DefaultMaxRedirects, hits.Load(), "the first request and five redirects")

	hits.Store(0)
	_, err = get(egress.Policy{Allow: loopback, MaxRedirects: 2}.Client(), srv.URL+"/0")
	require.ErrorContains(t, err, "more than 2 redirects")
	require.EqualValues(t, 3, hits.Load())
}

func TestNoRedirectsReturnsTheRedirect(t *testing.T) {
	t.Parallel()
	target, targetHits := server(t, "127.0.0.1:0", ok)
	srv, _ := server(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	})
	c := egress.Policy{Allow: loopback, MaxRedirects: egress.NoRedirects}.Client()
	resp, err := c.Post(srv.URL, "application/json", strings.NewReader(`{"signed":true}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	require.Zero(t, targetHits.Load(), "the body was not sent again")
}

func TestClientRefusesOtherSchemes(t *testing.T) {
	t.Parallel()
	c := egress.Policy{Allow: loopback}.Client()
	for _, u := range []string{"file:///etc/passwd", "ftp://example.com/x", "gopher://example.com/"} {
		_, err := get(c, u)
		require.ErrorIs(t, err, egress.ErrRefused, u)
		require.ErrorContains(t, err, "is not http or https", u)
	}
	srv, _ := server(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	_, err := get(c, srv.URL)
	require.ErrorIs(t, err, egress.ErrRefused, "a redirect to file://")
	require.ErrorContains(t, err, `scheme "file"`)
}

func TestRefusedErrorIsAsAcrossURLError(t *testing.T) {
	t.Parallel()
	_, err := get(egress.Policy{}.Client(), "http://127.0.0.1:1/")
	var re *egress.RefusedError
	require.True(t, errors.As(err, &re))
	require.Equal(t, netip.MustParseAddr("127.0.0.1"), re.Addr)
	require.True(t, egress.IsRefused(err))
}

func TestRedact(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://user:pass@hooks.example.com/a/b?token=s3cret#frag": "https://hooks.example.com/a/b",
		"http://example.com:8080/hook?x=1":                          "http://example.com:8080/hook",
		"https://example.com":                                       "https://example.com",
		"https://tok@example.com/p%2Fq":                             "https://example.com/p%2Fq",
		"http://[::1]:9/x?y":                                        "http://[::1]:9/x",
		"://bad":                                                    "(unparsable URL)",
	} {
		require.Equal(t, want, egress.Redact(in), in)
	}
}

func TestRedactError(t *testing.T) {
	t.Parallel()
	_, err := get(egress.Policy{}.Client(), "http://user:pw@127.0.0.1:1/hook?token=s3cret")
	require.Error(t, err)
	err = egress.RedactError(err)
	require.NotContains(t, err.Error(), "s3cret")
	require.NotContains(t, err.Error(), "user")
	require.Contains(t, err.Error(), "http://127.0.0.1:1/hook")
}

func TestParseAllow(t *testing.T) {
	t.Parallel()
	got, err := egress.ParseAllow(" 127.0.0.0/8, ::1 ,10.1.2.3,172.18.0.0/16,")
	require.NoError(t, err)
	require.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("10.1.2.3/32"), netip.MustParsePrefix("172.18.0.0/16"),
	}, got)
	got, err = egress.ParseAllow("")
	require.NoError(t, err)
	require.Empty(t, got)
	_, err = egress.ParseAllow("127.0.0.0/8,localhost")
	require.ErrorContains(t, err, `"localhost" is neither an address nor a CIDR range`)
	_, err = egress.ParseAllow("10.0.0.0/33")
	require.Error(t, err)
}

func TestRedactIn(t *testing.T) {
	t.Parallel()
	raw := "https://app:pa55@hooks.example.com/h?token=s3cret"
	for _, msg := range []string{
		`notification rejected: Post "` + raw + `": HTTP 410`,
		`Post "https://app:***@hooks.example.com/h?token=s3cret": dial tcp: i/o timeout`,
	} {
		got := egress.RedactIn(msg, raw)
		require.NotContains(t, got, "s3cret")
		require.NotContains(t, got, "pa55")
		require.Contains(t, got, `"https://hooks.example.com/h"`)
	}
	require.Equal(t, "as is", egress.RedactIn("as is", ""))
}
