import path from "node:path";
import type { Ledger } from "../store/ledger.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import { taskhostError, type ErrorCode } from "../errors.ts";
import type { TaskCatalog } from "./task-catalog.ts";
import { runJson, type RunJson } from "./report-shapes.ts";

export interface HostOperationsContext {
  catalog: TaskCatalog;
  scheduler: Scheduler;
  ledger: Ledger;
}

export interface HistoryPage {
  runs: RunJson[];
  /** Pass as `before` for the next (older) page; null when this was the last. */
  nextBefore: number | null;
}

/** An error with a `code` (ERR_UNKNOWN_TASK, ERR_TASK_LOAD, …) that callers map to their own answers. */
function codeError(code: ErrorCode, message: string): Error {
  return taskhostError(code, message);
}

/**
 * The operations of a running host that both the control socket (CLI) and the
 * dashboard's HTTP API offer, so the two never disagree.
 */
export function hostOperations({ catalog, scheduler, ledger }: HostOperationsContext) {
  /** The id itself when the host or its ledger knows the task; throws ERR_UNKNOWN_TASK otherwise. */
  const knownTask = async (id: string): Promise<string> => {
    if (catalog.get(id) || (await ledger.getTask(id))) return id;
    // The README's examples are in tasks/ from the start, but load only when asked for.
    const example = !catalog.includeExamples && path.basename(id).startsWith("example_");
    const hint = example ? `; files named example_* load only with \`tasks.include_example_tasks: true\` in the config file` : "";
    throw taskhostError("ERR_UNKNOWN_TASK", `taskhost: no task "${id}" (see \`taskhost status\` for the task ids${hint})`);
  };

  /** Throws when the task cannot run now (unknown, broken, still installing). */
  const runnable = async (id: string): Promise<void> => {
    await knownTask(id);
    const entry = catalog.get(id);
    if (entry && !entry.loaded) {
      throw codeError(
        entry.error ? "ERR_TASK_LOAD" : "ERR_TASK_INSTALLING",
        entry.error ?? `taskhost: task "${id}" is still installing its dependencies; try again shortly`,
      );
    }
  };

  return {
    knownTask,
    runnable,

    /**
     * Starts a manual run. Resolves once the scheduler recorded it, with its id
     * (rejecting for an unknown method or a stopping host); `done` with the run;
     * `previousVersionOf`: the task's file and its load error when the run is of
     * the version the host kept from before the file broke.
     */
    async startRun(id: string, method?: string): Promise<{ runId: number; done: Promise<RunJson>; previousVersionOf: { file: string; error: string } | null }> {
      await runnable(id);
      // Read at the launch: a file broken now runs the version the host kept (runnable: one is loaded).
      const entry = catalog.get(id);
      const previousVersionOf = entry?.error ? { file: entry.relFile, error: entry.error } : null;
      const { runId, done } = await scheduler.startNow(id, method);
      return { runId, done: done.then(runJson), previousVersionOf };
    },

    async history(id: string, options: { limit?: number; before?: number } = {}): Promise<HistoryPage> {
      await knownTask(id);
      const limit = Math.max(1, Math.floor(options.limit ?? 20));
      const rows = await ledger.listRuns(id, { limit: limit + 1, before: options.before });
      const runs = rows.slice(0, limit).map(runJson);
      return { runs, nextBefore: rows.length > limit ? runs[runs.length - 1]!.id : null };
    },

    async setPaused(id: string, paused: boolean): Promise<{ task: string; paused: boolean; changed: boolean; enabled: boolean }> {
      await knownTask(id);
      const changed = await ledger.setPaused(id, paused);
      await scheduler.setPaused(id, paused);
      const enabled = catalog.get(id)?.loaded?.meta.enabled ?? (await ledger.getTask(id))?.enabled ?? true;
      return { task: id, paused, changed, enabled };
    },

    /** Recomputes next runs on the aligned grid for the selected tasks and/or schedules (none selected: all). */
    async resetSchedules(options: { tasks?: string[]; scheduleIds?: string[]; futureOnly?: boolean; dryRun?: boolean }) {
      const tasks = options.tasks ?? [];
      const scheduleIds = options.scheduleIds ?? [];
      for (const id of tasks) await knownTask(id);
      const resets = await scheduler.resetSchedules(
        (scheduleId, taskId) =>
          (tasks.length === 0 && scheduleIds.length === 0) || tasks.includes(taskId) || scheduleIds.includes(scheduleId),
        { futureOnly: options.futureOnly === true, dryRun: options.dryRun === true },
      );
      return resets;
    },
  };
}

export type HostOperations = ReturnType<typeof hostOperations>;
