/**
 * How long before its boundary a run should be launched so its code starts on
 * the boundary: measured per task and isolation level (launch to loaded),
 * as the 90th percentile of the latest launches plus a margin, so one cold
 * boot does not set the lead for the warm runs after it. Before any
 * measurement, a level's usual cost.
 */
import type { Isolation } from "../../scheduler/run-launcher.ts";

/**
 * Before a task's first run: as for a fresh worker, since its first run may wait for a pool
 * worker's boot; under `context` longer, since the first boundary after a host starts may need
 * several (10 tasks due every second: 7 boots took over 400 ms on 2 cores, measured).
 */
const INITIAL_MS: Record<Isolation, number> = { context: 1000, task: 400, worker: 400 };
const MIN_MS = 5;
const MAX_MS = 5000;
/** Launches remembered per task and level. */
const WINDOW = 16;

export class LeadTimes {
  private readonly recent = new Map<string, number[]>();

  record(taskId: string, isolation: Isolation, ms: number): void {
    const key = `${isolation}\0${taskId}`;
    const samples = this.recent.get(key) ?? [];
    samples.push(ms);
    if (samples.length > WINDOW) samples.shift();
    this.recent.set(key, samples);
  }

  forget(taskId: string): void {
    for (const key of this.recent.keys()) if (key.endsWith(`\0${taskId}`)) this.recent.delete(key);
  }

  /** p90 of the recent launches × 1.25 + 5 ms: a busy machine is slower than the usual. */
  get(taskId: string, isolation: Isolation): number {
    const samples = this.recent.get(`${isolation}\0${taskId}`);
    if (!samples?.length) return INITIAL_MS[isolation];
    const sorted = [...samples].sort((a, b) => a - b);
    const p90 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9) - (sorted.length >= 10 ? 1 : 0))]!;
    return Math.round(Math.min(MAX_MS, Math.max(MIN_MS, p90 * 1.25 + 5)));
  }
}
