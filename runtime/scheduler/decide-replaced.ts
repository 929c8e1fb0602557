/** A run of this host, as the overlap: replace decision across hosts needs it. */
export interface RunningHere {
  scheduleId: string;
  scheduledFor: number;
  overlap: string;
}

/**
 * overlap: replace across hosts (a shared ledger): which of this host's
 * running runs a newer occurrence of their schedule, in flight on another
 * host, replaces, as a newer local one would.
 */
export function decideReplacedElsewhere<T extends RunningHere>(here: readonly T[], elsewhere: ReadonlyArray<{ scheduleId: string; scheduledFor: number | null }>): T[] {
  return here.filter((run) => run.overlap === "replace" && elsewhere.some((o) => o.scheduleId === run.scheduleId && (o.scheduledFor ?? 0) > run.scheduledFor));
}
