#!/usr/bin/env bash
# Runs genflow's local stack on loopback: the Temporal dev server with its
# Web UI, the fake ModelsLab, the webhook gateway and the worker.
#
#   scripts/stack.sh up      build, start everything, wait until ready
#   scripts/stack.sh down    stop everything
#   scripts/stack.sh status  show what runs
#
# State and logs live in .run/ (GENFLOW_RUN_DIR overrides it; the dev
# server keeps its history in temporal.db there across restarts). Ports:
# Temporal 7233, UI 8233, gateway 8080 (webhooks), gateway admin 9091
# (/readyz, /metrics), fake ModelsLab 8090, worker metrics 9090; override
# with TEMPORAL_PORT, UI_PORT, GATEWAY_PORT, GATEWAY_ADMIN_PORT,
# FAKE_PORT, WORKER_METRICS_PORT. Outputs of runs started with --store
# are copied to .run/outputs (STORE_URL overrides it, e.g. s3://bucket
# with STORE_S3_*). TEMPORAL_DEV_ARGS adds
# flags to `temporal server start-dev`. SQLite runs in WAL mode with
# synchronous=normal: safe across process crashes, and it halves the time
# a batch spends waiting on fsync (see docs/benchmarks.md); only an OS
# crash can lose the last transactions of this local dev server. Task
# queues have one partition (with four, 1% of workflows waited 2-4 s for a
# poller), and the worker and gateway send Temporal uncompressed requests
# (TEMPORAL_GRPC_COMPRESSION=none); both measured by go run ./bench.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUN="${GENFLOW_RUN_DIR:-$ROOT/.run}"
export PATH="/usr/local/go/bin:$PATH"
GOBIN="$(go env GOPATH)/bin"
TEMPORAL="${TEMPORAL_CLI:-$GOBIN/temporal}"

TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
UI_PORT="${UI_PORT:-8233}"
GATEWAY_PORT="${GATEWAY_PORT:-8080}"
GATEWAY_ADMIN_PORT="${GATEWAY_ADMIN_PORT:-9091}"
FAKE_PORT="${FAKE_PORT:-8090}"
WORKER_METRICS_PORT="${WORKER_METRICS_PORT:-9090}"

say() { printf '\033[1m%s\033[0m\n' "$*"; }

pid_alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

start() { # name, command...
	local name=$1; shift
	if pid_alive "$name"; then
		echo "  $name already running (pid $(cat "$RUN/$name.pid"))"
		return
	fi
	nohup "$@" >"$RUN/$name.log" 2>&1 &
	echo $! >"$RUN/$name.pid"
	echo "  $name started (pid $!, log $RUN/$name.log)"
}

wait_for() { # what, seconds, command...
	local what=$1 secs=$2; shift 2
	for _ in $(seq 1 $((secs * 5))); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.2
	done
	echo "stack: $what not ready after ${secs}s; see .run/*.log" >&2
	return 1
}

http_ok() { curl -fsS -o /dev/null "$1"; }

up() {
	mkdir -p "$RUN"
	"$ROOT/scripts/install-tools.sh"
	say "Building genflow binaries into bin/"
	(cd "$ROOT" && go build -o bin/ ./cmd/...)
	if [ ! -s "$RUN/webhook-secret" ]; then
		head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$RUN/webhook-secret"
	fi
	local secret; secret="$(cat "$RUN/webhook-secret")"
	# The worker signs notifications (--notify) with a Standard Webhooks
	# key, whsec_ + base64 of 32 random bytes as notify.NewSecret makes it;
	# a receiver verifies them with the same key. NOTIFY_SECRETS overrides.
	if [ ! -s "$RUN/notify-secret" ]; then
		printf 'whsec_%s' "$(head -c 32 /dev/urandom | base64 | tr -d '\n')" >"$RUN/notify-secret"
	fi
	local notify_secret; notify_secret="$(cat "$RUN/notify-secret")"

	say "Starting the local stack"
	start temporal "$TEMPORAL" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$UI_PORT" \
		--db-filename "$RUN/temporal.db" --log-level warn \
		--search-attribute GenflowEndpoint=Keyword --search-attribute GenflowModel=Keyword \
		--search-attribute GenflowOwner=Keyword --search-attribute GenflowState=Keyword \
		--search-attribute GenflowParentID=Keyword \
		--sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
		--dynamic-config-value system.enableActivityEagerExecution=true \
		--dynamic-config-value matching.numTaskqueueReadPartitions=1 \
		--dynamic-config-value matching.numTaskqueueWritePartitions=1 ${TEMPORAL_DEV_ARGS:-}
	wait_for "Temporal" 60 "$TEMPORAL" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT"

	FAKE_LISTEN_ADDR="127.0.0.1:$FAKE_PORT" FAKE_PROCESSING_TIME="${FAKE_PROCESSING_TIME:-3s}" \
		start fakemodelslab "$ROOT/bin/fakemodelslab"
	wait_for "fake ModelsLab" 20 http_ok "http://127.0.0.1:$FAKE_PORT/_fake/healthz"

	export TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT" WEBHOOK_SECRETS="$secret" \
		TEMPORAL_GRPC_COMPRESSION="${TEMPORAL_GRPC_COMPRESSION:-none}" \
		TEMPORAL_UI_URL="${TEMPORAL_UI_URL:-http://localhost:$UI_PORT}"
	GATEWAY_LISTEN_ADDR="127.0.0.1:$GATEWAY_PORT" GATEWAY_ADMIN_ADDR="127.0.0.1:$GATEWAY_ADMIN_PORT" \
		start gateway "$ROOT/bin/gateway"
	wait_for "gateway" 20 http_ok "http://127.0.0.1:$GATEWAY_ADMIN_PORT/readyz"

	# The fake serves its output files on loopback, and local notify
	# receivers listen there: the worker may reach loopback, which its
	# outbound policy refuses by default (OUTBOUND_ALLOW_CIDRS).
	MODELSLAB_BASE_URL="http://127.0.0.1:$FAKE_PORT/api/" MODELSLAB_API_KEY="${MODELSLAB_API_KEY:-local-dev-key}" \
		GATEWAY_PUBLIC_URL="http://127.0.0.1:$GATEWAY_PORT" WORKER_METRICS_ADDR="127.0.0.1:$WORKER_METRICS_PORT" \
		STORE_URL="${STORE_URL:-file://$RUN/outputs}" OUTBOUND_ALLOW_CIDRS="${OUTBOUND_ALLOW_CIDRS:-127.0.0.0/8,::1}" \
		NOTIFY_SECRETS="${NOTIFY_SECRETS:-$notify_secret}" \
		start worker "$ROOT/bin/worker"
	if ! wait_for "worker" 20 http_ok "http://127.0.0.1:$WORKER_METRICS_PORT/metrics"; then
		tail -5 "$RUN/worker.log" >&2
		exit 1
	fi

	say "Stack is up"
	echo "  Temporal      127.0.0.1:$TEMPORAL_PORT"
	echo "  Temporal UI   http://localhost:$UI_PORT"
	echo "  gateway       http://127.0.0.1:$GATEWAY_PORT  (webhooks, /healthz); admin http://127.0.0.1:$GATEWAY_ADMIN_PORT (/healthz, /readyz, /metrics)"
	echo "  fake ModelsLab http://127.0.0.1:$FAKE_PORT/api/  (stats at /_fake/stats)"
	echo "  metrics       http://127.0.0.1:$WORKER_METRICS_PORT/metrics (worker), http://127.0.0.1:$GATEWAY_ADMIN_PORT/metrics (gateway)"
	echo "  outputs       ${STORE_URL:-file://$RUN/outputs}  (stored copies of runs started with --store)"
	echo "  notify key    $RUN/notify-secret  (signs the notifications of runs started with --notify)"
	echo "  stop it with: scripts/stack.sh down"
}

down() {
	for name in worker gateway fakemodelslab temporal; do
		if pid_alive "$name"; then
			kill "$(cat "$RUN/$name.pid")" 2>/dev/null || true
			for _ in $(seq 1 50); do pid_alive "$name" || break; sleep 0.2; done
			pid_alive "$name" && kill -9 "$(cat "$RUN/$name.pid")" 2>/dev/null || true
			echo "  $name stopped"
		fi
		rm -f "$RUN/$name.pid"
	done
}

status() {
	for name in temporal fakemodelslab gateway worker; do
		if pid_alive "$name"; then echo "  $name running (pid $(cat "$RUN/$name.pid"))"; else echo "  $name stopped"; fi
	done
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
*) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
