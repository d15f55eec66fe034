package contract_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
)

// TestLimiterInputCarriedState: the state a limiter input carries reads
// the same from both forms (bench account-scale read only Carry and
// counted 0 entries in a compressed carry).
func TestLimiterInputCarriedState(t *testing.T) {
	t.Parallel()
	c := contract.LimiterCarry{
		Holders: []contract.LimiterEntry{{Holder: "h", RunID: "r", Seq: 1}},
		Waiters: []contract.LimiterEntry{{Holder: "w", RunID: "r", Key: "k", Seq: 2}},
		Seq:     2,
	}
	gz, err := contract.EncodeLimiterCarry(c)
	require.NoError(t, err)
	for name, in := range map[string]contract.LimiterInput{
		"plain": {Carry: &c}, "gzip": {CarryGzip: gz},
	} {
		got, err := in.CarriedState()
		require.NoError(t, err, name)
		require.NotNil(t, got, name)
		require.Len(t, got.Holders, 1, name)
		require.Len(t, got.Waiters, 1, name)
	}
	none, err := contract.LimiterInput{Limit: 5}.CarriedState()
	require.NoError(t, err)
	require.Nil(t, none, "a first start carries nothing")
	_, err = contract.LimiterInput{CarryGzip: []byte("not gzip")}.CarriedState()
	require.Error(t, err)
}
