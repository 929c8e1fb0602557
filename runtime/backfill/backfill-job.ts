/**
 * One backfill as it is reported and kept on disk (`data/backfills/<id>.json`):
 * what it was asked, the occurrences it planned, and what became of each.
 */
export type BackfillState = "running" | "done" | "cancelled" | "failed";

export interface BackfillStep {
  /** The occurrence (ISO). */
  at: string;
  /** The run it got; null when the ledger already had one for it (another host, or an earlier life). */
  runId: number | null;
  /** The run's status, or "already-run". */
  status: string;
  error: string | null;
}

export interface BackfillJob {
  id: string;
  taskId: string;
  scheduleId: string;
  method: string;
  from: string;
  to: string;
  max: number;
  createdAt: string;
  state: BackfillState;
  /** Every occurrence it will run, oldest first (ISO). */
  planned: string[];
  /** What happened to the first `done.length` of them. */
  done: BackfillStep[];
  /** Occurrences of the range that already had a run when it was planned. */
  alreadyRun: number;
  /**
   * Occurrences of the range left out because pruning (database.history_per_task) removed the
   * task's runs up to or beyond them: they may have run. Absent in files of older versions.
   */
  pruned?: number;
  /** The range held more occurrences without a run than `max`. */
  more: boolean;
  /** Why it stopped early (failed), who cancelled it, or why it planned nothing. */
  note: string | null;
  finishedAt: string | null;
  /** A plan only (dry run): nothing was saved or started, and its id names nothing. */
  dryRun?: true;
}

export interface BackfillRequest {
  /** `<task>` or `<task>#<method>`. */
  target: string;
  /** ISO date-times, read in the schedule's zone unless they carry an offset. */
  from: string;
  to: string;
  max?: number;
  dryRun?: boolean;
}

/** The next occurrence it will run, or null when it has run them all. */
export function nextStep(job: BackfillJob): string | null {
  return job.state === "running" ? (job.planned[job.done.length] ?? null) : null;
}
