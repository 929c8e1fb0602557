/**
 * The isolate pool's idle workers: when each fell idle, and the timer that
 * retires it. One per worker, cleared when the worker is handed out or retires.
 */
export class IdleTimers<W> {
  private readonly since = new Map<W, number>();
  private readonly timers = new Map<W, { timer: NodeJS.Timeout; at: number }>();

  constructor(private readonly expire: (worker: W) => void) {}

  /** `worker` fell idle: it retires after `ms` unless handed out first. */
  arm(worker: W, ms: number): void {
    this.since.set(worker, performance.now());
    this.setTimer(worker, ms);
  }

  /** These idle workers retire within `ms` from now (their group rests: the times they were given were for a cadence that is over). */
  hasten(workers: Iterable<W>, ms: number): void {
    for (const worker of workers) {
      const armed = this.timers.get(worker);
      if (armed && armed.at > performance.now() + ms) this.setTimer(worker, ms);
    }
  }

  clear(worker: W): void {
    this.since.delete(worker);
    clearTimeout(this.timers.get(worker)?.timer);
    this.timers.delete(worker);
  }

  /** The idle worker idle the longest among those `which` accepts (the least recently used). */
  oldest(which: (worker: W) => boolean): W | null {
    let oldest: W | null = null;
    for (const [worker, since] of this.since) if (which(worker) && (oldest === null || since < this.since.get(oldest)!)) oldest = worker;
    return oldest;
  }

  private setTimer(worker: W, ms: number): void {
    clearTimeout(this.timers.get(worker)?.timer);
    this.timers.set(worker, { timer: setTimeout(() => this.expire(worker), ms).unref(), at: performance.now() + ms });
  }
}
