#!/usr/bin/env bash
# The quick start: brings up the local stack (Temporal dev server with its
# Web UI, fake ModelsLab, gateway, worker) and runs one generation through
# the starter, printing its result and its Temporal UI link. The stack keeps
# running afterwards; `scripts/stack.sh down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

for tool in curl; do
	if ! command -v "$tool" >/dev/null; then
		echo "demo: installing $tool"
		SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
		$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$tool"
	fi
done

scripts/stack.sh up
echo
printf '\033[1m%s\033[0m\n' "Running a generation through the starter (fake ModelsLab; the result comes back by webhook through the gateway)"
export TEMPORAL_ADDRESS="127.0.0.1:${TEMPORAL_PORT:-7233}"
# The runs' Temporal UI links point at this stack's UI (UI_PORT).
export TEMPORAL_UI_URL="${TEMPORAL_UI_URL:-http://localhost:${UI_PORT:-8233}}"
track="demo-$(date +%Y%m%d-%H%M%S)"
./bin/starter generate text2img --model flux --prompt "a red fox in fresh snow, golden hour" \
	--param width=512 --param height=512 --track-id "$track" --store --wait
echo
printf '\033[1m%s\033[0m\n' "Fetching the stored copy (checked by SHA-256) into ${GENFLOW_RUN_DIR:-.run}/downloads/$track"
./bin/starter result "$track" --download "${GENFLOW_RUN_DIR:-.run}/downloads/$track"
echo
echo "The stack keeps running. Open http://localhost:${UI_PORT:-8233} for the Temporal UI."
echo "Try: ./bin/starter generate music_gen --prompt 'lofi beat' --wait"
echo "     ./bin/starter list          (what ran, its state and summary; show/result/cancel TRACK_ID)"
echo "     curl -s http://127.0.0.1:${WORKER_METRICS_PORT:-9090}/metrics | grep ^genflow_"
echo "Stop it with: scripts/stack.sh down"
