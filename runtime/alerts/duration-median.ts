/**
 * The recent durations of each schedule's successful runs, for the "slow"
 * rule. A median (not a mean) so one stuck run does not move the bar.
 */
export class DurationMedian {
  private readonly samples = new Map<string, number[]>();

  constructor(
    /** Durations kept per schedule. */
    private readonly keep = 50,
    /** Fewer samples than this: no median yet (a new task is never "slow"). */
    readonly minSamples = 5,
  ) {}

  add(key: string, durationMs: number): void {
    const list = this.samples.get(key) ?? [];
    list.push(durationMs);
    if (list.length > this.keep) list.splice(0, list.length - this.keep);
    this.samples.set(key, list);
  }

  /** Older durations (from the ledger) go first; already-seen ones stay newest. */
  seed(key: string, durationsOldestFirst: readonly number[]): void {
    const list = [...durationsOldestFirst, ...(this.samples.get(key) ?? [])];
    this.samples.set(key, list.slice(-this.keep));
  }

  has(key: string): boolean {
    return this.samples.has(key);
  }

  median(key: string): number | null {
    const list = this.samples.get(key);
    if (!list || list.length < this.minSamples) return null;
    const sorted = [...list].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  }
}
