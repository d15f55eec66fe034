# syntax=docker/dockerfile:1.7
#
# genflow's container images, one target per binary:
#
#   docker build --target worker        -t genflow/worker .
#   docker build --target gateway       -t genflow/gateway .
#   docker build --target starter       -t genflow/starter .
#   docker build --target fakemodelslab -t genflow/fakemodelslab .
#
# (docker-compose.yml builds them for you.) The binaries are built once,
# by deploy/build.sh, the script CI runs too (deploy/build_test.go): static,
# stripped, reproducible. The runtime images are distroless/static: no
# shell, no package manager, CA certificates and tzdata only, user
# nonroot (65532). Each image also carries cmd/healthcheck, since there is
# no curl to probe with.
#
# Cross builds (docker buildx build --platform linux/arm64,...) compile on
# the build machine's platform and set GOOS/GOARCH, without emulation.

ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH sh deploy/build.sh /out

FROM gcr.io/distroless/static-debian12:nonroot AS runtime
COPY --from=build /out/healthcheck /usr/local/bin/healthcheck
# nonroot, numerically, so that runAsNonRoot policies can check it.
USER 65532:65532
LABEL org.opencontainers.image.title="genflow" \
      org.opencontainers.image.description="ModelsLab generations as Temporal workflows"

FROM runtime AS fakemodelslab
COPY --from=build /out/fakemodelslab /usr/local/bin/fakemodelslab
ENV FAKE_LISTEN_ADDR=0.0.0.0:8090
EXPOSE 8090
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["healthcheck", "http", "http://127.0.0.1:8090/_fake/healthz"]
ENTRYPOINT ["fakemodelslab"]

FROM runtime AS starter
COPY --from=build /out/starter /usr/local/bin/starter
ENTRYPOINT ["starter"]
CMD ["--help"]

FROM runtime AS gateway
COPY --from=build /out/gateway /usr/local/bin/gateway
ENV GATEWAY_LISTEN_ADDR=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["healthcheck", "gateway"]
# On SIGTERM it stops accepting and drains requests in flight (10 s at most).
ENTRYPOINT ["gateway"]

# Last, so that a plain `docker build .` builds the worker.
FROM runtime AS worker
COPY --from=build /out/worker /usr/local/bin/worker
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["healthcheck", "worker"]
# On SIGTERM it stops polling and gives running activities 30 s.
ENTRYPOINT ["worker"]
