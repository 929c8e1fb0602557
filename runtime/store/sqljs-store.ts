/**
 * The ledger on sql.js: the whole SQLite database lives in memory (WASM) and is
 * written to one file as a full snapshot (`db.export()` + atomic replace).
 *
 * Why a snapshot store: sql.js has no file VFS, so "durable" means "the last
 * exported snapshot reached the disk". Writes are cheap in-memory statements;
 * they mark the store dirty and a flush follows within `flushDelayMs`
 * (bursts coalesce into one write). The atomic replace means a crash at any
 * moment leaves the previous or the next snapshot, never a torn file; the
 * `.bak` copy covers damage from outside (disk errors, a user's `cp`, a
 * truncating editor).
 */
import { mkdir, readFile, readdir, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, isAbsolute, join } from "node:path";
import initSqlJs from "sql.js";
import type { BindParams, Database, SqlJsStatic, SqlValue, Statement } from "sql.js";
import { atomicTempFileWriterPid, atomicWriteFile } from "./atomic-write-file.ts";
import type { ListRunsOptions, NewRun, RunPatch, RunRow, ScheduleRow, Store, TaskRow } from "./store.ts";

// ---------------------------------------------------------------------------
// Errors

/** The file (and its backup, if any) is not a usable SQLite database. */
export const ERR_DB_CORRUPT = "ERR_DB_CORRUPT";
/** The file was written by a newer taskhost (schema version we do not know). */
export const ERR_DB_VERSION = "ERR_DB_VERSION";
/** The database file exists but cannot be read (permissions, a directory, ...). */
export const ERR_DB_READ = "ERR_DB_READ";
/** Writing the snapshot to disk failed (disk full, permissions, ...). */
export const ERR_DB_WRITE = "ERR_DB_WRITE";
/** A call came after `close()`. */
export const ERR_STORE_CLOSED = "ERR_STORE_CLOSED";
/** `openSqlJsStore` options are invalid. */
export const ERR_STORE_OPTIONS = "ERR_STORE_OPTIONS";
/** A method argument is invalid (limit, keep, ...). */
export const ERR_STORE_ARGUMENT = "ERR_STORE_ARGUMENT";
/** A task state value cannot be stored as JSON. */
export const ERR_STATE_VALUE = "ERR_STATE_VALUE";

function storeError(code: string, message: string, cause?: unknown): Error & { code: string } {
  const error = new Error(`taskhost store: ${message}`, cause === undefined ? undefined : { cause }) as Error & {
    code: string;
  };
  error.code = code;
  return error;
}

// ---------------------------------------------------------------------------
// Options

export interface SqlJsStoreOptions {
  /** Absolute path of the database file, e.g. `/srv/app/data/scheduler.db`. */
  path: string;
  /** Longest time a write stays only in memory before a flush starts. Default 200. */
  flushDelayMs?: number;
  /** Least time between two refreshes of `<path>.bak` during flushes. Default 1 hour. */
  backupIntervalMs?: number;
  /** Things the operator should know that are not errors (e.g. started from the backup). */
  onWarning?: (message: string) => void;
}

export interface ResolvedSqlJsStoreOptions {
  readonly path: string;
  readonly backupPath: string;
  readonly flushDelayMs: number;
  readonly backupIntervalMs: number;
  readonly onWarning: (message: string) => void;
}

export function resolveSqlJsStoreOptions(options: SqlJsStoreOptions): ResolvedSqlJsStoreOptions {
  const { path, flushDelayMs = 200, backupIntervalMs = 60 * 60 * 1000, onWarning } = options ?? ({} as SqlJsStoreOptions);
  if (typeof path !== "string" || path === "" || !isAbsolute(path)) {
    throw storeError(ERR_STORE_OPTIONS, `option "path" must be an absolute file path (got ${JSON.stringify(path)}).`);
  }
  for (const [name, value] of [
    ["flushDelayMs", flushDelayMs],
    ["backupIntervalMs", backupIntervalMs],
  ] as const) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw storeError(ERR_STORE_OPTIONS, `option "${name}" must be a number of milliseconds >= 0 (got ${String(value)}).`);
    }
  }
  if (onWarning !== undefined && typeof onWarning !== "function") {
    throw storeError(ERR_STORE_OPTIONS, `option "onWarning" must be a function.`);
  }
  return Object.freeze({
    path,
    backupPath: `${path}.bak`,
    flushDelayMs,
    backupIntervalMs,
    // Never swallow a warning: without a callback it goes to stderr.
    onWarning: onWarning ?? ((message: string) => process.emitWarning(message, { code: "TASKHOST_STORE" })),
  });
}

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
// Schema

/**
 * Ordered migrations; `meta.schema_version` records the last one applied.
 * Never edit a released entry: append a new version instead.
 */
const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        file TEXT NOT NULL,
        paused INTEGER NOT NULL DEFAULT 0,
        removed_at INTEGER
      );
      CREATE TABLE schedules (
        id TEXT PRIMARY KEY,
        task_id TEXT NOT NULL,
        method TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        spec TEXT NOT NULL,
        next_run INTEGER
      );
      CREATE INDEX schedules_by_task ON schedules (task_id);
      -- AUTOINCREMENT: ids are never reused after pruning, so a run id seen in a
      -- log line or a "before" cursor always means the same run.
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL,
        schedule_id TEXT,
        scheduled_for INTEGER,
        started_at INTEGER,
        finished_at INTEGER,
        status TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        trigger TEXT NOT NULL,
        error TEXT,
        output TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX runs_by_task ON runs (task_id, id);
      CREATE INDEX runs_by_occurrence ON runs (schedule_id, scheduled_for);
      CREATE TABLE state (
        task_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (task_id, key)
      ) WITHOUT ROWID;
    `,
  },
];
const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Brings `db` to the latest schema; returns true when it changed anything. */
function migrate(db: Database, path: string): boolean {
  const isEmpty = db.exec("SELECT 1 FROM sqlite_master LIMIT 1").length === 0;
  if (isEmpty) {
    // Every flush exports every page, free ones included; without this a
    // database keeps its peak size forever after pruning. Only settable
    // before the first table exists.
    db.exec("PRAGMA auto_vacuum = INCREMENTAL");
  }
  db.run("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  const row = db.exec("SELECT value FROM meta WHERE key = 'schema_version'")[0]?.values[0];
  const current = row ? Number(row[0]) : 0;
  if (!Number.isInteger(current) || current > LATEST_SCHEMA_VERSION) {
    throw storeError(
      ERR_DB_VERSION,
      `${path} has schema version ${String(row?.[0])}, newer than this taskhost understands (${LATEST_SCHEMA_VERSION}). ` +
        `Run the taskhost version that wrote it, or move the file away to start empty.`,
    );
  }
  let changed = false;
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.exec("BEGIN");
    try {
      db.exec(migration.sql);
      db.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", [String(migration.version)]);
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
    changed = true;
  }
  return changed;
}

// ---------------------------------------------------------------------------
// Opening, validation and recovery

/** Returns why `bytes` is not a usable database image, or a ready Database. */
function loadImage(SQL: SqlJsStatic, bytes: Uint8Array): { db: Database } | { problem: string } {
  // SQLite treats a 0-byte file as a fresh empty database; for us it means a
  // write was lost (our writes never produce one), so it is damage.
  if (bytes.length === 0) return { problem: "file is empty (0 bytes)" };
  const headerProblem = checkHeader(bytes);
  if (headerProblem) return { problem: headerProblem };
  let db: Database | undefined;
  try {
    db = new SQL.Database(bytes);
    // sql.js opens lazily: garbage only shows on the first query.
    const result = db.exec("PRAGMA quick_check")[0]?.values ?? [];
    const verdict = result.map((r) => String(r[0])).join("; ");
    if (verdict !== "ok") {
      db.close();
      return { problem: `integrity check failed: ${verdict.slice(0, 300)}` };
    }
    return { db };
  } catch (error) {
    db?.close();
    return { problem: (error as Error).message };
  }
}

/**
 * SQLite's quick_check does not notice a file cut short by less than a page
 * (the missing tail reads as zeros). The header records page size and count,
 * and every snapshot we write is exactly pageSize * pageCount bytes.
 */
function checkHeader(bytes: Uint8Array): string | undefined {
  const magic = "SQLite format 3\0";
  if (bytes.length < 100 || new TextDecoder().decode(bytes.subarray(0, 16)) !== magic) {
    return "file is not a database (no SQLite header)";
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rawPageSize = view.getUint16(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) return "header has an invalid page size";
  if (bytes.length % pageSize !== 0) return `file is truncated (${bytes.length} bytes is not a whole number of ${pageSize}-byte pages)`;
  // The in-header page count is only valid when the change counter matches
  // "version-valid-for" (older writers did not maintain it).
  const pageCount = view.getUint32(28);
  if (pageCount > 0 && view.getUint32(24) === view.getUint32(92) && pageCount * pageSize !== bytes.length) {
    return `file is truncated (header says ${pageCount * pageSize} bytes, file has ${bytes.length})`;
  }
  return undefined;
}

async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw storeError(ERR_DB_READ, `cannot read ${path} (${(error as Error).message}). Check that it is a file taskhost may read.`, error);
  }
}

interface OpenedDatabase {
  db: Database;
  /** The image is not yet on disk at `path` (new file, migrated, or restored). */
  needsFlush: boolean;
}

async function openDatabase(SQL: SqlJsStatic, options: ResolvedSqlJsStoreOptions): Promise<OpenedDatabase> {
  const { path, backupPath, onWarning } = options;
  const bytes = await readIfExists(path);

  if (bytes === undefined) {
    await mkdir(dirname(path), { recursive: true }).catch((error: unknown) => {
      throw storeError(ERR_DB_WRITE, `cannot create the directory of ${path} (${(error as Error).message}).`, error);
    });
    if ((await readIfExists(backupPath)) !== undefined) {
      // Not restored automatically: deleting the database is also how a user
      // asks for a fresh start. Say so, because the next backup replaces it.
      onWarning(
        `taskhost store: ${path} does not exist, starting with an empty database although ${backupPath} exists. ` +
          `To restore it instead, stop taskhost and copy ${backupPath} to ${path}.`,
      );
    }
    const db = new SQL.Database();
    migrateOrClose(db, path);
    return { db, needsFlush: true };
  }

  const main = loadImage(SQL, bytes);
  if ("db" in main) {
    const changed = migrateOrClose(main.db, path);
    // The file just proved good: it becomes the backup, before we change it.
    await atomicWriteFile(backupPath, bytes).catch((error: unknown) =>
      onWarning(`taskhost store: could not refresh the backup ${backupPath} (${(error as Error).message}); the database itself is fine.`),
    );
    return { db: main.db, needsFlush: changed };
  }

  const backupBytes = await readIfExists(backupPath);
  const backup = backupBytes === undefined ? undefined : loadImage(SQL, backupBytes);
  if (backup && "db" in backup) {
    migrateOrClose(backup.db, backupPath);
    // Keep the damaged file for inspection instead of overwriting it.
    const keptAs = `${path}.corrupt-${Date.now()}`;
    const kept = await rename(path, keptAs).then(
      () => `the damaged file was kept as ${keptAs}`,
      (error: unknown) => `the damaged file could not be kept aside (${(error as Error).message}) and will be overwritten`,
    );
    const backupAge = await stat(backupPath).then(
      (s) => ` (backup written ${new Date(s.mtimeMs).toISOString()})`,
      () => "",
    );
    onWarning(
      `taskhost store: ${path} is not a usable SQLite database (${main.problem}). ` +
        `Started from the backup ${backupPath}${backupAge}; runs recorded after that backup are lost; ${kept}.`,
    );
    return { db: backup.db, needsFlush: true };
  }

  const backupNote =
    backup === undefined
      ? `Restore ${backupPath} if you have a copy, or move the file away to start empty.`
      : `The backup ${backupPath} is damaged too (${backup.problem}). Move both files away to start empty.`;
  throw storeError(ERR_DB_CORRUPT, `${path} is not a SQLite database (${main.problem}). ${backupNote}`);
}

function migrateOrClose(db: Database, path: string): boolean {
  try {
    return migrate(db, path);
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * A process killed between writing its temp file and renaming it leaves
 * `<path>.tmp-<pid>-<n>` behind. Remove those whose writer is gone, so they do
 * not pile up over months of restarts.
 */
async function removeStaleTempFiles(options: ResolvedSqlJsStoreOptions): Promise<void> {
  const directory = dirname(options.path);
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return;
  }
  const prefix = basename(options.path);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const full = join(directory, name);
    const pid = atomicTempFileWriterPid(options.path, full) ?? atomicTempFileWriterPid(options.backupPath, full);
    if (pid === undefined || pid === process.pid || isProcessAlive(pid)) continue;
    await unlink(full).catch(() => undefined);
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

// ---------------------------------------------------------------------------
// The store

const RUN_COLUMNS = `id, task_id AS taskId, schedule_id AS scheduleId, scheduled_for AS scheduledFor,
  started_at AS startedAt, finished_at AS finishedAt, status, attempt, trigger, error, output`;

/** RunPatch field -> column. `satisfies` makes a new RunRow field a compile error here. */
const RUN_PATCH_COLUMNS = {
  scheduleId: "schedule_id",
  scheduledFor: "scheduled_for",
  startedAt: "started_at",
  finishedAt: "finished_at",
  status: "status",
  attempt: "attempt",
  trigger: "trigger",
  error: "error",
  output: "output",
} as const satisfies Record<keyof RunPatch, string>;

const DEFAULT_LIST_LIMIT = 50;
/** Longest pause between retries of a failing background flush. */
const MAX_FLUSH_RETRY_MS = 30_000;

type Row = Record<string, SqlValue>;

export async function openSqlJsStore(options: SqlJsStoreOptions): Promise<Store> {
  const resolved = resolveSqlJsStoreOptions(options);
  const SQL = await loadSqlJs();
  await removeStaleTempFiles(resolved);
  const { db, needsFlush } = await openDatabase(SQL, resolved);
  const store = new SqlJsStore(db, resolved, needsFlush);
  if (needsFlush) {
    // Make the file exist (and be current) right away, so a crash before the
    // first write still leaves a valid database and not a missing/damaged one.
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
  readonly #db: Database;
  readonly #options: ResolvedSqlJsStoreOptions;
  /** Prepared statements by SQL text (sql.js >= 1.16 keeps them across export()). */
  readonly #statements = new Map<string, Statement>();

  /** Memory holds writes the file does not have yet. */
  #dirty = false;
  #flushTimer: NodeJS.Timeout | undefined;
  /** The flush in progress; at most one at a time so snapshots land in order. */
  #flushing: Promise<void> | undefined;
  #failedFlushes = 0;
  #lastBackupAt: number;
  /** Set at the start of close(): from then on every call is refused. */
  #closing = false;
  #closed: Promise<void> | undefined;

  constructor(db: Database, options: ResolvedSqlJsStoreOptions, dirty: boolean) {
    this.#db = db;
    this.#options = options;
    this.#dirty = dirty;
    // The database lives in WASM memory and is made durable only by export,
    // so SQLite's own file-locking and journal syncing are pure overhead here
    // (they cost 2-3x per autocommitted statement). The journal stays in
    // memory so a failed statement or migration still rolls back.
    // (sql.js >= 1.16 keeps connection settings across export().)
    this.#db.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF");
    // Opening refreshed the backup (or started from it), so the clock starts now.
    this.#lastBackupAt = Date.now();
  }

  // --- tasks ---------------------------------------------------------------

  async upsertTask(task: Omit<TaskRow, "paused" | "removedAt"> & { removedAt?: number | null }): Promise<void> {
    this.#write(
      `INSERT INTO tasks (id, title, file, removed_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET title = excluded.title, file = excluded.file, removed_at = excluded.removed_at`,
      [task.id, task.title, task.file, task.removedAt ?? null],
    );
  }

  async getTask(id: string): Promise<TaskRow | undefined> {
    const row = this.#get("SELECT id, title, file, paused, removed_at FROM tasks WHERE id = ?", [id]);
    return row && toTask(row);
  }

  async listTasks(): Promise<TaskRow[]> {
    return this.#all("SELECT id, title, file, paused, removed_at FROM tasks ORDER BY id", []).map(toTask);
  }

  /** Unknown task: no-op (nothing to pause; the caller validates ids). */
  async setPaused(taskId: string, paused: boolean): Promise<void> {
    this.#write("UPDATE tasks SET paused = ? WHERE id = ?", [paused ? 1 : 0, taskId]);
  }

  async markTaskRemoved(taskId: string, at: number): Promise<void> {
    this.#write("UPDATE tasks SET removed_at = ? WHERE id = ?", [at, taskId]);
  }

  // --- schedules -------------------------------------------------------------

  async upsertSchedule(schedule: ScheduleRow): Promise<void> {
    this.#write(
      `INSERT INTO schedules (id, task_id, method, fingerprint, spec, next_run) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET task_id = excluded.task_id, method = excluded.method,
         fingerprint = excluded.fingerprint, spec = excluded.spec, next_run = excluded.next_run`,
      [schedule.id, schedule.taskId, schedule.method, schedule.fingerprint, schedule.spec, schedule.nextRun ?? null],
    );
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
    this.#write("UPDATE schedules SET next_run = ? WHERE id = ?", [nextRun, scheduleId]);
  }

  /** The schedule's runs stay (history outlives schedules, like tasks). */
  async removeSchedule(id: string): Promise<void> {
    this.#write("DELETE FROM schedules WHERE id = ?", [id]);
  }

  // --- runs ----------------------------------------------------------------

  async insertRun(run: NewRun): Promise<number> {
    this.#assertOpen();
    const row = this.#get(
      `INSERT INTO runs (task_id, schedule_id, scheduled_for, started_at, finished_at, status, attempt, trigger, error, output)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [
        run.taskId,
        run.scheduleId ?? null,
        run.scheduledFor ?? null,
        run.startedAt ?? null,
        run.finishedAt ?? null,
        run.status,
        run.attempt,
        run.trigger,
        run.error ?? null,
        run.output ?? "",
      ],
    );
    this.#changed();
    return row!.id as number;
  }

  /** Unknown id: no-op (the run may have been pruned while it ran). */
  async updateRun(id: number, patch: RunPatch): Promise<void> {
    this.#assertOpen();
    const sets: string[] = [];
    const values: SqlValue[] = [];
    for (const [field, column] of Object.entries(RUN_PATCH_COLUMNS)) {
      const value = (patch as Record<string, unknown>)[field];
      if (value === undefined) continue;
      sets.push(`${column} = ?`);
      values.push(value as SqlValue);
    }
    if (sets.length === 0) return;
    this.#write(`UPDATE runs SET ${sets.join(", ")} WHERE id = ?`, [...values, id]);
  }

  /** Unknown id: no-op. The id is not reused (AUTOINCREMENT). */
  async deleteRun(id: number): Promise<void> {
    this.#write("DELETE FROM runs WHERE id = ?", [id]);
  }

  async getRun(id: number): Promise<RunRow | undefined> {
    return this.#get(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`, [id]) as RunRow | undefined;
  }

  async listRuns(taskId: string, options: ListRunsOptions = {}): Promise<RunRow[]> {
    const { limit = DEFAULT_LIST_LIMIT, before, scheduleId } = options;
    if (!Number.isInteger(limit) || limit < 1) {
      throw storeError(ERR_STORE_ARGUMENT, `listRuns: limit must be a positive integer (got ${String(limit)}).`);
    }
    const where = ["task_id = ?"];
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
    this.#assertOpen();
    if (keep === 0) return this.#releaseFreePages(this.#write("DELETE FROM runs WHERE task_id = ?", [taskId]));
    // The id of the oldest run to keep; everything older goes. (A NOT IN over
    // the kept ids would build a temp set of `keep` ids on every prune.)
    const oldestKept = this.#get("SELECT id FROM runs WHERE task_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?", [taskId, keep - 1]);
    if (oldestKept === undefined) return 0; // fewer than `keep` runs
    return this.#releaseFreePages(this.#write("DELETE FROM runs WHERE task_id = ? AND id < ?", [taskId, oldestKept.id]));
  }

  /** Returns `deleted`; after a delete, gives the freed pages back so snapshots shrink. */
  #releaseFreePages(deleted: number): number {
    if (deleted > 0) this.#db.exec("PRAGMA incremental_vacuum");
    return deleted;
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
      this.#write("DELETE FROM state WHERE task_id = ? AND key = ?", [taskId, key]);
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
    this.#write("INSERT OR REPLACE INTO state (task_id, key, value) VALUES (?, ?, ?)", [taskId, key, json]);
  }

  // --- persistence -------------------------------------------------------------

  async flush(): Promise<void> {
    this.#assertOpen();
    await this.#flushNow();
  }

  close(): Promise<void> {
    if (this.#closed) return this.#closed.catch(() => undefined);
    this.#closing = true;
    this.#closed = (async () => {
      try {
        await this.#flushNow();
      } finally {
        clearTimeout(this.#flushTimer);
        this.#flushTimer = undefined;
        this.#statements.clear(); // db.close() frees them
        this.#db.close();
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

  #statement(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #all(sql: string, params: SqlValue[]): Row[] {
    this.#assertOpen();
    const statement = this.#statement(sql);
    try {
      statement.bind(params as BindParams);
      const rows: Row[] = [];
      while (statement.step()) rows.push(statement.getAsObject());
      return rows;
    } finally {
      statement.reset();
    }
  }

  #get(sql: string, params: SqlValue[]): Row | undefined {
    return this.#all(sql, params)[0];
  }

  /** Runs a data-changing statement; returns the number of rows it changed. */
  #write(sql: string, params: SqlValue[]): number {
    this.#all(sql, params);
    const changes = this.#db.getRowsModified();
    if (changes > 0) this.#changed();
    return changes;
  }

  #changed(): void {
    this.#dirty = true;
    // A flush in progress reschedules itself when it ends (see #flushNow).
    if (this.#flushTimer === undefined && this.#flushing === undefined) this.#scheduleFlush(this.#options.flushDelayMs);
  }

  #scheduleFlush(delayMs: number): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flushNow().then(
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
    }, delayMs);
  }

  /**
   * Writes the current image if dirty. Never two writes at once: a caller that
   * arrives during a flush waits for it and then writes again if anything
   * changed meanwhile, so when its promise resolves every write made before
   * the call is on disk.
   */
  #flushNow(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#flushing) {
      const again = () => this.#flushNow();
      return this.#flushing.then(again, again);
    }
    if (!this.#dirty) return Promise.resolve();
    const flushing = this.#writeSnapshot().finally(() => {
      this.#flushing = undefined;
      if (this.#dirty && !this.#closing) this.#scheduleFlush(this.#options.flushDelayMs);
    });
    this.#flushing = flushing;
    return flushing;
  }

  async #writeSnapshot(): Promise<void> {
    const { path, backupPath, backupIntervalMs, onWarning } = this.#options;
    // Clear first: a write landing while the file is written must flush again.
    this.#dirty = false;
    const bytes = this.#db.export();
    try {
      await atomicWriteFile(path, bytes);
    } catch (error) {
      this.#dirty = true;
      throw storeError(ERR_DB_WRITE, `could not write ${path} (${(error as Error).message}).`, error);
    }
    const now = Date.now();
    if (now - this.#lastBackupAt >= backupIntervalMs) {
      this.#lastBackupAt = now;
      await atomicWriteFile(backupPath, bytes).catch((error: unknown) =>
        onWarning(`taskhost store: could not refresh the backup ${backupPath} (${(error as Error).message}); the database itself is fine.`),
      );
    }
  }
}

const SCHEDULE_SELECT =
  "SELECT id, task_id AS taskId, method, fingerprint, spec, next_run AS nextRun FROM schedules";

function toTask(row: Row): TaskRow {
  return {
    id: row.id as string,
    title: row.title as string,
    file: row.file as string,
    paused: row.paused === 1,
    removedAt: row.removed_at as number | null,
  };
}
