import path from "node:path";
import { watchTasks } from "../host/watch-tasks.ts";
import type { Watching } from "../watch/watch-paths.ts";
import type { Runtime } from "./compose-runtime.ts";

/**
 * The host's task watcher (tasks.reload_on_change), which a reload may
 * replace: the next one is started beside the one in force, and the old one
 * closed only once the new configuration is in force.
 */
export class TaskWatching {
  current: Watching | null = null;

  constructor(private readonly runtime: Runtime) {}

  /** A watcher on `tasksDir` (and the project's helpers/), not yet the current one. */
  start(tasksDir: string): Promise<Watching> {
    const { runtime } = this;
    return watchTasks({ catalog: runtime.catalog, tasksDir, helperDirs: [path.join(runtime.config.projectRoot, "helpers")], log: runtime.log });
  }

  /** Puts `next` in force and returns the one it replaces (the caller closes it). */
  swap(next: Watching | null): Watching | null {
    const old = this.current;
    this.current = next;
    return old;
  }

  async close(): Promise<void> {
    await this.swap(null)?.close();
  }
}
