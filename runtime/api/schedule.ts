/**
 * A schedule built by `every(...)` or `cron(...)`, handed to `@repeat(...)`.
 * Immutable: `.at(...)` returns a new Schedule. `expression` is the builder
 * call as the user wrote it (e.g. `every(5).minutes`), quoted in errors.
 */
import type { ScheduleSpec } from "../schedule/schedule-spec.ts";
import { describeSchedule } from "../schedule/describe-schedule.ts";
import { ERR_SCHEDULE_INVALID, scheduleError } from "../schedule/schedule-errors.ts";

/**
 * How `.at(time)` reads its argument for this schedule, or why `.at` is refused.
 * "clock": "HH:MM[:SS]" (days, weekdays); "minute-mark": ":MM[:SS]" (hours);
 * "second-mark": ":SS" (every().minute).
 */
export type AtRule = "clock" | "minute-mark" | "second-mark" | { refuse: string };

export class Schedule {
  readonly spec: ScheduleSpec;
  readonly expression: string;
  readonly #atRule: AtRule;

  constructor(spec: ScheduleSpec, expression: string, atRule: AtRule) {
    this.spec = Object.freeze({ ...spec });
    this.expression = expression;
    this.#atRule = atRule;
  }

  /** Shift the schedule inside its period: .at("09:00"), .at(":15"), .at(":30"). */
  at(time: string): Schedule {
    const expr = `${this.expression}.at(${JSON.stringify(time)})`;
    const rule = this.#atRule;
    const fail = (why: string): never => {
      throw scheduleError(ERR_SCHEDULE_INVALID, `taskhost schedule: ${expr} is invalid: ${why}`);
    };
    if (typeof rule === "object") return fail(rule.refuse);
    if (this.spec.kind !== "every" && this.spec.kind !== "weekly") return fail(".at() does not apply here");
    const offsetSec = parseAt(typeof time === "string" ? time.trim() : "", rule, fail);
    return new Schedule({ ...this.spec, offsetSec }, expr, { refuse: ".at() was already given" });
  }

  toString(): string {
    return describeSchedule(this.spec);
  }
}

function parseAt(time: string, rule: Exclude<AtRule, { refuse: string }>, fail: (why: string) => never): number {
  if (rule === "clock") {
    const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(time);
    if (!m) return fail('write .at("HH:MM") or .at("HH:MM:SS")');
    const [h, min, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
    if (h > 23) fail("the hour must be 00-23");
    if (min > 59 || s > 59) fail("minutes and seconds must be 00-59");
    return h * 3600 + min * 60 + s;
  }
  if (rule === "minute-mark") {
    const m = /^:(\d{2})(?::(\d{2}))?$/.exec(time);
    if (!m) return fail('write .at(":MM") or .at(":MM:SS"), the minute of each hour');
    const [min, s] = [Number(m[1]), Number(m[2] ?? 0)];
    if (min > 59 || s > 59) fail("minutes and seconds must be 00-59");
    return min * 60 + s;
  }
  const m = /^:(\d{2})$/.exec(time);
  if (!m) return fail('write .at(":SS"), the second of each minute');
  if (Number(m[1]) > 59) fail("seconds must be 00-59");
  return Number(m[1]);
}
