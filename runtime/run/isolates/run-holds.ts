/**
 * Which pool workers are held by a run that lasts: the isolate pool's input
 * for growing a `context` group beyond its core workers (isolate-pool.ts).
 *
 * A hold counts from when the run was handed out (or told to begin, for one
 * loaded ahead). It lasts after GROW_AFTER_MS, or SATURATED_GROW_AFTER_MS while
 * the host's own threads saturate the cores (a run then waits for a core, and a
 * boot would take one). A run handed a worker still booting is held from the
 * boot on (a boot is not a run that lasts, and a slow one, on a loaded machine,
 * must not hide a run that does), and for SATURATED_GROW_AFTER_MS: its first
 * moments are also its new worker's first compiles. `onLasting` is called when
 * a hold may have begun to count.
 */
import { CoreLoad } from "./core-load.ts";
import { GROW_AFTER_MS, SATURATED_GROW_AFTER_MS, type IsolatePoolOptions } from "./isolate-pool-options.ts";
import type { IsolateWorker } from "./isolate-worker.ts";

export class RunHolds {
  private readonly holds = new Map<IsolateWorker, { since: number; after: number }>();
  private readonly timers = new Map<IsolateWorker, NodeJS.Timeout>();
  private closed = false;
  private readonly coreLoad: NonNullable<IsolatePoolOptions["coreLoad"]>;

  constructor(
    private readonly onLasting: (worker: IsolateWorker) => void,
    coreLoad?: IsolatePoolOptions["coreLoad"],
  ) {
    this.coreLoad = coreLoad ?? new CoreLoad();
  }

  /** `worker` serves a run from now (+ `fromMs`); `watch`: look at it when the hold would count (context workers). */
  begin(worker: IsolateWorker, fromMs: number, watch: boolean): void {
    const hold = { since: performance.now() + fromMs, after: worker.online ? GROW_AFTER_MS : SATURATED_GROW_AFTER_MS };
    this.holds.set(worker, hold);
    this.coreLoad.sample();
    if (!watch) return;
    worker.whenOnline(() => {
      if (this.closed || this.holds.get(worker) !== hold) return;
      hold.since = Math.max(hold.since, performance.now());
      this.look(worker, hold, hold.after === SATURATED_GROW_AFTER_MS);
    });
  }

  has(worker: IsolateWorker): boolean {
    return this.holds.has(worker);
  }

  end(worker: IsolateWorker): void {
    this.holds.delete(worker);
    clearTimeout(this.timers.get(worker));
    this.timers.delete(worker);
  }

  /** How many of `workers` are booted and held by one run long enough to count as lasting. */
  lasting(workers: (worker: IsolateWorker) => boolean): number {
    const now = performance.now();
    // Read only for a hold it decides: the pool asks on every hand-out, and a burst queues a thousand runs.
    let saturated: boolean | undefined;
    let held = 0;
    for (const [worker, { since, after }] of this.holds) {
      if (!workers(worker) || !worker.online) continue;
      const age = now - since;
      if (age >= SATURATED_GROW_AFTER_MS || (age >= after && !(saturated ??= this.coreLoad.saturated()))) held++;
    }
    return held;
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** At GROW_AFTER_MS and, if it did not count then (saturated cores), once more at SATURATED_GROW_AFTER_MS. */
  private look(worker: IsolateWorker, hold: { since: number }, last: boolean): void {
    const at = hold.since + (last ? SATURATED_GROW_AFTER_MS : GROW_AFTER_MS);
    this.timers.set(
      worker,
      setTimeout(() => {
        this.timers.delete(worker);
        if (this.holds.get(worker) !== hold) return;
        // A timer may fire a little early by this clock (libuv counts from its loop's start).
        if (performance.now() < at) return this.look(worker, hold, last);
        this.onLasting(worker);
        if (!last && this.holds.get(worker) === hold) this.look(worker, hold, true);
      }, Math.max(0, at - performance.now()) + 1),
    );
  }
}
