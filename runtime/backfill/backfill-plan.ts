/**
 * Which occurrences a backfill runs: those of the schedule in [from, to] (its
 * own zone and window, the host's maths) that have no recorded run, oldest
 * first, at most `max`. Never one at or before the point pruning reached in
 * the task's history (database.history_per_task): whether it ran is no longer
 * known, and "no recorded run" would run it a second time. Pure: the caller
 * brings what the ledger recorded.
 */
import { nextRun, onceInstant, type ScheduleWindow } from "../schedule/next-run.ts";
import type { ScheduleSpec } from "../schedule/schedule-spec.ts";
import { taskhostError } from "../errors.ts";

/** Occurrences looked at, at most, however many already ran (a range too dense for a backfill). */
export const SCAN_LIMIT = 100_000;
/** `--max` may not go beyond this. */
export const MAX_BACKFILL = 10_000;
export const DEFAULT_MAX = 100;

export interface BackfillPlan {
  /** Oldest first. */
  occurrences: number[];
  /** Occurrences of the range that already have a run. */
  alreadyRun: number;
  /** Occurrences of the range at or before `prunedThrough`: not run, as they may have run. */
  pruned: number;
  /** More occurrences without a run than `max`: the plan holds the oldest `max`. */
  more: boolean;
  /** Why the plan holds nothing (null when it holds something): a range already run, still to come, or empty. */
  emptyBecause: string | null;
}

/** What a plan says of the occurrences it left out because the task's older runs were pruned. */
function prunedNote(pruned: number, prunedThrough: number): string {
  return (
    `${pruned} occurrence(s) up to ${new Date(prunedThrough).toISOString()} are older than the task's kept history ` +
    "(database.history_per_task pruned its runs there), so whether they ran is not known, and they are not run"
  );
}

/** Why a plan holds no occurrence, for the user who asked for it. */
function emptyBecause(alreadyRun: number, from: number, to: number, now: number, pruned: string | null): string {
  if (pruned) return alreadyRun > 0 ? `${pruned}; the other ${alreadyRun} already have a run` : pruned;
  const ahead = to > now ? (from > now ? "the range is still to come" : "the rest of the range is still to come") : null;
  const toCome = ahead ? `; ${ahead}, and its occurrences are the scheduler's (a backfill runs only past ones)` : "";
  if (alreadyRun > 0) return `every ${ahead ? "past " : ""}occurrence of the range already has a run${toCome}`;
  if (ahead && from > now) return `${ahead}: its occurrences are the scheduler's (a backfill runs only past ones)`;
  return `the schedule has no ${ahead ? "past " : ""}occurrence in the range${toCome}`;
}

/** An ISO date-time of `--from`/`--to` in the schedule's zone (or at its own offset / Z). */
export function rangeInstant(text: string, zone: string, flag: string): number {
  try {
    return onceInstant(text.trim(), zone);
  } catch {
    throw taskhostError("ERR_BAD_REQUEST", `${flag} ${JSON.stringify(text)} is not an ISO date-time like "2026-11-01T00:00" (read in ${zone}) or "2026-11-01T00:00Z"`, { field: flag.replace(/^--/, "") });
  }
}

export function planBackfill(input: {
  spec: ScheduleSpec;
  zone: string;
  window: ScheduleWindow;
  from: number;
  to: number;
  /** scheduledFor of the runs recorded for this schedule in the range. */
  recorded: ReadonlySet<number>;
  /** The ledger's prunedThrough for the task: occurrences at or before it are left out. */
  prunedThrough: number | null;
  max: number;
  now: number;
}): BackfillPlan {
  const { spec, zone, window, from, recorded } = input;
  if (!Number.isInteger(input.max) || input.max < 1 || input.max > MAX_BACKFILL) {
    throw taskhostError("ERR_BAD_REQUEST", `max must be a whole number from 1 to ${MAX_BACKFILL}`, { field: "max" });
  }
  if (input.to < from) throw taskhostError("ERR_BAD_REQUEST", "the range ends before it starts (--to is before --from)", { field: "to" });
  // A backfill is for the past: occurrences still to come are the scheduler's.
  const to = Math.min(input.to, input.now);
  const occurrences: number[] = [];
  let alreadyRun = 0;
  let pruned = 0;
  let at = nextRun(spec, from - 1, zone, window);
  for (let scanned = 0; at !== null && at <= to; scanned++) {
    if (scanned >= SCAN_LIMIT) {
      throw taskhostError("ERR_BAD_REQUEST", `the range holds more than ${SCAN_LIMIT} occurrences of this schedule; backfill a shorter range`, { field: "from" });
    }
    if (recorded.has(at)) alreadyRun++;
    else if (input.prunedThrough !== null && at <= input.prunedThrough) pruned++;
    else if (occurrences.length < input.max) occurrences.push(at);
    else return { occurrences, alreadyRun, pruned, more: true, emptyBecause: null };
    at = nextRun(spec, at, zone, window);
  }
  const prunedText = pruned > 0 ? prunedNote(pruned, input.prunedThrough!) : null;
  return { occurrences, alreadyRun, pruned, more: false, emptyBecause: occurrences.length === 0 ? emptyBecause(alreadyRun, from, input.to, input.now, prunedText) : null };
}
