import { existsSync } from "node:fs";
import path from "node:path";
import { messageOf } from "../errors.ts";
import { acquireHostLock } from "../host/host-lock.ts";
import type { ProjectContext } from "../host/project-context.ts";
import { composeRuntime, type Runtime } from "./compose-runtime.ts";
import { DisposerStack } from "./disposer-stack.ts";

/** How long a command waits for a process still writing the ledger: it would rather say who holds it than hang. */
const OFFLINE_LOCK_WAIT_MS = 5000;

export interface OfflineRuntimeOptions {
  /** Load example tasks whatever the configuration says (`taskhost run example_x`). */
  includeExamples?: boolean;
  /** Leave only warnings and errors in the logs (a command that loads the tasks to look at them). */
  quiet?: boolean;
  /** Task files loaded before `fn` (as a host loads them at its start): all of them, or these ids. */
  tasks?: "all" | readonly string[];
}

/**
 * A command's runtime when no host runs: built by the same composition root
 * as the host's (same ledger, toolchain, launcher, catalog and scheduler, the
 * scheduler never started), holding the host lock so no host starts
 * underneath, and closed when `fn` is done.
 */
export async function withOfflineRuntime<T>(ctx: ProjectContext, options: OfflineRuntimeOptions, fn: (runtime: Runtime) => Promise<T>): Promise<T> {
  const lock = await acquireHostLock(ctx.files.pidFile);
  const stack = new DisposerStack((name, error) => process.stderr.write(`warning: closing ${name} failed: ${messageOf(error)}\n`));
  stack.defer("host lock", () => lock.release());
  try {
    const runtime = await composeRuntime({
      config: ctx.config,
      files: ctx.files,
      stack,
      pid: process.pid,
      // Nothing would be left to try again.
      retryInstalls: false,
      ledger: { lockWaitMs: OFFLINE_LOCK_WAIT_MS },
      includeExamples: options.includeExamples,
      logLevel: options.quiet ? "warn" : undefined,
    });
    if (options.tasks === "all") await runtime.catalog.scan();
    else for (const id of options.tasks ?? []) await loadTask(runtime, id);
    return await fn(runtime);
  } finally {
    await stack.dispose();
  }
}

/** One task by id, if its file is a task under the configuration (a host would not load it otherwise). */
async function loadTask({ catalog }: Runtime, id: string): Promise<void> {
  const file = path.join(catalog.tasksDir, `${id}.ts`);
  if (existsSync(file) && catalog.isTask(file)) await catalog.load(file);
}
