/**
 * The `Ledger` on sql.js: one host owns the file (its writer lock says so), so
 * every compare-and-set is a read and a write in one synchronous step of
 * `DurableDatabase.atomically`, and every write resolves once `commit()` has
 * it on disk (writes of the same moment share one fsync).
 *
 * It also offers table-level writes outside `Ledger` (upsertTask, insertRun,
 * flush …): the storage tests and the flush bench drive the journal with
 * them. Nothing in the runtime calls them; they are persisted within
 * `flushDelayMs`, or by `flush()`.
 */
import { stateJson } from "./state-json.ts";
import { TaskStateCache } from "./task-state-cache.ts";
import type {
  AlertRow,
  ClaimResult,
  ListAlertsOptions,
  HostRow,
  Ledger,
  LedgerSnapshot,
  ListRunsOptions,
  OccurrenceClaim,
  RunEnd,
  RunRow,
  ScheduleRow,
  TaskRow,
} from "./ledger.ts";
import type { DurableDatabase } from "./sqljs-database.ts";
import { ERR_STORE_ARGUMENT, storeError } from "./store-errors.ts";
import { RUN_PATCH_COLUMNS, type NewRun, type RunPatch } from "./store-mutations.ts";
import * as q from "./sqljs-queries.ts";

/** Alerts kept per task (the newest). */
const ALERTS_PER_TASK = 1000;

/** Thrown inside `atomically` to undo a claim that met a run already there; never escapes. */
class ClaimLost extends Error {}

export class SqlJsLedger implements Ledger {
  readonly kind = "sqljs" as const;
  readonly #db: DurableDatabase;
  readonly #state = new TaskStateCache();

  constructor(db: DurableDatabase) {
    this.#db = db;
  }

  // --- hosts -------------------------------------------------------------------

  async registerHost(host: Omit<HostRow, "lastHeartbeat" | "running">): Promise<void> {
    const { id, hostname, pid, startedAt } = host;
    this.#db.mutate({ op: "registerHost", host: { id, hostname, pid, startedAt, lastHeartbeat: Date.now(), running: 0 } });
    await this.#db.commit();
  }

  /** One host, one clock: no skew. */
  async heartbeat(hostId: string, running: number): Promise<{ skewMs: number }> {
    this.#db.mutate({ op: "heartbeat", hostId, at: Date.now(), running });
    await this.#db.commit();
    return { skewMs: 0 };
  }

  async leaveHost(hostId: string): Promise<void> {
    this.#db.mutate({ op: "leaveHost", hostId });
    await this.#db.commit();
  }

  async listHosts(): Promise<HostRow[]> {
    return q.listHosts(this.#db);
  }

  // --- tasks -------------------------------------------------------------------

  async recordTaskLoad(task: { id: string; title: string; file: string; error: string | null; enabled: boolean }): Promise<TaskRow> {
    const row = this.#db.atomically(() => {
      this.#db.mutate({ op: "upsertTask", id: task.id, title: task.title, file: task.file, removedAt: null });
      this.#db.mutate({ op: "setTaskLoad", taskId: task.id, error: task.error, enabled: Boolean(task.enabled) });
      return q.getTask(this.#db, task.id)!;
    });
    await this.#db.commit();
    return row;
  }

  async markTaskRemoved(taskId: string, at: number): Promise<void> {
    this.#db.mutate({ op: "markTaskRemoved", taskId, at });
    await this.#db.commit();
  }

  /** Unknown task: false (nothing to pause; the caller validates ids). */
  async setPaused(taskId: string, paused: boolean): Promise<boolean> {
    const changed = this.#db.mutate({ op: "setPaused", taskId, paused: Boolean(paused) }).changes > 0;
    await this.#db.commit();
    return changed;
  }

  async getTask(id: string): Promise<TaskRow | undefined> {
    return q.getTask(this.#db, id);
  }

  async listTasks(): Promise<TaskRow[]> {
    return q.listTasks(this.#db);
  }

  // --- schedules -----------------------------------------------------------------

  async ensureSchedule(schedule: Omit<ScheduleRow, "nextRun"> & { firstRun: number | null; enabled: boolean }): Promise<ScheduleRow> {
    const row = this.#db.atomically(() => {
      const { id, taskId, method, fingerprint, spec } = schedule;
      const current = q.getSchedule(this.#db, id);
      const keepNext = current !== undefined && current.fingerprint === fingerprint && current.nextRun !== null;
      const nextRun = !schedule.enabled ? null : keepNext ? current.nextRun : schedule.firstRun;
      const wanted: ScheduleRow = { id, taskId, method, fingerprint, spec, nextRun };
      // An unchanged schedule (every start, for every task) needs no journal entry.
      if (!current || (Object.keys(wanted) as (keyof ScheduleRow)[]).some((key) => current[key] !== wanted[key])) {
        this.#db.mutate({ op: "upsertSchedule", schedule: wanted });
      }
      return wanted;
    });
    await this.#db.commit();
    return row;
  }

  async retireSchedules(taskId: string, keep: readonly string[]): Promise<void> {
    this.#db.atomically(() => {
      for (const row of q.listSchedules(this.#db, taskId)) {
        if (!keep.includes(row.id)) this.#db.mutate({ op: "removeSchedule", id: row.id });
      }
    });
    await this.#db.commit();
  }

  async setNextRun(scheduleId: string, next: number | null): Promise<void> {
    this.#db.mutate({ op: "setNextRun", scheduleId, nextRun: next });
    await this.#db.commit();
  }

  async getSchedule(id: string): Promise<ScheduleRow | undefined> {
    return q.getSchedule(this.#db, id);
  }

  async listSchedules(taskId?: string): Promise<ScheduleRow[]> {
    return q.listSchedules(this.#db, taskId);
  }

  // --- claims and runs -------------------------------------------------------------

  async claimOccurrences(claim: OccurrenceClaim): Promise<ClaimResult> {
    if (claim.occurrences.length === 0) {
      throw storeError(ERR_STORE_ARGUMENT, `claimOccurrences: ${claim.scheduleId} claims no occurrence.`);
    }
    const lost = (): ClaimResult => ({ ok: false, current: q.getSchedule(this.#db, claim.scheduleId) ?? null });
    let result: ClaimResult;
    try {
      result = this.#db.atomically(() => {
        const current = q.getSchedule(this.#db, claim.scheduleId);
        if (!current || current.nextRun !== claim.expectedNext || current.fingerprint !== claim.fingerprint) return lost();
        const now = Date.now();
        const runIds = claim.occurrences.map((occurrence) => {
          if (q.occurrenceTaken(this.#db, claim.scheduleId, occurrence.scheduledFor, 1)) throw new ClaimLost();
          const skipped = occurrence.skipped !== undefined;
          return this.#insertClaim({
            taskId: claim.taskId,
            scheduleId: claim.scheduleId,
            scheduledFor: occurrence.scheduledFor,
            attempt: 1,
            trigger: occurrence.trigger,
            host: claim.owner,
            ...(skipped ? { status: "skipped", finishedAt: now, error: occurrence.skipped } : {}),
            coversFrom: occurrence.covers?.from ?? null,
            coversCount: occurrence.covers?.count ?? null,
          });
        });
        this.#db.mutate({ op: "setNextRun", scheduleId: claim.scheduleId, nextRun: claim.next });
        return { ok: true, runIds };
      });
    } catch (error) {
      if (!(error instanceof ClaimLost)) throw error;
      result = lost();
    }
    // A claim is acknowledged only once it is on disk.
    if (result.ok) await this.#db.commit();
    return result;
  }

  async recordRequestedRun(run: Parameters<Ledger["recordRequestedRun"]>[0]): Promise<number | null> {
    const id = this.#db.atomically(() => {
      if (run.trigger !== "manual" && q.occurrenceTaken(this.#db, run.scheduleId, run.scheduledFor, run.attempt)) return null;
      const { taskId, scheduleId, scheduledFor, attempt, trigger, owner } = run;
      return this.#insertClaim({ taskId, scheduleId, scheduledFor, attempt, trigger, host: owner });
    });
    if (id !== null) await this.#db.commit();
    return id;
  }

  async releaseClaim(runId: number, options: { handBack: boolean }): Promise<void> {
    this.#db.atomically(() => {
      const run = q.getRun(this.#db, runId);
      // Only a claim that never started (a skipped row is a record, not a claim).
      if (!run || run.status !== "running" || run.startedAt !== null) return;
      this.#db.mutate({ op: "deleteRun", id: runId });
      const handsBack = options.handBack && (run.trigger === "schedule" || run.trigger === "catch-up");
      if (!handsBack || run.scheduleId === null || run.scheduledFor === null) return;
      const schedule = q.getSchedule(this.#db, run.scheduleId);
      if (schedule && (schedule.nextRun === null || schedule.nextRun > run.scheduledFor)) {
        this.#db.mutate({ op: "setNextRun", scheduleId: schedule.id, nextRun: run.scheduledFor });
      }
    });
    await this.#db.commit();
  }

  async recordStart(runId: number, at: number): Promise<void> {
    this.#db.mutate({ op: "updateRun", id: runId, patch: { startedAt: at } });
    await this.#db.commit();
  }

  async recordCatchUp(runId: number): Promise<void> {
    if (q.getRun(this.#db, runId)?.startedAt !== null) return;
    this.#db.mutate({ op: "updateRun", id: runId, patch: { trigger: "catch-up" } });
    await this.#db.commit();
  }

  async recordEnd(runId: number, end: RunEnd): Promise<RunRow | undefined> {
    const patch: RunPatch = { status: end.status, finishedAt: end.finishedAt, error: end.error ?? null };
    if (end.startedAt !== undefined) patch.startedAt = end.startedAt;
    if (end.output !== undefined) patch.output = end.output;
    this.#db.mutate({ op: "updateRun", id: runId, patch });
    await this.#db.commit();
    return q.getRun(this.#db, runId);
  }

  /** One host owns the file and it is starting: every run left `running` is another life's, and every other host row is stale. */
  async recoverRuns(ownerId: string): Promise<RunRow[]> {
    const recovered = this.#db.atomically(() => {
      const unfinished = q.listUnfinishedRuns(this.#db);
      // At most once: after a crash nobody knows whether a claimed run had begun, so none is re-run.
      for (const run of unfinished) {
        const error =
          run.startedAt == null
            ? "the host stopped (crash or kill) when this run was due; it may not have started"
            : "the host stopped (crash or kill) while this run was running";
        this.#db.mutate({ op: "updateRun", id: run.id, patch: { status: "interrupted", error } });
      }
      this.#db.mutate({ op: "leaveHost", hostId: null, except: ownerId });
      return unfinished.map((run) => q.getRun(this.#db, run.id)!);
    });
    await this.#db.commit();
    return recovered;
  }

  // --- history ---------------------------------------------------------------------

  async getRun(id: number): Promise<RunRow | undefined> {
    return q.getRun(this.#db, id);
  }

  async listRuns(taskId: string, options?: ListRunsOptions): Promise<RunRow[]> {
    return q.listRuns(this.#db, taskId, options);
  }

  async listRunsBetween(from: number, to: number, options?: { taskId?: string; scheduleId?: string }): Promise<RunRow[]> {
    return q.listRunsBetween(this.#db, from, to, options);
  }

  async pruneRuns(taskId: string, keep: number): Promise<number[]> {
    if (!Number.isInteger(keep) || keep < 0) {
      throw storeError(ERR_STORE_ARGUMENT, `pruneRuns: keep must be an integer >= 0 (got ${String(keep)}).`);
    }
    const ids = this.#db.mutate({ op: "pruneRuns", taskId, keep }).ids ?? [];
    await this.#db.commit();
    return ids;
  }

  async prunedThrough(taskId: string): Promise<number | null> {
    return (this.#db.get("SELECT through FROM pruned_history WHERE task_id = ?", [taskId])?.through as number | undefined) ?? null;
  }

  // --- alerts ------------------------------------------------------------------------

  async recordAlert(alert: Omit<AlertRow, "id">): Promise<AlertRow> {
    const row = { ...alert, channels: [...alert.channels] };
    const { id } = this.#db.mutate({ op: "insertAlert", alert: row, keep: ALERTS_PER_TASK });
    await this.#db.commit();
    return { id: id!, ...row };
  }

  async claimAlert(alert: Omit<AlertRow, "id">, seenUpTo: number): Promise<AlertRow | null> {
    // One writer (this host): the check and the insert happen in one synchronous turn.
    if (q.sameAlertSince(this.#db, alert, seenUpTo)) return null;
    return this.recordAlert(alert);
  }

  async listAlerts(options?: ListAlertsOptions): Promise<AlertRow[]> {
    return q.listAlerts(this.#db, options);
  }

  async statusSnapshot(): Promise<LedgerSnapshot> {
    return q.statusSnapshot(this.#db);
  }

  // --- task state --------------------------------------------------------------------

  async getState(taskId: string): Promise<Record<string, unknown>> {
    // A closed ledger answers nothing, from its cache neither.
    this.#db.assertOpen();
    return this.#state.read(taskId, () => q.getStateRows(this.#db, taskId));
  }

  async setState(taskId: string, key: string, value: unknown): Promise<void> {
    this.#db.assertOpen();
    const json = value === undefined ? null : stateJson(taskId, key, value);
    this.#db.mutate({ op: "setState", taskId, key, json });
    this.#state.written(taskId, key, json);
    await this.#db.commit();
  }

  close(): Promise<void> {
    return this.#db.close();
  }

  // --- table-level writes, outside Ledger: for the storage tests and the flush bench ---

  async upsertTask(task: Omit<TaskRow, "paused" | "removedAt" | "error" | "enabled"> & { removedAt?: number | null }): Promise<void> {
    this.#db.mutate({ op: "upsertTask", id: task.id, title: task.title, file: task.file, removedAt: task.removedAt ?? null });
  }

  /** Unknown task: no-op (the catalog records a task before its load result). */
  async setTaskLoad(taskId: string, load: { error: string | null; enabled: boolean }): Promise<void> {
    this.#db.mutate({ op: "setTaskLoad", taskId, error: load.error, enabled: Boolean(load.enabled) });
  }

  async upsertSchedule(schedule: ScheduleRow): Promise<void> {
    const { id, taskId, method, fingerprint, spec } = schedule;
    this.#db.mutate({ op: "upsertSchedule", schedule: { id, taskId, method, fingerprint, spec, nextRun: schedule.nextRun ?? null } });
  }

  /** The schedule's runs stay (history outlives schedules, like tasks). */
  async removeSchedule(id: string): Promise<void> {
    this.#db.mutate({ op: "removeSchedule", id });
  }

  async insertRun(run: NewRun): Promise<number> {
    return this.#insert(run);
  }

  /** Unknown id: no-op (the run may have been pruned while it ran). */
  async updateRun(id: number, patch: RunPatch): Promise<void> {
    const known: Record<string, unknown> = {};
    for (const field of Object.keys(RUN_PATCH_COLUMNS)) {
      const value = (patch as Record<string, unknown>)[field];
      if (value !== undefined) known[field] = value;
    }
    this.#db.mutate({ op: "updateRun", id, patch: known as RunPatch });
  }

  /** Unknown id: no-op. The id is not reused (AUTOINCREMENT). */
  async deleteRun(id: number): Promise<void> {
    this.#db.mutate({ op: "deleteRun", id });
  }

  async lastRun(scheduleId: string): Promise<RunRow | undefined> {
    return q.lastRun(this.#db, scheduleId);
  }

  async listUnfinishedRuns(): Promise<RunRow[]> {
    return q.listUnfinishedRuns(this.#db);
  }

  flush(): Promise<void> {
    return this.#db.flush();
  }

  // --- internals ---------------------------------------------------------------------

  /** A claim's row: not started, no outcome yet (unless `fields` record it skipped). */
  #insertClaim(fields: Pick<NewRun, "taskId" | "scheduleId" | "scheduledFor" | "attempt" | "trigger" | "host"> & Partial<NewRun>): number {
    return this.#insert({ startedAt: null, finishedAt: null, status: "running", error: null, output: "", ...fields });
  }

  /** Inserts a run (normalised: no undefined reaches the journal) and returns its id. */
  #insert(run: NewRun): number {
    const normalised: NewRun = {
      taskId: run.taskId,
      scheduleId: run.scheduleId ?? null,
      scheduledFor: run.scheduledFor ?? null,
      startedAt: run.startedAt ?? null,
      finishedAt: run.finishedAt ?? null,
      status: run.status,
      attempt: run.attempt,
      trigger: run.trigger,
      error: run.error ?? null,
      output: run.output ?? "",
      host: run.host ?? null,
      coversFrom: run.coversFrom ?? null,
      coversCount: run.coversCount ?? null,
    };
    return this.#db.mutate({ op: "insertRun", run: normalised }).id!;
  }
}
