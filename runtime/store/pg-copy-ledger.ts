/**
 * `taskhost ledger copy --to postgres://…`: an existing single-host ledger
 * (tasks, schedules with their next runs, runs and alerts with their ids,
 * ctx.state) into
 * an EMPTY PostgreSQL ledger, in one transaction, so a user who grows into a
 * fleet keeps their history. Runs left `running` by a crashed host are copied
 * without a host: the first host of the fleet records them `interrupted`.
 */
import pg from "pg";
import { taskhostError } from "../errors.ts";
import type { AlertRow, ListAlertsOptions, RunRow, ScheduleRow, TaskRow } from "./ledger.ts";
import { openPgLedger } from "./pg-ledger.ts";
import { redactUrl } from "./pg-options.ts";
import { PG_SCHEMA } from "./pg-schema.ts";

/** What the copy reads: the sql.js ledger (either interface generation: fields added later are optional). */
export interface LedgerSource {
  listTasks(): Promise<Array<Omit<TaskRow, "error" | "enabled"> & Partial<Pick<TaskRow, "error" | "enabled">>>>;
  listSchedules(): Promise<ScheduleRow[]>;
  listRuns(taskId: string, options: { limit: number; before?: number }): Promise<Array<Omit<RunRow, "host" | "coversFrom" | "coversCount" | "trigger"> & Partial<RunRow>>>;
  getState(taskId: string): Promise<Record<string, unknown>>;
  /** Absent in ledgers from before alerts (issue 15). */
  listAlerts?(options: ListAlertsOptions): Promise<AlertRow[]>;
  /** Absent in ledgers from before pruning was remembered. */
  prunedThrough?(taskId: string): Promise<number | null>;
}

export interface CopyCounts {
  tasks: number;
  schedules: number;
  runs: number;
  state: number;
  alerts: number;
}

const PAGE = 1000;

export async function copyLedgerToPg(source: LedgerSource, url: string): Promise<CopyCounts> {
  const where = redactUrl(url);
  // Opening creates (or migrates) the schema; the copy itself runs on one connection below.
  await (await openPgLedger({ url })).close();
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${PG_SCHEMA}` });
  // A connection that breaks between statements must fail the copy, not crash the command.
  client.on("error", () => undefined);
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query("LOCK TABLE tasks, schedules, runs, state, hosts, alerts IN EXCLUSIVE MODE");
    const { rows } = await client.query<{ n: string }>(
      `SELECT ((SELECT count(*) FROM tasks) + (SELECT count(*) FROM schedules) + (SELECT count(*) FROM runs) + (SELECT count(*) FROM state)
               + (SELECT count(*) FROM hosts) + (SELECT count(*) FROM alerts))::text AS n`,
    );
    if (rows[0]!.n !== "0") {
      throw taskhostError(
        "ERR_CONFLICT",
        `ledger copy: the PostgreSQL ledger at ${where} is not empty (it has ${rows[0]!.n} rows). ` +
          `Copy only into a new database, so no history is mixed or overwritten.`,
      );
    }
    const counts: CopyCounts = { tasks: 0, schedules: 0, runs: 0, state: 0, alerts: 0 };
    const tasks = await source.listTasks();
    await client.query(
      `INSERT INTO tasks (id, title, file, paused, removed_at, error, enabled)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::bigint[], $6::text[], $7::boolean[])`,
      [
        tasks.map((t) => t.id),
        tasks.map((t) => t.title),
        tasks.map((t) => t.file),
        tasks.map((t) => t.paused),
        tasks.map((t) => t.removedAt),
        tasks.map((t) => t.error ?? null),
        tasks.map((t) => t.enabled ?? true),
      ],
    );
    counts.tasks = tasks.length;
    const schedules = await source.listSchedules();
    await client.query(
      `INSERT INTO schedules (id, task_id, method, fingerprint, spec, next_run)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])`,
      [
        schedules.map((s) => s.id),
        schedules.map((s) => s.taskId),
        schedules.map((s) => s.method),
        schedules.map((s) => s.fingerprint),
        schedules.map((s) => s.spec),
        schedules.map((s) => s.nextRun),
      ],
    );
    counts.schedules = schedules.length;
    for (const task of tasks) {
      for (let before: number | undefined; ; ) {
        const page = await source.listRuns(task.id, { limit: PAGE, before });
        if (page.length === 0) break;
        await insertRuns(client, page);
        counts.runs += page.length;
        before = page[page.length - 1]!.id;
      }
      const state = Object.entries(await source.getState(task.id));
      for (const [key, value] of state) {
        await client.query("INSERT INTO state (task_id, key, value) VALUES ($1, $2, $3)", [task.id, key, JSON.stringify(value)]);
      }
      counts.state += state.length;
      // How far pruning reached: a backfill on the new ledger must not run those occurrences again either.
      const through = (await source.prunedThrough?.(task.id)) ?? null;
      if (through !== null) await client.query("INSERT INTO pruned_history (task_id, through) VALUES ($1, $2)", [task.id, through]);
    }
    // The alerts too: `taskhost alerts` keeps its history, and repeat_after and the missed
    // occurrences already alerted (read from the ledger in a fleet) go on from where they were.
    for (let before: number | undefined; source.listAlerts; ) {
      const page = await source.listAlerts({ limit: PAGE, before });
      if (page.length === 0) break;
      await insertAlerts(client, page);
      counts.alerts += page.length;
      before = page[page.length - 1]!.id;
    }
    // New runs and alerts continue after the copied ids, so an id seen in the old history keeps its meaning.
    // (Nothing copied: the next id is 1, as in a new database.)
    for (const table of ["runs", "alerts"]) {
      await client.query(`SELECT setval(pg_get_serial_sequence('${table}', 'id'), COALESCE(max(id), 1), max(id) IS NOT NULL) FROM ${table}`);
    }
    await client.query("COMMIT");
    return counts;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function insertRuns(client: pg.Client, runs: Awaited<ReturnType<LedgerSource["listRuns"]>>): Promise<void> {
  await client.query(
    `INSERT INTO runs (id, task_id, schedule_id, scheduled_for, started_at, finished_at, status, attempt, trigger, error, output,
                       host, covers_from, covers_count, claimed_at)
     OVERRIDING SYSTEM VALUE
     SELECT r.*, COALESCE(r.started_at, r.finished_at, r.scheduled_for, 0) FROM unnest(
       $1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::integer[], $9::text[],
       $10::text[], $11::text[], $12::text[], $13::bigint[], $14::integer[])
       AS r(id, task_id, schedule_id, scheduled_for, started_at, finished_at, status, attempt, trigger, error, output, host, covers_from, covers_count)`,
    [
      runs.map((r) => r.id),
      runs.map((r) => r.taskId),
      runs.map((r) => r.scheduleId),
      runs.map((r) => r.scheduledFor),
      runs.map((r) => r.startedAt),
      runs.map((r) => r.finishedAt),
      runs.map((r) => r.status),
      runs.map((r) => r.attempt),
      runs.map((r) => r.trigger ?? "schedule"),
      runs.map((r) => r.error),
      runs.map((r) => r.output),
      // A run still `running` in a single-host ledger belongs to no live host of the fleet.
      runs.map((r) => (r.status === "running" ? null : (r.host ?? null))),
      runs.map((r) => r.coversFrom ?? null),
      runs.map((r) => r.coversCount ?? null),
    ],
  );
}

async function insertAlerts(client: pg.Client, alerts: AlertRow[]): Promise<void> {
  await client.query(
    `INSERT INTO alerts (id, at, event, task_id, title, schedule_id, run_id, scheduled_for, text, channels, host)
     OVERRIDING SYSTEM VALUE
     SELECT a.id, a.at, a.event, a.task_id, a.title, a.schedule_id, a.run_id, a.scheduled_for, a.text,
            ARRAY(SELECT json_array_elements_text(a.channels)), a.host
     FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::text[], $10::json[], $11::text[])
       AS a(id, at, event, task_id, title, schedule_id, run_id, scheduled_for, text, channels, host)`,
    [
      alerts.map((a) => a.id),
      alerts.map((a) => a.at),
      alerts.map((a) => a.event),
      alerts.map((a) => a.taskId),
      alerts.map((a) => a.title),
      alerts.map((a) => a.scheduleId),
      alerts.map((a) => a.runId),
      alerts.map((a) => a.scheduledFor),
      alerts.map((a) => a.text),
      // text[][] cannot be ragged: each alert's channels travel as one JSON array.
      alerts.map((a) => JSON.stringify(a.channels)),
      alerts.map((a) => a.host),
    ],
  );
}
