/** Everything `status` reads from the PostgreSQL ledger, in one query (Ledger.statusSnapshot); a backfill's run is not a schedule's last run. */
import type pg from "pg";
import type { LedgerSnapshot } from "./ledger.ts";
import { HOST_COLUMNS, NOT_A_CLAIM, RUN_COLUMNS, SCHEDULE_COLUMNS, TASK_COLUMNS, toHost, toRun, toSchedule, toTask } from "./pg-rows.ts";

export async function statusSnapshot(db: Pick<pg.Pool, "query">): Promise<LedgerSnapshot> {
  const { rows } = await db.query<{ tasks: unknown[] | null; schedules: unknown[] | null; runs: unknown[] | null; hosts: unknown[] | null }>(
    `SELECT (SELECT json_agg(t ORDER BY t.id) FROM (SELECT ${TASK_COLUMNS} FROM tasks) t) AS tasks,
            (SELECT json_agg(s ORDER BY s.id) FROM (SELECT ${SCHEDULE_COLUMNS} FROM schedules) s) AS schedules,
            (SELECT json_agg(r) FROM schedules s CROSS JOIN LATERAL (
               SELECT ${RUN_COLUMNS} FROM runs WHERE schedule_id = s.id AND ${NOT_A_CLAIM} AND trigger <> 'backfill' ORDER BY id DESC LIMIT 1) r) AS runs,
            (SELECT json_agg(h ORDER BY h.started_at, h.id) FROM (SELECT ${HOST_COLUMNS} FROM hosts WHERE dead_at IS NULL) h) AS hosts`,
  );
  const row = rows[0]!;
  const runs = (row.runs ?? []).map((r) => toRun(r as Record<string, unknown>));
  return {
    tasks: (row.tasks ?? []).map((t) => toTask(t as Record<string, unknown>)),
    schedules: (row.schedules ?? []).map((s) => toSchedule(s as Record<string, unknown>)),
    lastRuns: new Map(runs.map((r) => [r.scheduleId!, r])),
    hosts: (row.hosts ?? []).map((h) => toHost(h as Record<string, unknown>)),
  };
}
