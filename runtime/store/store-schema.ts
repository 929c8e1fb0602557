/**
 * The database schema: ordered migrations, and the journal position a
 * snapshot was taken at (kept in the `meta` table inside the snapshot itself).
 */
import type { Database } from "sql.js";
import { ERR_DB_VERSION, storeError } from "./store-errors.ts";

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
  {
    // What the last load found, so `status` with no host running shows error and disabled tasks.
    version: 2,
    sql: `
      ALTER TABLE tasks ADD COLUMN error TEXT;
      ALTER TABLE tasks ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
    `,
  },
  {
    // The intent-level ledger (issue 12): who claimed a run, what a catch-up run
    // stands for, and the hosts on the ledger. (No unique key on occurrences yet: the
    // old scheduler briefly holds a cancelled claim's row beside its replacement; one
    // writer, the sql.js ledger's claims check in the same synchronous step instead.)
    version: 3,
    sql: `
      ALTER TABLE runs ADD COLUMN host TEXT;
      ALTER TABLE runs ADD COLUMN covers_from INTEGER;
      ALTER TABLE runs ADD COLUMN covers_count INTEGER;
      -- The newest run of a schedule (status) without sorting its history.
      CREATE INDEX runs_by_schedule ON runs (schedule_id, id);
      CREATE TABLE hosts (
        id TEXT PRIMARY KEY,
        hostname TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        last_heartbeat INTEGER NOT NULL,
        running INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
    `,
  },
  {
    // The alerts raised (issue 15), for `taskhost alerts` and the dashboard.
    version: 4,
    sql: `
      CREATE TABLE alerts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        event TEXT NOT NULL,
        task_id TEXT NOT NULL,
        title TEXT NOT NULL,
        schedule_id TEXT,
        run_id INTEGER,
        scheduled_for INTEGER,
        text TEXT NOT NULL,
        channels TEXT NOT NULL,
        host TEXT
      );
      CREATE INDEX alerts_by_task ON alerts (task_id, id);
    `,
  },
  {
    // How far pruning (database.history_per_task) reached into a task's occurrences: a
    // backfill must not run again an occurrence whose run is no longer on record.
    version: 5,
    sql: `
      CREATE TABLE pruned_history (task_id TEXT PRIMARY KEY, through INTEGER NOT NULL);
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

export function migrateOrClose(db: Database, path: string): boolean {
  try {
    return migrate(db, path);
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * The sequence number of the last journal entry the image contains (0 when
 * none: a new database, or one written before the journal existed). Replay
 * applies only entries after it, so an entry is never applied twice.
 */
export function snapshotJournalSeq(db: Database): number {
  const row = db.exec("SELECT value FROM meta WHERE key = 'journal_seq'")[0]?.values[0];
  const seq = row ? Number(row[0]) : 0;
  return Number.isSafeInteger(seq) && seq >= 0 ? seq : 0;
}

/**
 * The image of `db` recording that it holds every journal entry up to `seq`.
 * Free pages are given back first: export() writes every page, free ones
 * included, so without this a database would keep its peak size forever
 * after pruning.
 */
export function exportWithJournalSeq(db: Database, seq: number): Uint8Array {
  db.exec("PRAGMA incremental_vacuum");
  db.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('journal_seq', ?)", [String(seq)]);
  return db.export();
}
