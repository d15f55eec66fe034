#!/usr/bin/env bash
# Records the Generation replay fixtures of workflows/testdata/histories/
# from real runs: a stack of its own (ports 27233/28233/28080/28090/29090,
# state in .run-record/, removed first), the fake ModelsLab steered into
# each scenario, `starter generate --wait`, then `temporal workflow show
# --output json`. workflows/replay_test.go replays every fixture against
# the current code.
#
#   scripts/record-histories.sh [NAME...]     default: every scenario
#
# GENFLOW_SOURCE=DIR records with the stack and binaries of another
# checkout (an older commit, say, for the histories its runs leave);
# PREFIX=v1- names the files v1-NAME.json.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="$PWD/workflows/testdata/histories"
SRC="${GENFLOW_SOURCE:-$PWD}"
PREFIX="${PREFIX:-}"
export PATH="/usr/local/go/bin:$(/usr/local/go/bin/go env GOPATH)/bin:$PATH"

export GENFLOW_RUN_DIR="$PWD/.run-record" TEMPORAL_PORT=27233 UI_PORT=28233 GATEWAY_PORT=28080 FAKE_PORT=28090 \
	WORKER_METRICS_PORT=29090 GATEWAY_ADMIN_PORT=29091
# Every submit is processed in 1 ms; scenarios that need the webhook later
# delay it with the delay fault.
export FAKE_PROCESSING_TIME=1ms
stack() { (cd "$SRC" && scripts/stack.sh "$@"); }
stack down >/dev/null 2>&1 || true
rm -rf "$GENFLOW_RUN_DIR"
trap 'stack down >/dev/null 2>&1 || true' EXIT
stack up >/dev/null
export TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT"

faults() {
	curl -fsS -X PUT -H 'Content-Type: application/json' --data "$1" \
		"http://127.0.0.1:$FAKE_PORT/_fake/faults" >/dev/null
}

# record NAME FAULTS STARTER-ARGS...: one generation, its history saved.
record() {
	local name="$1" f="$2"; shift 2
	local id="replay-$name-$(date +%s%N | tail -c 7)"
	faults "$f"
	"$SRC/bin/starter" generate "$@" --track-id "$id" --wait >/dev/null 2>&1 || true
	temporal workflow show --address "$TEMPORAL_ADDRESS" -w "$id" --output json >"$OUT/$PREFIX$name.json"
	echo "$PREFIX$name.json: $(grep -c '"eventId"' "$OUT/$PREFIX$name.json") events ($id)"
}

# at_hand ID: whether the run's webhook signal came before its second
# workflow task started (it was at hand when the submit's result was).
at_hand() {
	temporal workflow show --address "$TEMPORAL_ADDRESS" -w "$1" --output json |
		grep -o '"eventType": *"[A-Z_]*"' | awk -F'"' '
			$4 == "EVENT_TYPE_WORKFLOW_TASK_STARTED" { started++ }
			$4 == "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED" { if (started < 2) hand = 1; exit }
			END { exit !hand }'
}

# record_at_hand NAME: 20 generations at once, so that the webhook beats
# the submit's workflow task (under load it does); the first that did is
# saved.
record_at_hand() {
	local name="$1" tag; tag="$(date +%s%N | tail -c 7)"
	faults '{}'
	for i in $(seq 1 20); do
		"$SRC/bin/starter" generate text2img --model flux --prompt "replay $name $i" \
			--track-id "replay-$name-$tag-$i" --wait >/dev/null 2>&1 &
	done
	wait
	for i in $(seq 1 20); do
		if at_hand "replay-$name-$tag-$i"; then
			temporal workflow show --address "$TEMPORAL_ADDRESS" -w "replay-$name-$tag-$i" --output json \
				>"$OUT/$PREFIX$name.json"
			echo "$PREFIX$name.json: $(grep -c '"eventId"' "$OUT/$PREFIX$name.json") events (replay-$name-$tag-$i)"
			return
		fi
	done
	echo "$name: no run had its webhook at hand; try again" >&2
	return 1
}

# record_queued NAME: with ACCOUNT_QUEUE_LIMIT=1 (see account-* below), a
# blocker generation holds the account's one slot while NAME's waits in
# phase queued for the limiter's grant.
record_queued() {
	local name="$1" tag; tag="$(date +%s%N | tail -c 7)"
	faults "$later"
	"$SRC/bin/starter" generate text2img --model flux --prompt "blocker" --track-id "replay-blocker-$tag" --wait \
		>/dev/null 2>&1 &
	sleep 1
	record "$name" "$later" text2img --model flux --prompt "replay $name"
	wait
}

# record_limiter NAME: the account-queued scenario (a blocker holds the
# one slot, a second run waits for its grant), then the AccountLimiter's
# own history (it runs on: the fixture ends open).
record_limiter() {
	local name="$1" id
	record_queued "replay-limiter-run"
	rm -f "$OUT/${PREFIX}replay-limiter-run.json"
	id="$(temporal workflow list --address "$TEMPORAL_ADDRESS" --query "WorkflowType='AccountLimiter'" --output json |
		grep -o '"workflowId": *"[^"]*"' | head -1 | cut -d'"' -f4)"
	[ -n "$id" ] || { echo "$name: no AccountLimiter ran (ACCOUNT_QUEUE_LIMIT=1 in the environment?)" >&2; return 1; }
	temporal workflow show --address "$TEMPORAL_ADDRESS" -w "$id" --output json >"$OUT/$PREFIX$name.json"
	echo "$PREFIX$name.json: $(grep -c '"eventId"' "$OUT/$PREFIX$name.json") events ($id)"
}

# record_pipeline NAME ARGS...: one pipeline run, ID replay-NAME (the
# replay test needs it: children are named after it).
record_pipeline() {
	local name="$1"; shift
	faults '{}'
	"$SRC/bin/starter" pipeline run "$@" --id "replay-$name" --wait >/dev/null 2>&1 || true
	temporal workflow show --address "$TEMPORAL_ADDRESS" -w "replay-$name" --output json >"$OUT/$PREFIX$name.json"
	echo "$PREFIX$name.json: $(grep -c '"eventId"' "$OUT/$PREFIX$name.json") events (replay-$name)"
}

# Notifications go to the gateway's /healthz, which refuses a POST: the
# Notify activity runs and fails for good, as a receiver that says no.
# The stack's worker stores outputs in .run-record/outputs.
notify_url="http://127.0.0.1:$GATEWAY_PORT/healthz"
later='{"rates":{"delay":1},"delay":"2s"}'
# The fixtures recorded before GetVersion submit-races-webhook (all but
# the two below) hold the commands of runs started earlier: re-record them
# only with GENFLOW_SOURCE at such a commit, or they stop guarding those
# runs. webhook-during-submit: the fake takes the request at once and holds
# its reply 5 s, so the webhook comes while Submit runs and settles the
# run. deadline-first-poll: no webhook, a deadline before eta + grace, one
# fetch at the deadline finds the result. webhook-id-mismatch (version 2
# of submit-races-webhook): the webhook names another provider request
# (the fake's wrong-id fault), is not taken, and the poll brings the result.
# account-slot and account-queued (version 3): the run takes a slot of the
# account from the AccountLimiter before Submit (granted at once; queued
# behind a blocker) and releases it at the result. Record them with
# ACCOUNT_QUEUE_LIMIT=1 in the environment (the stack's worker reads it):
#   ACCOUNT_QUEUE_LIMIT=1 scripts/record-histories.sh account-slot account-queued
# limiter (and v1-limiter, recorded at commit d2122b6 with GENFLOW_SOURCE
# and PREFIX=v1-: a limiter run before acquire-batch): the AccountLimiter's
# own history after account-queued's runs, with ACCOUNT_QUEUE_LIMIT=1.
# revision-during-submit: as webhook-during-submit, started by a starter
# that gives the Generation its revision in the input (contract.
# GenerationRevision): no GetVersion marker, the revision's behaviour.
known=(webhook webhook-at-hand poll dup 5xx fail training workflow store-notify pipeline-store-notify
	webhook-during-submit deadline-first-poll webhook-id-mismatch account-slot account-queued revision-during-submit limiter)
all=("${known[@]}")
[ $# -gt 0 ] && all=("$@")
for name in "${all[@]}"; do
	case "$name" in
	webhook) record webhook "$later" text2img --model flux --prompt "replay webhook" --owner demo ;;
	webhook-at-hand) record_at_hand webhook-at-hand ;;
	poll) record poll '{"rates":{"drop":1}}' text2img --model flux --prompt "replay poll" --poll-grace 1s ;;
	dup) record dup '{"rates":{"delay":1,"duplicate":1},"delay":"2s"}' text2img --model flux --prompt "replay dup" ;;
	5xx) record 5xx '{"rules":[{"fault":"5xx","times":1}],"rates":{"delay":1},"delay":"2s"}' text2img --model flux --prompt "replay 5xx" ;;
	fail) record fail '{"rates":{"delay":1,"fail":1},"delay":"2s"}' text2img --model flux --prompt "replay fail" ;;
	training) record training "$later" lora_fine_tune --param instance_prompt="photo of sks man" \
		--param class_prompt="photo of a man" --param 'images=["https://example.com/1.png"]' \
		--param training_type=men --param max_train_steps=200 ;;
	workflow) record workflow "$later" workflows/run --param workflow_id=wf-123 --prompt hello ;;
	store-notify) record store-notify "$later" text2img --model flux --prompt "replay store" --param samples=2 \
		--store --notify "$notify_url" ;;
	pipeline-store-notify) record_pipeline pipeline-store-notify examples/portrait_to_video.yaml --store --notify "$notify_url" ;;
	webhook-during-submit) record webhook-during-submit '{"rules":[{"fault":"slow-submit"}],"submit_delay":"5s"}' \
		text2img --model flux --prompt "replay webhook during submit" ;;
	deadline-first-poll) record deadline-first-poll '{"rates":{"drop":1}}' text2img --model flux \
		--prompt "replay deadline first poll" --deadline 4s --poll-grace 1m ;;
	account-slot) record account-slot "$later" text2img --model flux --prompt "replay account slot" ;;
	revision-during-submit) record revision-during-submit '{"rules":[{"fault":"slow-submit"}],"submit_delay":"5s"}' \
		text2img --model flux --prompt "replay revision during submit" ;;
	account-queued) record_queued account-queued ;;
	limiter) record_limiter limiter ;;
	webhook-id-mismatch) record webhook-id-mismatch '{"rules":[{"fault":"wrong-id"}],"rates":{"delay":1},"delay":"2s"}' \
		text2img --model flux --prompt "replay webhook id mismatch" --poll-grace 1s ;;
	*) echo "unknown scenario $name; known: ${known[*]}" >&2; exit 2 ;;
	esac
done
