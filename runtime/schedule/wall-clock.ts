/**
 * Wall-clock <-> instant conversion under the taskhost DST rule.
 *
 * A "wall" value is a local date-time encoded as if it were UTC epoch ms
 * (wall = instant + offset). Day and time-of-day arithmetic on walls is plain
 * integer maths, which is what keeps the grid computations fast.
 *
 * DST rule (shared by every schedule form):
 * - a wall time that exists once maps to its instant;
 * - a wall time that occurs twice (fall-back) maps to its FIRST instant (the
 *   earlier one, with the larger, pre-transition offset);
 * - a wall time that a spring-forward skips maps to the transition instant,
 *   the first instant after the gap (02:30 on a US spring-forward day -> 03:00).
 * This makes wallToInstant monotone non-decreasing, so "first wall time whose
 * instant is > from" is a well-defined next occurrence.
 */
import { exactOffsetMs, offsetAt } from "./zone-offset.ts";

const DAY_MS = 86_400_000;

/**
 * The instant of a wall time. Offsets are probed a day either side: real zone
 * offsets lie within ±14 h, so that brackets any transition affecting `wall`
 * (assumes at most one transition per ~48 h, true of the tz database).
 */
export function wallToInstant(zone: string, wall: number): number {
  const before = offsetAt(zone, wall - DAY_MS);
  const after = offsetAt(zone, wall + DAY_MS);
  if (before === after) return wall - before;
  const early = wall - before;
  const late = wall - after;
  const earlyValid = offsetAt(zone, early) === before;
  const lateValid = offsetAt(zone, late) === after;
  if (earlyValid && lateValid) return Math.min(early, late); // repeated: first instant
  if (earlyValid) return early;
  if (lateValid) return late;
  // Skipped: the gap spans (late, early]; run at the transition instant.
  return transitionAfter(zone, Math.min(early, late), Math.max(early, late));
}

/**
 * First instant in (lo, hi] whose offset differs from the offset at lo,
 * found by bisection on whole seconds (tz transitions are whole seconds).
 * Returns hi if there is no change (caller's bracket was wrong; harmless).
 */
export function transitionAfter(zone: string, lo: number, hi: number): number {
  const base = exactOffsetMs(zone, lo);
  let loS = Math.floor(lo / 1000);
  let hiS = Math.ceil(hi / 1000);
  if (exactOffsetMs(zone, hiS * 1000) === base) return hi;
  while (hiS - loS > 1) {
    const mid = Math.floor((loS + hiS) / 2);
    if (exactOffsetMs(zone, mid * 1000) === base) loS = mid;
    else hiS = mid;
  }
  return Math.max(hiS * 1000, lo + 1);
}

/**
 * When `from` lies in the second pass of a repeated (fall-back) period, the
 * wall time at which that repetition ends (the pre-transition offset resumes
 * counting from there), else null. Wall times before it already ran in the
 * first pass.
 */
export function repeatEndWall(zone: string, from: number): number | null {
  const now = offsetAt(zone, from);
  const earlier = offsetAt(zone, from - DAY_MS);
  if (earlier <= now) return null; // no fall-back within the last day
  const transition = transitionAfter(zone, from - DAY_MS, from);
  // Second pass iff we are still less than (earlier - now) past the transition.
  if (from >= transition + (earlier - now)) return null;
  return transition + earlier;
}
