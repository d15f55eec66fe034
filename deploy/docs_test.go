package deploy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/genflow/genflow/contract"
)

// TestDocsNameWhatTheBinariesRead checks that the README names every
// variable worker, gateway and starter read, the Temporal CLI's settings
// included, and that docs/deploy.md creates the search attributes the
// contract lists wherever a Temporal is set up by hand.
func TestDocsNameWhatTheBinariesRead(t *testing.T) {
	t.Parallel()
	readme := readFile(t, "README.md")
	for _, name := range []string{"worker", "gateway", "starter"} {
		for _, v := range readsOf[name] {
			require.Contains(t, readme, "`"+v+"`", "%s reads %s but the README does not name it", name, v)
		}
	}
	require.Contains(t, readme, "`TEMPORAL_GRPC_META_*`")
	for _, flag := range []string{"`--address`", "`--namespace` (`-n`)", "`--profile`"} {
		require.Contains(t, readme, flag, "the starter's connection flags")
	}
	require.Contains(t, readme, "(docs/deploy.md#temporal-cloud-and-your-own-temporal)")

	deploy := readFile(t, "docs/deploy.md")
	require.Contains(t, deploy, "\n## Temporal Cloud and your own Temporal\n")
	require.Contains(t, deploy, "(#temporal-cloud-and-your-own-temporal)")
	require.NotContains(t, deploy, "need no other change", "reaching another Temporal takes more than its address")
	var names []string
	for _, sa := range contract.SearchAttributeNames {
		name, typ, ok := strings.Cut(sa, "=")
		require.True(t, ok, sa)
		names = append(names, name)
		// tcld, for a new namespace and for an existing one.
		require.Equal(t, 2, strings.Count(deploy, "--sa "+sa+" ")+strings.Count(deploy, "--sa "+sa+"\n"), "tcld commands for %s", sa)
		require.Equal(t, "Keyword", typ, "the temporal operator loop creates Keyword attributes")
	}
	require.Contains(t, deploy, "for sa in "+strings.Join(names, " ")+"; do")
	require.Contains(t, deploy, `SEARCH_ATTRIBUTES="`+strings.Join(contract.SearchAttributeNames, " ")+`"`)

	// The override and the variables it reads are the ones the guide uses.
	override := readFile(t, "deploy/compose.temporal-cloud.yml")
	for _, v := range []string{"GENFLOW_TEMPORAL_ADDRESS", "TEMPORAL_CLIENT_DIR", "TEMPORAL_GRPC_COMPRESSION"} {
		require.Contains(t, override, "${"+v+":-", v)
		require.Contains(t, deploy, "`"+v+"`", v)
	}
	require.True(t, slices.ContainsFunc(strings.Split(deploy, "\n"), func(l string) bool {
		return strings.HasPrefix(l, "COMPOSE_FILE=docker-compose.yml:deploy/compose.temporal-cloud.yml")
	}))
}
