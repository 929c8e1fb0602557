import path from "node:path";
import type { Store } from "../store/store.ts";
import type { LoadedTask } from "../task-file/loaded-task.ts";
import { loadTask, TaskLoadError } from "../task-file/load-task.ts";
import { taskIdFromPath } from "../task-file/task-id.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import type { HostLog } from "../scheduler/scheduler-types.ts";
import { findTaskFiles } from "./find-task-files.ts";

export interface TaskEntry {
  readonly id: string;
  /** Absolute path. */
  readonly file: string;
  readonly relFile: string;
  /** The version that runs: the last one that loaded, even after a broken save. */
  loaded: LoadedTask | null;
  /** Why the file on disk is not (or no longer) what runs. */
  error: string | null;
  title: string;
}

export interface TaskCatalogOptions {
  projectRoot: string;
  tasksDir: string;
  includeExamples: boolean;
  bundleDir: string;
  entryFile: string;
  defaultZone: string;
  store: Store;
  scheduler: Scheduler;
  log: HostLog;
}

/** How many task files are bundled and inspected at once on a cold start. */
const LOAD_CONCURRENCY = 8;

/**
 * The host's view of the task files: which exist, which version of each runs,
 * and which are broken. Loading builds the replacement first; only a good
 * load replaces what runs.
 */
export class TaskCatalog {
  readonly entries = new Map<string, TaskEntry>();

  constructor(private readonly options: TaskCatalogOptions) {}

  async scan(): Promise<void> {
    const files = await findTaskFiles(this.options.tasksDir, this.options.includeExamples);
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const file = files[next++]!;
        await this.load(file);
      }
    };
    await Promise.all(Array.from({ length: Math.min(LOAD_CONCURRENCY, files.length) }, worker));
    // Tasks the ledger knows whose file is gone: unscheduled, their history kept.
    const seen = new Set(this.entries.keys());
    for (const task of await this.options.store.listTasks()) {
      if (!seen.has(task.id) && task.removedAt == null) await this.options.store.markTaskRemoved(task.id, Date.now());
    }
  }

  async load(file: string): Promise<TaskEntry> {
    const { options } = this;
    const id = taskIdFromPath(options.tasksDir, file);
    const relFile = path.relative(options.projectRoot, file);
    const entry: TaskEntry = this.entries.get(id) ?? { id, file, relFile, loaded: null, error: null, title: defaultTitle(id) };
    this.entries.set(id, entry);
    try {
      const task = await loadTask({
        id,
        file,
        projectRoot: options.projectRoot,
        bundleDir: options.bundleDir,
        entryFile: options.entryFile,
        defaultZone: options.defaultZone,
      });
      await options.store.upsertTask({ id, title: task.meta.title, file: relFile, removedAt: null });
      const row = await options.store.getTask(id);
      await options.scheduler.setTask(task, { paused: row?.paused ?? false });
      entry.loaded = task;
      entry.error = null;
      entry.title = task.meta.title;
      for (const warning of task.warnings) options.log.warn({ event: "task.warning", taskId: id }, warning);
      options.log.info(
        { event: "task.loaded", taskId: id, bundleMs: Math.round(task.bundle.bundleMs), schedules: task.schedules.map((s) => s.text) },
        `loaded ${relFile} (${task.schedules.map((s) => s.text).join("; ") || "no schedule"})`,
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      entry.error = message;
      if (error instanceof TaskLoadError && error.title) entry.title = error.title;
      if (!entry.loaded) await options.store.upsertTask({ id, title: entry.title, file: relFile, removedAt: null });
      options.log.error(
        { event: "task.error", taskId: id, file: relFile, error: message, keepsRunning: entry.loaded != null },
        entry.loaded ? `${message} (the previous version keeps running)` : message,
      );
    }
    return entry;
  }

  /** The file is gone: unschedule it; runs in flight finish, history stays. */
  async remove(id: string): Promise<void> {
    if (!this.entries.delete(id)) return;
    this.options.scheduler.removeTask(id);
    await this.options.store.markTaskRemoved(id, Date.now());
    this.options.log.info({ event: "task.removed", taskId: id }, `removed task ${id}`);
  }

  get(id: string): TaskEntry | undefined {
    return this.entries.get(id);
  }
}

function defaultTitle(id: string): string {
  return id.split("/").at(-1) ?? id;
}
