/** The idle rows every system reports alike. */
import { idleCost, sleep } from "./measure.ts";
import type { Results, System } from "./results.ts";

export const idleScenario = (jobs: number, seconds: number, variant = "") => `idle, ${jobs} jobs every minute, ${seconds} s${variant ? `, ${variant}` : ""}`;

/** Settles 2 s after start-up, then samples the process tree for `seconds` (one minute boundary falls inside a 60 s window). */
export async function recordIdle(results: Results, system: System, pid: number, jobs: number, seconds: number, variant = ""): Promise<void> {
  await sleep(2000);
  const cost = await idleCost(pid, seconds);
  const scenario = idleScenario(jobs, seconds, variant);
  results.record(system, scenario, "CPU, % of one core", cost.cpuPercent, "%");
  results.record(system, scenario, "RSS mean", cost.rssMeanMb, "MB");
  results.record(system, scenario, "RSS max", cost.rssMaxMb, "MB");
  // The tree's processes share pages (each Node process maps the same binary): PSS counts them once.
  results.record(system, scenario, "PSS mean (shared pages once)", cost.pssMeanMb, "MB");
}
