#!/usr/bin/env bash
# Batch benchmark on the local stack: the fake answers every submit at
# once, so this measures genflow and Temporal, not the provider.
#   scripts/bench-batch.sh [ITEMS...]      default: 1000 10000
# Restarts the stack's worker before each size so its peak memory is that
# run's. Prints one JSON report per size.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
sizes=("$@"); [ ${#sizes[@]} -eq 0 ] && sizes=(1000 10000)
CONCURRENCY="${CONCURRENCY:-5}"

scripts/stack.sh up >/dev/null
go build -o bin/ ./cmd/benchbatch
export TEMPORAL_ADDRESS="127.0.0.1:${TEMPORAL_PORT:-7233}"
for n in "${sizes[@]}"; do
	# A fresh worker, so VmHWM is this run's peak.
	kill "$(cat .run/worker.pid)" && while kill -0 "$(cat .run/worker.pid)" 2>/dev/null; do sleep 0.2; done
	rm -f .run/worker.pid
	scripts/stack.sh up >/dev/null
	echo "== $n items, concurrency $CONCURRENCY" >&2
	bin/benchbatch -n "$n" -concurrency "$CONCURRENCY" -worker-pid "$(cat .run/worker.pid)"
done
