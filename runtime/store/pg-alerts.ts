/**
 * The alerts a fleet raised (issue 15) in the PostgreSQL ledger: newest first,
 * the newest 1,000 per task kept. Recording takes a per-task advisory lock so
 * hosts raising alerts at once still keep exactly that many.
 */
import type pg from "pg";
import { taskhostError } from "../errors.ts";
import type { AlertRow, ListAlertsOptions } from "./ledger.ts";
import { withClient } from "./pg-pool.ts";

const ALERTS_PER_TASK = 1000;
const DEFAULT_LIST_LIMIT = 50;
const ALERT_COLUMNS = "id, at, event, task_id, title, schedule_id, run_id, scheduled_for, text, channels, host";

function toAlert(r: Record<string, unknown>): AlertRow {
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: Number(r.id),
    at: Number(r.at),
    event: String(r.event),
    taskId: String(r.task_id),
    title: String(r.title),
    scheduleId: (r.schedule_id as string | null) ?? null,
    runId: n(r.run_id),
    scheduledFor: n(r.scheduled_for),
    text: String(r.text),
    channels: [...((r.channels as string[] | null) ?? [])],
    host: (r.host as string | null) ?? null,
  };
}

export function recordAlert(pool: Pick<pg.Pool, "connect">, alert: Omit<AlertRow, "id">): Promise<AlertRow> {
  return underTaskLock(pool, alert.taskId, (client) => insertAlert(client, alert));
}

/** Ledger.claimAlert: null, and nothing recorded, when another host recorded the same alert with an id above `seenUpTo`. */
export function claimAlert(pool: Pick<pg.Pool, "connect">, alert: Omit<AlertRow, "id">, seenUpTo: number): Promise<AlertRow | null> {
  return underTaskLock(pool, alert.taskId, async (client) => {
    const same = await client.query(`SELECT 1 FROM alerts WHERE ${SAME_ALERT} AND id > $6 LIMIT 1`, [...sameAlertParams(alert), seenUpTo]);
    return same.rows.length > 0 ? null : insertAlert(client, alert);
  });
}

/**
 * The same alert (Ledger.claimAlert): the task, rule, schedule and occurrence, and the run,
 * but for `missed` (a host that started the occurrence late and one that found it overdue
 * raise it with and without a run). $1–$5: sameAlertParams.
 */
const SAME_ALERT = `task_id = $1 AND event = $2 AND schedule_id IS NOT DISTINCT FROM $3 AND scheduled_for IS NOT DISTINCT FROM $4
  AND (event = 'missed' OR run_id IS NOT DISTINCT FROM $5)`;

function sameAlertParams(alert: Omit<AlertRow, "id">): unknown[] {
  return [alert.taskId, alert.event, alert.scheduleId, alert.scheduledFor, alert.runId];
}

/** One transaction under the task's alert lock: hosts recording at once still keep exactly 1,000 and claim one at a time. */
function underTaskLock<T>(pool: Pick<pg.Pool, "connect">, taskId: string, step: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    await client.query("BEGIN");
    try {
      await client.query("SELECT pg_advisory_xact_lock(hashtext('taskhost.alerts:' || $1::text))", [taskId]);
      const result = await step(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
  });
}

async function insertAlert(client: pg.PoolClient, alert: Omit<AlertRow, "id">): Promise<AlertRow> {
  const { rows } = await client.query(
    `INSERT INTO alerts (at, event, task_id, title, schedule_id, run_id, scheduled_for, text, channels, host)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${ALERT_COLUMNS}`,
    [alert.at, alert.event, alert.taskId, alert.title, alert.scheduleId, alert.runId, alert.scheduledFor, alert.text, [...alert.channels], alert.host],
  );
  await client.query("DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE task_id = $1 ORDER BY id DESC OFFSET $2)", [alert.taskId, ALERTS_PER_TASK]);
  return toAlert(rows[0]!);
}

export async function listAlerts(db: Pick<pg.Pool, "query">, options: ListAlertsOptions = {}): Promise<AlertRow[]> {
  const limit = options.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw taskhostError("ERR_STORE_ARGUMENT", `listAlerts: limit must be a positive integer (got ${String(limit)}).`);
  }
  const { rows } = await db.query(
    `SELECT ${ALERT_COLUMNS} FROM alerts WHERE ($1::text IS NULL OR task_id = $1) AND ($2::bigint IS NULL OR id < $2)
      ORDER BY id DESC LIMIT $3`,
    [options.taskId ?? null, options.before ?? null, limit],
  );
  return rows.map(toAlert);
}
