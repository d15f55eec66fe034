package egress

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// The dialer's Control hook checks the address the socket connects to,
// whatever resolved it: the last line against DNS rebinding.
func TestControlChecksTheConnectedAddress(t *testing.T) {
	t.Parallel()
	p := Policy{}
	require.ErrorIs(t, p.control("tcp4", "127.0.0.1:80", nil), ErrRefused)
	require.ErrorIs(t, p.control("tcp4", "169.254.169.254:80", nil), ErrRefused)
	require.ErrorIs(t, p.control("tcp6", "[fe80::1%eth0]:80", nil), ErrRefused)
	require.ErrorIs(t, p.control("tcp", "not an address", nil), ErrRefused)
	require.NoError(t, p.control("tcp4", "93.184.215.14:443", nil))
	allowed := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	require.NoError(t, allowed.control("tcp4", "127.0.0.1:80", nil))
}
