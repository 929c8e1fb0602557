/**
 * What a runtime has built, closed in reverse order: the one teardown list of
 * a start that fails half-way and of a stop. Each step runs at most once; one
 * that fails is reported and the rest still close (a stop must not leave the
 * ledger or the lock behind because the dashboard would not close). The
 * components' own close() are memoized too: a component may also be closed on
 * its own (a reload replaces it) before the stack gets to it.
 */
export interface Closable {
  close(): Promise<void> | void;
}

export class DisposerStack {
  private readonly steps: Array<{ name: string; close: () => Promise<void> | void }> = [];
  private disposing: Promise<void> | null = null;

  constructor(private readonly onError: (name: string, error: unknown) => void) {}

  /** Registers a step to run on dispose(), after every step registered later. */
  defer(name: string, close: () => Promise<void> | void): void {
    if (this.disposing) throw new Error(`taskhost: ${name} was built after its runtime began closing`);
    this.steps.push({ name, close });
  }

  /** Registers a component's close() and returns the component. */
  use<T extends Closable>(name: string, component: T): T {
    this.defer(name, () => component.close());
    return component;
  }

  /** Closes everything in reverse order of registration; memoized. */
  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      for (const step of [...this.steps].reverse()) {
        await Promise.resolve()
          .then(step.close)
          .catch((error: unknown) => this.onError(step.name, error));
      }
    })();
    return this.disposing;
  }
}
