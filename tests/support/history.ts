import type { RunJson, StatusJson } from "../../runtime/host/report-shapes.ts";
import type { TempProject } from "./temp-project.ts";

/** A task's runs, newest first: from the host over its socket, or from the ledger when none runs. */
export function history(project: TempProject, taskId: string, limit = 500): Promise<RunJson[]> {
  return project.ask<RunJson[]>("history", { task: taskId, limit }, ["history", taskId, "--limit", String(limit)]);
}

/** `status --json`: from the host over its socket, or from the ledger when none runs. */
export function status(project: TempProject): Promise<StatusJson> {
  return project.ask<StatusJson>("status", {}, ["status"]);
}

/** Occurrences that were recorded more than once, retries aside. */
export function duplicateOccurrences(runs: RunJson[]): string[] {
  const seen = new Map<string, number>();
  for (const run of runs) {
    if (run.trigger === "retry" || run.trigger === "manual") continue;
    const key = `${run.scheduleId}@${run.scheduledFor}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
}

export function finished(runs: RunJson[]): RunJson[] {
  return runs.filter((r) => r.status !== "running");
}
