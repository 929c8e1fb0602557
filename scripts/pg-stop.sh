#!/usr/bin/env bash
# Stops a PostgreSQL started by scripts/pg-start.sh and removes its folder.
#   scripts/pg-stop.sh DIR
set -euo pipefail
dir="${1:?usage: scripts/pg-stop.sh DIR (the TASKHOST_PG_DIR that pg-start.sh printed)}"
[ -f "$dir/env" ] || { echo "pg-stop: $dir was not made by pg-start.sh (no env file)" >&2; exit 2; }
bindir=""
if command -v pg_ctl >/dev/null 2>&1; then bindir="$(dirname "$(command -v pg_ctl)")"; else
  for candidate in /usr/lib/postgresql/*/bin; do [ -x "$candidate/pg_ctl" ] && bindir="$candidate"; done
fi
as_owner=()
[ "$(id -u)" = 0 ] && as_owner=(runuser -u postgres --)
if [ -f "$dir/data/postmaster.pid" ] && [ -n "$bindir" ]; then
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
fi
rm -rf "$dir"
