# shellcheck shell=sh
# The supervisor of `taskhost start`: sourced by runtime/bin/taskhost, which
# sets $here (runtime/bin) and $node. This shell is the process users, the PID
# file and systemd see. It holds the project's lock and (re)spawns the host as
# a child, so a host can restart itself (memory limit, `taskhost restart`) or be
# restarted after a crash without the PID changing. PM2's model, in POSIX sh:
# a Node supervisor would cost ~45 MB of RSS for the whole life of the host.
#
# What the host tells it is its exit code (runtime/supervisor/exit-codes.ts):
# 0 stopped, 75 restart me, 78 cannot start (not retried). Anything else is a
# crash: it is started again after 1 s, 2 s, 4 s ... up to a minute, the
# backoff starting over once a host ran 30 s, and the supervisor gives up after
# 5 crashes in a row each within 30 s of its start.
#
# Signals: the first SIGINT or SIGTERM is passed on to the host, a stop with
# grace; an echo of it within 300 ms (`npm start` passes the terminal's Ctrl-C
# on as SIGTERM too) is the same request; a later one is passed on as "stop
# now", and a host that has not ended 2 s after it is killed. SIGHUP is a
# graceful restart, unless the terminal closed: then it is a stop with grace.
# Signals wait for a host just started to take them (signal_host).

STABLE_MS=30000
# How long a host gets to act on a second stop signal before it is killed.
KILL_AFTER_S=2
MAX_DELAY_S=60
MAX_EARLY_CRASHES=5
# How long after a host's exit its stderr may still bring lines for the crash's account.
STDERR_DRAIN_TENTHS=5

# Prints the time in ms since the epoch (rounded up where date cannot say ms: a
# start failure must not look older than the command that waits for it).
now_ms() {
  _t=$(date +%s%3N)
  case $_t in
  *N*) echo $(($(date +%s) * 1000 + 999)) ;;
  *) echo "$_t" ;;
  esac
}

# Detached, stderr is logs/supervisor.log: each line stamped, and the quiet
# events (starts, restarts, stops) noted too. In a terminal, only problems.
say() {
  if [ "$daemon" = 1 ]; then
    printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" >&2
  else
    printf '%s\n' "$1" >&2
  fi
}
note() {
  if [ "$daemon" = 1 ]; then say "$1"; fi
}

# Standard input as one JSON string (the crash account and the start-failure record carry
# stderr's last lines). split and join, not gsub: awks differ on backslashes in gsub's replacement.
json_string() {
  tr -d '\000-\010\013-\037' | awk '
    function swap(text, from, to,    parts, n, i, out) {
      n = split(text, parts, from); out = parts[1]
      for (i = 2; i <= n; i++) out = out to parts[i]
      return out
    }
    BEGIN { printf "\"" }
    { printf "%s%s", (NR > 1 ? "\\n" : ""), swap(swap(swap($0, "\\", "\\\\"), "\"", "\\\""), "\t", "\\t") }
    END { printf "\"" }'
}

# The record `taskhost restart` and `start --daemon` read to say at once why a new host is not coming up.
write_start_failure() { # message gave_up
  _message=$(printf '%s' "$1" | json_string)
  printf '{"at":%s,"hostPid":%s,"message":%s,"gaveUp":%s}\n' "$(now_ms)" "$child" "$_message" "$2" >"$start_failure" 2>/dev/null || :
}

# Whether this shell had a terminal and lost it: after a hang-up the controlling
# terminal can no longer be opened. (Under systemd or --daemon there never was
# one: a SIGHUP there is always a restart request.)
terminal_hung_up() {
  [ "$had_terminal" = 1 ] || return 1
  # `true`, not `:`: a redirection that fails on a special built-in ends the shell.
  if { true </dev/tty; } 2>/dev/null; then return 1; fi
  return 0
}

# Whether the host takes signals yet: its first line titles the process taskhost-host and
# handles them. Before, a signal is lost or kills it mid-start: between the fork and the exec
# the child is this shell, whose inherited trap catches it (and dash loses it at the exec);
# setsid and Node's boot ignore SIGINT (a background job's); then Node dies of it. Gone counts
# as ready (nothing to lose).
host_ready() {
  if [ "$has_proc" = 1 ]; then
    read_proc_status "$child"
    case $proc_name in "" | taskhost-host) return 0 ;; esac
    return 1
  fi
  # Without /proc (not Linux): the title is the process's arguments.
  case $(ps -o args= -p "$child" 2>/dev/null) in "" | taskhost-host*) return 0 ;; esac
  return 1
}

# Sets proc_name and proc_ppid to process $1's program name and parent, from /proc (Linux);
# empty if it cannot be read.
read_proc_status() { # pid
  proc_name= proc_ppid=
  while read -r _key _value; do
    case $_key in
    Name:) proc_name=$_value ;;
    PPid:) proc_ppid=$_value; break ;;
    esac
  done 2>/dev/null <"/proc/$1/status"
}

# Whether $child is still this shell's child (a PID of a host reaped and reused is not ours).
host_is_ours() {
  if [ "$has_proc" = 1 ]; then
    read_proc_status "$child"
  else
    proc_ppid=$(ps -o ppid= -p "$child" 2>/dev/null)
  fi
  [ "$((proc_ppid + 0))" = "$$" ]
}

signal_host() { # signal
  [ -n "$child" ] || return 0
  _i=0
  # Bounded: a host that takes longer than ~5 s to boot gets the signal anyway.
  while ! host_ready && [ "$_i" -lt 250 ]; do
    sleep 0.02
    _i=$((_i + 1))
  done
  kill -s "$1" "$child" 2>/dev/null
}

on_stop() { # signal
  trapped=1
  # `npm start` passes the terminal's Ctrl-C on as SIGTERM too: one keypress, two signals
  # within milliseconds. Only a second stop request later means "stop now".
  _now=$(now_ms)
  _echo=$((_now - last_stop_at < echo_ms))
  last_stop_at=$_now
  if [ "$_echo" = 1 ] && [ "$stop_signals" -gt 0 ]; then return; fi
  stop_signals=$((stop_signals + 1))
  _already=$stopping
  stopping=1
  if [ -n "$sleeper" ]; then kill "$sleeper" 2>/dev/null; fi
  if [ "$stop_signals" = 1 ]; then
    # After a closed terminal's hang-up the host is stopping with grace already: the first
    # stop signal (npm's, as its terminal went) is the same request.
    if [ "$_already" != 1 ]; then signal_host "$1"; fi
    return
  fi
  # The host stops at once on its own (exit 130); one whose main thread is blocked cannot.
  signal_host "$1"
  if [ -n "$child" ] && [ -z "$killer" ]; then
    (
      trap - INT TERM HUP
      sleep "$KILL_AFTER_S"
      if host_is_ours && kill -s KILL "$child" 2>/dev/null; then
        say "taskhost: the host did not stop within $KILL_AFTER_S s of the second signal: killed it"
      fi
    ) &
    killer=$!
  fi
}

on_hang_up() {
  trapped=1
  [ "$stopping" = 1 ] && return
  if terminal_hung_up; then
    say "taskhost: the terminal closed: stopping gracefully"
    stopping=1
    signal_host TERM
    if [ -n "$sleeper" ]; then kill "$sleeper" 2>/dev/null; fi
  else
    # A graceful restart of the host, as with `taskhost restart`.
    signal_host HUP
  fi
}

# Passes the host's stderr on, keeping its last 12 lines (not blank) in $stderr_tail:
# an uncaught error's stack, or Node's own fatal message, is the best account of a
# crash there is (the host cannot log what kills it). mawk reads a pipe in blocks
# unless told it is interactive.
start_stderr_tail() {
  rm -f "$stderr_tail" "$stderr_fifo"
  mkfifo -m 600 "$stderr_fifo" || return 1
  _interactive=
  case $(awk -W version 2>&1) in *mawk*) _interactive="-W interactive" ;; esac
  # shellcheck disable=SC2086
  (
    trap '' HUP INT TERM
    exec awk $_interactive -v out="$stderr_tail" '
      { print; fflush() }
      /[^ \t\r]/ { n++; kept[n % 12] = $0; for (i = (n > 12 ? n - 11 : 1); i <= n; i++) print kept[i % 12] > out; close(out) }'
  ) <"$stderr_fifo" >&2 &
  tailer=$!
}

# Waits for the host. A trap interrupts `wait` (its status is then the signal's): wait again,
# which also gives the status of a host that ended meanwhile (the shell keeps it).
wait_for_host() {
  while :; do
    trapped=0
    wait "$child"
    rc=$?
    [ "$trapped" = 1 ] || break
  done
  if [ -n "$killer" ]; then
    kill "$killer" 2>/dev/null
    killer=
  fi
}

# Lets the stderr relay finish briefly (esbuild's service or a process a task started may
# hold the pipe open), then ends it.
end_stderr_tail() {
  _i=0
  while kill -0 "$tailer" 2>/dev/null && [ "$_i" -lt "$STDERR_DRAIN_TENTHS" ]; do
    sleep 0.1
    _i=$((_i + 1))
  done
  # KILL: the relay ignores TERM (a signal for the supervisor must not end it first).
  kill -s KILL "$tailer" 2>/dev/null
  wait "$tailer" 2>/dev/null
  rm -f "$stderr_fifo"
}

release_lock() {
  for _file in "$pid_file" "$project_lock"; do
    if [ -n "$_file" ] && [ "$(cat "$_file" 2>/dev/null)" = "$$" ]; then rm -f "$_file"; fi
  done
  rm -f "$stderr_fifo"
}

supervise() {
  daemon=${TASKHOST_DAEMON:-0}
  trap '' PIPE
  # The config's check and the lock are the Node CLI's: it takes the lock for this shell
  # and prints where the project's files are, as shell assignments (and `set --` Node's flags for the host).
  _setup=$("$node" "$here/taskhost.js" __supervisor-lock --pid "$$" "$@") || return $?
  root= config= data_dir= pid_file= project_lock= stderr_tail= stderr_fifo= start_failure=
  eval "$_setup"
  child= sleeper= tailer= killer= trapped=0 stopping=0 stop_signals=0 last_stop_at=0 restarts=0 early=0 last_crash=
  # Stop signals closer together than this are one request (where date has no ms, a second's worth more).
  echo_ms=300
  case $(date +%3N) in *N*) echo_ms=1300 ;; esac
  # Started by `node taskhost.js start`, which passes signals on: its host stops if it is killed.
  # (Only our parent's: the variable is inherited by whatever a task starts.)
  launcher=
  if [ "${TASKHOST_LAUNCHER_PID-}" = "$PPID" ]; then launcher=$PPID; fi
  unset TASKHOST_LAUNCHER_PID
  # Processes' names and parents are read from /proc where there is one (Linux), else by ps.
  has_proc=0
  if [ -r "/proc/$$/status" ]; then has_proc=1; fi
  had_terminal=0
  if [ -t 0 ] || [ -t 1 ] || [ -t 2 ]; then had_terminal=1; fi
  setsid=
  # Its own session: a terminal's Ctrl-C and hang-up reach the supervisor only, which passes them on once.
  if command -v setsid >/dev/null 2>&1; then setsid=setsid; fi
  trap 'on_stop INT' INT
  trap 'on_stop TERM' TERM
  trap on_hang_up HUP
  trap release_lock EXIT
  cd "$root" || return 1
  supervise_loop "$@"
  _code=$?
  release_lock
  trap - EXIT
  return "$_code"
}

supervise_loop() {
  while :; do
    # Asked to stop while the last host ended (its stderr drained): no new one.
    if [ "$stopping" = 1 ]; then return 0; fi
    started=$(now_ms)
    if ! start_stderr_tail; then
      say "taskhost: could not make $stderr_fifo for the host's stderr"
      return 1
    fi
    # shellcheck disable=SC2086
    TASKHOST_SUPERVISOR_PID=$$ TASKHOST_ROOT=$root TASKHOST_SUPERVISOR_DATA_DIR=$data_dir TASKHOST_RESTARTS=$restarts TASKHOST_LAST_CRASH=$last_crash TASKHOST_LAUNCHER_PID=$launcher \
      $setsid "$node" "$@" "$here/taskhost.js" __host --config "$config" </dev/null 2>"$stderr_fifo" &
    child=$!
    # A stop asked for in the instant before the host was known.
    if [ "$stopping" = 1 ]; then signal_host TERM; fi
    if [ "$restarts" -gt 0 ]; then
      note "taskhost: supervisor $$ started host $child (restart $restarts)"
    else
      note "taskhost: supervisor $$ started host $child"
    fi
    wait_for_host
    ran_ms=$(($(now_ms) - started))
    how="exited with code $rc"
    if [ "$rc" -gt 128 ]; then how="was killed by SIG$(kill -l "$((rc - 128))")"; fi
    if [ "$stopping" = 1 ] || [ "$rc" = 0 ]; then
      end_stderr_tail
      child=
      case $rc in
      0 | 75) note "taskhost: the host stopped; supervisor $$ exits"; return 0 ;;
      130) return 130 ;;
      # Node had not yet reached the host's code, which takes a stop from its first line.
      143) note "taskhost: the host stopped before it had started; supervisor $$ exits"; return 0 ;;
      esac
      # A host that died while it stopped did not finish its stop: say so, and do not report success.
      say "taskhost: the host $how while stopping; runs in flight may not have been recorded as ended (see logs/errors.log)"
      # Killed by the backstop of a second stop signal: the "stop now" asked for.
      if [ "$rc" = 137 ] && [ "$stop_signals" -gt 1 ]; then return 130; fi
      return 1
    fi
    if [ "$rc" = 78 ]; then
      end_stderr_tail
      say "taskhost: the host could not start (see the message above); not retrying"
      return 78
    fi
    restarts=$((restarts + 1))
    if [ "$rc" = 75 ]; then
      end_stderr_tail
      note "taskhost: the host asked for a restart (memory limit or \`taskhost restart\`; see logs/scheduler.log)"
      continue
    fi
    end_stderr_tail
    [ "$ran_ms" -ge "$STABLE_MS" ] && early=0
    early=$((early + 1))
    account="the host $how after $((ran_ms / 1000)) s"
    if [ -s "$stderr_tail" ]; then account="$account; the last it wrote on stderr:
$(cat "$stderr_tail")"; fi
    last_crash=$(printf '{"at":%s,"error":%s}' "$(now_ms)" "$(printf '%s' "$account" | json_string)")
    if [ "$early" -ge "$MAX_EARLY_CRASHES" ] && [ "$ran_ms" -lt "$STABLE_MS" ]; then
      write_start_failure "$account" true
      say "taskhost: the host $how; it crashed $early times in a row within seconds of starting, so the supervisor gives up. See logs/errors.log."
      return 1
    fi
    write_start_failure "$account" false
    delay=$((1 << (early - 1)))
    [ "$delay" -gt "$MAX_DELAY_S" ] && delay=$MAX_DELAY_S
    say "taskhost: the host $how after $((ran_ms / 1000)) s; starting it again in $delay s (restart $restarts)"
    child=
    sleep "$delay" &
    sleeper=$!
    wait "$sleeper"
    sleeper=
    if [ "$stopping" = 1 ]; then return 0; fi
  done
}
