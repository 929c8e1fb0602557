/**
 * taskhost scheduling lag: N tasks on every(1).seconds, all due on the same
 * boundaries; lag = startedAt − scheduledFor from the ledger.
 */
import { TempProject, type HostProcess } from "../../tests/support/temp-project.ts";
import { taskhostTask } from "./jobs.ts";
import { recordLag, type LagRun } from "./lag-stats.ts";
import { sleep } from "./measure.ts";
import type { Results } from "./results.ts";
import { ledgerLags } from "./taskhost-ledger.ts";

/** Seconds given after the window for its last occurrences to start (counted as not run otherwise). */
export const DRAIN_SECONDS = 3;

export async function writeTickTasks(project: TempProject, jobs: number): Promise<void> {
  for (let i = 0; i < jobs; i++) await project.writeTask(`t${i}.ts`, taskhostTask(i, "second"));
}

/** Lets a running host run `seconds` boundaries, stops it and reads the lags of those boundaries. */
export async function measureRunningHost(project: TempProject, host: HostProcess, upAt: number, jobs: number, seconds: number): Promise<LagRun> {
  const firstBoundary = Math.ceil(upAt / 1000) * 1000;
  await sleep(firstBoundary + (seconds + DRAIN_SECONDS) * 1000 - Date.now());
  await host.stop();
  // The window starts at the first boundary the host scheduled after it came up.
  const all = await ledgerLags(project, upAt - 1000, Date.now(), jobs);
  const from = Math.min(...all.samples.map((s) => s.scheduledFor));
  return ledgerLags(project, from, from + seconds * 1000, jobs);
}

export async function taskhostLag(results: Results, jobs: number, seconds: number, maxConcurrentRuns: number): Promise<void> {
  const project = await TempProject.create({ scheduler: { max_concurrent_runs: maxConcurrentRuns } });
  try {
    await writeTickTasks(project, jobs);
    const host = await project.start();
    const run = await measureRunningHost(project, host, Date.now(), jobs, seconds);
    recordLag(results, "taskhost", jobs, run);
  } finally {
    await project.cleanup();
  }
}
