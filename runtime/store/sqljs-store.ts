/**
 * The ledger on sql.js: the whole SQLite database lives in memory (WASM); on
 * disk it is a snapshot file plus a write-ahead journal.
 *
 * sql.js has no file VFS, so "durable" means "on disk outside SQLite". Writes
 * are cheap in-memory statements; each one is also one journal entry (see
 * store-journal.ts). A flush (within `flushDelayMs` of a write, or when asked)
 * appends the pending entries to `<path>.journal` and fsyncs it: its cost
 * follows the size of the change, not of the database. Now and then (the
 * journal reached `journalMaxBytes`, or holds entries older than
 * `snapshotIntervalMs`, and on close) a full snapshot replaces `<path>`
 * atomically (store-snapshot.ts) and empties the journal. Opening loads the
 * snapshot and replays the journal (store-replay.ts).
 */
import initSqlJs from "sql.js";
import type { SqlJsStatic, SqlValue } from "sql.js";
import type { ListRunsOptions, NewRun, RunPatch, RunRow, ScheduleRow, Store, TaskRow } from "./store.ts";
import { ERR_DB_WRITE, ERR_STATE_VALUE, ERR_STORE_ARGUMENT, ERR_STORE_CLOSED, storeError } from "./store-errors.ts";
import { encodeBatch, JournalFile, type PendingEntry } from "./store-journal.ts";
import { applyMutation, RUN_PATCH_COLUMNS, type Applied, type Mutation } from "./store-mutations.ts";
import { resolveSqlJsStoreOptions, type ResolvedSqlJsStoreOptions, type SqlJsStoreOptions } from "./store-options.ts";
import { replayJournal } from "./store-replay.ts";
import { snapshotJournalSeq } from "./store-schema.ts";
import { openDatabase, removeStaleTempFiles, SnapshotWriter } from "./store-snapshot.ts";
import { SqlStatements, type Row } from "./store-sql.ts";

export {
  ERR_DB_CORRUPT,
  ERR_DB_READ,
  ERR_DB_VERSION,
  ERR_DB_WRITE,
  ERR_STATE_VALUE,
  ERR_STORE_ARGUMENT,
  ERR_STORE_CLOSED,
  ERR_STORE_OPTIONS,
} from "./store-errors.ts";
export { resolveSqlJsStoreOptions, type ResolvedSqlJsStoreOptions, type SqlJsStoreOptions } from "./store-options.ts";

// ---------------------------------------------------------------------------
// sql.js module

/** Compiling the WASM module costs tens of ms; every store in the process shares one. */
let sqlJsModule: Promise<SqlJsStatic> | undefined;

function loadSqlJs(): Promise<SqlJsStatic> {
  if (!sqlJsModule) {
    sqlJsModule = initSqlJs().catch((error: unknown) => {
      sqlJsModule = undefined; // let a later open try again
      throw error;
    });
  }
  return sqlJsModule;
}

// ---------------------------------------------------------------------------
// The store

const RUN_COLUMNS = `id, task_id AS taskId, schedule_id AS scheduleId, scheduled_for AS scheduledFor,
  started_at AS startedAt, finished_at AS finishedAt, status, attempt, trigger, error, output`;

const DEFAULT_LIST_LIMIT = 50;
/** Longest pause between retries of a failing background flush. */
const MAX_FLUSH_RETRY_MS = 30_000;

export async function openSqlJsStore(options: SqlJsStoreOptions): Promise<Store> {
  const resolved = resolveSqlJsStoreOptions(options);
  const SQL = await loadSqlJs();
  await removeStaleTempFiles(resolved);
  const { db, needsFlush, created } = await openDatabase(SQL, resolved);
  const sql = new SqlStatements(db);
  let replayed;
  let journal: JournalFile;
  try {
    replayed = await replayJournal(sql, resolved, snapshotJournalSeq(db), created);
    journal = await JournalFile.open(resolved.journalPath).catch((error: unknown) => {
      throw storeError(ERR_DB_WRITE, `cannot open ${resolved.journalPath} (${(error as Error).message}).`, error);
    });
  } catch (error) {
    sql.close();
    throw error;
  }
  // A snapshot right away when the file is not current (new, migrated,
  // restored) or a journal was replayed: a crash before the first write then
  // still leaves a valid database, and the journal starts empty.
  const snapshotDue = needsFlush || replayed.journalHadContent;
  const store = new SqlJsStore(sql, resolved, journal, replayed.seq, snapshotDue);
  if (snapshotDue) {
    try {
      await store.flush();
    } catch (error) {
      await store.close().catch(() => undefined);
      throw error;
    }
  }
  return store;
}

class SqlJsStore implements Store {
  readonly #sql: SqlStatements;
  readonly #options: ResolvedSqlJsStoreOptions;
  readonly #journal: JournalFile;
  readonly #snapshots: SnapshotWriter;

  /** The sequence number of the last change made (in memory). */
  #seq: number;
  /** Changes the journal file does not have yet, oldest first. */
  #pending: PendingEntry[] = [];
  /** The next flush must write a full snapshot (the file is not current, or the journal is unusable). */
  #snapshotDue: boolean;
  /** The journal is big or old enough: the next background flush writes a snapshot. */
  #snapshotWanted = false;
  /** When the oldest entry in the journal file was appended. */
  #journalStartedAt = 0;
  #flushTimer: NodeJS.Timeout | undefined;
  #snapshotTimer: NodeJS.Timeout | undefined;
  /** The flush in progress; at most one at a time so writes land in order. */
  #flushing: Promise<void> | undefined;
  #failedFlushes = 0;
  /** Set at the start of close(): from then on every call is refused. */
  #closing = false;
  #closed: Promise<void> | undefined;

  constructor(sql: SqlStatements, options: ResolvedSqlJsStoreOptions, journal: JournalFile, seq: number, snapshotDue: boolean) {
    this.#sql = sql;
    this.#options = options;
    this.#journal = journal;
    this.#snapshots = new SnapshotWriter(options);
    this.#seq = seq;
    this.#snapshotDue = snapshotDue;
  }

  // --- tasks ---------------------------------------------------------------

  async upsertTask(task: Omit<TaskRow, "paused" | "removedAt"> & { removedAt?: number | null }): Promise<void> {
    this.#mutate({ op: "upsertTask", id: task.id, title: task.title, file: task.file, removedAt: task.removedAt ?? null });
  }

  async getTask(id: string): Promise<TaskRow | undefined> {
    const row = this.#get(`${TASK_SELECT} WHERE id = ?`, [id]);
    return row && toTask(row);
  }

  async listTasks(): Promise<TaskRow[]> {
    return this.#all(`${TASK_SELECT} ORDER BY id`, []).map(toTask);
  }

  /** Unknown task: no-op (nothing to pause; the caller validates ids). */
  async setPaused(taskId: string, paused: boolean): Promise<void> {
    this.#mutate({ op: "setPaused", taskId, paused: Boolean(paused) });
  }

  /** Unknown task: no-op (the catalog records a task before its load result). */
  async setTaskLoad(taskId: string, load: { error: string | null; enabled: boolean }): Promise<void> {
    this.#mutate({ op: "setTaskLoad", taskId, error: load.error, enabled: Boolean(load.enabled) });
  }

  async markTaskRemoved(taskId: string, at: number): Promise<void> {
    this.#mutate({ op: "markTaskRemoved", taskId, at });
  }

  // --- schedules -------------------------------------------------------------

  async upsertSchedule(schedule: ScheduleRow): Promise<void> {
    const { id, taskId, method, fingerprint, spec } = schedule;
    this.#mutate({ op: "upsertSchedule", schedule: { id, taskId, method, fingerprint, spec, nextRun: schedule.nextRun ?? null } });
  }

  async getSchedule(id: string): Promise<ScheduleRow | undefined> {
    const row = this.#get(`${SCHEDULE_SELECT} WHERE id = ?`, [id]);
    return row as ScheduleRow | undefined;
  }

  async listSchedules(taskId?: string): Promise<ScheduleRow[]> {
    const rows =
      taskId === undefined
        ? this.#all(`${SCHEDULE_SELECT} ORDER BY id`, [])
        : this.#all(`${SCHEDULE_SELECT} WHERE task_id = ? ORDER BY id`, [taskId]);
    return rows as unknown as ScheduleRow[];
  }

  async setNextRun(scheduleId: string, nextRun: number | null): Promise<void> {
    this.#mutate({ op: "setNextRun", scheduleId, nextRun });
  }

  /** The schedule's runs stay (history outlives schedules, like tasks). */
  async removeSchedule(id: string): Promise<void> {
    this.#mutate({ op: "removeSchedule", id });
  }

  // --- runs ----------------------------------------------------------------

  async insertRun(run: NewRun): Promise<number> {
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
    };
    return this.#mutate({ op: "insertRun", run: normalised }).id!;
  }

  /** Unknown id: no-op (the run may have been pruned while it ran). */
  async updateRun(id: number, patch: RunPatch): Promise<void> {
    const known: Record<string, unknown> = {};
    for (const field of Object.keys(RUN_PATCH_COLUMNS)) {
      const value = (patch as Record<string, unknown>)[field];
      if (value !== undefined) known[field] = value;
    }
    this.#mutate({ op: "updateRun", id, patch: known as RunPatch });
  }

  /** Unknown id: no-op. The id is not reused (AUTOINCREMENT). */
  async deleteRun(id: number): Promise<void> {
    this.#mutate({ op: "deleteRun", id });
  }

  async getRun(id: number): Promise<RunRow | undefined> {
    return this.#get(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`, [id]) as RunRow | undefined;
  }

  async listRuns(taskId: string, options: ListRunsOptions = {}): Promise<RunRow[]> {
    const { limit = DEFAULT_LIST_LIMIT, before, scheduleId } = options;
    if (!Number.isInteger(limit) || limit < 1) {
      throw storeError(ERR_STORE_ARGUMENT, `listRuns: limit must be a positive integer (got ${String(limit)}).`);
    }
    // An occurrence claimed just before its time but not started is the next run, not a run
    // (as in lastRun): history lists runs that started, were skipped, or ended.
    const where = ["task_id = ?", "NOT (status = 'running' AND started_at IS NULL)"];
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
    const sql = `SELECT ${RUN_COLUMNS} FROM runs WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT ?`;
    return this.#all(sql, params) as unknown as RunRow[];
  }

  /** The most recently recorded run of the schedule (highest id). */
  async lastRun(scheduleId: string): Promise<RunRow | undefined> {
    // A claim taken just before its boundary (running, not started) is the next run, not the last.
    const row = this.#get(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE schedule_id = ? AND NOT (status = 'running' AND started_at IS NULL) ORDER BY id DESC LIMIT 1`,
      [scheduleId],
    );
    return row as RunRow | undefined;
  }

  async listUnfinishedRuns(): Promise<RunRow[]> {
    return this.#all(`SELECT ${RUN_COLUMNS} FROM runs WHERE status = 'running' ORDER BY id`, []) as unknown as RunRow[];
  }

  /**
   * True when ANY run row exists for this (schedule, scheduledFor), whatever
   * its trigger or status. Retries of an occurrence only exist after its first
   * run, and a `skipped` row means the occurrence was dealt with (catch_up:
   * skip), so "any row" is the same answer as "a non-retry run" and needs no
   * special cases; it also stays true if pruning removed the first attempt but
   * kept a retry.
   */
  async hasOccurrence(scheduleId: string, scheduledFor: number): Promise<boolean> {
    return this.#get("SELECT 1 AS found FROM runs WHERE schedule_id = ? AND scheduled_for = ? LIMIT 1", [
      scheduleId,
      scheduledFor,
    ]) !== undefined;
  }

  async pruneRuns(taskId: string, keep: number): Promise<number> {
    if (!Number.isInteger(keep) || keep < 0) {
      throw storeError(ERR_STORE_ARGUMENT, `pruneRuns: keep must be an integer >= 0 (got ${String(keep)}).`);
    }
    return this.#mutate({ op: "pruneRuns", taskId, keep }).changes;
  }

  // --- state ---------------------------------------------------------------

  async getState(taskId: string): Promise<Record<string, unknown>> {
    const state: Record<string, unknown> = {};
    for (const row of this.#all("SELECT key, value FROM state WHERE task_id = ? ORDER BY key", [taskId])) {
      state[row.key as string] = JSON.parse(row.value as string);
    }
    return state;
  }

  async setState(taskId: string, key: string, value: unknown): Promise<void> {
    this.#assertOpen();
    if (value === undefined) {
      this.#mutate({ op: "setState", taskId, key, json: null });
      return;
    }
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      throw storeError(ERR_STATE_VALUE, `state "${key}" of task ${taskId} cannot be stored as JSON (${(error as Error).message}).`, error);
    }
    if (json === undefined) {
      throw storeError(ERR_STATE_VALUE, `state "${key}" of task ${taskId} cannot be stored as JSON (a ${typeof value}). Store plain data.`);
    }
    this.#mutate({ op: "setState", taskId, key, json });
  }

  // --- persistence -------------------------------------------------------------

  /** Durable when it resolves: every change made before the call is in the journal (or a snapshot). */
  async flush(): Promise<void> {
    this.#assertOpen();
    await this.#flushNow(false);
  }

  close(): Promise<void> {
    if (this.#closed) return this.#closed.catch(() => undefined);
    this.#closing = true;
    this.#closed = (async () => {
      try {
        await this.#flushNow(false);
        // Leave one file behind, so the next open has nothing to replay.
        if (this.#journal.bytes > 0) {
          this.#snapshotWanted = true;
          await this.#flushNow(true).catch((error: Error) =>
            this.#options.onWarning(`${error.message} Every change is in ${this.#journal.path} and is replayed on the next open.`),
          );
        }
      } finally {
        clearTimeout(this.#flushTimer);
        clearTimeout(this.#snapshotTimer);
        this.#flushTimer = this.#snapshotTimer = undefined;
        await this.#journal.close().catch(() => undefined);
        this.#sql.close();
      }
    })();
    return this.#closed;
  }

  // --- internals -------------------------------------------------------------

  #assertOpen(): void {
    if (this.#closing) {
      throw storeError(ERR_STORE_CLOSED, `${this.#options.path} is closed; this call came after close().`);
    }
  }

  #all(sql: string, params: SqlValue[]): Row[] {
    this.#assertOpen();
    return this.#sql.all(sql, params);
  }

  #get(sql: string, params: SqlValue[]): Row | undefined {
    return this.#all(sql, params)[0];
  }

  /** Applies a change to the database and queues its journal entry (a change of nothing needs none). */
  #mutate(mutation: Mutation): Applied {
    this.#assertOpen();
    const applied = applyMutation(this.#sql, mutation);
    if (applied.changes > 0) {
      const recorded = mutation.op === "insertRun" ? { ...mutation, id: applied.id } : mutation;
      this.#seq += 1;
      this.#pending.push({ seq: this.#seq, mutationJson: JSON.stringify(recorded) });
      // A flush in progress reschedules itself when it ends (see #flushNow).
      if (this.#flushTimer === undefined && this.#flushing === undefined) this.#scheduleFlush(this.#options.flushDelayMs);
    }
    return applied;
  }

  #hasWork(background: boolean): boolean {
    return this.#pending.length > 0 || this.#snapshotDue || this.#journal.broken || (background && this.#snapshotWanted);
  }

  #scheduleFlush(delayMs: number): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#backgroundFlush();
    }, delayMs);
  }

  /** Separate from the flush timer, which every flush() call resets: frequent flushes must not starve snapshots. */
  #scheduleSnapshot(): void {
    this.#snapshotTimer ??= setTimeout(() => {
      this.#snapshotTimer = undefined;
      this.#backgroundFlush();
    }, 0);
  }

  #backgroundFlush(): void {
    this.#flushNow(true).then(
      () => {
        this.#failedFlushes = 0;
      },
      (error: Error) => {
        if (this.#closing) return; // close() reports it
        this.#failedFlushes += 1;
        const retryMs = Math.min(Math.max(this.#options.flushDelayMs, 1000) * 2 ** (this.#failedFlushes - 1), MAX_FLUSH_RETRY_MS);
        this.#options.onWarning(`${error.message} Retrying in ${retryMs} ms; recent runs are only in memory until then.`);
        this.#scheduleFlush(retryMs);
      },
    );
  }

  /**
   * Makes the pending changes durable. Never two writes at once: a caller
   * that arrives during a flush waits for it and then writes again if
   * anything changed meanwhile, so when its promise resolves every write made
   * before the call is on disk. `background`: may also take a wanted snapshot.
   */
  #flushNow(background: boolean): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#flushing) {
      const again = () => this.#flushNow(background);
      return this.#flushing.then(again, again);
    }
    if (!this.#hasWork(background)) return Promise.resolve();
    const flushing = this.#persist(background).finally(() => {
      this.#flushing = undefined;
      if (this.#closing) return;
      if (this.#snapshotWanted) this.#scheduleSnapshot();
      if (this.#hasWork(false)) this.#scheduleFlush(this.#options.flushDelayMs);
    });
    this.#flushing = flushing;
    return flushing;
  }

  async #persist(background: boolean): Promise<void> {
    const { journalMaxBytes, snapshotIntervalMs, onWarning } = this.#options;
    const snapshotNow =
      this.#snapshotDue || this.#journal.broken || journalMaxBytes === 0 || (background && this.#snapshotWanted);
    if (!snapshotNow) {
      const batch = this.#pending;
      this.#pending = [];
      if (this.#journal.bytes === 0) this.#journalStartedAt = Date.now();
      try {
        await this.#journal.append(encodeBatch(batch));
      } catch (error) {
        // The file may now end in part of this batch: only a snapshot can
        // make these changes durable (and it starts a clean journal).
        onWarning(`taskhost store: could not append to ${this.#journal.path} (${(error as Error).message}); writing a full snapshot instead.`);
        return this.#snapshot();
      }
      if (this.#journal.bytes >= journalMaxBytes || Date.now() - this.#journalStartedAt >= snapshotIntervalMs) {
        this.#snapshotWanted = true;
      }
      return;
    }
    return this.#snapshot();
  }

  async #snapshot(): Promise<void> {
    // Every change so far is in the image; later ones stay pending.
    const seq = this.#seq;
    const covered = this.#pending;
    this.#pending = [];
    this.#snapshotDue = false;
    this.#snapshotWanted = false;
    try {
      await this.#snapshots.write(this.#sql.db, seq);
    } catch (error) {
      this.#pending = covered.concat(this.#pending);
      this.#snapshotDue = true;
      throw error;
    }
    // A crash before this leaves entries <= seq in the journal; replay skips them.
    await this.#journal.reset().catch((error: unknown) =>
      this.#options.onWarning(
        `taskhost store: could not empty ${this.#journal.path} after a snapshot (${(error as Error).message}); ` +
          `flushes write full snapshots until it can be.`,
      ),
    );
  }
}

const TASK_SELECT = "SELECT id, title, file, paused, removed_at, error, enabled FROM tasks";

const SCHEDULE_SELECT =
  "SELECT id, task_id AS taskId, method, fingerprint, spec, next_run AS nextRun FROM schedules";

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
