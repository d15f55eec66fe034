#!/usr/bin/env bash
# Installs the tools genflow's stack and tests need, outside the clone, into
# $(go env GOPATH)/bin: the Temporal CLI (dev server + Web UI),
# workflowcheck and golangci-lint. Both come from the Go module proxy; nothing is downloaded
# from elsewhere. Idempotent: tools already at the right version are kept.
set -euo pipefail

TEMPORAL_CLI_VERSION="${TEMPORAL_CLI_VERSION:-v1.5.1}"
WORKFLOWCHECK_VERSION="${WORKFLOWCHECK_VERSION:-v0.6.0}"
GOLANGCI_LINT_VERSION="${GOLANGCI_LINT_VERSION:-v2.15.0}"

export PATH="/usr/local/go/bin:$PATH"
if ! command -v go >/dev/null; then
	echo "install-tools: Go is not installed (expected /usr/local/go/bin/go)" >&2
	exit 1
fi
GOBIN="$(go env GOPATH)/bin"
mkdir -p "$GOBIN"

# Build outside the clone so its go.mod does not get in the way.
cd "$(mktemp -d)"

temporal_ok() {
	[ -x "$GOBIN/temporal" ] && "$GOBIN/temporal" --version 2>/dev/null | grep -q "Server 1.29.1"
}
if temporal_ok; then
	echo "install-tools: Temporal CLI present: $("$GOBIN/temporal" --version)"
else
	echo "install-tools: building the Temporal CLI $TEMPORAL_CLI_VERSION from the Go module proxy."
	echo "install-tools: the FIRST build takes about 10 minutes on 2 cores; later runs reuse it."
	start=$(date +%s)
	GOBIN="$GOBIN" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
	echo "install-tools: Temporal CLI built in $(( $(date +%s) - start ))s: $("$GOBIN/temporal" --version)"
fi

if [ -x "$GOBIN/workflowcheck" ]; then
	echo "install-tools: workflowcheck present"
else
	echo "install-tools: building workflowcheck $WORKFLOWCHECK_VERSION"
	GOBIN="$GOBIN" go install "go.temporal.io/sdk/contrib/tools/workflowcheck@$WORKFLOWCHECK_VERSION"
fi

golangci_ok() {
	[ -x "$GOBIN/golangci-lint" ] && "$GOBIN/golangci-lint" version 2>/dev/null | grep -q "version ${GOLANGCI_LINT_VERSION#v} "
}
if golangci_ok; then
	echo "install-tools: golangci-lint present: $("$GOBIN/golangci-lint" version 2>/dev/null | head -1)"
else
	echo "install-tools: building golangci-lint $GOLANGCI_LINT_VERSION from the Go module proxy (the first build takes a few minutes)"
	start=$(date +%s)
	GOBIN="$GOBIN" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION"
	echo "install-tools: golangci-lint built in $(( $(date +%s) - start ))s"
fi
