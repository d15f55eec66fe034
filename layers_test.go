package genflow_test

import (
	"os/exec"
	"strings"
	"testing"
)

// layers are genflow's packages from the bottom up (docs/architecture.md,
// "Layers"): each may import genflow packages of lower layers only, so
// the public API stays small and nothing below the top links the CLI,
// gin or the storage backends by accident. A package not listed here
// fails the test: place it.
var layers = [][]string{
	// The contract, the one track_id rule, the build's version, the
	// outbound HTTP policy.
	{"contract", "trackid", "internal/version", "internal/testenv", "internal/tlstest", "internal/egress"},
	// The provider client, the webhook URL signer, storage, notification
	// signing.
	{"modelslab", "webhookurl", "storage", "notify"},
	// What reads the provider's catalogue or the environment.
	{"fakemodelslab", "pipeline", "internal/config", "internal/metrics", "internal/s3test"},
	// The public client package.
	{""},
	// Activities and workflows.
	{"activities"},
	{"workflows"},
	// Wiring: the worker, the gateway, the CLI.
	{"worker", "webhookgateway", "starter"},
	// Mains and whole-stack programs and tests.
	{"cmd/worker", "cmd/gateway", "cmd/starter", "cmd/fakemodelslab", "cmd/healthcheck",
		"bench", "faults", "internal/localstack", "e2e", "deploy"},
}

// apart are imports the layers would allow that genflow keeps out all
// the same: the CLI builds on the client package, not on the worker's
// code, and the configuration reads text, not storage or signing keys.
var apart = map[string][]string{
	"starter":         {"activities", "workflows", "worker", "webhookgateway"},
	"internal/config": {"storage", "notify"},
}

func TestLayers(t *testing.T) {
	t.Parallel()
	const module = "github.com/genflow/genflow"
	layerOf := map[string]int{}
	for i, l := range layers {
		for _, p := range l {
			layerOf[p] = i
		}
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	rel := func(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, module), "/") }
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		name := rel(pkg)
		li, ok := layerOf[name]
		if !ok {
			t.Errorf("package %q is in no layer: add it to layers", name)
			continue
		}
		for _, imp := range strings.Fields(imports) {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if lj := layerOf[rel(imp)]; lj >= li {
				t.Errorf("%q (layer %d) imports %q (layer %d): a package imports only packages below it", name, li, rel(imp), lj)
			}
			for _, no := range apart[name] {
				if rel(imp) == no {
					t.Errorf("%q imports %q, which it is kept apart from", name, no)
				}
			}
		}
	}
}
