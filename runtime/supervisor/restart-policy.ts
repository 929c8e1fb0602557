/**
 * When to respawn a host that crashed: exponential backoff (1 s, 2 s, 4 s … up
 * to a minute) that resets once a host has run stably, and giving up after
 * repeated crashes right at start — PM2's model.
 */
export interface RestartPolicyOptions {
  /** A host that ran this long is stable: the backoff starts over. */
  stableMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Give up after this many crashes in a row, each shorter than stableMs. */
  maxEarlyCrashes: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = Object.freeze({
  stableMs: 30_000,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  maxEarlyCrashes: 5,
});

export class RestartPolicy {
  private earlyCrashes = 0;

  constructor(private readonly options: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {}

  /** A crash after `ranMs`: the delay before the next start, or null to give up. */
  afterCrash(ranMs: number): number | null {
    if (ranMs >= this.options.stableMs) this.earlyCrashes = 0;
    this.earlyCrashes++;
    if (this.earlyCrashes >= this.options.maxEarlyCrashes && ranMs < this.options.stableMs) return null;
    return Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (this.earlyCrashes - 1));
  }

  get crashesInARow(): number {
    return this.earlyCrashes;
  }
}
