/**
 * The host's side of one run's memory (issue 10.5): its reports go into the
 * book, and a report over its memory_limit ends the run (and only the run) as
 * a failure naming memory and the figures.
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
  const entry: RunMemoryEntry = {
    label: options.label,
    limitBytes: options.limitMb * 1024 * 1024,
    since: Date.now(),
    last: null,
    stop: options.stop,
  };
  const leave = (options.book ?? runMemoryBook).add(entry);
  let stopped = false;
  worker.on("message", (message: RunMemoryReport) => {
    if (message?.type !== "memory") return;
    entry.last = { ...message, at: Date.now() };
    const problem = runMemoryProblem(message, entry.limitBytes);
    if (problem && !stopped) {
      stopped = true;
      options.stop(problem);
    }
  });
  worker.once("exit", leave);
}
