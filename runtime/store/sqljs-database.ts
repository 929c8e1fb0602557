/**
 * The sql.js database made durable: the whole SQLite database lives in memory
 * (WASM); on disk it is a snapshot file plus a write-ahead journal.
 *
 * sql.js has no file VFS, so "durable" means "on disk outside SQLite". Writes
 * are cheap in-memory statements; each one is also one journal entry (see
 * store-journal.ts). A flush appends the pending entries to `<path>.journal`
 * and fsyncs it: its cost follows the size of the change, not of the database.
 * `commit()` is the ledger's group commit: every write of the same moment
 * (one turn of the event loop) shares one flush, and each caller's promise
 * resolves once its write is on disk. Writes nobody waits for are flushed
 * within `flushDelayMs`. Now and then (the journal reached `journalMaxBytes`,
 * or holds entries older than `snapshotIntervalMs`, and on close) a full
 * snapshot replaces `<path>` atomically (store-snapshot.ts) and empties the
 * journal. Opening loads the snapshot and replays the journal (store-replay.ts).
 */
import initSqlJs from "sql.js";
import type { SqlJsStatic, SqlValue } from "sql.js";
import { ERR_DB_WRITE, ERR_STORE_CLOSED, storeError } from "./store-errors.ts";
import { encodeBatch, JournalFile, type PendingEntry } from "./store-journal.ts";
import { applyMutation, type Applied, type Mutation } from "./store-mutations.ts";
import type { ResolvedSqlJsStoreOptions } from "./store-options.ts";
import { replayJournal } from "./store-replay.ts";
import { snapshotJournalSeq } from "./store-schema.ts";
import { openDatabase, removeStaleTempFiles, SnapshotWriter } from "./store-snapshot.ts";
import { SqlStatements, type Row } from "./store-sql.ts";
import { acquireWriterLock, type WriterLock } from "./writer-lock.ts";

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

/** Longest pause between retries of a failing background flush. */
const MAX_FLUSH_RETRY_MS = 30_000;

export class DurableDatabase {
  readonly #sql: SqlStatements;
  readonly #options: ResolvedSqlJsStoreOptions;
  readonly #journal: JournalFile;
  readonly #snapshots: SnapshotWriter;
  readonly #lock: WriterLock;

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
  /** The group commit the writes of this moment wait for (it starts on the next turn of the event loop). */
  #commit: Promise<void> | undefined;
  #failedFlushes = 0;
  /** Set at the start of close(): from then on every call is refused. */
  #closing = false;
  #closed: Promise<void> | undefined;

  private constructor(
    sql: SqlStatements,
    options: ResolvedSqlJsStoreOptions,
    lock: WriterLock,
    journal: JournalFile,
    snapshots: SnapshotWriter,
    seq: number,
    snapshotDue: boolean,
  ) {
    this.#sql = sql;
    this.#lock = lock;
    this.#options = options;
    this.#journal = journal;
    this.#snapshots = snapshots;
    this.#seq = seq;
    this.#snapshotDue = snapshotDue;
  }

  static async open(options: ResolvedSqlJsStoreOptions): Promise<DurableDatabase> {
    const SQL = await loadSqlJs();
    // Before anything is read: another writer's final snapshot must not land after ours.
    const lock = await acquireWriterLock(options.path, { waitMs: options.lockWaitMs, onWait: options.onLockWait });
    let sql: SqlStatements | undefined;
    let replayed;
    let journal: JournalFile;
    let created: boolean;
    let needsFlush: boolean;
    let backedUp: boolean;
    try {
      await removeStaleTempFiles(options);
      const opened = await openDatabase(SQL, options);
      ({ created, needsFlush, backedUp } = opened);
      sql = new SqlStatements(opened.db);
      replayed = await replayJournal(sql, options, snapshotJournalSeq(opened.db), created);
      journal = await JournalFile.open(options.journalPath).catch((error: unknown) => {
        throw storeError(ERR_DB_WRITE, `cannot open ${options.journalPath} (${(error as Error).message}).`, error);
      });
    } catch (error) {
      sql?.close();
      await lock.release();
      throw error;
    }
    // A snapshot right away when the file is not current (new, migrated,
    // restored) or a journal was replayed: a crash before the first write then
    // still leaves a valid database, and the journal starts empty.
    const snapshotDue = needsFlush || replayed.journalHadContent;
    const database = new DurableDatabase(sql, options, lock, journal, new SnapshotWriter(options, backedUp), replayed.seq, snapshotDue);
    if (snapshotDue) {
      try {
        await database.flush();
      } catch (error) {
        await database.close().catch(() => undefined);
        throw error;
      }
    }
    return database;
  }

  get path(): string {
    return this.#options.path;
  }

  assertOpen(): void {
    if (this.#closing) {
      throw storeError(ERR_STORE_CLOSED, `${this.#options.path} is closed; this call came after close().`);
    }
  }

  all(sql: string, params: SqlValue[]): Row[] {
    this.assertOpen();
    return this.#sql.all(sql, params);
  }

  get(sql: string, params: SqlValue[]): Row | undefined {
    return this.all(sql, params)[0];
  }

  /** Applies a change to the database and queues its journal entry (a change of nothing needs none). */
  mutate(mutation: Mutation): Applied {
    this.assertOpen();
    const applied = applyMutation(this.#sql, mutation);
    if (applied.changes > 0) {
      const recorded = mutation.op === "insertRun" || mutation.op === "insertAlert" ? { ...mutation, id: applied.id } : mutation;
      this.#seq += 1;
      this.#pending.push({ seq: this.#seq, mutationJson: JSON.stringify(recorded) });
      // A flush in progress reschedules itself when it ends (see #flushNow).
      if (this.#flushTimer === undefined && this.#flushing === undefined) this.#scheduleFlush(this.#options.flushDelayMs);
    }
    return applied;
  }

  /**
   * Runs `fn` (reads and mutations) as one unit: if it throws, the database
   * and the queued journal entries are as before. Synchronous, so nothing else
   * interleaves; one flush's entries replay as one transaction.
   */
  atomically<T>(fn: () => T): T {
    this.assertOpen();
    const { db } = this.#sql;
    const pendingBefore = this.#pending.length;
    const seqBefore = this.#seq;
    db.exec("SAVEPOINT ledger_step");
    try {
      const result = fn();
      db.exec("RELEASE ledger_step");
      return result;
    } catch (error) {
      db.exec("ROLLBACK TO ledger_step; RELEASE ledger_step");
      this.#pending.length = pendingBefore;
      this.#seq = seqBefore;
      throw error;
    }
  }

  /**
   * Resolves once every change made so far is on disk. Calls of the same
   * moment share one journal append and fsync (group commit).
   */
  commit(): Promise<void> {
    this.assertOpen();
    this.#commit ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.#commit = undefined;
      return this.#flushNow(false);
    });
    return this.#commit;
  }

  /** Durable when it resolves: every change made before the call is in the journal (or a snapshot). */
  async flush(): Promise<void> {
    this.assertOpen();
    await this.#flushNow(false);
  }

  /** Waits for pending writes, leaves one snapshot file behind, and frees the database. Memoized. */
  close(): Promise<void> {
    if (this.#closed) return this.#closed.catch(() => undefined);
    this.#closing = true;
    this.#closed = (async () => {
      try {
        await this.#commit?.catch(() => undefined);
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
        // Last: nothing of ours is written after this.
        await this.#lock.release();
      }
    })();
    return this.#closed;
  }

  // --- internals -------------------------------------------------------------

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
