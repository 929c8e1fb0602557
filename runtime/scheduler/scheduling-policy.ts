/**
 * The numbers and words of taskhost's scheduling rules, shared by the pure
 * decisions (decide-*.ts, plan-catch-up.ts) and the coordinator.
 */
import type { CatchUpPolicy } from "../task-file/task-meta.ts";

/** A timer that fires later than this found the machine asleep, the clock stepped, or the host down. */
export const LATE_MS = 1000;
/**
 * How long before its instant a run whose code is loaded (and nothing of its
 * task in flight) is told to go: what the host does before a run begins (its
 * admission, its state read, on a shared ledger the fenced start: two round
 * trips) is done by then, and the run's thread waits for the instant itself.
 * Measured: the host spends 0.3-1 ms a run on that path, a PostgreSQL round trip
 * takes 1-10 ms on a busy machine; 10 jobs due together fit well within it.
 */
export const GO_AHEAD_MS = 50;
/**
 * The same on a ledger other hosts share, where that path is two PostgreSQL
 * statements (the overlap check across hosts and the fenced start) through a
 * pool of 4 connections: with 3 hosts on 2 cores, 10 runs due together took
 * up to 45 ms (traced), so 50 ms left some of them told after their instant.
 */
export const SHARED_GO_AHEAD_MS = 150;
/** No single timer waits longer (clock steps and suspends are noticed within this). */
export const MAX_WAIT_MS = 30_000;
/** Like Kubernetes CronJob: at most this many missed occurrences are caught up or recorded one by one. */
export const CATCH_UP_LIMIT = 100;
/** overlap: queue keeps at most this many occurrences waiting; later ones are skipped. */
export const QUEUE_LIMIT = 100;
/**
 * A schedule the ledger refused to this host (its task paused by another host,
 * this host's lease lapsed) is not claimed again for this long, unless another
 * host's change to it is seen sooner (a shared ledger only; see ScheduleBook).
 */
export const HOLD_MS = 2000;
/** How soon a claim the ledger could not be reached for (ERR_DB_UNREACHABLE) is tried again. */
export const UNREACHABLE_RETRY_MS = 3000;
/** Missed occurrences counted one by one at most (every second for ~28 h); beyond, the count is a floor. */
export const COUNT_LIMIT = 100_000;

/** Why an occurrence was recorded `skipped` (the alerts and the run.skipped event carry it). */
export type SkipCode =
  /** overlap: skip, and the previous run still runs. */
  | "overlap"
  /** overlap: skip, and the previous run has not begun: it still waits for a run slot. */
  | "overlap-slot"
  /** overlap: queue, and the queue is full. */
  | "queue-full"
  /** It waited for a free run slot until its schedule's next occurrence was due. */
  | "slot-wait"
  /** overlap: replace, and a newer occurrence came before it started. */
  | "replaced"
  /** Missed while the host was down or asleep; catch_up says it is not run. */
  | "missed"
  /** Admitted, it had not begun (waiting for a run slot, or loading) when its task file was removed. */
  | "removed";

/** The text recorded as the skipped run's error. */
export function skipMessage(code: SkipCode, catchUp: CatchUpPolicy): string {
  switch (code) {
    case "overlap":
      return "skipped: the previous run was still running (overlap: skip)";
    case "overlap-slot":
      return "skipped: the previous run was still waiting for a free run slot (scheduler.max_concurrent_runs; overlap: skip)";
    case "queue-full":
      return `skipped: ${QUEUE_LIMIT} occurrences already queued (overlap: queue)`;
    case "slot-wait":
      return "skipped: it waited for a free run slot (scheduler.max_concurrent_runs) until its next occurrence was due";
    case "removed":
      return "skipped: its task file was removed before it began";
    case "replaced":
      return "skipped: a newer occurrence replaced it before it started (overlap: replace)";
    case "missed":
      return catchUp === "once"
        ? "skipped: missed while the host was down or asleep; the catch-up run stands for it (catch_up: once)"
        : `skipped: missed while the host was down or asleep (catch_up: ${catchUp})`;
  }
}
