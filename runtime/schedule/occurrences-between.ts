/**
 * All occurrences in (afterExclusive, untilInclusive], ascending — the runs
 * missed while the host was down or asleep. Capped by `limit` (the earliest
 * `limit` are returned; a result of exactly `limit` entries may be truncated)
 * so that every(1).seconds over a week-long outage cannot allocate millions.
 */
import type { ScheduleSpec } from "./schedule-spec.ts";
import { nextRun, type ScheduleWindow } from "./next-run.ts";

export const DEFAULT_OCCURRENCE_LIMIT = 1000;

export function occurrencesBetween(
  spec: ScheduleSpec,
  afterExclusive: number,
  untilInclusive: number,
  zone: string,
  window?: ScheduleWindow,
  limit: number = DEFAULT_OCCURRENCE_LIMIT,
): number[] {
  const end = window?.end === undefined ? untilInclusive : Math.min(window.end, untilInclusive);
  const bounded: ScheduleWindow = { start: window?.start, end };
  const out: number[] = [];
  let from = afterExclusive;
  while (out.length < limit) {
    const next = nextRun(spec, from, zone, bounded);
    if (next === null) break;
    out.push(next);
    from = next;
  }
  return out;
}
