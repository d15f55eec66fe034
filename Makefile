# genflow: the two commands are scripts/demo.sh (local stack + one real
# generation) and scripts/test.sh (everything CI runs); these targets are
# shortcuts to them. Both install what they need.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(shell /usr/local/go/bin/go env GOPATH 2>/dev/null)/bin:$(PATH)
GOBIN := $(shell go env GOPATH)/bin

.PHONY: demo up down status build test fuzz bench bench-go faults tools ui-check s3-check prod-check

## demo: start the local stack and run one generation through the starter
demo:
	@scripts/demo.sh

up:
	@scripts/stack.sh up

down:
	@scripts/stack.sh down

status:
	@scripts/stack.sh status

build:
	go build -o bin/ ./cmd/...

tools:
	@scripts/install-tools.sh

## ui-check: open the local stack's Temporal UI in headless Chromium, check
## the runs' attributes and summaries, refresh docs/screenshots/
ui-check:
	@scripts/ui-check.sh

## test: everything CI runs (see scripts/test.sh)
test:
	@scripts/test.sh

## fuzz: run each fuzz target for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	go test -run='^$$' -fuzz=FuzzParseWebhook -fuzztime=$(FUZZTIME) ./modelslab/
	go test -run='^$$' -fuzz=FuzzWebhookHandler -fuzztime=$(FUZZTIME) ./webhookgateway/

## bench: measure genflow next to Temporal's own floor on a dev server of
## its own (webhook ingestion, result latency, end-to-end throughput, a
## 1,000-item batch, the Go benchmarks) and rewrite the measured section
## of docs/benchmarks.md. About 12 minutes. BENCH_FLAGS adds flags
## (go run ./bench -h lists them).
bench: tools
	go run ./bench -docs docs/benchmarks.md $(BENCH_FLAGS)

## faults: the whole fault suite at full scale (worker SIGKILLed during a
## 300-item batch and mid-Submit, gateway restarts, Temporal down 20 s,
## every provider fault at once, the abuse list, 2,000 webhooks/s, a run
## past the signal limit), each part a real process on loopback; prints
## one table and rewrites the measured section of docs/reliability.md.
## About 5 minutes. FAULTS_FLAGS adds flags (go run ./faults -h lists
## them); CI runs a bounded subset (go test ./faults).
faults: tools
	go run ./faults -docs docs/reliability.md $(FAULTS_FLAGS)

## prod-check: docker-compose.yml's production topology on loopback,
## without Docker (Temporal 1.29.1 on PostgreSQL with mTLS, init.sh, two
## workers and two gateways behind Caddy): a 500-item batch and the
## example pipelines through rolling restarts, then the bench on that
## server; writes docs/deploy.md "What was run" and docs/benchmarks.md's
## second table. Installs and builds what it needs: up to 30 minutes the
## first time.
prod-check:
	@scripts/prod-check.sh

## s3-check: run the storage tests and the S3 end-to-end test against a
## real S3-compatible server too (SeaweedFS, built once: about 10 minutes)
s3-check:
	scripts/s3-check.sh

## bench-go: only the Go benchmarks: the hot pure code, and copying an
## output to storage
bench-go:
	go test -run='^$$' -bench=. -benchmem ./modelslab/ ./webhookgateway/ ./webhookurl/ ./storage/
