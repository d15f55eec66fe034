#!/bin/sh
# Registers genflow's namespace and custom search attributes with the
# Temporal server. Safe to run again: what exists is left as it is, so it
# runs on every `docker compose up`.
#
# Environment:
#   TEMPORAL_ADDRESS     frontend host:port (default temporal:7233)
#   NAMESPACE            namespace to create (default default)
#   NAMESPACE_RETENTION  how long closed runs are kept, for a new namespace
#                        (default 72h; accepts 7d)
#   SEARCH_ATTRIBUTES    space-separated Name=Type pairs
#   SETTLE_SECONDS       wait after registering something new (default 65)
#   HEALTH_TRIES         tries of the health check, 2 s apart (default 60)
#
# The server caches search attributes for 60 s and namespaces for a few
# seconds; a workflow started with a search attribute the cache does not
# hold yet is rejected. So when this run created anything, it waits the
# caches out before it exits, and docker compose starts the worker only
# then. That costs a minute on the first boot, nothing afterwards.
set -eu

address=${TEMPORAL_ADDRESS:-temporal:7233}
ns=${NAMESPACE:-default}
retention=${NAMESPACE_RETENTION:-72h}
settle=${SETTLE_SECONDS:-65}
tries=${HEALTH_TRIES:-60}
created=0

# retry WHAT COMMAND...: runs COMMAND until it succeeds, HEALTH_TRIES
# times at most, 2 s apart.
retry() {
	what=$1
	shift
	i=1
	until "$@"; do
		if [ "$i" -ge "$tries" ]; then
			echo "$what: still failing after $tries tries" >&2
			exit 1
		fi
		i=$((i + 1))
		sleep 2
	done
}

healthy() {
	temporal operator cluster health --address "$address" >/dev/null 2>&1
}
echo "waiting for Temporal at $address"
retry "the health check of Temporal at $address" healthy

if temporal operator namespace describe --address "$address" --namespace "$ns" >/dev/null 2>&1; then
	echo "namespace $ns exists"
else
	echo "creating namespace $ns (retention $retention)"
	temporal operator namespace create --address "$address" --namespace "$ns" --retention "$retention"
	created=1
fi

# The list is a table of name and type, one attribute per line. A new
# namespace is unknown to the frontend until its cache refreshes: retry.
list_attributes() {
	existing=$(temporal operator search-attribute list --address "$address" --namespace "$ns" 2>/dev/null)
}
retry "listing the search attributes of $ns" list_attributes
for pair in ${SEARCH_ATTRIBUTES:-}; do
	name=${pair%%=*}
	type=${pair#*=}
	if [ -z "$name" ] || [ "$name" = "$pair" ] || [ -z "$type" ]; then
		echo "SEARCH_ATTRIBUTES: $pair is not Name=Type" >&2
		exit 1
	fi
	have=$(printf '%s\n' "$existing" | awk -v n="$name" '$1 == n { print $2; exit }')
	if [ -z "$have" ]; then
		echo "creating search attribute $name ($type)"
		temporal operator search-attribute create --address "$address" --namespace "$ns" --name "$name" --type "$type"
		created=1
	elif [ "$(printf '%s' "$have" | tr '[:upper:]' '[:lower:]')" = "$(printf '%s' "$type" | tr '[:upper:]' '[:lower:]')" ]; then
		echo "search attribute $name ($have) exists"
	else
		echo "search attribute $name exists with type $have, not $type: remove it or rename ours" >&2
		exit 1
	fi
done

if [ "$created" -eq 1 ] && [ "$settle" -gt 0 ]; then
	echo "waiting ${settle}s for the server's caches to pick up the changes"
	sleep "$settle"
fi
echo "namespace $ns is ready"
