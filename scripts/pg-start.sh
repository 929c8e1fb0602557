#!/usr/bin/env bash
# Starts a throw-away PostgreSQL for tests and local fleets: a new cluster in a
# temporary folder, on a free loopback port, with a random password.
#
#   scripts/pg-start.sh [DIR]      # DIR: where the cluster lives (default: a new temp folder)
#
# Prints two lines, KEY=VALUE, and writes them to DIR/env too:
#   TASKHOST_PG_DIR=/tmp/taskhost-pg.XXXX
#   TASKHOST_DATABASE_URL=postgres://taskhost:<password>@127.0.0.1:<port>/taskhost
# Stop it (and remove DIR) with scripts/pg-stop.sh DIR.
#
# PostgreSQL refuses to run as root: as root the cluster is owned by the
# `postgres` user (Debian's package creates it) and run through runuser.
# Debian keeps initdb/pg_ctl under /usr/lib/postgresql/<version>/bin.
set -euo pipefail

bindir=""
if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
  bindir="$(dirname "$(command -v pg_ctl)")"
else
  for candidate in /usr/lib/postgresql/*/bin; do
    [ -x "$candidate/pg_ctl" ] && bindir="$candidate"
  done
fi
if [ -z "$bindir" ]; then
  echo "pg-start: PostgreSQL's server programs (initdb, pg_ctl) are not installed; on Debian: apt-get install postgresql" >&2
  exit 3
fi

dir="${1:-}"
if [ -z "$dir" ]; then dir="$(mktemp -d "${TMPDIR:-/tmp}/taskhost-pg.XXXXXX")"; else mkdir -p "$dir"; fi
dir="$(cd "$dir" && pwd)"

as_owner=()
if [ "$(id -u)" = 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "pg-start: running as root needs the 'postgres' user (created by Debian's postgresql package)" >&2
    exit 3
  fi
  chown postgres: "$dir"
  as_owner=(runuser -u postgres --)
fi

# A free port: bind port 0 on loopback, read what the kernel gave, release it.
port="$(node -e 'const s=require("node:net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
password="$(node -e 'console.log(require("node:crypto").randomBytes(18).toString("base64url"))')"

umask 077
printf '%s\n' "$password" >"$dir/pwfile"
[ "${#as_owner[@]}" -gt 0 ] && chown postgres: "$dir/pwfile"

# Local socket: trust (this script's own admin steps); TCP: the password.
"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U taskhost --pwfile="$dir/pwfile" \
  --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 ||
  { echo "pg-start: initdb failed; see $dir/initdb.log" >&2; cat "$dir/initdb.log" >&2; exit 1; }
rm -f "$dir/pwfile"

# PG_FAST=1 (tests) trades durability for speed: a throw-away cluster need not survive a power cut.
extra=""
if [ "${PG_FAST:-0}" = 1 ]; then extra="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"; fi
"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 $extra" start >/dev/null ||
  { echo "pg-start: the server did not start; see $dir/server.log" >&2; tail -20 "$dir/server.log" >&2; exit 1; }

"${as_owner[@]}" "$bindir/createdb" -h "$dir" -p "$port" -U taskhost taskhost 2>/dev/null ||
  "${as_owner[@]}" psql -h "$dir" -p "$port" -U taskhost -d postgres -qc 'CREATE DATABASE taskhost' >/dev/null

url="postgres://taskhost:${password}@127.0.0.1:${port}/taskhost"
printf 'TASKHOST_PG_DIR=%s\nTASKHOST_DATABASE_URL=%s\n' "$dir" "$url" | tee "$dir/env"
