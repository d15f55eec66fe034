#!/bin/sh
# Gives genflow its own MinIO key, allowed its bucket only: creates the
# bucket of STORE_URL, the policy in policy.json (next to this script)
# for that bucket, and the user MINIO_STORE_USER with it. The worker and
# the starter use that key (docker-compose.yml's STORE_S3_* defaults);
# MinIO's root credentials stay with this job and the console. Safe to
# run again: it runs on every `docker compose up`, and a changed
# MINIO_STORE_PASSWORD or STORE_URL takes effect.
#
# Environment:
#   MINIO_URL             the server (default http://minio:9000)
#   MINIO_ROOT_USER       MinIO's root user and password
#   MINIO_ROOT_PASSWORD
#   MINIO_STORE_USER      genflow's access key (default genflow-store)
#   MINIO_STORE_PASSWORD  its secret key, 8 to 40 characters
#   STORE_URL             the worker's store; an s3://BUCKET[/prefix] names
#                         the bucket, anything else (storing off, a local
#                         directory) leaves the bucket out
set -eu

here=$(dirname "$0")
url=${MINIO_URL:-http://minio:9000}
user=${MINIO_STORE_USER:-genflow-store}
policy=genflow-store

fail() { echo "minio-init: $*" >&2; exit 1; }

[ -n "${MINIO_ROOT_PASSWORD:-}" ] || fail "MINIO_ROOT_PASSWORD is empty"
[ -n "${MINIO_STORE_PASSWORD:-}" ] || fail "MINIO_STORE_PASSWORD is empty"
[ "$user" != "${MINIO_ROOT_USER:-}" ] || fail "MINIO_STORE_USER must differ from MINIO_ROOT_USER"

bucket=
case "${STORE_URL:-}" in
s3://*)
	bucket=${STORE_URL#s3://}
	bucket=${bucket%%/*}
	;;
esac
case "$bucket" in
*[!a-z0-9.-]*) fail "STORE_URL: bucket \"$bucket\" is not a valid bucket name" ;;
esac
if [ -z "$bucket" ]; then
	echo "minio-init: STORE_URL names no s3:// bucket; nothing to do"
	exit 0
fi

export MC_CONFIG_DIR="${TMPDIR:-/tmp}/mc"
mkdir -p "$MC_CONFIG_DIR"
mc alias set genflow "$url" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing "genflow/$bucket"
sed "s/BUCKET/$bucket/g" "$here/policy.json" >"$MC_CONFIG_DIR/policy.json"
mc admin policy create genflow "$policy" "$MC_CONFIG_DIR/policy.json"
mc admin user add genflow "$user" "$MINIO_STORE_PASSWORD"
if ! out=$(mc admin policy attach genflow "$policy" --user "$user" 2>&1); then
	case "$out" in
	*"already in effect"*) ;;
	*) echo "$out" >&2; exit 1 ;;
	esac
fi
echo "minio-init: $user may read and write s3://$bucket only"
