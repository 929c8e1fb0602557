/**
 * How long before its boundary a run should be launched so its code starts on
 * the boundary: measured per task and isolation level (launch to loaded),
 * smoothed, with a margin. Before any measurement, a level's usual cost.
 */
import type { Isolation } from "../../scheduler/run-launcher.ts";

/** Before a task's first run: a warm context loads in a few ms, a fresh worker (or a task's first) in tens to hundreds. */
const INITIAL_MS: Record<Isolation, number> = { context: 50, task: 400, worker: 400 };
const MIN_MS = 5;
const MAX_MS = 5000;
/** Weight of the newest measurement. */
const ALPHA = 0.3;

export class LeadTimes {
  private readonly smoothed = new Map<string, number>();

  record(taskId: string, isolation: Isolation, ms: number): void {
    const key = `${isolation}\0${taskId}`;
    const previous = this.smoothed.get(key);
    this.smoothed.set(key, previous === undefined ? ms : previous + ALPHA * (ms - previous));
  }

  /** Twice the smoothed cost plus 5 ms: a busy machine is slower than the average. */
  get(taskId: string, isolation: Isolation): number {
    const measured = this.smoothed.get(`${isolation}\0${taskId}`);
    if (measured === undefined) return INITIAL_MS[isolation];
    return Math.round(Math.min(MAX_MS, Math.max(MIN_MS, measured * 2 + 5)));
  }

  forget(taskId: string): void {
    for (const isolation of ["context", "task", "worker"] as const) this.smoothed.delete(`${isolation}\0${taskId}`);
  }
}
