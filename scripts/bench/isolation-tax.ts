/**
 * "Isolation tax": the same burst of N runs (N task files, each due once)
 * through the run launcher under each isolation level, 16 at a time as the
 * host's scheduler would, and the same N job bodies as croner callbacks in
 * this process: the price of each guarantee in one look. Host CPU per run is
 * the whole process's CPU (its worker threads included) over the burst / N.
 */
import { Cron } from "croner";
import { IsolateKit, taskSource } from "../../tests/support/isolate-kit.ts";
import type { Isolation } from "../../runtime/scheduler/run-launcher.ts";
import { jobBody } from "./jobs.ts";
import { percentile } from "./measure.ts";
import type { Results } from "./results.ts";

const SLOTS = 16;

export const taxScenario = (runs: number) => `isolation tax, a burst of ${runs} runs (${SLOTS} at a time)`;

export async function isolationTax(results: Results, runs: number, levels: readonly Isolation[] = ["context", "task", "worker"]): Promise<void> {
  const kit = await IsolateKit.create("taskhost-bench-tax-");
  try {
    const bundles: string[] = [];
    for (let i = 0; i < runs; i += 50) {
      const wave = Array.from({ length: Math.min(50, runs - i) }, (_, k) => kit.bundle(`t${i + k}`, taskSource(jobBody(i + k))));
      bundles.push(...(await Promise.all(wave)));
    }
    for (const isolation of levels) await burst(results, kit, bundles, isolation);
  } finally {
    await kit.dispose();
  }
  await cronerBurst(results, runs);
}

async function burst(results: Results, kit: IsolateKit, bundles: string[], isolation: Isolation): Promise<void> {
  const launcher = kit.launcher({ maxConcurrentRuns: SLOTS });
  try {
    // Warm up as a host that has been running would be: a pool of warm workers (no effect on `worker`).
    await Promise.all(bundles.slice(0, SLOTS).map((b) => kit.run(launcher, b, { task: "warm-up", isolation }).outcome));
    const lags: number[] = [];
    let failed = 0;
    let next = 0;
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    const lane = async () => {
      while (next < bundles.length) {
        const i = next++;
        const run = kit.run(launcher, bundles[i]!, { task: `t${i}`, isolation });
        const outcome = await run.outcome;
        if (outcome.status !== "success") failed++;
        else lags.push(outcome.startedAt! - t0);
      }
    };
    await Promise.all(Array.from({ length: SLOTS }, lane));
    const cpu = process.cpuUsage(cpu0);
    const scenario = taxScenario(bundles.length);
    lags.sort((a, b) => a - b);
    results.record("taskhost", scenario, `isolation: ${isolation}: last start`, lags.at(-1) ?? NaN, "ms");
    results.record("taskhost", scenario, `isolation: ${isolation}: median start`, percentile(lags, 50), "ms");
    results.record("taskhost", scenario, `isolation: ${isolation}: host CPU per run`, (cpu.user + cpu.system) / 1000 / bundles.length, "ms");
    if (failed) results.note(`isolation tax (${isolation}): ${failed} runs did not succeed`);
  } finally {
    await launcher.close();
  }
}

/** croner: N in-process callbacks due on the same whole second. */
async function cronerBurst(results: Results, runs: number): Promise<void> {
  const lags: number[] = [];
  const boundary = Math.ceil((Date.now() + 1500) / 1000) * 1000;
  let cpu0: NodeJS.CpuUsage | null = null;
  const done = new Promise<void>((resolve) => {
    const crons: Cron[] = [];
    for (let i = 0; i < runs; i++) {
      crons.push(
        new Cron(new Date(boundary), () => {
          cpu0 ??= process.cpuUsage();
          lags.push(Date.now() - boundary);
          new Function(jobBody(i))();
          if (lags.length === runs) resolve();
        }),
      );
    }
  });
  await done;
  const cpu = process.cpuUsage(cpu0!);
  const scenario = taxScenario(runs);
  lags.sort((a, b) => a - b);
  for (const isolation of ["context", "task", "worker"]) {
    results.record("croner", scenario, `isolation: ${isolation}: last start`, lags.at(-1)!, "ms");
    results.record("croner", scenario, `isolation: ${isolation}: median start`, percentile(lags, 50), "ms");
    results.record("croner", scenario, `isolation: ${isolation}: host CPU per run`, (cpu.user + cpu.system) / 1000 / runs, "ms");
  }
}
