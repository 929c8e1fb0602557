/**
 * croner, used as a pure pattern matcher on wall-clock values.
 *
 * Why not croner's own `timezone` option: croner follows Vixie cron on DST —
 * "interval" patterns (steps, lists, ranges such as `0-59/5 * * * *`) run on BOTH passes of a
 * repeated hour and skip times in a gap. The taskhost rule (run once, first
 * pass; skipped times run at the transition) must hold for every form, so
 * croner runs at utcOffset 0 over "wall" values (local time encoded as UTC ms)
 * and wall-clock.ts maps the result to an instant. It is also ~10x faster than
 * croner's timezone path (which goes through Intl on every step).
 */
import { Cron } from "croner";
import { ERR_SCHEDULE_INVALID, scheduleError } from "./schedule-errors.ts";

/** The contract allows 5 or 6 fields (6th = seconds first); croner also has @nicknames. */
const CRON_OPTIONS = { utcOffset: 0, paused: true, mode: "5-or-6-parts" } as const;

const compiled = new Map<string, Cron>();
const MAX_COMPILED = 10_000;

/** Parses `expr` with croner; throws ERR_SCHEDULE_INVALID quoting it on failure. */
export function compileCron(expr: string): Cron {
  let job = compiled.get(expr);
  if (job) return job;
  if (typeof expr !== "string" || expr.trim() === "") {
    throw scheduleError(
      ERR_SCHEDULE_INVALID,
      `taskhost schedule: cron(${JSON.stringify(expr)}) is invalid: give a cron expression such as "0 9 * * 1-5"`,
    );
  }
  try {
    job = new Cron(expr, CRON_OPTIONS);
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^CronPattern:\s*/, "") : String(err);
    throw scheduleError(
      ERR_SCHEDULE_INVALID,
      `taskhost schedule: cron(${JSON.stringify(expr)}) is invalid: ${reason}; ` +
        `use 5 fields "m h dom mon dow" or 6 with seconds first`,
    );
  }
  if (compiled.size >= MAX_COMPILED) compiled.clear();
  compiled.set(expr, job);
  return job;
}

/** Next wall value strictly after `wall` matching `expr`, or null if none ever. */
export function nextCronWall(expr: string, wall: number): number | null {
  const next = compileCron(expr).nextRun(new Date(wall));
  return next ? next.getTime() : null;
}
