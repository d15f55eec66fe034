# genflow: the two commands are `make demo` (local stack + one real
# generation) and `make test` (everything CI runs). Both install what they
# need.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(shell /usr/local/go/bin/go env GOPATH 2>/dev/null)/bin:$(PATH)
GOBIN := $(shell go env GOPATH)/bin

.PHONY: demo up down status build test check fuzz bench tools

## demo: start the local stack and run one generation through the starter
demo: up
	@echo
	@echo "Running a generation through the starter (fake ModelsLab, webhook via the gateway):"
	TEMPORAL_ADDRESS=127.0.0.1:7233 ./bin/starter generate text2img --model flux \
		--prompt "a red fox in fresh snow, golden hour" --param width=512 --param height=512 --wait
	@echo
	@echo "The stack keeps running: open http://localhost:8233 for the Temporal UI; 'make down' stops it."

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

## test: static checks, then every test (unit, workflow, replay, fuzz seeds, end to end) with -race
test: tools check
	TEMPORAL_CLI=$(GOBIN)/temporal go test -race -count=1 ./...

check:
	@echo "gofmt"; test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	go vet ./...
	@echo "workflowcheck ./workflows/..."; $(GOBIN)/workflowcheck ./workflows/...

## fuzz: run each fuzz target for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	go test -run='^$$' -fuzz=FuzzParseWebhook -fuzztime=$(FUZZTIME) ./modelslab/
	go test -run='^$$' -fuzz=FuzzWebhookHandler -fuzztime=$(FUZZTIME) ./webhookgateway/

bench:
	go test -run='^$$' -bench=. -benchmem ./modelslab/ ./webhookgateway/
