#!/bin/sh
# Builds genflow's binaries as the container images ship them: static
# (CGO_ENABLED=0, no libc, no dynamic loader), stripped, reproducible
# (-trimpath, no build ID, no VCS stamp). The Dockerfile runs this script
# and deploy/build_test.go runs it too, so CI exercises the image's exact
# build without a Docker engine.
#
#   deploy/build.sh OUT_DIR      (GOOS and GOARCH are honoured for cross builds)
set -eu
out=${1:?usage: deploy/build.sh OUT_DIR}
case $out in /*) ;; *) out="$PWD/$out" ;; esac
cd "$(dirname "$0")/.."
mkdir -p "$out"
CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w -buildid=' -o "$out/" \
	./cmd/worker ./cmd/gateway ./cmd/starter ./cmd/fakemodelslab ./cmd/healthcheck
