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
import { withClient } from "./pg-pool.ts";
import { LOCK_RECOVER } from "./pg-schema.ts";
import { RUN_COLUMNS, toRun, toSchedule, SCHEDULE_COLUMNS } from "./pg-rows.ts";

type Db = Pick<pg.Pool, "query">;

const LIVE = "h.dead_at IS NULL AND h.last_heartbeat + h.lease_ms >= now_ms()";

/** A registered host claims only while its lease holds (a frozen host that was taken over never does). */
const CLAIM_SQL = `
WITH fenced AS (SELECT 1 FROM hosts h WHERE h.id = $6 AND NOT (${LIVE})),
taken AS (
  SELECT 1 FROM runs r WHERE r.schedule_id = $1 AND r.scheduled_for = ANY($7::bigint[]) AND r.attempt = 1 AND r.trigger <> 'manual'),
moved AS (
  UPDATE schedules SET next_run = $3
   WHERE id = $1 AND next_run = $2 AND fingerprint = $4 AND task_id = $5
     AND NOT EXISTS (SELECT 1 FROM fenced) AND NOT EXISTS (SELECT 1 FROM taken)
     AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = $5 AND t.paused)
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
    // Backstop: an occurrence got its run between the check above and the insert (a race with
    // a reset). The statement is atomic, so nothing was written: the claim is simply lost.
    if ((error as { code?: string }).code !== "23505") throw error;
    rows = [];
  }
  if (rows.length === 0) {
    // Lost: the schedule moved (another host claimed), changed version, its task was paused
    // (by any host), an occurrence already has a run (nothing is half-done), or our lease lapsed.
    const { rows: current } = await db.query(`SELECT ${SCHEDULE_COLUMNS} FROM schedules WHERE id = $1`, [claim.scheduleId]);
    return { ok: false, current: current[0] ? toSchedule(current[0]) : null };
  }
  // Identity values follow insertion order, which follows the occurrences' order.
  rows.sort((a, b) => Number(a.scheduled_for) - Number(b.scheduled_for));
  return { ok: true, runIds: rows.map((r) => Number(r.id)) };
}

/**
 * A claim never started is given back. With handBack, the schedule's next run returns to it if
 * nobody claimed since (its next run is still the one this claim left); a next run already at or
 * before it (a reset) is kept. When later occurrences were claimed meanwhile (by other hosts), the
 * occurrence stays recorded as skipped, with why, so it is neither lost silently nor run twice.
 */
const SCHEDULE_TRIGGERS = "('schedule', 'catch-up')";
const RELEASE_SQL = `
WITH claim AS (
  SELECT r.id, r.schedule_id, r.scheduled_for, r.next_after, r.trigger IN ${SCHEDULE_TRIGGERS} AS scheduled,
         (SELECT s.next_run FROM schedules s WHERE s.id = r.schedule_id) AS next_now
    FROM runs r WHERE r.id = $1 AND r.status = 'running' AND r.started_at IS NULL FOR UPDATE OF r),
back AS (
  UPDATE schedules s SET next_run = c.scheduled_for FROM claim c
   WHERE $2 AND c.scheduled AND s.id = c.schedule_id AND s.next_run IS NOT DISTINCT FROM c.next_after
  RETURNING s.id),
passed AS (SELECT 1 FROM claim c WHERE $2 AND c.scheduled AND c.next_now > c.scheduled_for AND NOT EXISTS (SELECT 1 FROM back)),
gone AS (DELETE FROM runs r USING claim c WHERE r.id = c.id AND NOT EXISTS (SELECT 1 FROM passed) RETURNING r.id),
kept AS (
  UPDATE runs r SET status = 'skipped', finished_at = now_ms(),
         error = 'given back unstarted by its host (' || coalesce(r.host, '?') || '), and a later occurrence was already claimed'
    FROM claim c WHERE r.id = c.id AND EXISTS (SELECT 1 FROM passed)
  RETURNING r.id)
SELECT (SELECT count(*) FROM gone) AS gone, (SELECT count(*) FROM kept) AS kept`;

export async function releaseClaim(db: Db, runId: number, handBack: boolean): Promise<void> {
  await db.query(RELEASE_SQL, [runId, handBack]);
}

/**
 * Runs of hosts that are gone: their host row is missing or dead (taken over), the run has no
 * host (a copied ledger), or it was claimed by an earlier life of `$1` (a stable host id,
 * restarted). Started ones become `interrupted`; schedule claims never started are handed back
 * like releaseClaim's (or recorded skipped when later occurrences were claimed meanwhile);
 * other never-started ones (retry, manual, backfill) become `interrupted` too.
 */
const RECOVER_SQL = `
WITH me AS (SELECT registered_at FROM hosts WHERE id = $1 AND dead_at IS NULL),
orphan AS (
  SELECT r.id, r.schedule_id, r.scheduled_for, r.next_after, r.started_at, r.host,
         r.trigger IN ${SCHEDULE_TRIGGERS} AND r.started_at IS NULL AS unstarted_claim,
         (SELECT s.next_run FROM schedules s WHERE s.id = r.schedule_id) AS next_now
    FROM runs r
   WHERE r.status = 'running'
     AND ((r.host = $1 AND r.claimed_at < (SELECT registered_at FROM me))
          OR r.host IS NULL
          OR NOT EXISTS (SELECT 1 FROM hosts h WHERE h.id = r.host AND h.dead_at IS NULL))
  FOR UPDATE OF r),
unstarted AS (
  SELECT schedule_id, min(scheduled_for) AS first, max(next_after) AS next_after FROM orphan
   WHERE unstarted_claim GROUP BY schedule_id),
back AS (
  UPDATE schedules s SET next_run = u.first FROM unstarted u
   WHERE s.id = u.schedule_id AND s.next_run IS NOT DISTINCT FROM u.next_after
  RETURNING s.id),
passed AS (
  SELECT o.id FROM orphan o
   WHERE o.unstarted_claim AND o.next_now > o.scheduled_for AND NOT EXISTS (SELECT 1 FROM back b WHERE b.id = o.schedule_id)),
released AS (
  DELETE FROM runs r USING orphan o
   WHERE r.id = o.id AND o.unstarted_claim AND NOT EXISTS (SELECT 1 FROM passed p WHERE p.id = o.id)
  RETURNING r.id),
skipped AS (
  UPDATE runs r SET status = 'skipped', finished_at = now_ms(),
         error = 'claimed by host ' || coalesce(o.host, '?') || ', which died before starting it; later occurrences were already claimed'
    FROM orphan o WHERE r.id = o.id AND EXISTS (SELECT 1 FROM passed p WHERE p.id = o.id)
  RETURNING r.*),
interrupted AS (
  UPDATE runs r SET status = 'interrupted', finished_at = now_ms(),
         error = CASE
           WHEN o.started_at IS NULL THEN 'host ' || coalesce(o.host, '?') || ' stopped after claiming this run; it may not have started'
           WHEN o.host = $1 THEN 'this host stopped (crash or kill) while this run was running'
           ELSE 'host ' || coalesce(o.host, '?') || ' stopped heart-beating while this run was running' END
    FROM orphan o
   WHERE r.id = o.id AND NOT o.unstarted_claim
  RETURNING r.*)
SELECT 'interrupted' AS kind, ${RUN_COLUMNS} FROM interrupted
UNION ALL SELECT 'skipped', ${RUN_COLUMNS} FROM skipped
UNION ALL SELECT 'back', NULL, NULL, id, NULL, NULL, NULL, 'running', 0, 'schedule', NULL, '', NULL, NULL, NULL FROM back
ORDER BY 1, 2`;

/** Tombstones of hosts taken over are kept this long (a frozen host that wakes within it learns it was taken over). */
const TOMBSTONE_MS = 24 * 60 * 60 * 1000;

export function recoverFleet(pool: Pick<pg.Pool, "connect">, ownerId: string, judgePeers = true): Promise<FleetRecovery> {
  return withClient(pool, async (client) => {
    await client.query("BEGIN");
    try {
      await client.query("SELECT pg_advisory_xact_lock($1)", [LOCK_RECOVER]);
      // Deciding who is dead re-checks each row's latest heartbeat under its row lock:
      // a host that beat a moment ago is not declared dead.
      const dead = judgePeers
        ? await client.query<{ id: string }>(`UPDATE hosts h SET dead_at = now_ms() WHERE h.id <> $1 AND h.dead_at IS NULL AND NOT (${LIVE}) RETURNING h.id`, [ownerId])
        : { rows: [] };
      await client.query("DELETE FROM hosts WHERE dead_at < now_ms() - $1", [TOMBSTONE_MS]);
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
  });
}
