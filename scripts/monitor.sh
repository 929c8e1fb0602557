#!/usr/bin/env bash
# Starts the taskhost host in the background if none is running. Meant for
# cron (scripts/setup-cron.sh adds it every 5 minutes); safe to run by hand.
#
# It does nothing when:
#   - a host holds the project's lock (data/taskhost.pid names a live process,
#     or `taskhost status --json` says host.running),
#   - the systemd unit is active, starting, stopping or enabled (systemd owns
#     the host then; a second one must never run beside it),
#   - another monitor is busy (flock on data/monitor.lock; it waits for it,
#     then checks again).
# Every check and action is logged with a timestamp to logs/monitor.log.
#
# Environment:
#   TASKHOST_PROJECT_ROOT  project folder (default: the folder above scripts/)
#   TASKHOST_BIN           the taskhost command (default: <script dir>/../runtime/bin/taskhost.js)
#   TASKHOST_NODE          node to run it with (default: node on PATH, then /usr/local/bin, /usr/bin)
#   TASKHOST_SERVICE_NAME  systemd unit to defer to (default: taskhost)
#   TASKHOST_SYSTEMCTL     systemctl to ask (default: systemctl, when systemd is PID 1)
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project_root="$(cd "${TASKHOST_PROJECT_ROOT:-$script_dir/..}" && pwd -P)"
bin="${TASKHOST_BIN:-$script_dir/../runtime/bin/taskhost.js}"
service="${TASKHOST_SERVICE_NAME:-taskhost}"
service="${service%.service}.service"

data_dir="$project_root/data"
log_dir="$project_root/logs"
log_file="$log_dir/monitor.log"
mkdir -p -- "$data_dir" "$log_dir"

log() {
  local line
  line="$(date '+%Y-%m-%dT%H:%M:%S%z') [$$] $*"
  # Keep the log bounded: one previous generation of about 1 MB.
  if [[ -f "$log_file" ]] && (($(stat -c %s -- "$log_file" 2>/dev/null || echo 0) > 1048576)); then
    mv -f -- "$log_file" "$log_file.1" || true
  fi
  if ! printf '%s\n' "$line" >>"$log_file" 2>/dev/null; then
    printf 'monitor.sh: cannot write %s: %s\n' "$log_file" "$line" >&2
  fi
  [[ -t 1 ]] && printf '%s\n' "$line"
  return 0
}

# --- node: cron's PATH is minimal ---------------------------------------------

find_node() {
  local candidate
  for candidate in "${TASKHOST_NODE:-}" "$(command -v node 2>/dev/null || true)" /usr/local/bin/node /usr/bin/node; do
    if [[ -n "$candidate" && -x "$candidate" ]]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}
if ! node_bin="$(find_node)"; then
  log "error: node not found (PATH=$PATH); set TASKHOST_NODE in the crontab line (scripts/setup-cron.sh does)"
  echo "monitor.sh: node not found; set TASKHOST_NODE" >&2
  exit 1
fi
PATH="$(dirname "$node_bin"):$PATH"
export PATH
if [[ ! -f "$bin" ]]; then
  log "error: $bin is missing (npm install not run?)"
  echo "monitor.sh: $bin is missing" >&2
  exit 1
fi

# --- one monitor at a time ------------------------------------------------------

exec 9>>"$data_dir/monitor.lock"
if command -v flock >/dev/null 2>&1; then
  if ! flock -w 120 9; then
    log "another monitor has held $data_dir/monitor.lock for 2 minutes; giving up this round"
    exit 0
  fi
else
  # No flock (macOS): a lock directory; the host's own PID-file lock still
  # guarantees that a second host could never run.
  lock_dir="$data_dir/monitor.lock.d"
  if ! mkdir -- "$lock_dir" 2>/dev/null; then
    if [[ -n "$(find "$lock_dir" -maxdepth 0 -mmin +10 2>/dev/null)" ]]; then
      rmdir -- "$lock_dir" 2>/dev/null || true
      mkdir -- "$lock_dir" 2>/dev/null || true
    else
      log "another monitor is running ($lock_dir); nothing to do this round"
      exit 0
    fi
  fi
  trap 'rmdir -- "$lock_dir" 2>/dev/null || true' EXIT
fi

# --- is systemd in charge? ------------------------------------------------------

systemd_state() {
  # Prints "ActiveState UnitFileState" of the unit for one scope, or nothing.
  local -a ctl=("$@")
  "${ctl[@]}" show --property=ActiveState --property=UnitFileState -- "$service" 2>/dev/null |
    awk -F= '$1=="ActiveState"{a=$2} $1=="UnitFileState"{u=$2} END{if (a!="") print a, (u==""?"-":u)}'
}
systemd_owns_host() {
  local systemctl="${TASKHOST_SYSTEMCTL:-}" scope state active enabled
  if [[ -z "$systemctl" ]]; then
    [[ -d /run/systemd/system ]] || return 1
    systemctl="$(command -v systemctl 2>/dev/null)" || return 1
  fi
  for scope in system user; do
    if [[ $scope == user ]]; then
      export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/run/user/$(id -u)}"
      state="$(systemd_state "$systemctl" --user)"
    else
      state="$(systemd_state "$systemctl")"
    fi
    [[ -n "$state" ]] || continue
    read -r active enabled <<<"$state"
    case "$active" in
      active | activating | deactivating | reloading | refreshing)
        log "systemd $scope unit $service is $active; systemd runs the host, nothing to do"
        return 0
        ;;
    esac
    case "$enabled" in
      enabled | enabled-runtime | linked | linked-runtime)
        log "systemd $scope unit $service is $enabled but $active; not starting a host beside systemd (see: systemctl$([[ $scope == user ]] && echo " --user") status ${service%.service})"
        return 0
        ;;
    esac
  done
  return 1
}

# --- is a host running? ---------------------------------------------------------

# The lock file's PID, if that process is alive and looks like taskhost/node.
pid_file_holder() {
  local pid cmdline
  [[ -f "$data_dir/taskhost.pid" ]] || return 1
  read -r pid <"$data_dir/taskhost.pid" || true
  [[ "$pid" =~ ^[1-9][0-9]*$ ]] || return 1
  [[ -d "/proc/$pid" ]] || kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    # A reused PID after a reboot is not our host.
    [[ -z "$cmdline" || "$cmdline" == *taskhost* || "$cmdline" == *node* ]] || return 1
  fi
  printf '%s\n' "$pid"
}

# Asks the CLI (which knows the configured data folder and the control socket).
status_running_pid() {
  local out
  out="$(cd "$project_root" && TASKHOST_ROOT="$project_root" "$node_bin" "$bin" status --json 2>&1 9>&-)" || {
    log "warning: 'taskhost status --json' failed: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
    return 1
  }
  "$node_bin" -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      try {
        const h = JSON.parse(s).host ?? {};
        if (h.running) { console.log(h.pid ?? "?"); process.exit(0); }
      } catch {}
      process.exit(1);
    });' <<<"$out" 9>&-
}

if systemd_owns_host; then
  exit 0
fi
if pid="$(pid_file_holder)"; then
  log "host running (pid $pid); nothing to do"
  exit 0
fi
if pid="$(status_running_pid)"; then
  log "host running (pid $pid, per taskhost status); nothing to do"
  exit 0
fi

# --- start one --------------------------------------------------------------------

log "no host running for $project_root; starting one: $node_bin $bin start --daemon"
# fd 9 (the monitor lock) must not be inherited by the long-lived host.
if out="$(cd "$project_root" && TASKHOST_ROOT="$project_root" "$node_bin" "$bin" start --daemon 2>&1 9>&-)"; then
  log "started: $(tr '\n' ' ' <<<"$out")"
else
  rc=$?
  log "error: start failed (exit $rc): $(tr '\n' ' ' <<<"$out")"
  printf 'monitor.sh: taskhost did not start (exit %s); see %s\n%s\n' "$rc" "$log_file" "$out" >&2
  exit 1
fi
