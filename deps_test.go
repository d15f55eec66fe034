package genflow_test

import (
	"go/build"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDependencies holds the package to its promise: a program that
// imports it does not link the CLI, the gateway, the storage backends,
// the metrics exporters or genflow's wiring.
func TestDependencies(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(build.Default.GOROOT, "bin", "go")
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/genflow/genflow").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/genflow/genflow/contract", "the list is the package's")

	forbidden := []string{
		"github.com/gin-gonic/gin",
		"github.com/spf13/cobra",
		"github.com/minio/minio-go",
		"github.com/prometheus/client_golang",
		"go.opentelemetry.io",
	}
	for _, p := range []string{"starter", "webhookgateway", "webhookurl", "storage", "notify", "config", "workflows",
		"activities", "worker", "metrics", "fakemodelslab", "internal"} {
		forbidden = append(forbidden, "github.com/genflow/genflow/"+p)
	}
	var genflow []string
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") {
				t.Errorf("package genflow links %s", d)
			}
		}
		if strings.HasPrefix(d, "github.com/genflow/genflow") {
			genflow = append(genflow, d)
		}
	}
	t.Logf("genflow packages linked: %s", strings.Join(genflow, " "))
}
