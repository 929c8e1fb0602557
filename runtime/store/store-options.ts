/** Options of `openSqlJsStore`, validated and defaulted once. */
import { isAbsolute } from "node:path";
import { ERR_STORE_OPTIONS, storeError } from "./store-errors.ts";
import type { LockHolder } from "./writer-lock.ts";

export interface SqlJsStoreOptions {
  /** Absolute path of the database file, e.g. `/srv/app/data/scheduler.db`. */
  path: string;
  /** Longest time a write stays only in memory before a flush starts. Default 200. */
  flushDelayMs?: number;
  /** Least time between two refreshes of `<path>.bak` during snapshots. Default 1 hour. */
  backupIntervalMs?: number;
  /** A full snapshot is written once `<path>.journal` reaches this many bytes. Default 8 MiB; 0 snapshots on every flush. */
  journalMaxBytes?: number;
  /** ... or once the journal holds entries older than this. Default 5 minutes. */
  snapshotIntervalMs?: number;
  /** Things the operator should know that are not errors (e.g. started from the backup). */
  onWarning?: (message: string) => void;
  /** How long opening waits for another process to let go of the writer lock (writer-lock.ts). Default 0: refuse at once. */
  lockWaitMs?: number;
  /** Called once when opening starts to wait for the writer lock. */
  onLockWait?: (holder: LockHolder | null) => void;
}

export interface ResolvedSqlJsStoreOptions {
  readonly path: string;
  readonly backupPath: string;
  readonly journalPath: string;
  readonly flushDelayMs: number;
  readonly backupIntervalMs: number;
  readonly journalMaxBytes: number;
  readonly snapshotIntervalMs: number;
  readonly onWarning: (message: string) => void;
  readonly lockWaitMs: number;
  readonly onLockWait: ((holder: LockHolder | null) => void) | undefined;
}

export function resolveSqlJsStoreOptions(options: SqlJsStoreOptions): ResolvedSqlJsStoreOptions {
  const {
    path,
    flushDelayMs = 200,
    backupIntervalMs = 60 * 60 * 1000,
    journalMaxBytes = 8 * 1024 * 1024,
    snapshotIntervalMs = 5 * 60 * 1000,
    onWarning,
    lockWaitMs = 0,
    onLockWait,
  } = options ?? ({} as SqlJsStoreOptions);
  if (typeof path !== "string" || path === "" || !isAbsolute(path)) {
    throw storeError(ERR_STORE_OPTIONS, `option "path" must be an absolute file path (got ${JSON.stringify(path)}).`);
  }
  for (const [name, value, unit] of [
    ["flushDelayMs", flushDelayMs, "milliseconds"],
    ["backupIntervalMs", backupIntervalMs, "milliseconds"],
    ["journalMaxBytes", journalMaxBytes, "bytes"],
    ["snapshotIntervalMs", snapshotIntervalMs, "milliseconds"],
    ["lockWaitMs", lockWaitMs, "milliseconds"],
  ] as const) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw storeError(ERR_STORE_OPTIONS, `option "${name}" must be a number of ${unit} >= 0 (got ${String(value)}).`);
    }
  }
  if (onWarning !== undefined && typeof onWarning !== "function") {
    throw storeError(ERR_STORE_OPTIONS, `option "onWarning" must be a function.`);
  }
  return Object.freeze({
    path,
    backupPath: `${path}.bak`,
    journalPath: `${path}.journal`,
    flushDelayMs,
    backupIntervalMs,
    journalMaxBytes,
    snapshotIntervalMs,
    // Never swallow a warning: without a callback it goes to stderr.
    onWarning: onWarning ?? ((message: string) => process.emitWarning(message, { code: "TASKHOST_STORE" })),
    lockWaitMs,
    onLockWait,
  });
}
