/** The PostgreSQL ledger's rows as the `Ledger` types (column lists and converters). */
import type { HostRow, RunRow, RunStatus, RunTrigger, ScheduleRow, TaskRow } from "./ledger.ts";

export const TASK_COLUMNS = "id, title, file, paused, removed_at, error, enabled";
export const SCHEDULE_COLUMNS = "id, task_id, method, fingerprint, spec, next_run";
export const RUN_COLUMNS =
  "id, task_id, schedule_id, scheduled_for, started_at, finished_at, status, attempt, trigger, error, output, host, covers_from, covers_count";
export const HOST_COLUMNS = "id, hostname, pid, started_at, last_heartbeat, running";
/** Runs that have not started are claims, not history (as in the sql.js ledger). */
export const NOT_A_CLAIM = "NOT (status = 'running' AND started_at IS NULL)";

type Raw = Record<string, unknown>;

/** int8 columns arrive as numbers (the pool's type parser); json_agg rows as JSON numbers. */
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export function toTask(r: Raw): TaskRow {
  return {
    id: String(r.id),
    title: String(r.title),
    file: String(r.file),
    paused: Boolean(r.paused),
    removedAt: numOrNull(r.removed_at),
    error: strOrNull(r.error),
    enabled: Boolean(r.enabled),
  };
}

export function toSchedule(r: Raw): ScheduleRow {
  return {
    id: String(r.id),
    taskId: String(r.task_id),
    method: String(r.method),
    fingerprint: String(r.fingerprint),
    spec: String(r.spec),
    nextRun: numOrNull(r.next_run),
  };
}

export function toRun(r: Raw): RunRow {
  return {
    id: num(r.id),
    taskId: String(r.task_id),
    scheduleId: strOrNull(r.schedule_id),
    scheduledFor: numOrNull(r.scheduled_for),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    status: String(r.status) as RunStatus,
    attempt: num(r.attempt),
    trigger: String(r.trigger) as RunTrigger,
    error: strOrNull(r.error),
    output: String(r.output ?? ""),
    host: strOrNull(r.host),
    coversFrom: numOrNull(r.covers_from),
    coversCount: numOrNull(r.covers_count),
  };
}

export function toHost(r: Raw): HostRow {
  return {
    id: String(r.id),
    hostname: String(r.hostname),
    pid: num(r.pid),
    startedAt: num(r.started_at),
    lastHeartbeat: num(r.last_heartbeat),
    running: num(r.running),
  };
}
