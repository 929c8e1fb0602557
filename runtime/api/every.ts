/**
 * `every(n)`: the interval builder of task files.
 *
 *   every(5).minutes            every().hour.at(":15")     every(2).hours.at(":15")
 *   every().day.at("09:00")     every(3).days              every().monday.at("09:00")
 *
 * Validation happens when the unit is read, so the error can quote the whole
 * expression (`every(0).minutes`); it is thrown while the task module is
 * evaluated, which the host reports as an error task with the message.
 */
import type { IntervalUnit, Weekday } from "../schedule/schedule-spec.ts";
import { ERR_SCHEDULE_INVALID, scheduleError } from "../schedule/schedule-errors.ts";
import { MAX_SUBDAY_N } from "../schedule/validate-spec.ts";
import { type AtRule, Schedule } from "./schedule.ts";

export interface EveryBuilder {
  readonly second: Schedule;
  readonly seconds: Schedule;
  readonly minute: Schedule;
  readonly minutes: Schedule;
  readonly hour: Schedule;
  readonly hours: Schedule;
  readonly day: Schedule;
  readonly days: Schedule;
  readonly monday: Schedule;
  readonly tuesday: Schedule;
  readonly wednesday: Schedule;
  readonly thursday: Schedule;
  readonly friday: Schedule;
  readonly saturday: Schedule;
  readonly sunday: Schedule;
}

const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"] as const;

export function every(n?: number): EveryBuilder {
  const call = `every(${n === undefined ? "" : typeof n === "string" ? JSON.stringify(n) : String(n)})`;
  const count = n === undefined ? 1 : n;
  const fail = (member: string, why: string): never => {
    throw scheduleError(ERR_SCHEDULE_INVALID, `taskhost schedule: ${call}.${member} is invalid: ${why}`);
  };
  const checkCount = (member: string): void => {
    if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 1) {
      fail(member, "n must be a positive integer");
    }
  };

  const interval = (unit: IntervalUnit, plural: boolean): Schedule => {
    const member = plural ? `${unit}s` : unit;
    checkCount(member);
    if (!plural && count !== 1) fail(member, `use .${unit}s with a count, e.g. ${call}.${unit}s`);
    if (unit !== "day" && count > MAX_SUBDAY_N[unit]) {
      fail(member, `the grid restarts at local midnight, so n must be at most ${MAX_SUBDAY_N[unit]}; use every(n).days or cron(...)`);
    }
    return new Schedule({ kind: "every", unit, n: count, offsetSec: 0 }, `${call}.${member}`, atRuleFor(unit, count));
  };

  const weekday = (index: number): Schedule => {
    const member = WEEKDAYS[index];
    checkCount(member);
    if (count !== 1) fail(member, `a weekday takes no count; write every().${member}, or use cron(...) for other rhythms`);
    return new Schedule({ kind: "weekly", weekday: index as Weekday, offsetSec: 0 }, `${call}.${member}`, "clock");
  };

  const builder: EveryBuilder = {
    get second() { return interval("second", false); },
    get seconds() { return interval("second", true); },
    get minute() { return interval("minute", false); },
    get minutes() { return interval("minute", true); },
    get hour() { return interval("hour", false); },
    get hours() { return interval("hour", true); },
    get day() { return interval("day", false); },
    get days() { return interval("day", true); },
    get sunday() { return weekday(0); },
    get monday() { return weekday(1); },
    get tuesday() { return weekday(2); },
    get wednesday() { return weekday(3); },
    get thursday() { return weekday(4); },
    get friday() { return weekday(5); },
    get saturday() { return weekday(6); },
  };
  // Units people reach for that every() has not: a message that says what to write, not
  // "@repeat(...) expects a schedule" about an undefined. (Absent from the type: tsc says so too.)
  for (const [members, instead] of UNSUPPORTED) {
    for (const member of members) Object.defineProperty(builder, member, { get: () => fail(member, instead) });
  }
  return builder;
}

const UNSUPPORTED: ReadonlyArray<readonly [readonly string[], string]> = [
  [["week", "weeks"], "weeks are not a unit of every(): write every().monday.at(\"09:00\") (or another weekday) for weekly, every(14).days for every other week"],
  [["month", "months"], "months are not a unit of every(): write cron(\"0 9 1 * *\") for 09:00 on the 1st of each month"],
  [["year", "years"], "years are not a unit of every(): write cron(\"0 9 1 1 *\") for 09:00 on January 1st"],
  [["millisecond", "milliseconds", "ms"], "the shortest interval is every().second"],
];

/** Which `.at(...)` form an interval accepts; multi-minute/second grids take none. */
function atRuleFor(unit: IntervalUnit, n: number): AtRule {
  switch (unit) {
    case "day":
      return "clock";
    case "hour":
      return "minute-mark";
    case "minute":
      return n === 1 ? "second-mark" : { refuse: "a multi-minute interval takes no .at(); use cron(...) for offsets" };
    case "second":
      return { refuse: "a seconds interval takes no .at()" };
  }
}
