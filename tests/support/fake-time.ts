/**
 * A clock and timers that move only when a test says so, for unit tests of
 * the scheduler: `advance()` fires each due timer at its instant, in order,
 * and lets the asynchronous work it started settle (real ledger writes
 * included) before the next one; `freeze()` moves the clock without firing
 * anything, as a suspended machine does, so timers fire late.
 */
import type { Clock, Timers } from "../../runtime/scheduler/scheduler-types.ts";

interface Timer {
  id: number;
  at: number;
  callback: () => void;
}

export class FakeTime implements Clock, Timers {
  private current: number;
  private readonly timers = new Map<number, Timer>();
  private nextId = 1;
  /** Waits for the work a timer started (set by the test: e.g. the scheduler's idle()). */
  settle: () => Promise<void> = () => Promise.resolve();

  constructor(start: number) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.current + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === "number") this.timers.delete(handle);
  }

  /** Pending timers (a stopped component must leave none). */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time on by `ms`, firing every timer due meanwhile at its own instant. */
  async advance(ms: number): Promise<void> {
    await this.runUntil(this.current + ms);
  }

  /** Moves time on to `at`. */
  async advanceTo(at: number): Promise<void> {
    await this.runUntil(Math.max(this.current, at));
  }

  /** The machine sleeps for `ms`: the clock jumps, and the timers due meanwhile fire late, all at the new time. */
  async freeze(ms: number): Promise<void> {
    this.current += ms;
    await this.runUntil(this.current);
  }

  private async runUntil(target: number): Promise<void> {
    await this.settle();
    for (;;) {
      const due = [...this.timers.values()].filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers.delete(due.id);
      this.current = Math.max(this.current, due.at);
      due.callback();
      await this.settle();
    }
    this.current = target;
    await this.settle();
  }
}
