/**
 * A run's memory, measured inside its worker thread (issue 10.5). V8's heap
 * limit (`memory_limit`, the worker's `maxOldGenerationSizeMb`) does not cover
 * Buffers and ArrayBuffers: they live outside the heap. This thread's own
 * isolate knows both, so it reports them to the host, which holds the run to
 * its limit (watch-run-memory.ts) and tells its own growth from its runs'
 * (host/watch-memory.ts).
 *
 * A timer reports, so a thread stuck in a synchronous loop (or a loop of
 * microtasks) falls silent: the host's memory check deals with silent runs.
 */
import v8 from "node:v8";
import type { MessagePort } from "node:worker_threads";

/** How often a run reports; the most a run can outgrow its limit by is what it allocates in this time. */
export const REPORT_INTERVAL_MS = 100;

export interface RunMemoryReport {
  type: "memory";
  /** Live objects on the V8 heap. */
  heapUsed: number;
  /** The heap's committed size (what it occupies in the process). */
  heapTotal: number;
  /** Off-heap memory V8 accounts for: Buffers, ArrayBuffers, typed arrays' stores. */
  external: number;
}

function measure(): RunMemoryReport {
  const heap = v8.getHeapStatistics();
  return { type: "memory", heapUsed: heap.used_heap_size, heapTotal: heap.total_heap_size, external: heap.external_memory };
}

/** Reports now and every REPORT_INTERVAL_MS while the thread lives. Call before task code loads. */
export function reportRunMemory(port: MessagePort): void {
  reportRunMemoryUntil(port);
}

/**
 * Reports now and every REPORT_INTERVAL_MS until the returned function is
 * called: a pooled worker (isolation context and task) reports only while it
 * serves a run, so an idle pool costs nothing.
 */
export function reportRunMemoryUntil(port: MessagePort): () => void {
  const report = () => {
    try {
      port.postMessage(measure());
    } catch {
      // The host let go of this thread.
    }
  };
  report();
  const timer = setInterval(report, REPORT_INTERVAL_MS).unref();
  return () => clearInterval(timer);
}
