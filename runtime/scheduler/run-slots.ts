/**
 * The host-wide cap on runs in flight (scheduler.max_concurrent_runs). Waiters
 * are served first come, first served; the limit can change at runtime.
 */
export class RunSlots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private max: number) {}

  get limit(): number {
    return this.max;
  }

  get inUse(): number {
    return this.used;
  }

  get queued(): number {
    return this.waiting.length;
  }

  tryAcquire(): boolean {
    if (this.used >= this.max || this.waiting.length > 0) return false;
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
    this.max = limit;
    this.pump();
  }

  private pump(): void {
    while (this.used < this.max && this.waiting.length > 0) {
      this.used++;
      this.waiting.shift()!();
    }
  }
}
