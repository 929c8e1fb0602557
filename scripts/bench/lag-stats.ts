/** Turns (scheduledFor, startedAt) pairs into the lag rows every system reports alike. */
import { percentile } from "./measure.ts";
import type { Results, System } from "./results.ts";

export interface LagSample {
  /** The boundary the run was for (epoch ms). */
  scheduledFor: number;
  /** When the job's own code started (epoch ms). */
  startedAt: number;
}

export interface LagRun {
  samples: LagSample[];
  /** Occurrences that were due in the window but did not run (skipped, refused, still queued at the end). */
  notRun: number;
  /** Length of the window the boundaries were counted in, s. */
  seconds: number;
  /** Occurrences the scheduler itself recorded or logged as skipped because the previous run was still going. */
  skipped?: number;
  /** CPU of the system's whole process tree over the window, s (windowCpu). */
  cpuSeconds?: number;
}

export const lagScenario = (jobs: number) => `lag, ${jobs} job${jobs === 1 ? "" : "s"} every second`;

export function recordLag(results: Results, system: System, jobs: number, run: LagRun): void {
  const scenario = lagScenario(jobs);
  const lags = run.samples.map((s) => s.startedAt - s.scheduledFor).sort((a, b) => a - b);
  results.record(system, scenario, "runs started per job per second", lags.length / jobs / run.seconds, "");
  results.record(system, scenario, "due occurrences not run", run.notRun, "");
  if (run.skipped !== undefined) results.record(system, scenario, "of which skipped: still running", run.skipped, "");
  recordPercentiles(results, system, scenario, lags);
  // The first boundary where all jobs were due at once: how long its last run waited.
  const first = Math.min(...run.samples.map((s) => s.scheduledFor));
  const firstWave = run.samples.filter((s) => s.scheduledFor === first);
  results.record(system, scenario, "first boundary: runs started", firstWave.length, "");
  results.record(system, scenario, "first boundary: last start", Math.max(...firstWave.map((s) => s.startedAt - s.scheduledFor)), "ms");
  results.record(system, scenario, `p99 lag, steady (from the ${ordinal(STEADY_FROM + 1)} boundary)`, percentile(steadyLags(run.samples), 99), "ms");
  // What bounds the lag when every job is due on the same instant: the last run of a boundary
  // starts no sooner than jobs × this / cores after it, whatever the scheduler does.
  if (run.cpuSeconds !== undefined && lags.length > 0) results.record(system, scenario, "CPU per run (process tree, over the window)", (run.cpuSeconds * 1000) / lags.length, "ms");
}

/** The first boundaries of the window fall within ~2.5 s of a cold start (workers booting): the steady rows leave them out. */
const STEADY_FROM = 2;
const ordinal = (n: number) => `${n}${n === 1 ? "st" : n === 2 ? "nd" : n === 3 ? "rd" : "th"}`;

/** The lags of the samples from the window's STEADY_FROM-th boundary on (counted from 0), sorted. */
export function steadyLags(samples: LagSample[]): number[] {
  const first = Math.min(...samples.map((s) => s.scheduledFor));
  return samples
    .filter((s) => s.scheduledFor >= first + STEADY_FROM * 1000)
    .map((s) => s.startedAt - s.scheduledFor)
    .sort((a, b) => a - b);
}

function recordPercentiles(results: Results, system: System, scenario: string, lags: number[]): void {
  results.record(system, scenario, "median lag", percentile(lags, 50), "ms");
  results.record(system, scenario, "p99 lag", percentile(lags, 99), "ms");
  results.record(system, scenario, "max lag", lags.at(-1) ?? NaN, "ms");
}

export const burstScenario = (jobs: number, periodMs: number) => `burst, ${jobs} jobs due on one ${periodMs === 60_000 ? "minute" : `${periodMs / 1000} s`} boundary`;

/** One boundary where every job is due at once: how many started, and the lag of the last. */
export function recordBurst(results: Results, system: System, jobs: number, periodMs: number, lags: number[], which?: string): void {
  const scenario = `${burstScenario(jobs, periodMs)}${which ? `: ${which}` : ""}`;
  results.record(system, scenario, "runs started", lags.length, "");
  recordPercentiles(results, system, scenario, lags.sort((a, b) => a - b));
}
