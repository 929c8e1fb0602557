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

  /** Resolves once nothing is pending, including work started while waiting. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
