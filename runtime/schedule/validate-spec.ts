/**
 * Checks a ScheduleSpec that arrived as JSON (from a task's worker, or from the
 * database) and returns a clean frozen copy without unknown keys. The limits
 * are the same ones the `every` builders enforce, so a spec that passes here
 * is one the builders could have produced (plus offsets the grid can honour).
 */
import type { IntervalUnit, ScheduleSpec, Weekday } from "./schedule-spec.ts";
import { compileCron } from "./cron-pattern.ts";
import { UNIT_SECONDS } from "./next-grid-wall.ts";
import { parseOnce } from "./parse-once.ts";
import { ERR_SCHEDULE_INVALID, scheduleError } from "./schedule-errors.ts";

const DAY_SECONDS = 86_400;
/** every(n).<sub-day unit> restarts at midnight, so a period above a day would only mean "daily". */
export const MAX_SUBDAY_N: Record<Exclude<IntervalUnit, "day">, number> = { second: 86_400, minute: 1440, hour: 24 };

export function validateSpec(value: unknown): ScheduleSpec {
  const fail = (why: string): never => {
    throw scheduleError(ERR_SCHEDULE_INVALID, `taskhost schedule: invalid schedule spec ${safeJson(value)}: ${why}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("expected an object with a kind");
  const spec = value as Record<string, unknown>;
  switch (spec.kind) {
    case "every": {
      const { unit, n, offsetSec } = spec;
      if (unit !== "second" && unit !== "minute" && unit !== "hour" && unit !== "day") {
        return fail('unit must be "second", "minute", "hour" or "day"');
      }
      if (!isNonNegativeInt(n) || n < 1) return fail("n must be a positive integer");
      if (unit !== "day" && n > MAX_SUBDAY_N[unit]) return fail(`n must be at most ${MAX_SUBDAY_N[unit]} for ${unit}s`);
      const limit = Math.min(n * UNIT_SECONDS[unit], DAY_SECONDS);
      if (!isNonNegativeInt(offsetSec) || offsetSec >= limit) return fail(`offsetSec must be an integer in [0, ${limit})`);
      return Object.freeze({ kind: "every", unit, n, offsetSec });
    }
    case "weekly": {
      const { weekday, offsetSec } = spec;
      if (!isNonNegativeInt(weekday) || weekday > 6) return fail("weekday must be an integer 0 (Sunday) to 6 (Saturday)");
      if (!isNonNegativeInt(offsetSec) || offsetSec >= DAY_SECONDS) return fail(`offsetSec must be an integer in [0, ${DAY_SECONDS})`);
      return Object.freeze({ kind: "weekly", weekday: weekday as Weekday, offsetSec });
    }
    case "cron": {
      if (typeof spec.expr !== "string") return fail("expr must be a string");
      compileCron(spec.expr); // throws ERR_SCHEDULE_INVALID with croner's reason
      return Object.freeze({ kind: "cron", expr: spec.expr });
    }
    case "once": {
      if (typeof spec.at !== "string") return fail("at must be an ISO date-time string");
      parseOnce(spec.at); // throws ERR_SCHEDULE_INVALID saying what is wrong
      return Object.freeze({ kind: "once", at: spec.at });
    }
    default:
      return fail('kind must be "every", "weekly", "cron" or "once"');
  }
}

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
