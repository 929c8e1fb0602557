/**
 * The largest values taskhost can honour, shared by config/config.yaml and task
 * frontmatter (issue 10.11). A value past them is refused naming its key, never
 * silently changed: Node's timers take at most 2^31 − 1 ms and fire after 1 ms
 * beyond it, so `timeout: 1e300` used to time every run out at once.
 */
import os from "node:os";

/** setTimeout's largest delay. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** The longest duration in seconds a timer can wait: 2,147,483 s, about 24.8 days. */
export const MAX_DURATION_SEC = Math.floor(MAX_TIMER_MS / 1000);
/** Sampling memory more often is a busy loop for no gain. */
export const MIN_MEMORY_CHECK_INTERVAL_SEC = 0.1;
/** Each run is a thread of its own; more at once than this cannot be given memory or CPU. */
export const MAX_CONCURRENT_RUNS = 1000;
export const MAX_RETRY_COUNT = 1000;
/** Runs kept per task in the ledger, which is held in memory. */
export const MAX_HISTORY_PER_TASK = 1_000_000;
/** A memory figure over the machine's whole memory cannot be a limit. */
export const MACHINE_MEMORY_MB = Math.floor(os.totalmem() / (1024 * 1024));

export interface Bound {
  max: number;
  /** "seconds", "MB", "runs"... */
  unit: string;
  /** Why, in a few words, for the message. */
  why: string;
}

export const DURATION_BOUND: Bound = { max: MAX_DURATION_SEC, unit: "seconds", why: "about 24.8 days, the longest a timer can wait" };
export const MACHINE_MEMORY_BOUND: Bound = { max: MACHINE_MEMORY_MB, unit: "MB", why: "this machine's memory" };

/** The sentence ending a refusal of `value`, or null when it is within `bound`. */
export function overBound(value: number, bound: Bound): string | null {
  return value > bound.max ? `at most ${bound.max} ${bound.unit} (${bound.why}), got ${value}` : null;
}
