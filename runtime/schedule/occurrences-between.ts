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

/**
 * The latest `limit` occurrences in (afterExclusive, untilInclusive], ascending,
 * and whether older ones were left out. Catch-up keeps the newest (a week-long
 * outage of an every-second task catches up on its last moments, not its
 * first). The first `limit` + 1 occurrences measure how long `limit` of them
 * take; a window that long before `untilInclusive`, doubled until it holds
 * `limit`, usually answers in two or three short listings. A schedule much
 * denser near the end than at the start falls back to a binary search.
 */
export function latestOccurrences(
  spec: ScheduleSpec,
  afterExclusive: number,
  untilInclusive: number,
  zone: string,
  window: ScheduleWindow | undefined,
  limit: number,
): { occurrences: number[]; more: boolean } {
  const all = occurrencesBetween(spec, afterExclusive, untilInclusive, zone, window, limit + 1);
  if (all.length <= limit) return { occurrences: all, more: false };
  const cap = 4 * limit;
  let span = Math.max(1000, all[limit]! - all[0]!);
  for (let i = 0; i < 64; i++) {
    const from = Math.max(afterExclusive, untilInclusive - span);
    const listed = occurrencesBetween(spec, from, untilInclusive, zone, window, cap);
    if (listed.length >= cap) break; // the earliest `cap` of a dense stretch: not the latest
    if (listed.length >= limit || from === afterExclusive) return { occurrences: listed.slice(-limit), more: true };
    span *= 2;
  }
  const count = (from: number) => occurrencesBetween(spec, from, untilInclusive, zone, window, limit + 1).length;
  // count(lo) > limit, count(hi) < limit; find the last `from` that still sees `limit`.
  let lo = afterExclusive;
  let hi = untilInclusive;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (count(mid) >= limit) lo = mid;
    else hi = mid;
  }
  return { occurrences: occurrencesBetween(spec, lo, untilInclusive, zone, window, limit), more: true };
}
