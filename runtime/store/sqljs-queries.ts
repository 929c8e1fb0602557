/** The sql.js ledger's reads: SQL text and row mappers, no writes. */
import type { SqlValue } from "sql.js";
import type { AlertRow, HostRow, LedgerSnapshot, ListAlertsOptions, ListRunsOptions, RunRow, ScheduleRow, TaskRow } from "./ledger.ts";
import { ERR_STORE_ARGUMENT, storeError } from "./store-errors.ts";
import type { Row } from "./store-sql.ts";

/** What the queries run on (the durable database, which refuses reads after close). */
export interface Reader {
  all(sql: string, params: SqlValue[]): Row[];
  get(sql: string, params: SqlValue[]): Row | undefined;
}

const RUN_COLUMNS = `id, task_id AS taskId, schedule_id AS scheduleId, scheduled_for AS scheduledFor,
  started_at AS startedAt, finished_at AS finishedAt, status, attempt, trigger, error, output,
  host, covers_from AS coversFrom, covers_count AS coversCount`;
const RUN_SELECT = `SELECT ${RUN_COLUMNS} FROM runs`;
/** An occurrence claimed just before its time but not started is the next run, not a run (history leaves it out). */
const STARTED_OR_ENDED = "NOT (status = 'running' AND started_at IS NULL)";
const TASK_SELECT = "SELECT id, title, file, paused, removed_at, error, enabled FROM tasks";
const SCHEDULE_SELECT = "SELECT id, task_id AS taskId, method, fingerprint, spec, next_run AS nextRun FROM schedules";
const HOST_SELECT =
  "SELECT id, hostname, pid, started_at AS startedAt, last_heartbeat AS lastHeartbeat, running FROM hosts ORDER BY started_at, id";

const DEFAULT_LIST_LIMIT = 50;

function toTask(row: Row): TaskRow {
  return {
    id: row.id as string,
    title: row.title as string,
    file: row.file as string,
    paused: row.paused === 1,
    removedAt: row.removed_at as number | null,
    error: row.error as string | null,
    enabled: row.enabled !== 0,
  };
}

const toRun = (row: Row) => row as unknown as RunRow;
const toSchedule = (row: Row) => row as unknown as ScheduleRow;
const toHost = (row: Row) => row as unknown as HostRow;

export function getTask(db: Reader, id: string): TaskRow | undefined {
  const row = db.get(`${TASK_SELECT} WHERE id = ?`, [id]);
  return row && toTask(row);
}

export function listTasks(db: Reader): TaskRow[] {
  return db.all(`${TASK_SELECT} ORDER BY id`, []).map(toTask);
}

export function getSchedule(db: Reader, id: string): ScheduleRow | undefined {
  const row = db.get(`${SCHEDULE_SELECT} WHERE id = ?`, [id]);
  return row && toSchedule(row);
}

export function listSchedules(db: Reader, taskId?: string): ScheduleRow[] {
  const rows =
    taskId === undefined
      ? db.all(`${SCHEDULE_SELECT} ORDER BY id`, [])
      : db.all(`${SCHEDULE_SELECT} WHERE task_id = ? ORDER BY id`, [taskId]);
  return rows.map(toSchedule);
}

export function getRun(db: Reader, id: number): RunRow | undefined {
  const row = db.get(`${RUN_SELECT} WHERE id = ?`, [id]);
  return row && toRun(row);
}

export function listRuns(db: Reader, taskId: string, options: ListRunsOptions = {}): RunRow[] {
  const { limit = DEFAULT_LIST_LIMIT, before, scheduleId } = options;
  if (!Number.isInteger(limit) || limit < 1) {
    throw storeError(ERR_STORE_ARGUMENT, `listRuns: limit must be a positive integer (got ${String(limit)}).`);
  }
  const where = ["task_id = ?", STARTED_OR_ENDED];
  const params: SqlValue[] = [taskId];
  if (before !== undefined) {
    where.push("id < ?");
    params.push(before);
  }
  if (scheduleId !== undefined) {
    where.push("schedule_id = ?");
    params.push(scheduleId);
  }
  params.push(limit);
  return db.all(`${RUN_SELECT} WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT ?`, params).map(toRun);
}

/**
 * Runs whose occurrence (a manual run: its start) falls in [from, to), oldest
 * first. Claims not started yet are included: the occurrence is taken.
 */
export function listRunsBetween(db: Reader, from: number, to: number, filter: { taskId?: string; scheduleId?: string } = {}): RunRow[] {
  const at = "(CASE WHEN trigger = 'manual' THEN COALESCE(started_at, scheduled_for) ELSE scheduled_for END)";
  const where = [`${at} >= ?`, `${at} < ?`];
  const params: SqlValue[] = [from, to];
  if (filter.taskId !== undefined) {
    where.push("task_id = ?");
    params.push(filter.taskId);
  }
  if (filter.scheduleId !== undefined) {
    where.push("schedule_id = ?");
    params.push(filter.scheduleId);
  }
  return db.all(`${RUN_SELECT} WHERE ${where.join(" AND ")} ORDER BY ${at}, id`, params).map(toRun);
}

/** The newest run of the schedule that started or ended (a claim still waiting for its boundary is not one). */
export function lastRun(db: Reader, scheduleId: string): RunRow | undefined {
  const row = db.get(`${RUN_SELECT} WHERE schedule_id = ? AND ${STARTED_OR_ENDED} ORDER BY id DESC LIMIT 1`, [scheduleId]);
  return row && toRun(row);
}

/** Runs left `running`, claims that never started included. */
export function listUnfinishedRuns(db: Reader): RunRow[] {
  return db.all(`${RUN_SELECT} WHERE status = 'running' ORDER BY id`, []).map(toRun);
}

/** A non-manual run already holds this occurrence and attempt: claims and requested runs check it in their own step. */
export function occurrenceTaken(db: Reader, scheduleId: string | null, scheduledFor: number, attempt: number): boolean {
  return (
    db.get("SELECT 1 AS found FROM runs WHERE schedule_id = ? AND scheduled_for = ? AND attempt = ? AND trigger <> 'manual' LIMIT 1", [
      scheduleId,
      scheduledFor,
      attempt,
    ]) !== undefined
  );
}

export function listHosts(db: Reader): HostRow[] {
  return db.all(HOST_SELECT, []).map(toHost);
}

/**
 * Everything `status` reads. Four SELECTs in one synchronous step: nothing can
 * write in between, so it is one consistent view (PostgreSQL: one statement).
 * The newest run per schedule walks the (schedule_id, id) index backwards;
 * a backfill's run of an old occurrence is not the schedule's last run.
 */
export function statusSnapshot(db: Reader): LedgerSnapshot {
  const lastRuns = new Map<string, RunRow>();
  const newest = db.all(
    `${RUN_SELECT} WHERE id IN (SELECT (SELECT r.id FROM runs r WHERE r.schedule_id = s.id
       AND NOT (r.status = 'running' AND r.started_at IS NULL) AND r.trigger <> 'backfill' ORDER BY r.id DESC LIMIT 1) FROM schedules s)`,
    [],
  );
  for (const row of newest) {
    const run = toRun(row);
    if (run.scheduleId !== null) lastRuns.set(run.scheduleId, run);
  }
  return { tasks: listTasks(db), schedules: listSchedules(db), lastRuns, hosts: listHosts(db) };
}

/** A task's state rows: key and JSON value. */
export function getStateRows(db: Reader, taskId: string): Array<[string, string]> {
  return db.all("SELECT key, value FROM state WHERE task_id = ? ORDER BY key", [taskId]).map((row) => [row.key as string, row.value as string]);
}

const ALERT_SELECT = `SELECT id, at, event, task_id AS taskId, title, schedule_id AS scheduleId, run_id AS runId,
  scheduled_for AS scheduledFor, text, channels, host FROM alerts`;

/** Whether the same alert as `alert` (Ledger.claimAlert; pg-alerts.ts's SAME_ALERT) was recorded with an id above `seenUpTo`. */
export function sameAlertSince(db: Reader, alert: Pick<AlertRow, "taskId" | "event" | "scheduleId" | "runId" | "scheduledFor">, seenUpTo: number): boolean {
  return (
    db.all(
      `SELECT 1 FROM alerts WHERE task_id = ? AND event = ? AND schedule_id IS ? AND scheduled_for IS ? AND (event = 'missed' OR run_id IS ?)
         AND id > ? LIMIT 1`,
      [alert.taskId, alert.event, alert.scheduleId, alert.scheduledFor, alert.runId, seenUpTo],
    ).length > 0
  );
}

/** Newest first. */
export function listAlerts(db: Reader, options: ListAlertsOptions = {}): AlertRow[] {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (options.taskId !== undefined) {
    where.push("task_id = ?");
    params.push(options.taskId);
  }
  if (options.before !== undefined) {
    where.push("id < ?");
    params.push(options.before);
  }
  const sql = `${ALERT_SELECT}${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
  return db.all(sql, [...params, options.limit ?? DEFAULT_LIST_LIMIT]).map((row) => ({ ...(row as unknown as AlertRow), channels: JSON.parse(row.channels as string) as string[] }));
}
