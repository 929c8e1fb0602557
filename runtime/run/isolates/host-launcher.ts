/**
 * The host's run launcher (issue 13), built from the host's cache folder and
 * config: the one place start-host needs to know of to run tasks at every
 * isolation level.
 */
import { isolateToolchain } from "./isolate-entry-file.ts";
import { IsolatingLauncher } from "./isolating-launcher.ts";
import { TASK_META_DEFAULTS } from "../../task-file/task-meta.ts";

export interface HostLauncherOptions {
  cacheDir: string;
  projectRoot: string;
  /** The `worker` level's compiled entry (Toolchain.entryFile). */
  workerEntryFile: string;
  maxConcurrentRuns: number;
  /** scheduler.isolation: under `context` the pool is warmed at once. */
  isolation: "context" | "task" | "worker";
  /** Where the launcher's own notes go (a task run as `worker` for want of a CommonJS bundle, a late rejection). */
  log: (message: string) => void;
}

export async function createHostLauncher(options: HostLauncherOptions): Promise<IsolatingLauncher> {
  const launcher = new IsolatingLauncher({
    workerEntryFile: options.workerEntryFile,
    isolates: await isolateToolchain(options.cacheDir),
    projectRoot: options.projectRoot,
    maxConcurrentRuns: options.maxConcurrentRuns,
    log: options.log,
  });
  // Most tasks keep the default memory_limit: their first boundary finds warm workers.
  if (options.isolation === "context") launcher.warm(TASK_META_DEFAULTS.memoryLimitMb);
  return launcher;
}
