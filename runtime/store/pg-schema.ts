/**
 * The PostgreSQL ledger's schema: ordered migrations in the `taskhost` schema
 * (so the ledger can share a database with other applications), applied by
 * whichever host starts first. Several hosts starting at once take turns on a
 * transaction-level advisory lock; `meta.schema_version` records the last
 * migration applied. Never edit a released entry: append a new version.
 */
import type pg from "pg";
import { taskhostError } from "../errors.ts";

/** Every table lives here; connections set `search_path` to it. */
export const PG_SCHEMA = "taskhost";

/** Serialises migrations and fleet recovery across hosts (pg_advisory_xact_lock keys). */
export const LOCK_MIGRATE = 0x7461736b; // "task"
export const LOCK_RECOVER = 0x686f7374; // "host"

const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      -- The database's clock in epoch ms: leases and claims are decided by it, never by a host's.
      CREATE FUNCTION now_ms() RETURNS bigint LANGUAGE sql VOLATILE
        AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;
      CREATE TABLE tasks (
        id text PRIMARY KEY,
        title text NOT NULL,
        file text NOT NULL,
        paused boolean NOT NULL DEFAULT false,
        removed_at bigint,
        error text,
        enabled boolean NOT NULL DEFAULT true
      );
      CREATE TABLE schedules (
        id text PRIMARY KEY,
        task_id text NOT NULL,
        method text NOT NULL,
        fingerprint text NOT NULL,
        spec text NOT NULL,
        next_run bigint
      );
      CREATE INDEX schedules_by_task ON schedules (task_id);
      CREATE TABLE runs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        task_id text NOT NULL,
        schedule_id text,
        scheduled_for bigint,
        started_at bigint,
        finished_at bigint,
        status text NOT NULL,
        attempt integer NOT NULL,
        trigger text NOT NULL,
        error text,
        output text NOT NULL DEFAULT '',
        host text,
        covers_from bigint,
        covers_count integer,
        -- When the claim was taken (database clock), and the schedule's next run it left:
        -- a claim given back restores the next run only if nobody claimed since.
        claimed_at bigint NOT NULL DEFAULT now_ms(),
        next_after bigint
      );
      -- The backstop of exactly-once: one run per occurrence and attempt (manual runs aside).
      CREATE UNIQUE INDEX runs_once ON runs (schedule_id, scheduled_for, attempt)
        WHERE schedule_id IS NOT NULL AND trigger <> 'manual';
      CREATE INDEX runs_by_task ON runs (task_id, id);
      CREATE INDEX runs_by_schedule ON runs (schedule_id, id);
      CREATE INDEX runs_in_flight ON runs (host) WHERE status = 'running';
      CREATE TABLE hosts (
        id text PRIMARY KEY,
        hostname text NOT NULL,
        pid integer NOT NULL,
        started_at bigint NOT NULL,
        registered_at bigint NOT NULL,
        last_heartbeat bigint NOT NULL,
        lease_ms integer NOT NULL,
        running integer NOT NULL DEFAULT 0,
        skew_ms integer NOT NULL DEFAULT 0,
        -- Set when a survivor declared this host dead and took its work over: the row stays
        -- (a tombstone) so the host, if it was only frozen, learns it and cannot claim until it re-joins.
        dead_at bigint,
        -- What this host loaded: {taskId: {scheduleId: fingerprint}}.
        loaded jsonb NOT NULL DEFAULT '{}'
      );
      -- The alerts raised (issue 15), newest 1,000 per task.
      CREATE TABLE alerts (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at bigint NOT NULL,
        event text NOT NULL,
        task_id text NOT NULL,
        title text NOT NULL,
        schedule_id text,
        run_id bigint,
        scheduled_for bigint,
        text text NOT NULL,
        channels text[] NOT NULL,
        host text
      );
      CREATE INDEX alerts_by_task ON alerts (task_id, id);
      CREATE TABLE state (
        task_id text NOT NULL,
        key text NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (task_id, key)
      );
    `,
  },
  {
    // How far pruning (database.history_per_task) reached into a task's occurrences: a
    // backfill must not run again an occurrence whose run is no longer on record.
    version: 2,
    sql: `
      CREATE TABLE pruned_history (task_id text PRIMARY KEY, through bigint NOT NULL);
    `,
  },
];

export const PG_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Brings the database to the latest schema. `where` names it (without password) in messages. */
export async function migratePg(client: pg.PoolClient, where: string): Promise<{ from: number; to: number }> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [LOCK_MIGRATE]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${PG_SCHEMA}`);
    await client.query(`SET LOCAL search_path = ${PG_SCHEMA}`);
    await client.query("CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL)");
    const { rows } = await client.query<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'");
    const current = rows[0] ? Number(rows[0].value) : 0;
    if (!Number.isInteger(current) || current > PG_SCHEMA_VERSION) {
      throw taskhostError(
        "ERR_DB_VERSION",
        `The PostgreSQL ledger at ${where} has schema version ${rows[0]?.value}, newer than this taskhost understands ` +
          `(${PG_SCHEMA_VERSION}). Upgrade taskhost on this host to the version the other hosts run.`,
      );
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      await client.query(migration.sql);
    }
    await client.query(
      "INSERT INTO meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
      [String(PG_SCHEMA_VERSION)],
    );
    await client.query("COMMIT");
    return { from: current, to: PG_SCHEMA_VERSION };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
