import type { CatchUpPolicy } from "../task-file/task-meta.ts";
import type { Occurrences } from "./schedule-occurrences.ts";
import { CATCH_UP_LIMIT, COUNT_LIMIT, type SkipCode } from "./scheduling-policy.ts";

export interface CatchUpOccurrence {
  scheduledFor: number;
  /** Recorded skipped for this reason instead of run (catch_up: skip); null: it runs, trigger `catch-up`. */
  skipped: SkipCode | null;
  /**
   * It stands for older occurrences too, from `from` on, `count` of them with
   * itself: catch_up: once's single run, or the oldest of the 100 kept when
   * more were missed. null: only for itself.
   */
  covers: { from: number; count: number } | null;
}

export interface CatchUpPlan {
  /** What to claim, oldest first. */
  occurrences: CatchUpOccurrence[];
  /** The schedule's next run after the catch-up. */
  next: number | null;
  /** What was missed, for the log and the occurrence.missed event. */
  missed: { first: number; count: number; countIsFloor: boolean };
}

/**
 * Missed occurrences (host down, machine asleep, clock stepped), from the
 * schedule's stored next run `first` up to `now`, under the task's catch_up:
 * `once` runs the latest, standing for all of them; `all` runs the newest 100,
 * oldest first; `skip` records the newest 100 as skipped. Either way every
 * occurrence since `first` is accounted for: recorded, or covered by the
 * oldest recorded one (issue 10 item 14).
 */
export function planCatchUp(first: number, now: number, catchUp: CatchUpPolicy, occurrences: Occurrences): CatchUpPlan {
  const next = occurrences.after(now);
  const { occurrences: kept, more } = occurrences.latest(first - 1, now, CATCH_UP_LIMIT);
  if (kept.length === 0) return { occurrences: [], next, missed: { first, count: 0, countIsFloor: false } };
  const older = more ? occurrences.count(first - 1, kept[0]! - 1, COUNT_LIMIT) : 0;
  const count = kept.length + older;
  const missed = { first, count, countIsFloor: older >= COUNT_LIMIT };
  if (catchUp === "once") {
    const latest = kept[kept.length - 1]!;
    return { occurrences: [{ scheduledFor: latest, skipped: null, covers: count > 1 ? { from: first, count } : null }], next, missed };
  }
  const skipped: SkipCode | null = catchUp === "skip" ? "missed" : null;
  const planned = kept.map((scheduledFor, i) => ({
    scheduledFor,
    skipped,
    covers: i === 0 && older > 0 ? { from: first, count: older + 1 } : null,
  }));
  return { occurrences: planned, next, missed };
}
