/**
 * What each run in flight last reported of its memory (report-run-memory.ts),
 * kept on the host's thread: the per-run limit is checked against it, and the
 * host's memory check subtracts it from the process's RSS to see its own share
 * (issue 11.2). One book per host process: runs register as their worker
 * starts and leave when it exits.
 */
import type { RunMemoryReport } from "./report-run-memory.ts";

const MB = 1024 * 1024;

export interface RunMemoryEntry {
  /** The schedule id, for messages. */
  readonly label: string;
  readonly limitBytes: number;
  /** When its worker started (ms). */
  readonly since: number;
  /** The latest report, or null before the first. */
  last: (RunMemoryReport & { at: number }) | null;
  /** Ends the run as a failure with this message. */
  stop(reason: string): void;
  /**
   * A pooled worker between runs: what its last run left it occupying counts
   * with the runs' (the pool bounds it: workers are recycled past 64 MB of
   * growth), and it is never silent (it reports only while it serves a run).
   */
  readonly idle?: boolean;
}

export class RunMemoryBook {
  private readonly entries = new Set<RunMemoryEntry>();

  add(entry: RunMemoryEntry): () => void {
    this.entries.add(entry);
    return () => this.entries.delete(entry);
  }

  runs(): RunMemoryEntry[] {
    return [...this.entries];
  }
}

/** The host process's book (worker threads are the host's; there is one host per process). */
export const runMemoryBook = new RunMemoryBook();

/** What a run holds against its memory_limit: its live heap and its off-heap memory. */
export function heldBytes(report: RunMemoryReport): number {
  return report.heapUsed + report.external;
}

/** What a run occupies in the process: its committed heap and its off-heap memory. */
export function occupiedBytes(report: RunMemoryReport): number {
  return report.heapTotal + report.external;
}

/** Why a run ended when V8 could not grow its heap within its memory_limit (the worker's heap limit), and what to do. */
export function heapOverrunMessage(memoryLimitMb: number): string {
  return `the run exceeded its memory_limit of ${memoryLimitMb} MB on its heap and was stopped; if it needs more, raise memory_limit in the task's frontmatter`;
}

/** Why a run must stop for its memory, or null while it is within its limit. */
export function runMemoryProblem(report: RunMemoryReport, limitBytes: number): string | null {
  if (heldBytes(report) <= limitBytes) return null;
  return (
    `the run used ${mb(heldBytes(report))} MB of memory (${mb(report.heapUsed)} MB on its heap, ` +
    `${mb(report.external)} MB in Buffers and ArrayBuffers), over its memory_limit of ${mb(limitBytes)} MB, and was stopped`
  );
}

export function mb(bytes: number): number {
  return Math.round(bytes / MB);
}
