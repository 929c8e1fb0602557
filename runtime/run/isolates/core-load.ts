/**
 * Whether the host's own threads (its main thread and its workers) keep the
 * cores busy now. The isolate pool asks before it adds a worker for a run that
 * seems to last: while the cores are saturated by the host's own work (a burst
 * of short runs), a run that has held its worker for 40 ms is most likely
 * waiting for a core, not for I/O, and another worker (a boot costs 40-100 ms
 * of CPU) only takes cores from the runs. It then waits SATURATED_GROW_AFTER_MS
 * (isolate-pool-options.ts) instead. Measured on 2 cores, 1,000 one-run
 * tasks: bursts where the pool grew to 8 workers cost 4.2 ms of CPU a run and
 * the last run started at 2.8 s; those that kept 3-4 workers, 2.3-3.9 ms and
 * 1.2-2.0 s.
 *
 * The reading is this process's CPU time over a recent window, from samples
 * taken as the pool works (at most one per SAMPLE_EVERY_MS; none while idle),
 * so it costs nothing when nothing runs. With no sample old enough (the pool
 * just woke up) it says "not saturated": the pool then behaves as without it.
 */
import { availableParallelism } from "node:os";

/** Share of all cores the process must use to count as saturating them. */
export const SATURATED_SHARE = 0.75;
/** The window is at least this long... */
const MIN_WINDOW_MS = 40;
/** ...and at most this long. */
const MAX_WINDOW_MS = 250;
const SAMPLE_EVERY_MS = 20;

interface Sample {
  at: number;
  cpuMs: number;
}

export interface CoreLoadClock {
  /** Monotonic ms. */
  now(): number;
  /** CPU ms this process has used (all threads). */
  cpuMs(): number;
  cores: number;
}

const processClock: CoreLoadClock = {
  now: () => performance.now(),
  cpuMs: () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  },
  cores: availableParallelism(),
};

export class CoreLoad {
  private readonly samples: Sample[] = [];

  constructor(private readonly clock: CoreLoadClock = processClock) {}

  /** Takes a sample if the last is SAMPLE_EVERY_MS old (the pool calls it as it hands out workers). */
  sample(): void {
    const now = this.clock.now();
    const last = this.samples.at(-1);
    if (last && now - last.at < SAMPLE_EVERY_MS) return;
    this.samples.push({ at: now, cpuMs: this.clock.cpuMs() });
    while (this.samples.length > 0 && now - this.samples[0]!.at > MAX_WINDOW_MS) this.samples.shift();
  }

  /** Whether the process used SATURATED_SHARE of the cores since the oldest sample in the window. */
  saturated(): boolean {
    this.sample();
    const now = this.clock.now();
    const from = this.samples.find((s) => now - s.at <= MAX_WINDOW_MS && now - s.at >= MIN_WINDOW_MS);
    if (!from) return false;
    const used = this.clock.cpuMs() - from.cpuMs;
    return used >= SATURATED_SHARE * this.clock.cores * (now - from.at);
  }
}
