import path from "node:path";
import { withOfflineRuntime } from "../compose/offline-runtime.ts";
import { taskhostError } from "../errors.ts";
import { runJson, type RunJson } from "../host/report-shapes.ts";
import type { CliContext } from "./cli-context.ts";

/** `taskhost run` with no host: load the one task and run it here, recording the run. */
export async function runOffline(ctx: CliContext, taskId: string, method: string | undefined): Promise<RunJson> {
  return withOfflineRuntime(ctx, { includeExamples: true }, async ({ catalog, scheduler, config, fleet }) => {
    const entry = await catalog.load(path.join(config.tasks.directory, `${taskId}.ts`));
    if (!entry.loaded) throw taskhostError("ERR_TASK_LOAD", entry.error ?? `taskhost: task "${taskId}" did not load`);
    // On a fleet's ledger this command is a host while it runs (the others would take an unknown host's run over).
    if (fleet.shared) await fleet.join(scheduler);
    return runJson(await scheduler.runNow(taskId, method));
  });
}
