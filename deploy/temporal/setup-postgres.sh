#!/bin/sh
# Creates or upgrades Temporal's two PostgreSQL databases (temporal and
# temporal_visibility) to the schema shipped in the admin-tools image, as
# the official compose examples (temporalio/samples-server) do. Every step
# is idempotent: `create` on an existing database and `setup-schema -v 0.0`
# on an existing schema are no-ops, and `update-schema` applies only the
# versions not yet applied, so this runs on every `docker compose up`,
# and an upgrade of the admin-tools and server images migrates the schema
# before the new server starts.
#
# Environment: POSTGRES_SEEDS (host), DB_PORT, POSTGRES_USER, SQL_PASSWORD,
# DBNAME (default temporal), VISIBILITY_DBNAME (default temporal_visibility),
# SCHEMA_DIR (default the image's /etc/temporal/schema/postgresql/v12;
# scripts/prod-check.sh points it at the server module's copy).
set -eu

host=${POSTGRES_SEEDS:-postgresql}
port=${DB_PORT:-5432}
user=${POSTGRES_USER:-temporal}
schema=${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}

echo "waiting for PostgreSQL at $host:$port"
i=0
until nc -z -w 5 "$host" "$port"; do
	i=$((i + 1))
	if [ "$i" -ge 30 ]; then
		echo "PostgreSQL at $host:$port is not reachable" >&2
		exit 1
	fi
	sleep 2
done

setup() { # database, schema directory
	sql="temporal-sql-tool --plugin postgres12 --ep $host -p $port -u $user --db $1"
	$sql create
	$sql setup-schema -v 0.0
	$sql update-schema -d "$schema/$2/versioned"
}

setup "${DBNAME:-temporal}" temporal
setup "${VISIBILITY_DBNAME:-temporal_visibility}" visibility
echo "PostgreSQL schema is up to date"
