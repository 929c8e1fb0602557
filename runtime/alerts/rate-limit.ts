/**
 * "Not again until `repeat_after`": remembers when each key (task + rule) last
 * alerted. Pure bookkeeping; the caller passes the clock's time.
 */
export class RateLimit {
  private readonly last = new Map<string, number>();

  /** True (and remembered) when `key` has not fired within `windowMs` before `now`. */
  take(key: string, now: number, windowMs: number): boolean {
    const previous = this.last.get(key);
    if (previous !== undefined && now - previous < windowMs) return false;
    this.last.set(key, now);
    return true;
  }

  /** What an earlier host sent (newest first): the newest time of a key is kept. */
  seed(key: string, at: number): void {
    if (!this.last.has(key)) this.last.set(key, at);
  }

  /** What the fleet sent (the shared ledger): the later of it and what this host took stands. */
  observe(key: string, at: number): void {
    const previous = this.last.get(key);
    if (previous === undefined || previous < at) this.last.set(key, at);
  }

  /** When `key` last fired, as known here. */
  lastOf(key: string): number | undefined {
    return this.last.get(key);
  }

  /** A new incident starts afresh (e.g. failure after a recovery). */
  reset(key: string): void {
    this.last.delete(key);
  }
}
