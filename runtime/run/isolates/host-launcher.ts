/**
 * The host's run launcher (issue 13), built from the host's cache folder and
 * config: the one place start-host (and the offline `taskhost run`) needs to
 * know of to run tasks at every isolation level.
 */
import { isolateToolchain } from "./isolate-entry-file.ts";
import { IsolatingLauncher } from "./isolating-launcher.ts";
import type { Isolation } from "../../scheduler/run-launcher.ts";
import type { TaskPaths } from "../task-paths.ts";

export interface HostLauncherOptions {
  cacheDir: string;
  /** Where the project is, for task code (task-paths.ts). */
  paths: TaskPaths;
  /** The `worker` level's compiled entry (Toolchain.entryFile). */
  workerEntryFile: string;
  /** The configuration in force now: read at each run, so a reload of scheduler.isolation applies to the next one. */
  config: () => { scheduler: { maxConcurrentRuns: number; isolation: Isolation } };
  /** Where the launcher's own notes go (a task run as `worker` for want of a CommonJS bundle, a late rejection). */
  log: (message: string) => void;
}

export interface HostLauncher extends IsolatingLauncher {
  /** A task's level: its frontmatter's `isolation`, else `scheduler.isolation` as configured now. */
  isolationOf(task: { meta: { isolation: Isolation | null } }): Isolation;
}

export async function createHostLauncher(options: HostLauncherOptions): Promise<HostLauncher> {
  const { scheduler } = options.config();
  const launcher = new IsolatingLauncher({
    workerEntryFile: options.workerEntryFile,
    isolates: await isolateToolchain(options.cacheDir),
    paths: options.paths,
    maxConcurrentRuns: scheduler.maxConcurrentRuns,
    log: options.log,
  });
  return Object.assign(launcher, {
    isolationOf: (task: { meta: { isolation: Isolation | null } }) => task.meta.isolation ?? options.config().scheduler.isolation,
  });
}
