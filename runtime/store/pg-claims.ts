/**
 * The statements that decide who runs what in a fleet: claiming occurrences,
 * giving a claim back, and taking a dead host's work over. Each claim is ONE
 * statement (compare-and-set on the schedule's next run, fenced by the
 * claimer's lease, with the unique key on (schedule_id, scheduled_for,
 * attempt) as the backstop); recovery is one statement inside a transaction
 * that holds an advisory lock, so two survivors never split one dead host's
 * work between them.
 */
import type pg from "pg";
import { taskhostError } from "../errors.ts";
import type { FleetRecovery } from "./fleet-ledger.ts";
import type { ClaimResult, OccurrenceClaim, RunRow } from "./ledger.ts";
import { LOCK_RECOVER } from "./pg-schema.ts";
import { RUN_COLUMNS, toRun, toSchedule, SCHEDULE_COLUMNS } from "./pg-rows.ts";

type Db = Pick<pg.Pool, "query" | "connect">;

const LIVE = "h.last_heartbeat + h.lease_ms >= now_ms()";

const CLAIM_SQL = `
WITH me AS (SELECT 1 FROM hosts h WHERE h.id = $6 AND ${LIVE}),
moved AS (
  UPDATE schedules SET next_run = $3
   WHERE id = $1 AND next_run = $2 AND fingerprint = $4 AND task_id = $5 AND EXISTS (SELECT 1 FROM me)
  RETURNING id, task_id),
occ AS (
  SELECT * FROM unnest($7::bigint[], $8::text[], $9::text[], $10::bigint[], $11::integer[])
    WITH ORDINALITY AS o(scheduled_for, trigger, skipped, covers_from, covers_count, ord)),
ins AS (
  INSERT INTO runs (task_id, schedule_id, scheduled_for, status, attempt, trigger, error, host,
                    covers_from, covers_count, next_after, finished_at)
  SELECT moved.task_id, moved.id, occ.scheduled_for,
         CASE WHEN occ.skipped IS NULL THEN 'running' ELSE 'skipped' END, 1, occ.trigger, occ.skipped, $6,
         occ.covers_from, occ.covers_count, $3, CASE WHEN occ.skipped IS NULL THEN NULL ELSE now_ms() END
    FROM moved, occ ORDER BY occ.ord
  RETURNING id, scheduled_for)
SELECT id, scheduled_for FROM ins`;

export async function claimOccurrences(db: Db, claim: OccurrenceClaim): Promise<ClaimResult> {
  const occ = claim.occurrences;
  if (occ.length === 0) throw taskhostError("ERR_STORE_ARGUMENT", `claimOccurrences(${claim.scheduleId}): no occurrence to claim.`);
  let rows: Array<{ id: number; scheduled_for: number }>;
  try {
    ({ rows } = await db.query(CLAIM_SQL, [
      claim.scheduleId,
      claim.expectedNext,
      claim.next,
      claim.fingerprint,
      claim.taskId,
      claim.owner,
      occ.map((o) => o.scheduledFor),
      occ.map((o) => o.trigger),
      occ.map((o) => o.skipped ?? null),
      occ.map((o) => o.covers?.from ?? null),
      occ.map((o) => o.covers?.count ?? null),
    ]));
  } catch (error) {
    if ((error as { code?: string }).code === "23505") {
      // The CAS held but an occurrence already has a run: the ledger's next run was behind its
      // own history. Nothing was written (the statement is atomic); say which, never run it twice.
      throw taskhostError(
        "ERR_DB_WRITE",
        `claimOccurrences(${claim.scheduleId}): an occurrence between ${new Date(occ[0]!.scheduledFor).toISOString()} and ` +
          `${new Date(occ[occ.length - 1]!.scheduledFor).toISOString()} already has a run; not claimed again. ` +
          `Run \`taskhost reset-schedules --task ${claim.taskId}\` to move the schedule past it.`,
        { cause: error },
      );
    }
    throw error;
  }
  if (rows.length === 0) {
    // Lost: the schedule moved (another host claimed), changed version, or our lease lapsed.
    const { rows: current } = await db.query(`SELECT ${SCHEDULE_COLUMNS} FROM schedules WHERE id = $1`, [claim.scheduleId]);
    return { ok: false, current: current[0] ? toSchedule(current[0]) : null };
  }
  // Identity values follow insertion order, which follows the occurrences' order.
  rows.sort((a, b) => Number(a.scheduled_for) - Number(b.scheduled_for));
  return { ok: true, runIds: rows.map((r) => Number(r.id)) };
}

/**
 * A claim never started is given back. With handBack, the schedule's next run returns to it
 * only if nobody claimed since (its next run is still the one this claim left); otherwise the
 * occurrence stays recorded as skipped, with why, so it is neither lost silently nor run twice.
 */
const RELEASE_SQL = `
WITH claim AS (
  SELECT id, schedule_id, scheduled_for, next_after, trigger FROM runs
   WHERE id = $1 AND status = 'running' AND started_at IS NULL FOR UPDATE),
back AS (
  UPDATE schedules s SET next_run = c.scheduled_for FROM claim c
   WHERE $2 AND c.trigger IN ('schedule', 'catch-up') AND s.id = c.schedule_id
     AND s.next_run IS NOT DISTINCT FROM c.next_after
  RETURNING s.id),
gone AS (
  DELETE FROM runs r USING claim c
   WHERE r.id = c.id AND (NOT $2 OR c.trigger NOT IN ('schedule', 'catch-up') OR EXISTS (SELECT 1 FROM back))
  RETURNING r.id),
kept AS (
  UPDATE runs r SET status = 'skipped', finished_at = now_ms(),
         error = 'given back unstarted by its host (' || coalesce(r.host, '?') || '), and a later occurrence was already claimed'
    FROM claim c
   WHERE r.id = c.id AND $2 AND c.trigger IN ('schedule', 'catch-up') AND NOT EXISTS (SELECT 1 FROM back)
  RETURNING r.id)
SELECT (SELECT count(*) FROM gone) AS gone, (SELECT count(*) FROM kept) AS kept`;

export async function releaseClaim(db: Db, runId: number, handBack: boolean): Promise<void> {
  await db.query(RELEASE_SQL, [runId, handBack]);
}

/**
 * Runs of hosts that are gone: their host row was removed (lease lapsed, or a clean leave with
 * runs left over), the run has no host (a copied ledger), or it was claimed by an earlier life
 * of `$1` (a stable host id, restarted). Started ones become `interrupted`; schedule claims never
 * started are handed back (or recorded skipped when later occurrences were claimed meanwhile);
 * other never-started ones (retry, manual, backfill) become `interrupted` too.
 */
const RECOVER_SQL = `
WITH me AS (SELECT registered_at FROM hosts WHERE id = $1),
orphan AS (
  SELECT r.id, r.schedule_id, r.scheduled_for, r.next_after, r.trigger, r.started_at, r.host FROM runs r
   WHERE r.status = 'running'
     AND ((r.host = $1 AND r.claimed_at < (SELECT registered_at FROM me))
          OR r.host IS NULL
          OR NOT EXISTS (SELECT 1 FROM hosts h WHERE h.id = r.host))
  FOR UPDATE OF r),
unstarted AS (
  SELECT schedule_id, min(scheduled_for) AS first, max(next_after) AS next_after FROM orphan
   WHERE started_at IS NULL AND trigger IN ('schedule', 'catch-up') GROUP BY schedule_id),
back AS (
  UPDATE schedules s SET next_run = u.first FROM unstarted u
   WHERE s.id = u.schedule_id AND s.next_run IS NOT DISTINCT FROM u.next_after
  RETURNING s.id),
released AS (
  DELETE FROM runs r USING orphan o
   WHERE r.id = o.id AND o.started_at IS NULL AND o.trigger IN ('schedule', 'catch-up')
     AND EXISTS (SELECT 1 FROM back b WHERE b.id = o.schedule_id)
  RETURNING r.id),
skipped AS (
  UPDATE runs r SET status = 'skipped', finished_at = now_ms(),
         error = 'claimed by host ' || coalesce(o.host, '?') || ', which died before starting it; later occurrences were already claimed'
    FROM orphan o
   WHERE r.id = o.id AND o.started_at IS NULL AND o.trigger IN ('schedule', 'catch-up')
     AND NOT EXISTS (SELECT 1 FROM back b WHERE b.id = o.schedule_id)
  RETURNING r.*),
interrupted AS (
  UPDATE runs r SET status = 'interrupted', finished_at = now_ms(),
         error = CASE WHEN o.host = $1 THEN 'this host stopped (crash or kill) while the run was in flight'
                 ELSE 'host ' || coalesce(o.host, '?') || ' stopped heart-beating while the run was in flight' END
    FROM orphan o
   WHERE r.id = o.id AND (o.started_at IS NOT NULL OR o.trigger NOT IN ('schedule', 'catch-up'))
  RETURNING r.*)
SELECT 'interrupted' AS kind, ${RUN_COLUMNS} FROM interrupted
UNION ALL SELECT 'skipped', ${RUN_COLUMNS} FROM skipped
UNION ALL SELECT 'back', NULL, NULL, id, NULL, NULL, NULL, 'running', 0, 'schedule', NULL, '', NULL, NULL, NULL FROM back`;

export async function recoverFleet(db: Db, ownerId: string): Promise<FleetRecovery> {
  const client = await db.connect();
  try {
    await client.query("BEGIN");
    try {
      await client.query("SELECT pg_advisory_xact_lock($1)", [LOCK_RECOVER]);
      // Deciding who is dead re-checks each row's latest heartbeat under its row lock:
      // a host that beat a moment ago is not removed.
      const dead = await client.query<{ id: string }>(
        `DELETE FROM hosts h WHERE h.id <> $1 AND NOT (${LIVE}) RETURNING h.id`,
        [ownerId],
      );
      const { rows } = await client.query(RECOVER_SQL, [ownerId]);
      await client.query("COMMIT");
      const interrupted: RunRow[] = [];
      const skipped: RunRow[] = [];
      const handedBack: string[] = [];
      for (const row of rows) {
        if (row.kind === "back") handedBack.push(String(row.schedule_id));
        else (row.kind === "interrupted" ? interrupted : skipped).push(toRun(row));
      }
      return { deadHosts: dead.rows.map((r) => r.id), interrupted, handedBack, skipped };
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
  } finally {
    client.release();
  }
}
