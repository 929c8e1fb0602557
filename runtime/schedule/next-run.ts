/**
 * nextRun: the first occurrence of a schedule strictly after an instant.
 *
 * Semantics (all in the schedule's zone; "T" = local seconds since local midnight):
 * - every(n).seconds|minutes|hours (+offsetSec): the local wall times whose T
 *   satisfies T >= offsetSec and (T - offsetSec) % (n * unit) == 0. The grid
 *   restarts at every local midnight: every(7).minutes runs 00:00, 00:07, ...,
 *   23:55, then 00:00 of the next day.
 * - every(n).days (+offsetSec): local midnight (+offsetSec) of the local dates
 *   whose day number (days since 1970-01-01) is divisible by n.
 * - weekly: that weekday at offsetSec after local midnight.
 * - cron: croner's matching of the expression against local wall time (5 or 6
 *   fields, seconds first when 6; day-of-month OR day-of-week like Vixie cron).
 * - once: the ISO date-time read in the zone, or at its explicit offset/Z;
 *   returned only if it lies after `from`.
 * DST rule, the same for every form (see wall-clock.ts):
 * - a wall time skipped by spring-forward runs ONCE at the transition instant
 *   (02:30 on a US spring-forward day runs at 03:00 local); several skipped
 *   grid points collapse into that one run, which is also the run of a grid
 *   point falling exactly on the transition (03:00), never two runs;
 * - a repeated wall time (fall-back) runs ONCE, at its first (earlier-offset)
 *   instant; the second pass through the repeated hour runs nothing.
 * Window: [start, end] in epoch ms, both inclusive; null when no occurrence is left.
 *
 * Pure: the clock is the caller's `from`. Specs are trusted here (validated by
 * the builders or validate-spec.ts); zone must be an IANA name (resolve-zone.ts).
 *
 * Cost: every/weekly need a few cached offset look-ups and integer maths
 * (well under a microsecond); cron adds croner's matcher (~10-40 µs).
 */
import type { ScheduleSpec } from "./schedule-spec.ts";
import { nextGridWall } from "./next-grid-wall.ts";
import { parseOnce } from "./parse-once.ts";
import { repeatEndWall, wallToInstant } from "./wall-clock.ts";
import { offsetAt } from "./zone-offset.ts";

export interface ScheduleWindow {
  start?: number;
  end?: number;
}

export function nextRun(spec: ScheduleSpec, from: number, zone: string, window?: ScheduleWindow): number | null {
  const start = window?.start;
  const end = window?.end;
  // "> start - 1" is ">= start" on whole ms, which is what occurrences are.
  const after = start !== undefined && start - 1 > from ? start - 1 : from;
  const next = spec.kind === "once" ? onceInstant(spec.at, zone) : nextRepeating(spec, after, zone);
  if (next === null || next <= after) return null;
  if (end !== undefined && next > end) return null;
  return next;
}

/** The instant a `once` string denotes in `zone`. */
export function onceInstant(at: string, zone: string): number {
  const { wall, offsetMs } = parseOnce(at);
  return offsetMs === null ? wallToInstant(zone, wall) : wall - offsetMs;
}

function nextRepeating(spec: Exclude<ScheduleSpec, { kind: "once" }>, from: number, zone: string): number | null {
  let wall = nextGridWall(spec, from + offsetAt(zone, from));
  // wallToInstant is monotone, so the first grid wall whose instant is > from
  // is the answer. Only inside the second pass of a repeated hour can a later
  // wall map to an instant <= from (it ran in the first pass): skip to where
  // the repetition ends instead of walking it point by point. The guard only
  // protects against pathological tz data (several transitions in a day).
  for (let guard = 0; wall !== null && guard < 8; guard++) {
    const instant = wallToInstant(zone, wall);
    if (instant > from) return instant;
    const resume = repeatEndWall(zone, from);
    wall = resume !== null && resume > wall ? nextGridWall(spec, resume - 1) : nextGridWall(spec, wall);
  }
  return null;
}
