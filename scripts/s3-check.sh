#!/usr/bin/env bash
# Runs the storage tests and the S3 end-to-end test against a real
# S3-compatible server as well as the S3 protocol test server: SeaweedFS's
# S3 gateway (`weed mini`, Apache-2.0), started on loopback in a temporary
# directory and stopped afterwards. Not part of scripts/test.sh: the first
# build of SeaweedFS takes about 10 minutes on 2 cores (it is kept in
# $(go env GOPATH)/bin/weed for later runs).
#
#   scripts/s3-check.sh
#
# The tests see the server through GENFLOW_TEST_S3_ENDPOINT,
# GENFLOW_TEST_S3_ACCESS_KEY and GENFLOW_TEST_S3_SECRET_KEY; every backend
# test then runs against it too, each in a bucket of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
SEAWEEDFS_VERSION="${SEAWEEDFS_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}" # weed 4.53
GOBIN="$(go env GOPATH)/bin"
WEED="$GOBIN/weed"
PORT="${S3_CHECK_PORT:-8333}"

if [ ! -x "$WEED" ]; then
	echo "s3-check: building SeaweedFS ($SEAWEEDFS_VERSION) from the Go module proxy into $WEED."
	echo "s3-check: the FIRST build takes about 10 minutes on 2 cores; later runs reuse it."
	start=$(date +%s)
	# Its go.mod has replace directives, so `go install pkg@version` refuses
	# it: build inside a copy of the module instead.
	src="$(mktemp -d)"
	(cd "$src" && go mod download "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION")
	mod="$(go env GOMODCACHE)/github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION"
	cp -r "$mod/." "$src/seaweedfs" && chmod -R u+w "$src/seaweedfs"
	(cd "$src/seaweedfs" && go build -o "$WEED" ./weed)
	rm -rf "$src"
	echo "s3-check: built in $(( $(date +%s) - start ))s: $("$WEED" version)"
fi

data="$(mktemp -d)"
AWS_ACCESS_KEY_ID=genflow AWS_SECRET_ACCESS_KEY=genflow-s3-check \
	"$WEED" mini -dir="$data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.port="$PORT" >"$data/weed.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 60); do
	if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then break; fi
	if ! kill -0 $pid 2>/dev/null; then
		echo "s3-check: weed mini stopped:" >&2
		tail -20 "$data/weed.log" >&2
		exit 1
	fi
	sleep 1
done
echo "s3-check: SeaweedFS $("$WEED" version 2>/dev/null | head -1) serving S3 on http://127.0.0.1:$PORT"

export GENFLOW_TEST_S3_ENDPOINT="http://127.0.0.1:$PORT" GENFLOW_TEST_S3_ACCESS_KEY=genflow \
	GENFLOW_TEST_S3_SECRET_KEY=genflow-s3-check
go test -count=1 -v -run 'Backend|Copy|Download|Locations|LargeOutput' ./storage | grep -E '^(---|    ---|ok|FAIL|PASS)'
go test -count=1 -v -run 'TestStoredOutputsAndNotificationEndToEnd' ./e2e | grep -E '^(---|ok|FAIL|PASS)'
echo "s3-check: every storage test passed against SeaweedFS's S3 gateway too"
