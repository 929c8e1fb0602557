/**
 * A configuration edit applied to a running runtime the way Vite restarts its
 * server: what the new configuration needs (log files, installer, task
 * watcher) is built beside what runs; only when everything is built and the
 * tasks load under the new settings is `config = next` committed and the
 * replaced parts closed. A failure closes what was built, puts back what was
 * switched, and throws an error naming the key: the configuration and the
 * parts in force stay (watch-config.ts logs `config.rejected`).
 */
import type { ResolvedConfig } from "../config/config-options.ts";
import { messageOf, taskhostError } from "../errors.ts";
import type { Logs } from "../logging/create-logs.ts";
import type { Watching } from "../watch/watch-paths.ts";
import { installerFor, logsFor, type Runtime } from "./compose-runtime.ts";
import type { TaskWatching } from "./task-watching.ts";
import { HTTP_KEYS } from "./http-face.ts";

export interface ReloadParts {
  runtime: Runtime;
  taskWatching: TaskWatching;
  /** Re-reads alerts.*, notifications.* and metrics.enabled from runtime.config. */
  alerting: { configure(): void };
  /** The dashboard and /metrics server, moved to the new settings (http-face.ts). */
  http: { reconfigure(prev: ResolvedConfig, next: ResolvedConfig): Promise<void> };
  /** The logs also go to the console (a foreground host). */
  console: boolean;
}

/** Keys that only a restart applies: a host does not change ledgers under its runs. */
const RESTART_KEYS = ["database.path", "database.url"];

/** An error of applying `key`, for config.rejected. */
function keyed(key: string, error: unknown): Error {
  if (typeof (error as { key?: unknown })?.key === "string") return error as Error;
  return taskhostError("ERR_CONFIG_INVALID", `${key}: ${messageOf(error)}`, { key, cause: error });
}

async function build<T>(key: string, make: () => Promise<T> | T): Promise<T> {
  try {
    return await make();
  } catch (error) {
    throw keyed(key, error);
  }
}

export async function reloadConfig(parts: ReloadParts, next: ResolvedConfig, changed: string[]): Promise<void> {
  const { runtime, taskWatching } = parts;
  const { catalog, scheduler, log } = runtime;
  const prev = runtime.config;
  const has = (prefix: string) => changed.some((key) => key.startsWith(prefix));
  const dirChanged = changed.includes("tasks.directory");
  const levelOnly = changed.every((key) => key === "logging.level" || !key.startsWith("logging."));

  // 1. Build what the new configuration needs, beside what runs.
  const built: Array<{ close(): Promise<void> }> = [];
  let logs: Logs | null = null;
  let installer: Runtime["installer"] | null = null;
  let watcher: Watching | null | undefined;
  try {
    if (has("logging.") && !levelOnly) built.push((logs = await build("logging.directory", () => logsFor(next, { console: parts.console }))));
    if (has("dependencies.")) built.push((installer = installerFor(next, runtime.files)));
    if (dirChanged || changed.includes("tasks.reload_on_change")) {
      watcher = next.tasks.reloadOnChange ? await build("tasks.directory", () => taskWatching.start(next.tasks.directory)) : null;
      if (watcher) built.push(watcher);
    }
  } catch (error) {
    for (const part of built) await part.close().catch(() => {});
    throw error;
  }

  // 2. Switch over what the tasks load with, and load them under the new settings.
  const catalogBefore = { tasksDir: catalog.tasksDir, includeExamples: catalog.includeExamples, defaultZone: prev.scheduler.timezone, dependencies: runtime.installer };
  const oldWatcher = watcher === undefined ? undefined : taskWatching.swap(watcher);
  if (installer) runtime.installer = installer;
  catalog.configure({ tasksDir: next.tasks.directory, includeExamples: next.tasks.includeExampleTasks, defaultZone: next.scheduler.timezone, dependencies: runtime.installer });
  const scanKey = changed.includes("scheduler.timezone")
    ? "scheduler.timezone"
    : dirChanged
      ? "tasks.directory"
      : changed.includes("tasks.include_example_tasks")
        ? "tasks.include_example_tasks"
        : "tasks.reload_on_change";
  const rescan = (force: boolean) => (force ? catalog.scan({ force: true }) : catalog.scan());
  // The folder went unwatched while reload_on_change was false: read it again, as a watcher started
  // fresh would (files added, edited or deleted since are applied; unchanged ones are not rebuilt).
  const watchResumed = changed.includes("tasks.reload_on_change") && next.tasks.reloadOnChange;
  // Back to what ran: the old settings and parts, and the tasks they load.
  const restore = async () => {
    if (oldWatcher !== undefined) taskWatching.swap(oldWatcher);
    runtime.installer = catalogBefore.dependencies;
    catalog.configure(catalogBefore);
    await rescan(changed.includes("scheduler.timezone")).catch((again: unknown) =>
      log.error({ event: "config.restore.failed", err: again }, `reloading the tasks under the configuration in force failed: ${messageOf(again)}`),
    );
    for (const part of built) await part.close().catch(() => {});
  };
  try {
    if (changed.includes("scheduler.timezone")) await rescan(true);
    else if (watchResumed) await catalog.scan({ reread: true });
    else if (dirChanged || changed.includes("tasks.include_example_tasks")) await rescan(false);
  } catch (error) {
    await restore();
    throw keyed(scanKey, error);
  }
  // Last, as it cannot be taken back unseen: the HTTP server on its new address (it keeps the old one if the new cannot listen).
  const httpKey = HTTP_KEYS.find((key) => changed.includes(key));
  if (httpKey) {
    try {
      await parts.http.reconfigure(prev, next);
    } catch (error) {
      await restore();
      throw keyed(httpKey, error);
    }
  }

  // 3. Commit, then let go of what was replaced.
  const oldLogs = logs ? runtime.logs : null;
  if (logs) runtime.logs = logs;
  else if (has("logging.")) runtime.logs.setLevel(next.logging.level);
  scheduler.configure({ maxConcurrentRuns: next.scheduler.maxConcurrentRuns, historyPerTask: next.database.historyPerTask });
  runtime.config = next;
  if (has("alerts.") || has("notifications.") || changed.includes("metrics.enabled")) parts.alerting.configure();
  for (const key of RESTART_KEYS) {
    if (changed.includes(key)) log.warn({ event: "config.restart_needed", key }, `${key} changes take effect when the host restarts`);
  }
  await oldLogs?.close();
  await oldWatcher?.close();
  // Installs already running are stopped and tried again with the new settings, as are those that failed.
  if (installer) {
    void catalogBefore.dependencies.close().catch(() => {});
    catalog.retryFailedInstalls();
  }
}
