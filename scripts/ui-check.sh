#!/usr/bin/env bash
# Browser check of the Temporal Web UI of the local stack: runs the demo's
# generation (and a two-item batch), opens the UI in headless Chromium and
# saves screenshots of the workflow list and of the generation's page into
# docs/screenshots/. Fails (exit 1) when the runs, their search attributes,
# the generation's summary, current details or activity and timer
# summaries (its outputs stored: --store) are not shown.
#
#   scripts/ui-check.sh              # brings the stack up if it is down
#   UI_CHECK_OUT=/tmp/shots scripts/ui-check.sh
#
# Needs Debian's chromium (installed if missing) and playwright-core from
# npm, installed into .run/ui-check/ (git-ignored), never a downloaded
# browser. Not part of scripts/test.sh: it needs Chromium and a stack of
# its own, and CI's run must stay well within its time budget.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

UI_PORT="${UI_PORT:-8233}"
TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
OUT="${UI_CHECK_OUT:-$PWD/docs/screenshots}"

# shellcheck source=browser-tools.sh
. scripts/browser-tools.sh
browser_tools ui-check

# The stack: started if it is not up, binaries rebuilt either way.
scripts/stack.sh up >/dev/null

export TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT"
stamp="$(date +%s)"
TRACK_ID="ui-check-$stamp"
BATCH_ID="ui-check-batch-$stamp"
PROMPT="a red fox in fresh snow, golden hour"
echo "ui-check: running the demo's generation as $TRACK_ID"
./bin/starter generate text2img --model flux --prompt "$PROMPT" --param width=512 --param height=512 \
	--owner demo --track-id "$TRACK_ID" --store --wait >/dev/null
prompts="$(mktemp)"
trap 'rm -f "$prompts"' EXIT
printf 'a lighthouse on a cliff at dusk\na harbour at dawn, fishing boats\n' >"$prompts"
./bin/starter batch "$prompts" --endpoint text2img --model flux --owner demo --id "$BATCH_ID" \
	--wait --results /dev/null >/dev/null
RUN_ID="$(./bin/starter show "$TRACK_ID" --json | sed -n 's/^  "run_id": "\(.*\)",$/\1/p')"

mkdir -p "$OUT"
UI_URL="http://localhost:$UI_PORT" TRACK_ID="$TRACK_ID" RUN_ID="$RUN_ID" BATCH_ID="$BATCH_ID" \
	SUMMARY="images/text2img: $PROMPT" OUT="$OUT" CHROMIUM="$CHROMIUM" \
	NODE_PATH="$TOOLS/node_modules" node scripts/ui-check.cjs
