/**
 * The host's side of one run's memory (issue 10.5), at every isolation level:
 * its reports go into the book, and a report over its memory_limit ends the
 * run (and only the run) as a failure naming memory and the figures.
 */
import type { Worker } from "node:worker_threads";
import type { RunMemoryReport } from "./report-run-memory.ts";
import { runMemoryBook, runMemoryProblem, type RunMemoryBook, type RunMemoryEntry } from "./run-memory-book.ts";

export interface WatchRunMemoryOptions {
  label: string;
  limitMb: number;
  /** Ends the run as a failure with `reason`. */
  stop(reason: string): void;
  book?: RunMemoryBook;
}

export function watchRunMemory(worker: Worker, options: WatchRunMemoryOptions): void {
  const watch = trackRunMemory(options);
  worker.on("message", (message: RunMemoryReport) => {
    if (message?.type === "memory") watch.report(message);
  });
  worker.once("exit", watch.leave);
}

export interface RunMemoryWatch {
  /** A report of the run's thread: recorded, and over the limit it stops the run (once). */
  report(message: RunMemoryReport): void;
  /** The run is over: it leaves the book. */
  leave(): void;
}

/** A run in the book from now until leave(), however its reports reach the host (a pooled worker's go through its tenant). */
export function trackRunMemory(options: WatchRunMemoryOptions): RunMemoryWatch {
  const entry: RunMemoryEntry = {
    label: options.label,
    limitBytes: options.limitMb * 1024 * 1024,
    since: Date.now(),
    last: null,
    stop: options.stop,
  };
  const leave = (options.book ?? runMemoryBook).add(entry);
  let stopped = false;
  return {
    report(message) {
      entry.last = { ...message, at: Date.now() };
      const problem = runMemoryProblem(message, entry.limitBytes);
      if (problem && !stopped) {
        stopped = true;
        options.stop(problem);
      }
    },
    leave,
  };
}
