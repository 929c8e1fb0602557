/**
 * Every change to the ledger is one `Mutation`: applied to the in-memory
 * database when a ledger method is called, and written as one journal entry,
 * so replaying the journal in order onto the snapshot it follows rebuilds the
 * same database. Mutations hold plain JSON data, already validated and
 * normalised (no `undefined`), and nothing the replay would compute
 * differently: an inserted run carries the id it got.
 */
import type { SqlValue } from "sql.js";
import type { AlertRow, HostRow, RunRow, ScheduleRow } from "./ledger.ts";
import type { SqlStatements } from "./store-sql.ts";

/** A run row as inserted (the fleet and catch-up fields may be left out: null). */
type OptionalRunFields = "host" | "coversFrom" | "coversCount";
export type NewRun = Omit<RunRow, "id" | OptionalRunFields> & Partial<Pick<RunRow, OptionalRunFields>>;
export type RunPatch = Partial<Omit<RunRow, "id" | "taskId">>;

export type Mutation =
  | { op: "upsertTask"; id: string; title: string; file: string; removedAt: number | null }
  | { op: "setPaused"; taskId: string; paused: boolean }
  | { op: "markTaskRemoved"; taskId: string; at: number }
  | { op: "setTaskLoad"; taskId: string; error: string | null; enabled: boolean }
  | { op: "upsertSchedule"; schedule: ScheduleRow }
  | { op: "setNextRun"; scheduleId: string; nextRun: number | null }
  | { op: "removeSchedule"; id: string }
  /** `id` is absent when first applied (the database picks it) and recorded in the journal. */
  | { op: "insertRun"; run: NewRun; id?: number }
  | { op: "updateRun"; id: number; patch: RunPatch }
  | { op: "deleteRun"; id: number }
  | { op: "pruneRuns"; taskId: string; keep: number }
  /** `json` null deletes the key. */
  | { op: "setState"; taskId: string; key: string; json: string | null }
  | { op: "registerHost"; host: HostRow }
  | { op: "heartbeat"; hostId: string; at: number; running: number }
  /** `hostId` null: every host (sql.js: the host opening the file is the only live one). */
  | { op: "leaveHost"; hostId: string | null; except?: string }
  /** `id` as for insertRun; the task's alerts beyond the newest `keep` go in the same step. */
  | { op: "insertAlert"; alert: Omit<AlertRow, "id">; keep: number; id?: number };

export const MUTATION_OPS: ReadonlySet<string> = new Set<Mutation["op"]>([
  "upsertTask",
  "setPaused",
  "markTaskRemoved",
  "setTaskLoad",
  "upsertSchedule",
  "setNextRun",
  "removeSchedule",
  "insertRun",
  "updateRun",
  "deleteRun",
  "pruneRuns",
  "setState",
  "registerHost",
  "heartbeat",
  "leaveHost",
  "insertAlert",
]);

/** RunPatch field -> column. `satisfies` makes a new RunRow field a compile error here. */
export const RUN_PATCH_COLUMNS = {
  scheduleId: "schedule_id",
  scheduledFor: "scheduled_for",
  startedAt: "started_at",
  finishedAt: "finished_at",
  status: "status",
  attempt: "attempt",
  trigger: "trigger",
  error: "error",
  output: "output",
  host: "host",
  coversFrom: "covers_from",
  coversCount: "covers_count",
} as const satisfies Record<keyof RunPatch, string>;

/** Rows changed, for insertRun the run's id, for pruneRuns the ids removed. */
export interface Applied {
  changes: number;
  id?: number;
  ids?: number[];
}

export function applyMutation(sql: SqlStatements, m: Mutation): Applied {
  switch (m.op) {
    case "upsertTask":
      return changed(
        sql.run(
          `INSERT INTO tasks (id, title, file, removed_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET title = excluded.title, file = excluded.file, removed_at = excluded.removed_at`,
          [m.id, m.title, m.file, m.removedAt],
        ),
      );
    case "setPaused":
      // Only a real change counts (and is journaled): setPaused reports whether it changed.
      return changed(sql.run("UPDATE tasks SET paused = ? WHERE id = ? AND paused <> ?", [m.paused ? 1 : 0, m.taskId, m.paused ? 1 : 0]));
    case "markTaskRemoved":
      // Its schedules go with it: a file that comes back starts from now, without catching
      // up on what fell due while it was gone (and commands stop listing them).
      return changed(
        sql.run("UPDATE tasks SET removed_at = ? WHERE id = ?", [m.at, m.taskId]) +
          sql.run("DELETE FROM schedules WHERE task_id = ?", [m.taskId]),
      );
    case "setTaskLoad":
      return changed(sql.run("UPDATE tasks SET error = ?, enabled = ? WHERE id = ?", [m.error, m.enabled ? 1 : 0, m.taskId]));
    case "upsertSchedule": {
      const s = m.schedule;
      return changed(
        sql.run(
          `INSERT INTO schedules (id, task_id, method, fingerprint, spec, next_run) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET task_id = excluded.task_id, method = excluded.method,
             fingerprint = excluded.fingerprint, spec = excluded.spec, next_run = excluded.next_run`,
          [s.id, s.taskId, s.method, s.fingerprint, s.spec, s.nextRun],
        ),
      );
    }
    case "setNextRun":
      return changed(sql.run("UPDATE schedules SET next_run = ? WHERE id = ?", [m.nextRun, m.scheduleId]));
    case "removeSchedule":
      return changed(sql.run("DELETE FROM schedules WHERE id = ?", [m.id]));
    case "insertRun":
      return insertRun(sql, m.run, m.id);
    case "updateRun":
      return updateRun(sql, m.id, m.patch);
    case "deleteRun":
      return changed(sql.run("DELETE FROM runs WHERE id = ?", [m.id]));
    case "pruneRuns":
      return pruneRuns(sql, m.taskId, m.keep);
    case "setState":
      return changed(
        m.json === null
          ? sql.run("DELETE FROM state WHERE task_id = ? AND key = ?", [m.taskId, m.key])
          : sql.run("INSERT OR REPLACE INTO state (task_id, key, value) VALUES (?, ?, ?)", [m.taskId, m.key, m.json]),
      );
    case "registerHost": {
      const h = m.host;
      return changed(
        sql.run("INSERT OR REPLACE INTO hosts (id, hostname, pid, started_at, last_heartbeat, running) VALUES (?, ?, ?, ?, ?, ?)", [
          h.id,
          h.hostname,
          h.pid,
          h.startedAt,
          h.lastHeartbeat,
          h.running,
        ]),
      );
    }
    case "heartbeat":
      return changed(sql.run("UPDATE hosts SET last_heartbeat = ?, running = ? WHERE id = ?", [m.at, m.running, m.hostId]));
    case "insertAlert":
      return insertAlert(sql, m.alert, m.keep, m.id);
    case "leaveHost":
      return changed(
        m.hostId === null
          ? sql.run("DELETE FROM hosts WHERE id <> ?", [m.except ?? ""])
          : sql.run("DELETE FROM hosts WHERE id = ?", [m.hostId]),
      );
  }
}

function insertAlert(sql: SqlStatements, a: Omit<AlertRow, "id">, keep: number, id: number | undefined): Applied {
  const columns = "at, event, task_id, title, schedule_id, run_id, scheduled_for, text, channels, host";
  const values: SqlValue[] = [a.at, a.event, a.taskId, a.title, a.scheduleId, a.runId, a.scheduledFor, a.text, JSON.stringify(a.channels), a.host];
  let inserted: number;
  if (id !== undefined) {
    sql.run(`INSERT INTO alerts (id, ${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [id, ...values]);
    inserted = id;
  } else {
    inserted = sql.get(`INSERT INTO alerts (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, values)!.id as number;
  }
  sql.run("DELETE FROM alerts WHERE task_id = ? AND id NOT IN (SELECT id FROM alerts WHERE task_id = ? ORDER BY id DESC LIMIT ?)", [a.taskId, a.taskId, keep]);
  return { changes: 1, id: inserted };
}

function changed(changes: number): Applied {
  return { changes };
}

const RUN_INSERT_COLUMNS =
  "task_id, schedule_id, scheduled_for, started_at, finished_at, status, attempt, trigger, error, output, host, covers_from, covers_count";
const RUN_INSERT_PLACEHOLDERS = RUN_INSERT_COLUMNS.split(",").map(() => "?").join(", ");

/**
 * A replayed insert names its id, so it can never land on another row than
 * the one the journal's later updates refer to (SQLite's AUTOINCREMENT counter
 * still moves past it, so ids stay never-reused). A row already holding that
 * id means the entry was applied before: the insert fails instead of
 * silently doubling.
 */
function insertRun(sql: SqlStatements, run: NewRun, id: number | undefined): Applied {
  const values: SqlValue[] = [
    run.taskId,
    run.scheduleId,
    run.scheduledFor,
    run.startedAt,
    run.finishedAt,
    run.status,
    run.attempt,
    run.trigger,
    run.error,
    run.output,
    // Absent in entries journaled before schema 3.
    run.host ?? null,
    run.coversFrom ?? null,
    run.coversCount ?? null,
  ];
  if (id !== undefined) {
    sql.run(`INSERT INTO runs (id, ${RUN_INSERT_COLUMNS}) VALUES (?, ${RUN_INSERT_PLACEHOLDERS})`, [id, ...values]);
    return { changes: 1, id };
  }
  const row = sql.get(`INSERT INTO runs (${RUN_INSERT_COLUMNS}) VALUES (${RUN_INSERT_PLACEHOLDERS}) RETURNING id`, values);
  return { changes: 1, id: row!.id as number };
}

function updateRun(sql: SqlStatements, id: number, patch: RunPatch): Applied {
  const sets: string[] = [];
  const values: SqlValue[] = [];
  for (const [field, column] of Object.entries(RUN_PATCH_COLUMNS)) {
    const value = (patch as Record<string, unknown>)[field];
    if (value === undefined) continue;
    sets.push(`${column} = ?`);
    values.push(value as SqlValue);
  }
  if (sets.length === 0) return { changes: 0 };
  return changed(sql.run(`UPDATE runs SET ${sets.join(", ")} WHERE id = ?`, [...values, id]));
}

/**
 * Deletes all but the newest `keep` runs of the task. The freed pages are
 * given back only when a snapshot is exported (see store-schema.ts): an
 * incremental_vacuum here would cost milliseconds on every run.
 */
function pruneRuns(sql: SqlStatements, taskId: string, keep: number): Applied {
  // The id of the oldest run to keep; everything older goes. (A NOT IN over
  // the kept ids would build a temp set of `keep` ids on every prune.)
  const oldestKept =
    keep === 0 ? undefined : sql.get("SELECT id FROM runs WHERE task_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?", [taskId, keep - 1]);
  if (keep > 0 && oldestKept === undefined) return { changes: 0, ids: [] }; // fewer than `keep` runs
  const below = oldestKept === undefined ? Number.MAX_SAFE_INTEGER : (oldestKept.id as number);
  const gone = sql.all("DELETE FROM runs WHERE task_id = ? AND id < ? RETURNING id, scheduled_for, trigger", [taskId, below]);
  // The latest occurrence whose run went (a manual run's time is no occurrence): see prunedThrough.
  let through: number | null = null;
  for (const row of gone) {
    if (row.trigger !== "manual" && row.scheduled_for != null) through = Math.max(through ?? -Infinity, row.scheduled_for as number);
  }
  if (through !== null) {
    sql.run(
      "INSERT INTO pruned_history (task_id, through) VALUES (?, ?) ON CONFLICT (task_id) DO UPDATE SET through = max(through, excluded.through)",
      [taskId, through],
    );
  }
  const ids = gone.map((row) => row.id as number);
  return { changes: ids.length, ids: ids.sort((a, b) => a - b) };
}
