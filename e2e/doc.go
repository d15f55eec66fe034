// Package e2e holds genflow's end-to-end tests: a real Temporal dev server
// (the Temporal CLI, found through TEMPORAL_CLI or in $(go env GOPATH)/bin),
// the real worker, the real gateway over a real socket and the fake
// ModelsLab over HTTP, driven through the starter's code path. `make test`
// installs the CLI and sets TEMPORAL_CLI; without it these tests skip.
package e2e
