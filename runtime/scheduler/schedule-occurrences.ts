import { nextRun } from "../schedule/next-run.ts";
import { latestOccurrences } from "../schedule/occurrences-between.ts";
import type { TaskSchedule } from "../task-file/loaded-task.ts";

/** A schedule's occurrences as the decisions ask for them: pure maths, the clock is the caller's. */
export interface Occurrences {
  /** The first occurrence strictly after `from`; null when none is left. */
  after(from: number): number | null;
  /** The latest `limit` occurrences in (after, until], oldest first, and whether older ones were left out. */
  latest(after: number, until: number, limit: number): { occurrences: number[]; more: boolean };
  /** How many occurrences fall in (after, until], counting at most `cap`. */
  count(after: number, until: number, cap: number): number;
}

export function occurrencesOf(schedule: Pick<TaskSchedule, "spec" | "zone" | "window">): Occurrences {
  const { spec, zone, window } = schedule;
  const after = (from: number) => nextRun(spec, from, zone, window);
  return {
    after,
    latest: (from, until, limit) => latestOccurrences(spec, from, until, zone, window, limit),
    count(from, until, cap) {
      let n = 0;
      for (let at = after(from); at !== null && at <= until && n < cap; at = after(at)) n++;
      return n;
    },
  };
}
