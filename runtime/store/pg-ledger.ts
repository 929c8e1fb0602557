/**
 * The ledger on PostgreSQL: several hosts share it (issue 14). Every method is
 * one statement, durable when it resolves (autocommit); races are decided in
 * the database (compare-and-set, unique keys, row locks) and by its clock
 * (`now_ms()`), never read-then-write on a host. A lost race is a normal
 * result. The URL's password stays inside the pool's configuration: messages
 * name the server through `redactUrl`.
 */
import { stateJson } from "./state-json.ts";
import type pg from "pg";
import { taskhostError } from "../errors.ts";
import type { FleetDisagreement, FleetLedger, FleetRecovery, LeaseBeat, RunInFlight, ScheduleState } from "./fleet-ledger.ts";
import type {
  AlertRow,
  ClaimResult,
  HostRow,
  Ledger,
  LedgerSnapshot,
  ListAlertsOptions,
  ListRunsOptions,
  OccurrenceClaim,
  RunEnd,
  RunRow,
  ScheduleRow,
  TaskRow,
} from "./ledger.ts";
import { claimAlert, listAlerts, recordAlert } from "./pg-alerts.ts";
import { claimOccurrences, recoverFleet, releaseClaim } from "./pg-claims.ts";
import { explainPgError, type PgLedgerOptions, type ResolvedPgLedgerOptions } from "./pg-options.ts";
import { disagreements, runsInFlight, scheduleStates } from "./pg-fleet-queries.ts";
import { connectPgPool } from "./pg-pool.ts";
import { HOST_COLUMNS, NOT_A_CLAIM, RUN_COLUMNS, SCHEDULE_COLUMNS, TASK_COLUMNS, toHost, toRun, toSchedule, toTask } from "./pg-rows.ts";
import { statusSnapshot } from "./pg-status-snapshot.ts";

const DEFAULT_LIST_LIMIT = 50;

/** Opens (and creates or migrates) the PostgreSQL ledger at `options.url`. */
export async function openPgLedger(options: PgLedgerOptions): Promise<PgLedger> {
  const { pool, options: resolved } = await connectPgPool(options);
  return new PgLedger(pool, resolved);
}

export class PgLedger implements FleetLedger {
  readonly kind = "postgres" as const;
  readonly leaseMs: number;
  readonly #pool: pg.Pool;
  readonly #options: ResolvedPgLedgerOptions;
  /** The host this ledger object registered (it guards markTaskRemoved against other hosts' tasks). */
  #self: string | null = null;
  #closed: Promise<void> | undefined;
  /** The last heartbeat's round trip (ms), for the skew estimate. */
  #rttMs = 0;

  constructor(pool: pg.Pool, options: ResolvedPgLedgerOptions) {
    this.#pool = pool;
    this.#options = options;
    this.leaseMs = options.leaseMs;
  }

  /** Where the ledger is, without the password: for status and logs. */
  get where(): string {
    return this.#options.where;
  }

  async #q<R extends pg.QueryResultRow = Record<string, unknown>>(doing: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    if (this.#closed) throw taskhostError("ERR_STORE_CLOSED", `PostgreSQL ledger: ${doing} after close().`);
    try {
      return await this.#pool.query<R>(sql, params);
    } catch (error) {
      throw explainPgError(error, this.#options.where, doing);
    }
  }

  async #guard<T>(doing: string, work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw taskhostError("ERR_STORE_CLOSED", `PostgreSQL ledger: ${doing} after close().`);
    try {
      return await work();
    } catch (error) {
      throw explainPgError(error, this.#options.where, doing);
    }
  }

  // --- hosts ------------------------------------------------------------------

  async registerHost(host: Omit<HostRow, "lastHeartbeat" | "running">): Promise<void> {
    await this.#q(
      "registering this host",
      `INSERT INTO hosts (id, hostname, pid, started_at, registered_at, last_heartbeat, lease_ms, running)
       VALUES ($1, $2, $3, $4, now_ms(), now_ms(), $5, 0)
       ON CONFLICT (id) DO UPDATE SET hostname = EXCLUDED.hostname, pid = EXCLUDED.pid, started_at = EXCLUDED.started_at,
         registered_at = EXCLUDED.registered_at, last_heartbeat = EXCLUDED.last_heartbeat, lease_ms = EXCLUDED.lease_ms, running = 0,
         dead_at = NULL`,
      [host.id, host.hostname, host.pid, host.startedAt, this.leaseMs],
    );
    this.#self = host.id;
  }

  async beat(hostId: string, running: number): Promise<LeaseBeat> {
    // The database reads its clock about half a round trip after we send: compare with
    // our send time plus half the last round trip (NTP's estimate, one sample).
    const sentAt = this.#options.clock();
    const { rows } = await this.#q<{ now: number }>(
      "renewing this host's lease",
      `UPDATE hosts SET last_heartbeat = now_ms(), running = $2, skew_ms = now_ms() - $3 WHERE id = $1 AND dead_at IS NULL
       RETURNING last_heartbeat AS now`,
      [hostId, running, sentAt + Math.round(this.#rttMs / 2)],
    );
    this.#rttMs = Math.max(0, this.#options.clock() - sentAt);
    if (rows.length === 0) return { skewMs: 0, lost: true };
    return { skewMs: rows[0]!.now - (sentAt + Math.round(this.#rttMs / 2)), lost: false };
  }

  async heartbeat(hostId: string, running: number): Promise<{ skewMs: number }> {
    const { skewMs } = await this.beat(hostId, running);
    return { skewMs };
  }

  async leaveHost(hostId: string): Promise<void> {
    await this.#q("leaving the fleet", "DELETE FROM hosts WHERE id = $1", [hostId]);
    if (this.#self === hostId) this.#self = null;
  }

  async listHosts(): Promise<HostRow[]> {
    const { rows } = await this.#q("listing hosts", `SELECT ${HOST_COLUMNS} FROM hosts WHERE dead_at IS NULL ORDER BY started_at, id`);
    return rows.map(toHost);
  }

  async hostSkews(): Promise<Map<string, number>> {
    const { rows } = await this.#q<{ id: string; skew_ms: number }>("reading clock skew", "SELECT id, skew_ms FROM hosts WHERE dead_at IS NULL");
    return new Map(rows.map((r) => [r.id, r.skew_ms]));
  }

  scheduleStates(): Promise<ScheduleState[]> {
    return this.#guard("reading schedule states", () => scheduleStates(this.#pool));
  }

  runsInFlight(scheduleId?: string): Promise<RunInFlight[]> {
    return this.#guard("reading runs in flight", () => runsInFlight(this.#pool, scheduleId));
  }

  disagreements(): Promise<FleetDisagreement[]> {
    return this.#guard("comparing hosts' task versions", () => disagreements(this.#pool));
  }

  recoverFleet(ownerId: string, options?: { judgePeers?: boolean }): Promise<FleetRecovery> {
    return this.#guard("taking over dead hosts' work", () => recoverFleet(this.#pool, ownerId, options?.judgePeers ?? true));
  }

  async recoverRuns(ownerId: string): Promise<RunRow[]> {
    return (await this.recoverFleet(ownerId)).interrupted;
  }

  async reportLoaded(hostId: string, loaded: Record<string, Record<string, string>>): Promise<void> {
    await this.#q("reporting loaded tasks", "UPDATE hosts SET loaded = $2::jsonb WHERE id = $1", [hostId, JSON.stringify(loaded)]);
  }

  // --- tasks ------------------------------------------------------------------

  async recordTaskLoad(task: { id: string; title: string; file: string; error: string | null; enabled: boolean }): Promise<TaskRow> {
    const { rows } = await this.#q(
      "recording a task load",
      `INSERT INTO tasks (id, title, file, error, enabled) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, file = EXCLUDED.file, error = EXCLUDED.error,
         enabled = EXCLUDED.enabled, removed_at = NULL
       RETURNING ${TASK_COLUMNS}`,
      [task.id, task.title, task.file, task.error, Boolean(task.enabled)],
    );
    return toTask(rows[0]!);
  }

  /** Another live host that still loads the task keeps it (and its schedules): hosts may hold different subsets. */
  async markTaskRemoved(taskId: string, at: number): Promise<void> {
    await this.#q(
      "marking a task removed",
      `WITH kept AS (SELECT 1 FROM hosts h WHERE h.id IS DISTINCT FROM $3 AND h.loaded ? $1 AND h.dead_at IS NULL AND h.last_heartbeat + h.lease_ms >= now_ms()),
       t AS (UPDATE tasks SET removed_at = $2 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM kept) RETURNING id)
       DELETE FROM schedules WHERE task_id = $1 AND EXISTS (SELECT 1 FROM t)`,
      [taskId, at, this.#self],
    );
  }

  async setPaused(taskId: string, paused: boolean): Promise<boolean> {
    const { rowCount } = await this.#q("pausing or resuming a task", "UPDATE tasks SET paused = $2 WHERE id = $1 AND paused <> $2", [taskId, Boolean(paused)]);
    return (rowCount ?? 0) > 0;
  }

  async getTask(id: string): Promise<TaskRow | undefined> {
    const { rows } = await this.#q("reading a task", `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1`, [id]);
    return rows[0] && toTask(rows[0]);
  }

  async listTasks(): Promise<TaskRow[]> {
    const { rows } = await this.#q("listing tasks", `SELECT ${TASK_COLUMNS} FROM tasks ORDER BY id`);
    return rows.map(toTask);
  }

  // --- schedules ----------------------------------------------------------------

  async ensureSchedule(s: Omit<ScheduleRow, "nextRun"> & { firstRun: number | null; enabled: boolean }): Promise<ScheduleRow> {
    const { rows } = await this.#q(
      "recording a schedule",
      `INSERT INTO schedules (id, task_id, method, fingerprint, spec, next_run)
       VALUES ($1, $2, $3, $4, $5, CASE WHEN $7 THEN $6::bigint END)
       ON CONFLICT (id) DO UPDATE SET task_id = EXCLUDED.task_id, method = EXCLUDED.method, fingerprint = EXCLUDED.fingerprint,
         spec = EXCLUDED.spec,
         next_run = CASE WHEN NOT $7 THEN NULL
                         WHEN schedules.fingerprint = EXCLUDED.fingerprint AND schedules.next_run IS NOT NULL THEN schedules.next_run
                         ELSE EXCLUDED.next_run END
       RETURNING ${SCHEDULE_COLUMNS}`,
      [s.id, s.taskId, s.method, s.fingerprint, s.spec, s.firstRun, Boolean(s.enabled)],
    );
    return toSchedule(rows[0]!);
  }

  async retireSchedules(taskId: string, keep: readonly string[]): Promise<void> {
    await this.#q("retiring schedules", "DELETE FROM schedules WHERE task_id = $1 AND id <> ALL($2::text[])", [taskId, [...keep]]);
  }

  async setNextRun(scheduleId: string, next: number | null): Promise<void> {
    await this.#q("setting a next run", "UPDATE schedules SET next_run = $2 WHERE id = $1", [scheduleId, next]);
  }

  async getSchedule(id: string): Promise<ScheduleRow | undefined> {
    const { rows } = await this.#q("reading a schedule", `SELECT ${SCHEDULE_COLUMNS} FROM schedules WHERE id = $1`, [id]);
    return rows[0] && toSchedule(rows[0]);
  }

  async listSchedules(taskId?: string): Promise<ScheduleRow[]> {
    const { rows } =
      taskId === undefined
        ? await this.#q("listing schedules", `SELECT ${SCHEDULE_COLUMNS} FROM schedules ORDER BY id`)
        : await this.#q("listing schedules", `SELECT ${SCHEDULE_COLUMNS} FROM schedules WHERE task_id = $1 ORDER BY id`, [taskId]);
    return rows.map(toSchedule);
  }

  // --- claims and runs ----------------------------------------------------------

  claimOccurrences(claim: OccurrenceClaim): Promise<ClaimResult> {
    return this.#guard(`claiming ${claim.scheduleId}`, () => claimOccurrences(this.#pool, claim));
  }

  async recordRequestedRun(run: Parameters<Ledger["recordRequestedRun"]>[0]): Promise<number | null> {
    const { rows } = await this.#q<{ id: number }>(
      `recording a ${run.trigger} run`,
      `INSERT INTO runs (task_id, schedule_id, scheduled_for, status, attempt, trigger, host)
       VALUES ($1, $2, $3, 'running', $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id`,
      [run.taskId, run.scheduleId, run.scheduledFor, run.attempt, run.trigger, run.owner],
    );
    return rows[0] ? Number(rows[0].id) : null;
  }

  releaseClaim(runId: number, options: { handBack: boolean }): Promise<void> {
    return this.#guard("giving a claim back", () => releaseClaim(this.#pool, runId, Boolean(options.handBack)));
  }

  /**
   * A claim that is gone (its host was declared dead meanwhile), or whose host's lease lapsed (a
   * survivor may be taking it over right now), must not start: ERR_CLAIM_LOST. Fenced like a claim:
   * a writer that never registered as a host is not.
   */
  async recordStart(runId: number, at: number): Promise<void> {
    const { rowCount } = await this.#q(
      "recording a run's start",
      `UPDATE runs r SET started_at = $2 WHERE r.id = $1 AND r.status = 'running' AND r.started_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM hosts h WHERE h.id = r.host AND NOT (h.dead_at IS NULL AND h.last_heartbeat + h.lease_ms >= now_ms()))`,
      [runId, at],
    );
    if (!rowCount) {
      throw taskhostError(
        "ERR_CLAIM_LOST",
        `Run ${runId} was taken back before it started (this host's lease lapsed and another host took its work over); it does not run here.`,
      );
    }
  }

  async recordCatchUp(runId: number): Promise<void> {
    await this.#q("recording a late run as a catch-up", "UPDATE runs SET trigger = 'catch-up' WHERE id = $1 AND started_at IS NULL", [runId]);
  }

  /** A run another host already recorded (interrupted, after this host's lease lapsed) keeps that record. */
  async recordEnd(runId: number, end: RunEnd): Promise<RunRow | undefined> {
    const { rows } = await this.#q(
      "recording a run's end",
      `WITH up AS (
         UPDATE runs SET status = $2, started_at = CASE WHEN $6 THEN $3 ELSE started_at END, finished_at = $4, error = $5,
                output = COALESCE($7, output)
          WHERE id = $1 AND status = 'running' RETURNING ${RUN_COLUMNS})
       SELECT ${RUN_COLUMNS} FROM up
       UNION ALL SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM up)`,
      [runId, end.status, end.startedAt ?? null, end.finishedAt, end.error, end.startedAt !== undefined, end.output ?? null],
    );
    return rows[0] && toRun(rows[0]);
  }

  // --- history ------------------------------------------------------------------

  async getRun(id: number): Promise<RunRow | undefined> {
    const { rows } = await this.#q("reading a run", `SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [id]);
    return rows[0] && toRun(rows[0]);
  }

  async listRuns(taskId: string, options: ListRunsOptions = {}): Promise<RunRow[]> {
    const limit = options.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isInteger(limit) || limit < 1) {
      throw taskhostError("ERR_STORE_ARGUMENT", `listRuns: limit must be a positive integer (got ${String(limit)}).`);
    }
    const { rows } = await this.#q(
      "listing runs",
      `SELECT ${RUN_COLUMNS} FROM runs WHERE task_id = $1 AND ${NOT_A_CLAIM}
         AND ($2::bigint IS NULL OR id < $2) AND ($3::text IS NULL OR schedule_id = $3)
       ORDER BY id DESC LIMIT $4`,
      [taskId, options.before ?? null, options.scheduleId ?? null, limit],
    );
    return rows.map(toRun);
  }

  /** By occurrence; a manual run by its start (its "occurrence" is when it was asked for). */
  async listRunsBetween(from: number, to: number, options: { taskId?: string; scheduleId?: string } = {}): Promise<RunRow[]> {
    const at = "(CASE WHEN trigger = 'manual' THEN COALESCE(started_at, scheduled_for) ELSE scheduled_for END)";
    const { rows } = await this.#q(
      "listing runs between two instants",
      `SELECT ${RUN_COLUMNS} FROM runs
        WHERE ${at} >= $1 AND ${at} < $2 AND ($3::text IS NULL OR task_id = $3) AND ($4::text IS NULL OR schedule_id = $4)
        ORDER BY ${at}, id`,
      [from, to, options.taskId ?? null, options.scheduleId ?? null],
    );
    return rows.map(toRun);
  }

  /** Runs in flight (on any host) are never pruned. */
  async pruneRuns(taskId: string, keep: number): Promise<number[]> {
    if (!Number.isInteger(keep) || keep < 0) {
      throw taskhostError("ERR_STORE_ARGUMENT", `pruneRuns: keep must be an integer >= 0 (got ${String(keep)}).`);
    }
    const { rows } = await this.#q<{ id: number }>(
      "pruning runs",
      `WITH gone AS (
         DELETE FROM runs WHERE id IN (
           SELECT id FROM runs WHERE task_id = $1 AND status <> 'running' ORDER BY id DESC OFFSET $2)
         RETURNING id, scheduled_for, trigger),
       mark AS (
         -- The latest occurrence whose run went (a manual run's time is no occurrence): see prunedThrough.
         INSERT INTO pruned_history (task_id, through)
         SELECT $1, max(scheduled_for) FROM gone WHERE trigger <> 'manual' HAVING max(scheduled_for) IS NOT NULL
         ON CONFLICT (task_id) DO UPDATE SET through = GREATEST(pruned_history.through, excluded.through))
       SELECT id FROM gone`,
      [taskId, keep],
    );
    return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
  }

  async prunedThrough(taskId: string): Promise<number | null> {
    const { rows } = await this.#q<{ through: string }>("reading pruned history", "SELECT through FROM pruned_history WHERE task_id = $1", [taskId]);
    return rows[0] ? Number(rows[0].through) : null;
  }

  statusSnapshot(): Promise<LedgerSnapshot> {
    return this.#guard("reading status", () => statusSnapshot(this.#pool));
  }

  // --- alerts (issue 15) -------------------------------------------------------

  recordAlert(alert: Omit<AlertRow, "id">): Promise<AlertRow> {
    return this.#guard("recording an alert", () => recordAlert(this.#pool, alert));
  }

  claimAlert(alert: Omit<AlertRow, "id">, seenUpTo: number): Promise<AlertRow | null> {
    return this.#guard("recording an alert", () => claimAlert(this.#pool, alert, seenUpTo));
  }

  listAlerts(options?: ListAlertsOptions): Promise<AlertRow[]> {
    return this.#guard("listing alerts", () => listAlerts(this.#pool, options));
  }

  // --- task state -----------------------------------------------------------------

  async getState(taskId: string): Promise<Record<string, unknown>> {
    const { rows } = await this.#q<{ key: string; value: string }>("reading task state", "SELECT key, value FROM state WHERE task_id = $1 ORDER BY key", [taskId]);
    const state: Record<string, unknown> = {};
    for (const row of rows) state[row.key] = JSON.parse(row.value);
    return state;
  }

  async setState(taskId: string, key: string, value: unknown): Promise<void> {
    if (value === undefined) {
      await this.#q("deleting task state", "DELETE FROM state WHERE task_id = $1 AND key = $2", [taskId, key]);
      return;
    }
    const upsert = "INSERT INTO state (task_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (task_id, key) DO UPDATE SET value = EXCLUDED.value";
    await this.#q("writing task state", upsert, [taskId, key, stateJson(taskId, key, value)]);
  }

  close(): Promise<void> {
    this.#closed ??= this.#pool.end().catch(() => undefined);
    return this.#closed;
  }
}
