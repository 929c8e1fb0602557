/**
 * Runs `handler(key)` once per burst of `push(key)` calls: a key's handler
 * starts `delayMs` after its last push, never runs twice at once for one key,
 * and a push during a run schedules exactly one more run after it. This is
 * what turns an editor's write-truncate-write-rename save into one reload.
 */
export class CoalescingQueue<K> {
  private readonly timers = new Map<K, NodeJS.Timeout>();
  private readonly running = new Map<K, Promise<void>>();
  private readonly again = new Set<K>();
  private closed = false;

  constructor(
    private readonly delayMs: number,
    private readonly handler: (key: K) => Promise<void>,
    private readonly onError: (error: unknown, key: K) => void,
  ) {}

  push(key: K): void {
    if (this.closed) return;
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.start(key);
      }, this.delayMs),
    );
  }

  /** Resolves when nothing is pending or running. */
  async idle(): Promise<void> {
    while (this.timers.size > 0 || this.running.size > 0) {
      await Promise.allSettled([...this.running.values()]);
      if (this.timers.size > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    }
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.again.clear();
  }

  private start(key: K): void {
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    const run = this.handler(key)
      .catch((error: unknown) => this.onError(error, key))
      .finally(() => {
        this.running.delete(key);
        if (this.again.delete(key) && !this.closed) this.start(key);
      });
    this.running.set(key, run);
  }
}
