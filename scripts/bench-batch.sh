#!/usr/bin/env bash
# Batch benchmark on a local stack of its own (ports 17233/18233/18080/
# 18090/19090, state in .run-bench/, removed first so every run starts from an
# empty dev server): the fake answers every submit at once, so this
# measures genflow and Temporal, not the provider.
#   scripts/bench-batch.sh [ITEMS...]      default: 1000 10000
#   CONCURRENCY=5 (default) sets the batch's window.
# Restarts the worker before each size so its peak memory is that run's.
# Prints one JSON report per size and stops the stack at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
sizes=("$@"); [ ${#sizes[@]} -eq 0 ] && sizes=(1000 10000)
CONCURRENCY="${CONCURRENCY:-5}"

export GENFLOW_RUN_DIR="$PWD/.run-bench" TEMPORAL_PORT=17233 UI_PORT=18233 GATEWAY_PORT=18080 FAKE_PORT=18090 \
	WORKER_METRICS_PORT=19090
scripts/stack.sh down >/dev/null 2>&1 || true
rm -rf "$GENFLOW_RUN_DIR"
trap 'scripts/stack.sh down >/dev/null 2>&1 || true' EXIT
scripts/stack.sh up >/dev/null
go build -o bin/ ./cmd/benchbatch
export TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT"
for n in "${sizes[@]}"; do
	pid="$(cat "$GENFLOW_RUN_DIR/worker.pid")"
	kill "$pid" && while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
	rm -f "$GENFLOW_RUN_DIR/worker.pid"
	scripts/stack.sh up >/dev/null
	echo "== $n items, concurrency $CONCURRENCY" >&2
	bin/benchbatch -n "$n" -concurrency "$CONCURRENCY" -fake-url "http://127.0.0.1:$FAKE_PORT" \
		-worker-pid "$(cat "$GENFLOW_RUN_DIR/worker.pid")"
done
