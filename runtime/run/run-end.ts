/**
 * How a run ends once its code said `done`, the same under every isolation
 * level (worker-run.ts, isolates/isolate-run.ts): a run the host forced to end
 * (a timeout, a shutdown) keeps that status, unless it completed its work
 * within a shutdown's grace.
 */
import type { EndStatus } from "../scheduler/run-launcher.ts";
import type { SerializedError } from "./worker-protocol.ts";

/** Set when the host forces a run to end; `completedCounts`: a run that still completes succeeds (a shutdown's grace). */
export interface ForcedEnd {
  status: "timeout" | "interrupted";
  reason: string;
  completedCounts: boolean;
}

/** The reason of a run whose go came past its deadline (issue 10.8): its code never began. */
export const NOT_BEGUN = "taskhost: not begun: the machine froze between its start and its code's beginning";

export function doneOutcome(forced: ForcedEnd | null, done: { ok: true } | { ok: false; error: SerializedError }): { status: EndStatus; reason: string | null } {
  // A task that honoured ctx.signal after a timeout still timed out.
  if (forced && !(forced.completedCounts && done.ok)) return { status: forced.status, reason: forced.reason };
  return done.ok ? { status: "success", reason: null } : { status: "failure", reason: done.error.stack ?? done.error.message };
}
