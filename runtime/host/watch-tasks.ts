import { existsSync } from "node:fs";
import path from "node:path";
import { CoalescingQueue } from "../watch/coalescing-queue.ts";
import { watchPaths, type Watching } from "../watch/watch-paths.ts";
import { taskIdFromPath } from "../task-file/task-id.ts";
import { hashFile } from "../task-file/bundle-manifest.ts";
import type { HostLog } from "../scheduler/scheduler-types.ts";
import type { TaskCatalog } from "./task-catalog.ts";

/** Quiet time after the last event of a burst before a file is reloaded. */
const SETTLE_MS = 25;

/**
 * What a task can import. Anything else in the watched folders — `sed -i`'s
 * `sedXXXXXX`, an editor's `~` or `.swp` — is a temporary file, not a helper.
 */
const MODULE_FILE = /\.(?:[cm]?[jt]s|[jt]sx|json)$/;

export interface WatchTasksOptions {
  catalog: TaskCatalog;
  /** The folder to watch; events are acted on only while the catalog reads this folder (a reload builds the next watcher before it switches). */
  tasksDir: string;
  /** Folders of modules tasks import (the project's helpers/). */
  helperDirs: string[];
  log: HostLog;
}

/**
 * Hot reload of task files and the modules they import: a new file is loaded,
 * an edited one rebuilt (and swapped in only if good), a deleted or renamed one
 * unscheduled; an edited helper reloads exactly the tasks whose bundle includes it.
 */
export async function watchTasks(options: WatchTasksOptions): Promise<Watching> {
  const { catalog, log, tasksDir } = options;
  const onError = (error: unknown, file: string) =>
    log.error({ event: "reload.failed", file, err: error }, `reloading ${file} failed: ${error instanceof Error ? error.message : String(error)}`);
  const taskQueue = new CoalescingQueue<string>(SETTLE_MS, async (file) => {
    if (catalog.tasksDir !== tasksDir) return;
    if (existsSync(file) && catalog.isTask(file)) await catalog.load(file);
    else if (catalog.entries.has(taskIdFromPath(tasksDir, file))) await catalog.remove(taskIdFromPath(tasksDir, file));
  }, onError);
  const moduleHashes = new Map<string, string | null>();
  const moduleQueue = new CoalescingQueue<string>(SETTLE_MS, async (file) => {
    const hash = await hashFile(file);
    if (moduleHashes.has(file) && moduleHashes.get(file) === hash) return;
    // Gone and never seen: it came and went within one burst, or it is something never read as a
    // file (a linked folder, which is not followed); it cannot fix or break an import.
    const imported = [...catalog.entries.values()].some((entry) => entry.loaded?.bundle.inputs.includes(file));
    if (hash == null && !moduleHashes.has(file) && !imported) return;
    moduleHashes.set(file, hash);
    const reloaded = await catalog.reloadImporters(file);
    if (reloaded.length > 0) {
      log.info({ event: "helper.changed", file, tasks: reloaded }, `${path.basename(file)} changed: reloaded ${reloaded.join(", ")}`);
    }
  }, onError);
  const reported = new Set<string>();
  const watching = await watchPaths({
    paths: [tasksDir, ...options.helperDirs.filter((dir) => existsSync(dir))],
    ignored: (file) => /(^|[\\/])(node_modules|\.git)([\\/]|$)/.test(file),
    onEvent: (_event, file) => {
      const inTasks = !path.relative(tasksDir, file).startsWith("..");
      if (inTasks && file.endsWith(".ts") && (catalog.isTask(file) || catalog.entries.has(taskIdFromPath(tasksDir, file)))) {
        taskQueue.push(file);
      } else if (MODULE_FILE.test(file)) {
        moduleQueue.push(file);
      }
    },
    // Links are reported by the catalog, never followed: a linked folder may loop (ELOOP on every level).
    followSymlinks: false,
    // The same failure (a path that cannot be watched) is said once, not at every retry.
    onError: (error) => {
      const text = String(error);
      if (reported.has(text)) return;
      reported.add(text);
      log.error({ event: "watch.error", err: error }, `file watcher: ${text}`);
    },
  });
  return {
    close: async () => {
      taskQueue.close();
      moduleQueue.close();
      await watching.close();
    },
  };
}
