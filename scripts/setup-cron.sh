#!/usr/bin/env bash
# Adds (or with --remove takes out) the crontab line that runs
# scripts/monitor.sh every few minutes, which starts the host when none runs.
#
#   scripts/setup-cron.sh                 every 5 minutes
#   scripts/setup-cron.sh --interval 2    every 2 minutes
#   scripts/setup-cron.sh --remove        take the line out again
#   scripts/setup-cron.sh --dry-run       change nothing: print the crontab it would write
#
# The line ends in a marker comment naming the project, so running this again
# replaces it (one line, never two) and --remove finds it; other lines of the
# crontab are left as they are. It is installed for the user running this
# script, so run it as the user the host should run as.
#
# Environment:
#   TASKHOST_CRONTAB_FILE  edit this file instead of calling crontab (tests)
#   TASKHOST_PROJECT_ROOT  project folder (default: the folder above scripts/)
#   TASKHOST_NODE          node the monitor should use (default: node on PATH)
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
  printf 'setup-cron.sh: %s\n' "$*" >&2
  exit 1
}
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

remove=0
dry_run=0
interval=5
while (($#)); do
  case "$1" in
    --remove) remove=1 ;;
    --dry-run) dry_run=1 ;;
    --interval)
      (($# >= 2)) || die "--interval needs a number of minutes"
      interval="$2"
      shift
      ;;
    --interval=*) interval="${1#*=}" ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done
if ! [[ "$interval" =~ ^[0-9]{1,2}$ ]] || ((10#$interval < 1 || 10#$interval > 59)); then
  die "--interval must be a whole number of minutes from 1 to 59 (got '$interval')"
fi
interval=$((10#$interval))

project_root="$(cd "${TASKHOST_PROJECT_ROOT:-$script_dir/..}" && pwd -P)"
script_dir="$(cd "$script_dir" && pwd -P)"
monitor="$script_dir/monitor.sh"
# The monitor finds the project above its own folder; say so when it is elsewhere.
root_env=""
[[ "$project_root" == "$(dirname "$script_dir")" ]] || root_env="TASKHOST_PROJECT_ROOT=$project_root "
marker="# taskhost-monitor:$project_root"

# Cron hands the line to /bin/sh and turns % into newlines: keep paths simple.
case "$project_root$script_dir" in
  *[[:space:]%\'\"\\]*) die "the project path '$project_root' contains spaces or one of % ' \" \\ ; cron cannot run it safely" ;;
esac

# --- read the crontab ---------------------------------------------------------------

crontab_file="${TASKHOST_CRONTAB_FILE:-}"
if [[ -n "$crontab_file" ]]; then
  where="$crontab_file"
  current="$(cat -- "$crontab_file" 2>/dev/null || true)"
else
  command -v crontab >/dev/null 2>&1 || die "crontab is not installed (Debian/Ubuntu: sudo apt-get install cron; or use scripts/install.sh for systemd)"
  where="the crontab of $(id -un)"
  if ! current="$(crontab -l 2>/dev/null)"; then
    current="" # "no crontab for <user>"
  fi
fi

# Our lines end with the marker exactly (so /srv/a never matches /srv/ab's line).
ours() { awk -v m="$marker" 'length($0) >= length(m) && substr($0, length($0) - length(m) + 1) == m'; }
others="$(awk -v m="$marker" '!(length($0) >= length(m) && substr($0, length($0) - length(m) + 1) == m)' <<<"$current")"
our_lines="$(ours <<<"$current")"
had_line=0
[[ -n "$our_lines" ]] && had_line=1

write_crontab() {
  local text="$1"
  # cron ignores a last line without its newline.
  [[ -z "$text" || "$text" == *$'\n' ]] || text+=$'\n'
  if ((dry_run)); then
    echo "--dry-run: $where is left as it is; it would read:"
    printf '%s' "$text" | sed 's/^/  | /'
  elif [[ -n "$crontab_file" ]]; then
    mkdir -p -- "$(dirname "$crontab_file")"
    printf '%s' "$text" >"$crontab_file"
  else
    printf '%s' "$text" | crontab -
  fi
}
# Joins the kept lines (dropping trailing blank ones) and an optional new line.
compose() {
  local body="$others" # $(...) already dropped its trailing newlines
  [[ -n "$body" ]] && body+=$'\n'
  [[ $# -gt 0 ]] && body+="$1"$'\n'
  printf '%s' "$body"
}

if ((remove)); then
  if ((had_line)); then
    write_crontab "$(compose)"
    ((dry_run)) || echo "Removed the taskhost monitor line for $project_root from $where."
  else
    echo "No taskhost monitor line for $project_root in $where; nothing to remove."
  fi
  exit 0
fi

# --- add (or replace) the line --------------------------------------------------------

node_bin="${TASKHOST_NODE:-$(command -v node || true)}"
[[ -n "$node_bin" && -x "$node_bin" ]] || die "node is not on PATH; install Node.js >= 20.19 or set TASKHOST_NODE=/path/to/node"
node_bin="$(readlink -f -- "$node_bin")"
case "$node_bin" in
  *[[:space:]%\'\"\\]*) die "the node path '$node_bin' contains spaces or one of % ' \" \\" ;;
esac
[[ -x "$monitor" ]] || die "$monitor is missing or not executable"

# stdout is dropped (the monitor logs to logs/monitor.log); stderr, only written
# on real failures, reaches cron's mail.
line="*/$interval * * * * ${root_env}TASKHOST_NODE=$node_bin $monitor >/dev/null $marker"

if [[ "$our_lines" == "$line" ]]; then
  echo "The taskhost monitor line is already in $where:"
  echo "  $line"
else
  write_crontab "$(compose "$line")"
  if ((dry_run)); then
    exit 0
  fi
  if ((had_line)); then echo "Replaced the taskhost monitor line in $where:"; else echo "Added to $where:"; fi
  echo "  $line"
fi
echo "Every $interval minute(s) it starts the host if none is running (never beside an active systemd unit);"
echo "it logs to $project_root/logs/monitor.log. Remove it with: $script_dir/setup-cron.sh --remove"
