#!/usr/bin/env bash
# A local fleet: a throw-away PostgreSQL and two hosts of this project on it,
# in the foreground. Ctrl-C stops both hosts, then the database.
#
#   scripts/pg-fleet.sh [HOSTS]        # default 2
#
# Each host gets its own config (config/fleet-<n>.yaml: same tasks/, its own
# data/fleet-<n>/ for lock, socket and caches, its own logs/fleet-<n>/) and the
# same database.url. Talk to one with `npx taskhost --config config/fleet-1.yaml status`.
set -euo pipefail
cd "$(dirname "$0")/.."
hosts="${1:-2}"

eval "$(scripts/pg-start.sh)"   # sets TASKHOST_PG_DIR and TASKHOST_DATABASE_URL
export TASKHOST_DATABASE_URL
pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  scripts/pg-stop.sh "$TASKHOST_PG_DIR"
}
trap cleanup INT TERM EXIT

for n in $(seq 1 "$hosts"); do
  cat >"config/fleet-$n.yaml" <<YAML
# Written by scripts/pg-fleet.sh: host $n of a local fleet (database.url comes from TASKHOST_DATABASE_URL).
database:
  path: data/fleet-$n/scheduler.db
logging:
  directory: logs/fleet-$n
YAML
  runtime/bin/taskhost start --config "config/fleet-$n.yaml" > >(sed -u "s/^/[host $n] /") 2>&1 &
  pids+=("$!")
done
echo "fleet: $hosts hosts on $(node -e 'const u=new URL(process.argv[1]);u.password="***";console.log(u.href)' "$TASKHOST_DATABASE_URL"); Ctrl-C stops it"
wait
