/**
 * What a backfill needs, from a running host: the loaded schedule of
 * `<task>[#method]` (the task catalog), the runs the ledger recorded, and the
 * scheduler to run an occurrence with trigger `backfill`.
 */
import type { TaskCatalog } from "../host/task-catalog.ts";
import type { Ledger, RunRow } from "../store/ledger.ts";
import { taskhostError } from "../errors.ts";
import type { BackfillTarget } from "./backfills.ts";

/** The scheduler's side: record the occurrence (null when it already has a run), run it, resolve with its end. */
export interface OccurrenceRunner {
  runOccurrence(request: { taskId: string; scheduleId: string; method: string; scheduledFor: number; trigger: "backfill" }): Promise<RunRow | null>;
}

export interface HostBackfillTargetOptions {
  catalog: Pick<TaskCatalog, "get">;
  ledger: Pick<Ledger, "listRunsBetween" | "prunedThrough">;
  scheduler: OccurrenceRunner;
}

/**
 * How `<task>[#method]` reads: a task id may hold "#" (a file name), so the whole text is a
 * task id when one is known by it, else what precedes the last "#" is, and the rest names the
 * schedule. `taskIds`: the ids it may name, for a caller that loads tasks first.
 */
export function splitTarget(target: string, known: (taskId: string) => boolean): { taskId: string; key: string | null; taskIds: string[] } {
  const hash = target.lastIndexOf("#");
  if (hash < 0 || known(target)) return { taskId: target, key: null, taskIds: hash < 0 ? [target] : [target, target.slice(0, hash)] };
  return { taskId: target.slice(0, hash), key: target.slice(hash + 1), taskIds: [target, target.slice(0, hash)] };
}

export function hostBackfillTarget(options: HostBackfillTargetOptions): BackfillTarget {
  return {
    schedule(target) {
      const { taskId, key } = splitTarget(target, (id) => options.catalog.get(id) !== undefined);
      const entry = options.catalog.get(taskId);
      if (!entry) throw taskhostError("ERR_UNKNOWN_TASK", `backfill: no task "${taskId}" (see \`taskhost status\` for the task ids)`);
      const task = entry.loaded;
      if (!task) throw taskhostError("ERR_TASK_LOAD", `backfill: task "${taskId}" does not load${entry.error ? `: ${entry.error}` : " yet"}`);
      const keys = task.schedules.map((s) => s.id.slice(taskId.length + 1));
      const schedule = key == null ? (task.schedules.length === 1 ? task.schedules[0] : undefined) : task.schedules.find((s) => s.id === `${taskId}#${key}`);
      if (!schedule) {
        if (keys.length === 0) throw taskhostError("ERR_UNKNOWN_METHOD", `backfill: task "${taskId}" has no schedule to backfill`);
        if (key == null) throw taskhostError("ERR_METHOD_AMBIGUOUS", `backfill: task "${taskId}" has several schedules; name one as ${taskId}#<method> (one of: ${keys.join(", ")})`);
        throw taskhostError("ERR_UNKNOWN_METHOD", `backfill: task "${taskId}" has no schedule "${key}" (it has: ${keys.join(", ")})`);
      }
      return { taskId, scheduleId: schedule.id, method: schedule.method, spec: schedule.spec, zone: schedule.zone, window: schedule.window };
    },
    async recorded(scheduleId, from, to) {
      const runs = await options.ledger.listRunsBetween(from, to + 1, { scheduleId });
      // A manual run's time is when it was started, not an occurrence: it does not count as one.
      return new Set(runs.filter((r) => r.trigger !== "manual" && r.scheduledFor != null).map((r) => r.scheduledFor!));
    },
    prunedThrough: (taskId) => options.ledger.prunedThrough(taskId),
    async runOccurrence({ taskId, scheduleId, method, scheduledFor }) {
      const row = await options.scheduler.runOccurrence({ taskId, scheduleId, method, scheduledFor, trigger: "backfill" });
      return row && { runId: row.id, status: row.status, error: row.error };
    },
  };
}
