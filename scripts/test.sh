#!/usr/bin/env bash
# Runs everything CI runs: gofmt, go vet, workflowcheck over workflows/,
# golangci-lint,
# then every test with the race detector: unit, workflow, replay, fuzz
# seeds and the end-to-end tests on a real Temporal dev server.
# Installs the Temporal CLI and workflowcheck first (the first build of the
# CLI takes about 10 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
GOBIN="$(go env GOPATH)/bin"

scripts/install-tools.sh

echo "== gofmt"
unformatted="$(gofmt -l $(git ls-files '*.go'))"
if [ -n "$unformatted" ]; then
	echo "not gofmt-ed:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== workflowcheck ./workflows/..."
"$GOBIN/workflowcheck" ./workflows/...
echo "== golangci-lint (.golangci.yml)"
"$GOBIN/golangci-lint" run ./...
echo "== go test -race"
TEMPORAL_CLI="$GOBIN/temporal" go test -race -count=1 "$@" ./...
