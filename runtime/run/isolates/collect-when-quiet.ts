/**
 * One full garbage collection in a warm worker once its runs have been quiet
 * for QUIET_MS. An idle thread allocates nothing, so V8 never collects there:
 * what a burst of runs left (dropped contexts, ~150 KB each, and their
 * Buffers) would stay in the worker's heap until its next burst, counted in
 * the host's RSS the whole time. One collection after a burst costs ~6 ms
 * (~10 ms of CPU with V8's helper threads, measured with 30 to 1,000 dropped
 * contexts), once, while nothing waits for it.
 */
import v8 from "node:v8";
import vm from "node:vm";

/** Runs this far apart belong to one burst: no collection between them (a run every second is not idleness). */
export const QUIET_MS = 2_000;

/**
 * V8's gc(), or null. Node offers it only under --expose-gc, a flag for the
 * whole process that would put a `gc` global into every context made while it
 * is on; it is on for the one context that hands the function out, then off
 * again (a context another worker makes within those microseconds sees a
 * harmless `gc` too). Left alone when the process runs with --expose-gc.
 */
function fetchGc(): (() => void) | null {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === "function") return own as () => void;
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc: unknown = vm.runInNewContext("gc");
    return typeof gc === "function" ? (gc as () => void) : null;
  } catch {
    return null;
  } finally {
    v8.setFlagsFromString("--no-expose-gc");
  }
}

export class QuietCollector {
  private timer: NodeJS.Timeout | undefined;
  /** Collections done (tests). */
  collections = 0;

  constructor(
    /** Whether no run is loaded or running now. */
    private readonly idle: () => boolean,
    /** Told after each collection. */
    private readonly collected: () => void,
    private readonly gc: (() => void) | null = fetchGc(),
    private readonly quietMs = QUIET_MS,
  ) {}

  /** A run ended: the worker collects once it has been idle for quietMs since. */
  ranOut(): void {
    if (!this.gc) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A run loaded meanwhile: its end arms the timer again.
      if (!this.idle()) return;
      this.gc!();
      this.collections++;
      this.collected();
    }, this.quietMs).unref();
  }
}
