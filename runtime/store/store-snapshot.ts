/**
 * The snapshot file: `<path>` holds a full SQLite image (`db.export()`),
 * replaced atomically, so a crash at any moment leaves the previous or the
 * next snapshot, never a torn file; `<path>.bak` is a copy of a known-good one
 * that covers damage from outside (disk errors, a user's `cp`, a truncating
 * editor). Opening validates the image and falls back to the backup.
 */
import { mkdir, readFile, readdir, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Database, SqlJsStatic } from "sql.js";
import { atomicTempFileWriterPid, atomicWriteFile, PRIVATE_FILE } from "./atomic-write-file.ts";
import { ERR_DB_CORRUPT, ERR_DB_READ, ERR_DB_WRITE, storeError } from "./store-errors.ts";
import type { ResolvedSqlJsStoreOptions } from "./store-options.ts";
import { exportWithJournalSeq, migrateOrClose } from "./store-schema.ts";
import { isProcessAlive } from "../util/is-process-alive.ts";


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

export interface OpenedDatabase {
  db: Database;
  /** The image is not yet on disk at `path` (new file, migrated, or restored). */
  needsFlush: boolean;
  /** No file existed: a new, empty database (any journal beside it belongs to a database that is gone). */
  created: boolean;
  /** `<path>.bak` holds a good image now (refreshed from the file, or the one started from). */
  backedUp: boolean;
}

export async function openDatabase(SQL: SqlJsStatic, options: ResolvedSqlJsStoreOptions): Promise<OpenedDatabase> {
  const { path, backupPath, onWarning } = options;
  const bytes = await readIfExists(path);

  if (bytes === undefined) {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch((error: unknown) => {
      throw storeError(ERR_DB_WRITE, `cannot create the directory of ${path} (${(error as Error).message}).`, error);
    });
    const oldBackup = (await readIfExists(backupPath)) !== undefined;
    if (oldBackup) {
      // Not restored automatically: deleting the database is also how a user
      // asks for a fresh start. Say so, because the next backup replaces it
      // (in an hour: the first snapshot keeps it, being of an empty database).
      onWarning(
        `taskhost store: ${path} does not exist, starting with an empty database although ${backupPath} exists. ` +
          `To restore it instead, stop taskhost and copy ${backupPath} to ${path}.`,
      );
    }
    const db = new SQL.Database();
    migrateOrClose(db, path);
    // No backup of it yet: the first snapshot makes one (unless one of the old database is there).
    return { db, needsFlush: true, created: true, backedUp: oldBackup };
  }

  const main = loadImage(SQL, bytes);
  if ("db" in main) {
    const changed = migrateOrClose(main.db, path);
    // The file just proved good: it becomes the backup, before we change it.
    const backedUp = await atomicWriteFile(backupPath, bytes, PRIVATE_FILE).then(
      () => true,
      (error: unknown) => (warnBackupFailed(onWarning, backupPath, error), false),
    );
    return { db: main.db, needsFlush: changed, created: false, backedUp };
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
    return { db: backup.db, needsFlush: true, created: false, backedUp: true };
  }

  const backupNote =
    backup === undefined
      ? `Restore ${backupPath} if you have a copy, or move the file away to start empty.`
      : `The backup ${backupPath} is damaged too (${backup.problem}). Move both files away to start empty.`;
  throw storeError(ERR_DB_CORRUPT, `${path} is not a SQLite database (${main.problem}). ${backupNote}`);
}

/**
 * A process killed between writing its temp file and renaming it leaves
 * `<path>.tmp-<pid>-<n>` behind. Remove those whose writer is gone, so they do
 * not pile up over months of restarts.
 */
export async function removeStaleTempFiles(options: ResolvedSqlJsStoreOptions): Promise<void> {
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


/**
 * Writes snapshots of one database, refreshing the backup at most every
 * `backupIntervalMs` — and at the first snapshot when there is no backup yet
 * (a new ledger, or the refresh at open failed), so a ledger is never without
 * a last good copy, in its first hour neither.
 */
export class SnapshotWriter {
  readonly #options: ResolvedSqlJsStoreOptions;
  /** When the backup was last refreshed (opening refreshed it, or started from it); undefined: there is none. */
  #lastBackupAt: number | undefined;

  constructor(options: ResolvedSqlJsStoreOptions, backedUp: boolean) {
    this.#options = options;
    this.#lastBackupAt = backedUp ? Date.now() : undefined;
  }

  /** Durably replaces the file with the image of `db`, which holds the journal up to `seq`. */
  async write(db: Database, seq: number): Promise<void> {
    const { path, backupPath, backupIntervalMs, onWarning } = this.#options;
    const bytes = exportWithJournalSeq(db, seq);
    try {
      await atomicWriteFile(path, bytes, PRIVATE_FILE);
    } catch (error) {
      throw storeError(ERR_DB_WRITE, `could not write ${path} (${(error as Error).message}).`, error);
    }
    const now = Date.now();
    if (this.#lastBackupAt === undefined || now - this.#lastBackupAt >= backupIntervalMs) {
      await atomicWriteFile(backupPath, bytes, PRIVATE_FILE).then(
        () => (this.#lastBackupAt = now),
        (error: unknown) => warnBackupFailed(onWarning, backupPath, error),
      );
    }
  }
}

function warnBackupFailed(onWarning: (message: string) => void, backupPath: string, error: unknown): void {
  onWarning(`taskhost store: could not refresh the backup ${backupPath} (${(error as Error).message}); the database itself is fine.`);
}
