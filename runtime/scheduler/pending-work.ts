/**
 * The asynchronous work a component started and has not seen finish (ledger
 * writes, runs): stop() waits for it, and tests wait for it instead of
 * sleeping. A failure is handed to `onError` once, never thrown at the caller.
 */
export class PendingWork {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly onError: (what: string, error: unknown) => void) {}

  get size(): number {
    return this.pending.size;
  }

  /** Runs `work` in the background; `what` names it in the log if it fails. */
  track(what: string, work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => this.onError(what, error)).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /** Waits for `work` too, leaving its failure to whoever else awaits it. */
  watch(work: Promise<unknown>): void {
    const watched = work.then(
      () => {},
      () => {},
    ).finally(() => this.pending.delete(watched));
    this.pending.add(watched);
  }

  /**
   * Resolves once nothing is pending, including work started while waiting
   * and in the turn of the event loop after the last piece ended.
   */
  async idle(): Promise<void> {
    for (;;) {
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
      await new Promise((resolve) => setImmediate(resolve));
      if (this.pending.size === 0) return;
    }
  }
}
