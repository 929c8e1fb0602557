import type { RunStatus, RunTrigger } from "../store/ledger.ts";

export interface RetryInput {
  status: RunStatus;
  trigger: RunTrigger;
  attempt: number;
  retryCount: number;
  retryDelaySec: number;
  /** When the run ended. */
  now: number;
  stopping: boolean;
}

/**
 * Whether a retry follows a run that ended, and when: after a failure or a
 * timeout, while attempts are left, never for a manual or backfill run (whoever
 * started it sees the result) and never once the host is stopping. The one place
 * this rule lives: run.end carries its answer (`retryAt`) to the notifier.
 */
export function decideRetry(input: RetryInput): { at: number } | null {
  if (input.status !== "failure" && input.status !== "timeout") return null;
  if (input.trigger === "manual" || input.trigger === "backfill" || input.stopping || input.attempt > input.retryCount) return null;
  return { at: input.now + input.retryDelaySec * 1000 };
}
