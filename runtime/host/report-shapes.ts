import type { RunRow, RunStatus, RunTrigger } from "../store/ledger.ts";
import type { ConfigProblem } from "../config/last-good-config.ts";
import type { ChannelHealth } from "../alerts/delivery-queue.ts";
import type { HostStatusJson } from "./fleet-status.ts";

/** The JSON shapes of contract §7 (`status --json`, `history --json`). Times are ISO-8601 UTC. */
/** `manual`: the file has no scheduled method; it runs only with `taskhost run` (contract §13). */
export type TaskState = "scheduled" | "manual" | "disabled" | "paused" | "installing" | "error";

export interface RunJson {
  id: number;
  taskId: string;
  scheduleId: string | null;
  scheduledFor: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  status: RunStatus;
  attempt: number;
  trigger: RunTrigger;
  error: string | null;
  output: string;
  /** The id of the host that ran it (contract §10). Absent only in the dashboard's live run events, until the scheduler reports its owner id. */
  host?: string | null;
  /** A catch-up run that also stands for occurrences missed before it: from which, how many (itself included). */
  covers?: { from: string; count: number } | null;
}

export interface LastRunJson {
  status: RunStatus;
  scheduledFor: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
}

export interface ScheduleJson {
  id: string;
  spec: string;
  /** The IANA zone the schedule is read in (its times are shown on that clock). */
  zone?: string;
  nextRun: string | null;
  lastRun: LastRunJson | null;
}

export interface TaskJson {
  id: string;
  title: string;
  file: string;
  state: TaskState;
  error: string | null;
  /** Load warnings (unknown frontmatter fields …), each with file:line. */
  warnings: string[];
  schedules: ScheduleJson[];
  /** Where its runs execute (contract §9): its frontmatter's, else scheduler.isolation (with no host running: as its file and the config say now). */
  isolation?: "context" | "task" | "worker";
  /** A task with no schedule (`manual`): its newest run, which no schedule's lastRun shows (absent: the ledger was not read). */
  lastRun?: LastRunJson | null;
}

export interface HostJson {
  running: boolean;
  pid: number | null;
  uptimeSec: number | null;
  rssMb: number | null;
  restarts: number;
  /** The supervisor's last restart after a crash, with what the host last wrote on stderr (absent: none since the supervisor started). */
  lastCrash?: LastCrashJson | null;
  /** Set while config/config.yaml is invalid and the last good configuration is in force. */
  configError?: ConfigProblem | null;
  /** What the configuration ignores (unknown keys), each naming the file and line: a running host's in force, else the file's now. */
  configWarnings?: string[];
  /** True while the host has not finished starting (it waits for its database, or loads its tasks); absent once up. */
  starting?: boolean;
  /** Set while a host waits for its PostgreSQL ledger (database.url), or, once up, cannot reach it (status then comes from memory); else absent. */
  database?: DatabaseWaitJson | null;
}

/** How the previous host ended, as its supervisor saw it (runtime/supervisor/supervise.sh). */
export interface LastCrashJson {
  at: string;
  /** `the host was killed by SIGKILL after 120 s`, then the last lines it wrote on stderr (an uncaught error's stack). */
  error: string;
}

/** A starting host's PostgreSQL ledger, as `status` reports it until the host is up. */
export interface DatabaseWaitJson {
  /** `unreachable`: the host retries (no task runs); `connected`: the ledger opened, the host loads its tasks. */
  state: "unreachable" | "connected";
  /** database.url without its password. */
  url: string;
  /** ERR_DB_UNREACHABLE while unreachable, else null. */
  code: string | null;
  /** The last try's message (the server named without the password), else null. */
  error: string | null;
  /** When the host began to wait. */
  since: string;
  /** Tries that failed so far. */
  tries: number;
}

export interface StatusJson {
  host: HostJson;
  tasks: TaskJson[];
  /** Every live host on a PostgreSQL ledger (contract §10); empty with sql.js, where `host` is the only one. */
  hosts: HostStatusJson[];
  /** The alert channels' health (a running host only). */
  alerts?: { channels: ChannelHealth[] };
}

export function iso(ms: number | null | undefined): string | null {
  return ms == null ? null : new Date(ms).toISOString();
}

export function runJson(row: RunRow): RunJson {
  return {
    id: row.id,
    taskId: row.taskId,
    scheduleId: row.scheduleId,
    scheduledFor: iso(row.scheduledFor),
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
    durationMs: row.startedAt != null && row.finishedAt != null ? row.finishedAt - row.startedAt : null,
    status: row.status,
    attempt: row.attempt,
    trigger: row.trigger,
    error: row.error,
    output: row.output,
    host: row.host,
    covers: row.coversFrom != null && row.coversCount != null ? { from: iso(row.coversFrom)!, count: row.coversCount } : null,
  };
}

export function lastRunJson(row: RunRow | undefined): LastRunJson | null {
  if (!row) return null;
  return {
    status: row.status,
    scheduledFor: iso(row.scheduledFor),
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
    error: row.error,
  };
}
