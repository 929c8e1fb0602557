/**
 * The host-wide cap on runs in flight (scheduler.max_concurrent_runs). Waiters
 * are served first come, first served; the limit can change at runtime.
 */
export class RunSlots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private limit: number) {}

  get inUse(): number {
    return this.used;
  }

  get queued(): number {
    return this.waiting.length;
  }

  tryAcquire(): boolean {
    if (this.used >= this.limit || this.waiting.length > 0) return false;
    this.used++;
    return true;
  }

  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    this.used--;
    this.pump();
  }

  setLimit(limit: number): void {
    this.limit = limit;
    this.pump();
  }

  private pump(): void {
    while (this.used < this.limit && this.waiting.length > 0) {
      this.used++;
      this.waiting.shift()!();
    }
  }
}
