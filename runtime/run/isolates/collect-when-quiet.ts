/**
 * One full garbage collection in a warm worker once its runs have been quiet
 * for QUIET_MS, if they left at least MIN_GARBAGE_BYTES behind. An idle thread
 * allocates little, so V8 seldom collects there: what a burst of runs left
 * (dropped contexts, ~150 KB each, and their Buffers) would stay in the
 * worker's heap until its next burst, counted in the host's RSS. A collection
 * costs ~6 ms (~10 ms of CPU with V8's helper threads, measured with 30 to
 * 1,000 dropped contexts), while nothing waits for it; the threshold keeps a
 * worker whose runs come every few seconds from paying that after each of
 * them (every 5 s, 3 workers: ~0.6 % of a core). vm.measureMemory's eager
 * mode collects as well without a flag, but costs ~63 ms of CPU (measured).
 */
import v8 from "node:v8";
import vm from "node:vm";

/** Runs this far apart belong to one burst: no collection between them (a run every second is not idleness). */
export const QUIET_MS = 2_000;
/** Growth of the heap and Buffers since the last collection (V8's or this one's) worth one: ~25 dropped contexts. */
export const MIN_GARBAGE_BYTES = 4 * 1024 * 1024;
/** How soon a worker that found the --expose-gc switch held by another tries again (the switch takes microseconds). */
export const LOCK_RETRY_MS = 20;

/**
 * V8's gc(), or null. Node offers it only under --expose-gc, a flag of the
 * whole process that puts a `gc` global into every context made while it is
 * on: it is on for the one context that hands the function out, then off
 * again, with `lock` held (shared by every pool worker of the process) so that
 * two workers never switch it at once. A context another thread makes within
 * those microseconds gets a `gc` too (run-realm.ts does not pass the worker's
 * on). Never switched when the host itself runs with the flag in any form
 * (`hostExposesGc`): its own gc is used, or none. undefined: another worker
 * holds the lock (never waited for: a worker terminated while holding it
 * would hang every waiter), try again in LOCK_RETRY_MS.
 */
export function fetchGc(lock: Int32Array, hostExposesGc: boolean): (() => void) | null | undefined {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === "function") return own as () => void;
  if (hostExposesGc) return null;
  if (Atomics.compareExchange(lock, 0, 0, 1) !== 0) return undefined;
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc: unknown = vm.runInNewContext("gc");
    return typeof gc === "function" ? (gc as () => void) : null;
  } catch {
    return null;
  } finally {
    v8.setFlagsFromString("--no-expose-gc");
    Atomics.store(lock, 0, 0);
  }
}

export class QuietCollector {
  private timer: NodeJS.Timeout | undefined;
  /** The least the heap held since the last collection: growth over it is garbage a collection may free. */
  private floor: number;
  /** What the host was last told the worker retains (after its latest run, or a collection). */
  private reported = 0;
  /** V8's gc(), fetched at the first collection (not at boot, when the pool's workers start together). */
  private gc: (() => void) | null | undefined;
  /** Collections done (tests). */
  collections = 0;

  constructor(
    /** Whether no run is loaded or running now. */
    private readonly idle: () => boolean,
    /** The worker's heap and Buffers now. */
    private readonly heapBytes: () => number,
    /** Tells the host what the worker retains now (`bytes`): after a collection, or after V8 collected on its own. */
    private readonly report: (bytes: number) => void,
    /** fetchGc, bound to the worker's lock. */
    private readonly fetch: () => (() => void) | null | undefined,
  ) {
    this.floor = heapBytes();
  }

  /** A run ended, and the host was told the worker retains `retainedBytes`: the worker collects once it has been idle for QUIET_MS since. */
  ranOut(retainedBytes: number): void {
    this.reported = retainedBytes;
    if (this.gc === null) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.quiet(), QUIET_MS).unref();
  }

  private quiet(): void {
    this.timer = undefined;
    // A run loaded meanwhile: its end arms the timer again.
    if (!this.idle()) return;
    const now = this.heapBytes();
    if (now - this.floor < MIN_GARBAGE_BYTES) {
      // V8 collected on its own since: growth counts from there, and the host learns what is left.
      this.floor = Math.min(this.floor, now);
      if (now <= this.reported - MIN_GARBAGE_BYTES) this.told(now);
      return;
    }
    this.gc ??= this.fetch();
    if (this.gc === undefined) {
      // Another worker is fetching (the workers of a burst fall quiet together): again in a moment.
      this.timer = setTimeout(() => this.quiet(), LOCK_RETRY_MS).unref();
      return;
    }
    // null: no collection in this worker, ever.
    if (!this.gc) return;
    // Twice: dropped Buffers' memory goes back (and leaves V8's count of external memory) only at
    // the collection after the one that found them dead (measured: a dropped 16-MB Buffer, RSS 105
    // MB after one, 57 MB after the second); the second, on a heap now small, costs ~2 ms.
    this.gc();
    this.gc();
    this.collections++;
    this.floor = this.heapBytes();
    this.told(this.floor);
  }

  private told(bytes: number): void {
    this.reported = bytes;
    this.report(bytes);
  }
}
