/**
 * taskhost scheduling lag: N tasks on every(1).seconds, all due on the same
 * boundaries; lag = startedAt − scheduledFor from the ledger.
 */
import { TempProject } from "../../tests/support/temp-project.ts";
import { EVERY_SECOND, taskhostTask } from "./jobs.ts";
import { recordLag, type LagRun } from "./lag-stats.ts";
import { sleep, windowCpu } from "./measure.ts";
import type { Results } from "./results.ts";
import { ledgerLags } from "./taskhost-ledger.ts";

/** Seconds given after the window for its last occurrences to start (counted as not run otherwise). */
export const DRAIN_SECONDS = process.argv.includes("--quick") ? 2 : 3;

/** The first boundary every job was surely armed for: 0.5 s after the scheduler answered (taskhost arms 0.4 s ahead). */
export const firstFullBoundary = (upAt: number) => Math.ceil((upAt + 500) / 1000) * 1000;

async function writeTickTasks(project: TempProject, jobs: number): Promise<void> {
  for (let i = 0; i < jobs; i++) await project.writeTask(`t${i}.ts`, taskhostTask(i, EVERY_SECOND.every));
}

/** Lets a running host run `seconds` boundaries, stops it and reads the lags of those boundaries. */
async function measureRunningHost(project: TempProject, host: { pid: number; stop(): Promise<unknown> }, upAt: number, jobs: number, seconds: number): Promise<LagRun> {
  const from = firstFullBoundary(upAt);
  const cpuSeconds = await windowCpu(host.pid, from, from + seconds * 1000);
  await sleep(from + (seconds + DRAIN_SECONDS) * 1000 - Date.now());
  await host.stop();
  return { ...(await ledgerLags(project, from, from + seconds * 1000, jobs)), cpuSeconds };
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
