/**
 * The host-wide cap on runs in flight (scheduler.max_concurrent_runs). Waiters
 * are served first come, first served, and may withdraw; the limit can change
 * at runtime. Besides the slots, as many runs again may be launched ahead of
 * their boundary without one (standby), so each starts as soon as a slot frees.
 */
export class RunSlots {
  private used = 0;
  private standby = 0;
  private readonly waiting = new Map<object, (got: boolean) => void>();

  constructor(private max: number) {}

  get limit(): number {
    return this.max;
  }

  get inUse(): number {
    return this.used;
  }

  tryAcquire(): boolean {
    if (this.used >= this.max || this.waiting.size > 0) return false;
    this.used++;
    return true;
  }

  /** Resolves true with a slot held, or false if `owner` withdrew first. */
  acquire(owner: object): Promise<boolean> {
    if (this.tryAcquire()) return Promise.resolve(true);
    return new Promise((resolve) => this.waiting.set(owner, resolve));
  }

  withdraw(owner: object): void {
    const resolve = this.waiting.get(owner);
    if (!resolve) return;
    this.waiting.delete(owner);
    resolve(false);
  }

  release(): void {
    this.used--;
    this.pump();
  }

  /** A launch ahead of its boundary without a slot: at most `limit` at once. */
  tryStandby(): boolean {
    if (this.standby >= this.max) return false;
    this.standby++;
    return true;
  }

  releaseStandby(): void {
    this.standby--;
  }

  setLimit(limit: number): void {
    this.max = limit;
    this.pump();
  }

  private pump(): void {
    for (const [owner, resolve] of this.waiting) {
      if (this.used >= this.max) return;
      this.used++;
      this.waiting.delete(owner);
      resolve(true);
    }
  }
}
