/**
 * The PostgreSQL ledger's reads about the fleet as a whole: what changed for
 * each schedule, which runs are in flight anywhere, and which live hosts loaded
 * another version of a task than the ledger has.
 */
import type pg from "pg";
import type { FleetDisagreement, RunInFlight, ScheduleState } from "./fleet-ledger.ts";

type Db = Pick<pg.Pool, "query">;

export async function scheduleStates(db: Db): Promise<ScheduleState[]> {
  const { rows } = await db.query<{ id: string; task_id: string; next_run: number | null; fingerprint: string; paused: boolean | null }>(
    "SELECT s.id, s.task_id, s.next_run, s.fingerprint, t.paused FROM schedules s LEFT JOIN tasks t ON t.id = s.task_id ORDER BY s.id",
  );
  return rows.map((r) => ({ id: r.id, taskId: r.task_id, nextRun: r.next_run, fingerprint: r.fingerprint, paused: Boolean(r.paused) }));
}

/** A host whose lease lapsed is as good as dead here: its run no longer holds its schedule back (overlap) while a survivor gets round to taking it over. */
export async function runsInFlight(db: Db, scheduleId?: string): Promise<RunInFlight[]> {
  const { rows } = await db.query<{ id: number; schedule_id: string; host: string | null; scheduled_for: number | null; started_at: number }>(
    `SELECT r.id, r.schedule_id, r.host, r.scheduled_for, r.started_at FROM runs r
      WHERE r.status = 'running' AND r.started_at IS NOT NULL AND r.schedule_id IS NOT NULL
        AND ($1::text IS NULL OR r.schedule_id = $1)
        AND EXISTS (SELECT 1 FROM hosts h WHERE h.id = r.host AND h.dead_at IS NULL AND h.last_heartbeat + h.lease_ms >= now_ms())
      ORDER BY r.id`,
    [scheduleId ?? null],
  );
  return rows.map((r) => ({ runId: r.id, scheduleId: r.schedule_id, host: r.host, scheduledFor: r.scheduled_for, startedAt: r.started_at }));
}

export async function disagreements(db: Db): Promise<FleetDisagreement[]> {
  const { rows } = await db.query<{ task_id: string; schedule_id: string; ledger: string | null; hosts: Array<{ hostId: string; fingerprint: string | null }> }>(
    `WITH live AS (SELECT h.id, h.loaded FROM hosts h WHERE h.dead_at IS NULL AND h.last_heartbeat + h.lease_ms >= now_ms()),
     pairs AS (
       SELECT l.id AS host_id, t.key AS task_id, s.key AS schedule_id, s.value #>> '{}' AS fingerprint
         FROM live l, jsonb_each(l.loaded) t, jsonb_each(t.value) s),
     wrong AS (
       SELECT p.task_id, p.schedule_id FROM pairs p LEFT JOIN schedules sc ON sc.id = p.schedule_id
        WHERE sc.fingerprint IS DISTINCT FROM p.fingerprint GROUP BY p.task_id, p.schedule_id)
     SELECT w.task_id, w.schedule_id, (SELECT fingerprint FROM schedules WHERE id = w.schedule_id) AS ledger,
            (SELECT json_agg(json_build_object('hostId', p.host_id, 'fingerprint', p.fingerprint) ORDER BY p.host_id)
               FROM pairs p WHERE p.task_id = w.task_id AND p.schedule_id = w.schedule_id) AS hosts
       FROM wrong w ORDER BY w.task_id, w.schedule_id`,
  );
  return rows.map((r) => ({ taskId: r.task_id, scheduleId: r.schedule_id, ledger: r.ledger, hosts: r.hosts }));
}
