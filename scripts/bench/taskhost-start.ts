/**
 * Cold and warm start with many task files: cold = empty data/ (every file
 * bundled), warm = the second start (bundles reused from data/).
 */
import type { TempProject } from "../../tests/support/temp-project.ts";
import type { Results } from "./results.ts";
import { startSlowHost, type SlowHost } from "./slow-start.ts";
import { hostEvents } from "./taskhost-events.ts";

async function timedStart(results: Results, project: TempProject, scenario: string, kind: "cold" | "warm"): Promise<{ host: SlowHost; upAt: number }> {
  const before = (await hostEvents(project, "task.loaded")).length;
  const t0 = Date.now();
  const host = await startSlowHost(project, 300_000);
  const upAt = Date.now();
  const starts = await hostEvents(project, "host.start");
  const loaded = (await hostEvents(project, "task.loaded")).slice(before);
  results.record("taskhost", scenario, `${kind} start: spawn to answering`, upAt - t0, "ms");
  results.record("taskhost", scenario, `${kind} start: host.start startMs`, Number(starts.at(-1)?.startMs), "ms");
  results.record("taskhost", scenario, `${kind} start: bundles reused (cached)`, loaded.filter((e) => e.cached === true).length, "");
  return { host, upAt };
}

/** Measures a cold then a warm start; returns the warm host, still running. */
export async function taskhostStart(results: Results, project: TempProject, jobs: number): Promise<{ host: SlowHost; upAt: number }> {
  const scenario = `start, ${jobs} task files`;
  const cold = await timedStart(results, project, scenario, "cold");
  await cold.host.stop();
  return timedStart(results, project, scenario, "warm");
}
