/**
 * taskhost with N task files: cold and warm start, then the warm host's first
 * boundary where all N are due at once (how long the last run waits), and the
 * boundary after it: a host that has been running meets every boundary with
 * its workers warm (each task's bundle compiled, its warm code cache written).
 */
import { TempProject } from "../../tests/support/temp-project.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { taskhostTask, type Period } from "./jobs.ts";
import { recordBurst } from "./lag-stats.ts";
import { sleep } from "./measure.ts";
import type { Results } from "./results.ts";
import { eventCounter } from "./taskhost-events.ts";
import { ledgerLags } from "./taskhost-ledger.ts";
import { taskhostStart } from "./taskhost-start.ts";

/** The first period boundary at least `leadMs` from now (taskhost arms runs 0.4 s ahead). */
export const nextBoundary = (period: Period, leadMs = 1500) => Math.ceil((Date.now() + leadMs) / period.ms) * period.ms;

export async function taskhostBurst(results: Results, jobs: number, period: Period, maxConcurrentRuns: number, waitMs: number): Promise<void> {
  const project = await TempProject.create({ scheduler: { max_concurrent_runs: maxConcurrentRuns } });
  try {
    for (let i = 0; i < jobs; i++) await project.writeTask(`b${i}.ts`, taskhostTask(i, period.every));
    const { host } = await taskhostStart(results, project, jobs);
    const started = eventCounter(project, "run.start");
    const boundary = nextBoundary(period);
    for (const [n, at] of [boundary, boundary + period.ms].entries()) {
      // Counted just before each boundary: a warm start that ends just before a boundary
      // runs that boundary's occurrences too, and they must not count for the next one.
      await sleep(at - 300 - Date.now());
      const before = await started();
      await sleep(at - Date.now());
      await waitFor(async () => (await started()) - before >= jobs, { timeoutMs: waitMs, intervalMs: 250 }).catch(() => {
        results.note(`taskhost burst: not all ${jobs} runs had started ${waitMs / 1000} s after boundary ${n + 1}`);
      });
    }
    if (!(await host.stop())) results.note(`taskhost burst: the host did not stop within 60 s of SIGTERM and was killed`);
    const first = await ledgerLags(project, boundary, boundary + period.ms, jobs);
    recordBurst(results, "taskhost", jobs, period.ms, first.samples.map((s) => s.startedAt - s.scheduledFor));
    const next = await ledgerLags(project, boundary + period.ms, boundary + 2 * period.ms, jobs);
    recordBurst(results, "taskhost", jobs, period.ms, next.samples.map((s) => s.startedAt - s.scheduledFor), "the next boundary");
  } finally {
    await project.cleanup();
  }
}
