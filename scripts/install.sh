#!/usr/bin/env bash
# Installs taskhost as a systemd service (or removes it again).
#
#   sudo scripts/install.sh                 system unit, runs as the dedicated user "taskhost"
#   scripts/install.sh --user               a unit of your own systemd user manager (no root)
#   sudo scripts/install.sh --uninstall     stop, disable and remove the unit
#
# Options:
#   --user               install a user unit in ~/.config/systemd/user instead of a system unit
#   --uninstall          stop and disable the service and remove its unit file
#   --dry-run            change nothing on the system: print the unit (or write it to --output)
#                        and say what would be done
#   --service-name NAME  unit name without ".service" (default: taskhost)
#   --run-user USER      system unit: the account the host runs as (default: taskhost;
#                        created with useradd --system when missing)
#   --output DIR         write the unit into DIR instead of /etc/systemd/system
#                        (or ~/.config/systemd/user); used by the tests
#   --no-supervisor      systemd supervises the host itself (`start --no-supervisor`):
#                        one Node process instead of two (~60 MB less RSS); a memory
#                        restart or `taskhost restart` is then a restart by systemd
#                        (after RestartSec=1, counted in StartLimitBurst), and the PID changes
#   --writable-tasks     let the service write the tasks folder (tasks.directory): the
#                        dashboard's New task, Edit and Delete, and `taskhost new` run as the
#                        service user; on by itself when config/config.yaml has
#                        dashboard.enabled: true. Without it the tasks folder is read-only
#                        for the service, like the rest of the project
#   -h, --help           this text
#
# Environment: TASKHOST_PROJECT_ROOT (default: the folder above scripts/),
# TASKHOST_BIN (default: <project>/runtime/bin/taskhost.js), TASKHOST_NODE
# (default: the `node` on PATH).
#
# Running it again is safe: an unchanged unit is left alone, an existing user
# is kept, and a changed unit of a running service is applied with a restart.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

say() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

user_mode=0
supervised=1
writable_tasks=0
uninstall=0
dry_run=0
service_name=taskhost
run_user=taskhost
run_user_given=0
output_dir=""

while (($#)); do
  case "$1" in
    --user) user_mode=1 ;;
    --no-supervisor) supervised=0 ;;
    --writable-tasks) writable_tasks=1 ;;
    --uninstall) uninstall=1 ;;
    --dry-run) dry_run=1 ;;
    --service-name)
      (($# >= 2)) || die "--service-name needs a value"
      service_name="$2"
      shift
      ;;
    --service-name=*) service_name="${1#*=}" ;;
    --run-user)
      (($# >= 2)) || die "--run-user needs a value"
      run_user="$2"
      run_user_given=1
      shift
      ;;
    --run-user=*)
      run_user="${1#*=}"
      run_user_given=1
      ;;
    --output)
      (($# >= 2)) || die "--output needs a directory"
      output_dir="$2"
      shift
      ;;
    --output=*) output_dir="${1#*=}" ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done

[[ "$service_name" =~ ^[A-Za-z0-9_.@:-]+$ ]] || die "--service-name '$service_name' is not a valid unit name"
service_name="${service_name%.service}"
unit_name="$service_name.service"
if ((user_mode && run_user_given)); then
  die "--run-user applies to system units only; a --user unit runs as you"
fi
[[ "$run_user" =~ ^[a-z_][a-z0-9_-]*[$]?$ ]] || die "--run-user '$run_user' is not a valid user name"

# --- where things are ------------------------------------------------------

project_root="$(cd "${TASKHOST_PROJECT_ROOT:-$script_dir/..}" && pwd -P)" ||
  die "project folder ${TASKHOST_PROJECT_ROOT:-$script_dir/..} not found"
bin="${TASKHOST_BIN:-$project_root/runtime/bin/taskhost.js}"
[[ -f "$bin" ]] || die "the taskhost command $bin is missing (run npm install in $project_root?)"
bin="$(cd "$(dirname "$bin")" && pwd -P)/$(basename "$bin")"
[[ -x "$(dirname "$bin")/taskhost" ]] || die "the taskhost shell command beside $bin is missing or not executable (chmod +x it)"

# systemd splits unit values on whitespace and treats % and \ specially.
case "$project_root$bin" in
  *[[:space:]%\\\"\']*) die "the project path '$project_root' contains spaces or one of % \\ \" ' ; move it (e.g. to /opt/taskhost)" ;;
esac

if ((user_mode)); then
  default_unit_dir="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
  systemctl_cmd=(systemctl --user)
else
  default_unit_dir=/etc/systemd/system
  systemctl_cmd=(systemctl)
fi
unit_dir="${output_dir:-$default_unit_dir}"
unit_file="$unit_dir/$unit_name"

# systemctl only makes sense when systemd runs this machine (not in most containers).
systemd_running=0
[[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1 && systemd_running=1

# May we touch the running system? Not with --dry-run, and --output means "just write the file".
manage_system=1
skip_note=""
if ((dry_run)); then
  manage_system=0 skip_note="dry run"
elif [[ -n "$output_dir" ]]; then
  manage_system=0 skip_note="--output: the system is left alone"
fi

run() {
  say "  \$ $*"
  "$@"
}

# --- uninstall ---------------------------------------------------------------

if ((uninstall)); then
  say "Removing the $unit_name service ($( ((user_mode)) && echo "user unit" || echo "system unit")):"
  if ((manage_system)); then
    ((user_mode)) || ((EUID == 0)) || die "removing a system unit needs root: sudo $0 --uninstall"
    if ((systemd_running)); then
      if "${systemctl_cmd[@]}" cat "$unit_name" >/dev/null 2>&1; then
        say "- stopping and disabling it (running tasks get their shutdown grace)"
        run "${systemctl_cmd[@]}" disable --now "$unit_name" || warn "systemctl disable --now failed; continuing"
      else
        say "- systemd does not know $unit_name; nothing to stop"
      fi
    else
      say "- systemd is not running on this machine (PID 1 is $(cat /proc/1/comm 2>/dev/null || echo unknown)); nothing to stop"
    fi
  else
    say "- would stop and disable it: ${systemctl_cmd[*]} disable --now $unit_name ($skip_note)"
  fi
  if [[ -e "$unit_file" ]]; then
    if ((dry_run)) && [[ -z "$output_dir" ]]; then
      say "- would remove $unit_file (dry run)"
    else
      say "- removing $unit_file"
      rm -f -- "$unit_file"
    fi
  else
    say "- $unit_file does not exist; nothing to remove"
  fi
  if ((manage_system && systemd_running)); then
    run "${systemctl_cmd[@]}" daemon-reload
    "${systemctl_cmd[@]}" reset-failed "$unit_name" >/dev/null 2>&1 || true
  fi
  if ((!user_mode)); then
    say "- the user '$run_user', the project and its data/ and logs/ are kept (remove them yourself if you want: userdel $run_user)"
  fi
  say "Done."
  exit 0
fi

# --- what the unit needs -------------------------------------------------------

node_bin="${TASKHOST_NODE:-$(command -v node || true)}"
[[ -n "$node_bin" ]] || die "node is not on PATH; install Node.js >= 20.19 or set TASKHOST_NODE=/path/to/node"
node_bin="$(readlink -f -- "$node_bin")"
[[ -x "$node_bin" ]] || die "$node_bin is not an executable"
case "$node_bin" in
  *[[:space:]%\\\"\']*) die "the path of node, '$node_bin', contains spaces or one of % \\ \" ' (systemd would split or expand it); copy node to a path without them and set TASKHOST_NODE to it" ;;
esac
node_version="$("$node_bin" -p 'process.versions.node')" || die "$node_bin does not run"
"$node_bin" -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  process.exit(maj > 20 || (maj === 20 && min >= 19) ? 0 : 1);' ||
  die "taskhost needs Node.js >= 20.19; $node_bin is $node_version"
node_dir="$(dirname "$node_bin")"
# npm and any tool a task calls are found next to this node first.
case "$node_dir" in
  /usr/local/bin | /usr/bin | /bin) unit_path="/usr/local/bin:/usr/bin:/bin" ;;
  *) unit_path="$node_dir:/usr/local/bin:/usr/bin:/bin" ;;
esac

# The settings the unit depends on, from config/config.yaml (defaults otherwise).
# Read with the project's own yaml package: grep would miss flow style and comments.
config_file="$project_root/config/config.yaml"
read_config() {
  TASKHOST_CONFIG_FILE="$config_file" "$node_bin" --input-type=module -e '
    import { createRequire } from "node:module";
    import { readFileSync, existsSync } from "node:fs";
    import path from "node:path";
    const root = process.argv[1];
    const file = process.env.TASKHOST_CONFIG_FILE;
    let doc = {};
    if (existsSync(file)) {
      // The yaml package the runtime itself uses (found from the taskhost command).
      const { parse } = createRequire(process.argv[2])("yaml");
      doc = parse(readFileSync(file, "utf8")) ?? {};
    }
    const num = (v, d) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : d);
    const dir = (v, d) => path.resolve(root, typeof v === "string" && v ? v : d);
    const s = doc.scheduler ?? {};
    console.log([
      Math.ceil(num(s.shutdown_grace, 30)),
      Math.ceil(num(s.max_memory_usage, 500)),
      path.dirname(dir(doc.database?.path, "data/scheduler.db")),
      dir(doc.logging?.directory, "logs"),
      Math.ceil(num(s.max_concurrent_runs, 8)),
      dir(doc.tasks?.directory, "tasks"),
      doc.dashboard?.enabled === true ? 1 : 0,
    ].join("\n"));
  ' "$project_root" "$bin"
}
if ! config_values="$(read_config)"; then
  warn "could not read $config_file; using the defaults (shutdown_grace 30 s, max_memory_usage 500 MB, data/, logs/)"
  config_values=$'30\n500\n'"$project_root/data"$'\n'"$project_root/logs"$'\n8\n'"$project_root/tasks"$'\n0'
fi
{
  read -r shutdown_grace
  read -r max_memory
  read -r data_dir
  read -r logs_dir
  read -r max_runs
  read -r tasks_dir
  read -r dashboard_enabled
} <<<"$config_values"
case "$data_dir$logs_dir$tasks_dir" in
  *[[:space:]%\\\"\']*) die "data, logs or tasks folder '$data_dir' / '$logs_dir' / '$tasks_dir' contains spaces or % \\ \" '" ;;
esac
# The dashboard writes task files (New task, Edit, Delete): its folder must be writable then.
((dashboard_enabled)) && writable_tasks=1
writable_dirs="$data_dir $logs_dir"
((writable_tasks)) && writable_dirs="$writable_dirs $tasks_dir"

# Running tasks get shutdown_grace seconds; then the ledger is written. Give
# systemd's stop a margin above that before it sends SIGKILL.
timeout_stop=$((shutdown_grace + 30))
# The host restarts itself when its own memory passes max_memory_usage, and each
# run is held to its memory_limit (512 MB unless a task says otherwise); MemoryMax
# is only the backstop if that ever fails: 1.5x the host's limit + 256 MB for the
# restart, plus max_concurrent_runs runs at the default memory_limit.
memory_max=$((max_memory * 3 / 2 + 256 + max_runs * 512))

# PrivateTmp=yes gives the service its own empty /tmp and /var/tmp: a project there
# is invisible to it. A --user unit has no mount sandbox, so it is not affected.
if ((!user_mode)); then
  case "$project_root/" in
    /tmp/* | /var/tmp/*)
      tmp_msg="the project $project_root is under /tmp or /var/tmp, which the unit's PrivateTmp=yes hides from the service (it would not find its own files); move it (e.g. to /opt/taskhost) or use --user"
      if ((manage_system)); then die "$tmp_msg"; fi
      warn "$tmp_msg (a real install refuses)"
      ;;
  esac
fi

# ProtectHome: /home, /root and /run/user hold people's files; the host never
# needs them, unless the project itself lives there.
case "$project_root/" in
  /home/* | /root/* | /run/user/*) protect_home="read-only" ;;
  *) protect_home="yes" ;;
esac

# --- the unit --------------------------------------------------------------------

render_unit() {
  local mode_comment restart_sec=5
  # Supervised, the main process is the shell supervisor of the `taskhost` command (beside
  # taskhost.js), which runs $node_bin (TASKHOST_NODE) for its host.
  local exec_start="$(dirname "$bin")/taskhost start"
  local start_limit_note=": crashes; the supervisor restarts its host itself"
  # Without the supervisor, exit 75 (a memory restart, `taskhost restart`) is systemd's to act on,
  # promptly, and Node gets the flags the supervisor gives its host (HOST_NODE_FLAGS in
  # runtime/supervisor/host-node-flags.ts: a small young generation, 24 MB less RSS).
  if ((!supervised)); then
    exec_start="$node_bin --max-semi-space-size=4 $bin start --no-supervisor" restart_sec=1
    start_limit_note=": crashes, and the restarts the host asks for (exit 75)"
  fi
  if ((user_mode)); then mode_comment="user unit (systemctl --user)"; else mode_comment="system unit, runs as $run_user"; fi
  cat <<EOF
# taskhost: generated by scripts/install.sh; run it again rather than editing this file.
# $mode_comment; project $project_root
[Unit]
Description=taskhost task host ($project_root)
Documentation=file://$project_root/README.md
After=network-online.target
Wants=network-online.target
# Give up after 5 starts within 5 minutes (systemctl reset-failed to retry)$start_limit_note.
StartLimitIntervalSec=300
StartLimitBurst=5

[Service]
Type=simple
ExecStart=$exec_start
WorkingDirectory=$project_root
Environment=NODE_ENV=production
Environment=TASKHOST_NODE=$node_bin
Environment=PATH=$unit_path
# npm (task dependencies) must cache inside a writable folder.
Environment=npm_config_cache=$data_dir/npm-cache
EOF
  if ((!user_mode)); then
    cat <<EOF
User=$run_user
EOF
  fi
  cat <<EOF
Restart=on-failure
RestartSec=$restart_sec
# Exit 78 (EX_CONFIG): a first start on an invalid config/config.yaml with no last good
# copy in data/ to fall back on. Restarting cannot help; the journal says which key.
RestartPreventExitStatus=78
EOF
  if ((!supervised)); then
    cat <<EOF
# Exit 75: the host asks for a restart (memory limit, taskhost restart); not a failure.
SuccessExitStatus=75
RestartForceExitStatus=75
EOF
  fi
  cat <<EOF
# SIGTERM to the main process only (the PID in data/taskhost.pid): it stops
# gracefully, giving running tasks scheduler.shutdown_grace = ${shutdown_grace} s; a second
# SIGTERM would mean "stop now". Whatever is left after TimeoutStopSec gets SIGKILL.
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=$timeout_stop
# Backstop above scheduler.max_memory_usage = ${max_memory} MB and ${max_runs} runs at 512 MB (the host restarts itself, and stops a run, first).
MemoryMax=${memory_max}M
UMask=0027
SyslogIdentifier=$service_name

# Hardening. Not MemoryDenyWriteExecute: V8's JIT needs writable+executable memory.
NoNewPrivileges=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
SystemCallArchitectures=native
RestrictNamespaces=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
SystemCallErrorNumber=EPERM
EOF
  if ((user_mode)); then
    cat <<EOF
# A user manager cannot set up mount namespaces without unprivileged user
# namespaces (often disabled), so ProtectSystem=, PrivateTmp= etc. are left
# out here: install a system unit for the full sandbox.
EOF
  else
    cat <<EOF
ProtectSystem=strict
ReadWritePaths=$writable_dirs
ProtectHome=$protect_home
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
RemoveIPC=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
CapabilityBoundingSet=
AmbientCapabilities=
EOF
  fi
  cat <<EOF

[Install]
WantedBy=$( ((user_mode)) && echo default.target || echo multi-user.target)
EOF
}

unit_text="$(render_unit)"

say "taskhost service: $unit_name ($( ((user_mode)) && echo "user unit" || echo "system unit running as '$run_user'"))"
say "- project:  $project_root"
say "- node:     $node_bin (v$node_version)"
say "- config:   shutdown_grace ${shutdown_grace} s -> TimeoutStopSec=${timeout_stop}; max_memory_usage ${max_memory} MB -> MemoryMax=${memory_max}M"
if ((!user_mode)); then
  say "- writable: $writable_dirs (everything else read-only; ProtectHome=$protect_home)"
fi

if ((dry_run)) && [[ -z "$output_dir" ]]; then
  say ""
  say "Dry run: the unit $unit_file would be:"
  say "----------------------------------------------------------------"
  printf '%s\n' "$unit_text"
  say "----------------------------------------------------------------"
fi

if ((manage_system)); then
  ((user_mode)) || ((EUID == 0)) || die "a system unit needs root: sudo $0 (or $0 --user for a unit of your own)"
fi

# --- the dedicated user and its folders --------------------------------------------

if ((!user_mode)); then
  if id -u "$run_user" >/dev/null 2>&1; then
    say "- user '$run_user' exists"
  elif ((manage_system)); then
    say "- creating the system user '$run_user' (no login shell, home $data_dir)"
    nologin="$(command -v nologin || echo /usr/sbin/nologin)"
    run useradd --system --user-group --no-create-home --home-dir "$data_dir" --shell "$nologin" "$run_user"
  else
    say "- would create the system user '$run_user' with useradd --system ($skip_note)"
  fi
  if ((manage_system)); then
    say "- giving '$run_user' the writable folders"
    run mkdir -p -- $writable_dirs
    run chown -R -- "$run_user:$run_user" $writable_dirs
    # The dedicated user must be able to read the project and run node.
    if ! runuser -u "$run_user" -- test -r "$bin" -a -x "$node_bin" -a -r "$config_file" -a -x "$project_root/tasks" 2>/dev/null; then
      die "'$run_user' cannot read $project_root or run $node_bin (a home folder with mode 700? node from nvm?).
Move the project (e.g. to /opt/taskhost), install node system-wide, pass --run-user <owner of the project>, or use --user."
    fi
  else
    say "- would create $writable_dirs and chown them to '$run_user' ($skip_note)"
  fi
fi

# --- write the unit ----------------------------------------------------------------

changed=0
if ((dry_run)) && [[ -z "$output_dir" ]]; then
  :
elif [[ -f "$unit_file" ]] && [[ "$(cat -- "$unit_file")" == "$unit_text" ]]; then
  say "- $unit_file is up to date"
else
  if [[ -f "$unit_file" ]]; then say "- updating $unit_file"; else say "- writing $unit_file"; fi
  mkdir -p -- "$unit_dir"
  tmp="$(mktemp "$unit_dir/.$unit_name.XXXXXX")"
  printf '%s\n' "$unit_text" >"$tmp"
  chmod 0644 "$tmp"
  mv -f -- "$tmp" "$unit_file"
  changed=1
fi

# --- enable and start -------------------------------------------------------------

if ((!manage_system)); then
  if ((dry_run)); then
    say "- would run: ${systemctl_cmd[*]} daemon-reload && ${systemctl_cmd[*]} enable --now $unit_name (dry run)"
    # The same steps as a real install, lingering included.
    if ((user_mode)); then say "- would run: loginctl enable-linger ${USER:-$(id -un)}, so the service keeps running after you log out (dry run)"; fi
  else
    say "- unit written to $output_dir only; systemd was not touched (copy it to $default_unit_dir to use it)"
  fi
  say "Done."
  exit 0
fi

if ((!systemd_running)); then
  say ""
  say "systemd is not running on this machine (PID 1 is $(cat /proc/1/comm 2>/dev/null || echo unknown)), so the"
  say "service was NOT enabled or started. The unit file is in place for a machine that boots with"
  say "systemd; here use the cron monitor instead: scripts/setup-cron.sh"
  exit 0
fi

run "${systemctl_cmd[@]}" daemon-reload
if "${systemctl_cmd[@]}" is-active --quiet "$unit_name" && ((changed)); then
  say "- the unit changed and the service is running: restarting it to apply (graceful)"
  run "${systemctl_cmd[@]}" restart "$unit_name"
fi
run "${systemctl_cmd[@]}" enable --now "$unit_name"

if ((user_mode)); then
  # Without lingering, a user's services stop when their last session ends.
  if command -v loginctl >/dev/null 2>&1 && [[ "$(loginctl show-user "${USER:-$(id -un)}" -p Linger --value 2>/dev/null)" != "yes" ]]; then
    say "- letting your services run while you are logged out"
    run loginctl enable-linger "${USER:-$(id -un)}" || warn "loginctl enable-linger failed: the service stops when you log out (ask an admin: loginctl enable-linger ${USER:-$(id -un)})"
  fi
fi

if ((user_mode)); then
  ctl="systemctl --user" jctl="journalctl --user" again="$0 --uninstall --user"
else
  ctl="sudo systemctl" jctl="sudo journalctl" again="sudo $0 --uninstall"
fi
say ""
say "Installed and started. It starts at boot and is restarted 5 s after a crash."
say "  $ctl status $service_name       # is it running?"
say "  $jctl -u $service_name -f      # its console output"
say "  npx taskhost status                 # the host and its tasks"
say "  $ctl restart $service_name      # graceful restart"
say "  $again   # remove it"
