#!/usr/bin/env bash
# make prod-check: runs docker-compose.yml's production topology on
# loopback, without Docker, and breaks it on purpose (issue 19).
#
#   PostgreSQL (Debian's package), started here on 127.0.0.1 with a data
#     directory of its own;
#   its two databases (temporal, temporal_visibility) created and migrated
#     by deploy/temporal/setup-postgres.sh, as the temporal-schema service
#     runs it, with temporal-sql-tool from the server module;
#   the Temporal server 1.29.1 (deploy/temporal-server: a small main that
#     embeds go.temporal.io/server, a Go module of its own) on PostgreSQL
#     for persistence and visibility, with deploy/dynamicconfig, serving
#     its frontend with mutual TLS (a CA, a server and a client
#     certificate made here with openssl);
#   deploy/temporal/init.sh, as the temporal-init service runs it
#     (namespace, search attributes), through that mTLS frontend;
#   two workers and two gateways, connecting with TEMPORAL_TLS_* as on
#     your own Temporal (docs/deploy.md), behind Caddy 2.10.2 (built from
#     the Go module proxy) with deploy/caddy/Caddyfile, and the fake
#     ModelsLab.
#
# Then `go run ./faults -prod` runs a 500-item batch and the example
# pipelines while each worker, then each gateway, is restarted in turn and
# the Temporal server once, and prints a table (completed, lost, stuck,
# double submissions, false 200s, time); and `go run ./bench
# -temporal-address` measures the bench's ingestion and end-to-end
# scenarios on this server. With PROD_CHECK_DOCS=1 (the default) the
# figures go to docs/deploy.md ("What was run") and docs/benchmarks.md
# (the second table).
#
# The first run builds the server and Caddy: up to 30 minutes on 2 cores.
# Environment: PROD_CHECK_ITEMS (500), PROD_CHECK_DOCS (1), PROD_CHECK_BENCH
# (1; 0 skips the bench), PROD_CHECK_KEEP (0; 1 keeps the run directory),
# PROD_CHECK_FAULTS_FLAGS and PROD_CHECK_BENCH_FLAGS (more flags).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PATH="/usr/local/go/bin:$PATH"
GOBIN="$(go env GOPATH)/bin"
export PATH="$GOBIN:$PATH"
TEMPORAL_SERVER_VERSION=1.29.1 # docker-compose.yml: temporalio/server
CADDY_VERSION=v2.10.2          # docker-compose.yml: caddy:2.10.2-alpine
ITEMS=${PROD_CHECK_ITEMS:-500}
DOCS=${PROD_CHECK_DOCS:-1}
BENCH=${PROD_CHECK_BENCH:-1}
log() { echo "prod-check: $*" >&2; }

# --- 1. what this needs from Debian: PostgreSQL, openssl, nc (for
# setup-postgres.sh) -------------------------------------------------------
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v openssl >/dev/null || need+=(openssl)
command -v nc >/dev/null || need+=(netcat-openbsd)
if [ "${#need[@]}" -gt 0 ]; then
	log "installing ${need[*]} (apt-get)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
PGBIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
# Debian's package starts a cluster of its own on 5432; this check runs
# its own, and leaves that one alone.

# --- 2. builds: the Temporal CLI (init.sh uses it), the server, Caddy ------
scripts/install-tools.sh >/dev/null
SERVER="$GOBIN/temporal-server"
if [ -x "$SERVER" ] && [ "$("$SERVER" version 2>/dev/null)" = "$TEMPORAL_SERVER_VERSION" ] &&
	[ "$SERVER" -nt deploy/temporal-server/main.go ]; then
	log "Temporal server $TEMPORAL_SERVER_VERSION present ($SERVER)"
else
	log "building the Temporal server $TEMPORAL_SERVER_VERSION (deploy/temporal-server) into $SERVER"
	log "the FIRST build takes 10-20 minutes on 2 cores"
	start=$(date +%s)
	go -C deploy/temporal-server build -o "$SERVER" .
	log "built in $(($(date +%s) - start))s"
fi
CADDY="$GOBIN/caddy"
# (caddy version says "unknown" when Caddy is the main module: ask Go.)
if [ -x "$CADDY" ] && go version -m "$CADDY" 2>/dev/null | grep -q "mod[[:space:]]*github.com/caddyserver/caddy/v2[[:space:]]*$CADDY_VERSION"; then
	log "Caddy $CADDY_VERSION present ($CADDY)"
else
	log "building Caddy $CADDY_VERSION from the Go module proxy into $CADDY (the first build takes about 10 minutes)"
	start=$(date +%s)
	(cd "$(mktemp -d)" && GOBIN="$GOBIN" go install "github.com/caddyserver/caddy/v2/cmd/caddy@$CADDY_VERSION")
	log "built in $(($(date +%s) - start))s"
fi
log "building genflow's binaries"
BINS=$(mktemp -d /tmp/genflow-prod-bin-XXXXXX)
go build -o "$BINS/" ./cmd/...

# --- 3. the run directory, ports -------------------------------------------
RUN=$(mktemp -d /tmp/genflow-prod-check-XXXXXX)
chmod 755 "$RUN"
PG_PID=""
cleanup() {
	code=$?
	[ -n "${BENCH_SERVER_PID:-}" ] && kill "$BENCH_SERVER_PID" 2>/dev/null && wait "$BENCH_SERVER_PID" 2>/dev/null
	if [ -n "$PG_PID" ]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$RUN/pg" -m fast -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$BINS"
	if [ "$code" -eq 0 ] && [ "${PROD_CHECK_KEEP:-0}" != 1 ]; then
		rm -rf "$RUN"
	else
		log "run directory (logs, databases) kept in $RUN"
	fi
	exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port: a loopback port below the ephemeral range that nothing
# listens on and that no other call handed out.
taken=" "
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		case "$taken" in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			taken="$taken$p "
			echo "$p"
			return
		fi
	done
}
PG_PORT=$(free_port)
FE_PORT=$(free_port)
FE_HTTP=$(free_port)
for s in frontend history matching worker; do
	eval "MEM_$s=\$(free_port)"
done
for s in history matching worker; do
	eval "GRPC_$s=\$(free_port)"
done

# --- 4. PostgreSQL on 127.0.0.1 ----------------------------------------------
PG_PASSWORD=$(openssl rand -hex 16)
mkdir -p "$RUN/pg" "$RUN/pg-socket" "$RUN/pg-log"
chown postgres:postgres "$RUN/pg" "$RUN/pg-socket" "$RUN/pg-log"
echo "$PG_PASSWORD" >"$RUN/pg-superpass"
chown postgres "$RUN/pg-superpass"
log "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT (data in $RUN/pg)"
runuser -u postgres -- "$PGBIN/initdb" -D "$RUN/pg" -U temporal --pwfile="$RUN/pg-superpass" \
	--auth-host=scram-sha-256 --auth-local=trust >"$RUN/initdb.log" 2>&1
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$RUN/pg" -l "$RUN/pg-log/postgresql.log" -w \
	-o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $RUN/pg-socket -c max_connections=200" start >/dev/null
PG_PID=$(head -1 "$RUN/pg/postmaster.pid")

# --- 5. the schema, as the temporal-schema service makes it ------------------
mkdir -p "$RUN/shim"
printf '#!/bin/sh\nexec %q sql-tool "$@"\n' "$SERVER" >"$RUN/shim/temporal-sql-tool"
chmod +x "$RUN/shim/temporal-sql-tool"
SCHEMA_SRC="$(go -C deploy/temporal-server list -m -f '{{.Dir}}' go.temporal.io/server)/schema/postgresql/v12"
log "schema: deploy/temporal/setup-postgres.sh with $SCHEMA_SRC"
PATH="$RUN/shim:$PATH" POSTGRES_SEEDS=127.0.0.1 DB_PORT=$PG_PORT POSTGRES_USER=temporal SQL_PASSWORD=$PG_PASSWORD \
	SCHEMA_DIR=$SCHEMA_SRC sh deploy/temporal/setup-postgres.sh >"$RUN/schema.log" 2>&1 ||
	{ tail -20 "$RUN/schema.log" >&2; exit 1; }
tail -1 "$RUN/schema.log" | sed 's/^/prod-check: /' >&2

# --- 6. TLS: a CA, the frontend's certificate, a client certificate ----------
TLS="$RUN/tls"
mkdir -p "$TLS"
(
	cd "$TLS"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=genflow prod-check CA" \
		-keyout ca.key -out ca.pem 2>/dev/null
	# The frontend's certificate serves clients and is also the client
	# certificate the server's own system workers present to it.
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=temporal" -keyout server.key -out server.csr 2>/dev/null
	printf 'subjectAltName=DNS:temporal,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.pem 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=genflow" -keyout client.key -out client.csr 2>/dev/null
	printf 'extendedKeyUsage=clientAuth\n' >client.ext
	openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile client.ext -out client.pem 2>/dev/null
)

# --- 7. the server's config (what the image's config_template.yaml renders
# from compose's variables: DB=postgres12, NUM_HISTORY_SHARDS=4,
# DYNAMIC_CONFIG_FILE_PATH, plus the frontend's TLS) ------------------------
mkdir -p "$RUN/config/dynamicconfig"
cp deploy/dynamicconfig/production-sql.yaml "$RUN/config/dynamicconfig/"
sql_store() { # database, max connections
	cat <<EOF
      sql:
        pluginName: postgres12
        databaseName: $1
        connectAddr: "127.0.0.1:$PG_PORT"
        connectProtocol: tcp
        user: temporal
        password: "$PG_PASSWORD"
        maxConns: $2
        maxIdleConns: $2
        maxConnLifetime: 1h
EOF
}
service() { # name grpc membership [http]
	printf '  %s:\n    rpc:\n      grpcPort: %s\n      membershipPort: %s\n      bindOnIP: 127.0.0.1\n' "$1" "$2" "$3"
	[ -n "${4:-}" ] && printf '      httpPort: %s\n' "$4"
	return 0
}
{
	cat <<EOF
log:
  stdout: true
  level: warn
persistence:
  numHistoryShards: ${TEMPORAL_HISTORY_SHARDS:-4}
  defaultStore: default
  visibilityStore: visibility
  datastores:
    default:
$(sql_store temporal 20)
    visibility:
$(sql_store temporal_visibility 10)
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  tls:
    frontend:
      server:
        certFile: $TLS/server.pem
        keyFile: $TLS/server.key
        requireClientAuth: true
        clientCaFiles: [$TLS/ca.pem]
    # The server's own system workers call the frontend too: with
    # client certificates required, they present one (the frontend's,
    # which allows client authentication).
    systemWorker:
      certFile: $TLS/server.pem
      keyFile: $TLS/server.key
      client:
        serverName: temporal
        rootCaFiles: [$TLS/ca.pem]
services:
EOF
	service frontend "$FE_PORT" "$MEM_frontend" "$FE_HTTP"
	service history "$GRPC_history" "$MEM_history"
	service matching "$GRPC_matching" "$MEM_matching"
	service worker "$GRPC_worker" "$MEM_worker"
	cat <<EOF
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: 127.0.0.1:$FE_PORT
      httpAddress: 127.0.0.1:$FE_HTTP
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: $RUN/config/dynamicconfig/production-sql.yaml
  pollInterval: 60s
EOF
} >"$RUN/config/production.yaml"

# How every client reaches it: the variables of docs/deploy.md, "Temporal
# Cloud and your own Temporal" (the Temporal CLI reads the same ones).
export TEMPORAL_ADDRESS=127.0.0.1:$FE_PORT TEMPORAL_NAMESPACE=default
export TEMPORAL_TLS_CLIENT_CERT_PATH=$TLS/client.pem TEMPORAL_TLS_CLIENT_KEY_PATH=$TLS/client.key
export TEMPORAL_TLS_SERVER_CA_CERT_PATH=$TLS/ca.pem TEMPORAL_TLS_SERVER_NAME=temporal

# --- 8. the fault run --------------------------------------------------------
docs_flag=()
[ "$DOCS" = 1 ] && docs_flag=(-docs docs/deploy.md)
log "fault run: $ITEMS-item batch and the example pipelines through rolling restarts (logs in $RUN/faults)"
# shellcheck disable=SC2086
go run ./faults -prod -bin "$BINS" -dir "$RUN/faults" -keep \
	-prod-server "$SERVER" -prod-config "$RUN/config" -prod-caddy "$CADDY" -prod-postgres-pid "$PG_PID" \
	-items "$ITEMS" "${docs_flag[@]}" ${PROD_CHECK_FAULTS_FLAGS:-}

# --- 9. the bench on this server ------------------------------------------------
if [ "$BENCH" = 1 ]; then
	log "bench: ingestion and end-to-end on the Temporal server on PostgreSQL (logs in $RUN/bench-server.log)"
	"$SERVER" start -config "$RUN/config" -env production >"$RUN/bench-server.log" 2>&1 &
	BENCH_SERVER_PID=$!
	ok=0
	for _ in $(seq 60); do
		if temporal operator cluster health >/dev/null 2>&1; then ok=1; break; fi
		sleep 1
	done
	[ "$ok" = 1 ] || { log "the server did not come up for the bench; see $RUN/bench-server.log"; exit 1; }
	bench_docs=()
	[ "$DOCS" = 1 ] && bench_docs=(-docs docs/benchmarks.md)
	# shellcheck disable=SC2086
	# 3 rounds instead of the bench's 7: this server does a fifth of the
	# dev server's workflows per second, and 7 rounds take 15 minutes.
	go run ./bench -only ingest,throughput -rounds 3 -temporal-address "$TEMPORAL_ADDRESS" \
		-server-pid "$BENCH_SERVER_PID" -postgres-pid "$PG_PID" "${bench_docs[@]}" ${PROD_CHECK_BENCH_FLAGS:-}
	kill "$BENCH_SERVER_PID"
	wait "$BENCH_SERVER_PID" 2>/dev/null || true
	BENCH_SERVER_PID=""
fi
log "done"
