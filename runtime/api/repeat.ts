/**
 * `@repeat(schedule)`: run the decorated method on a repeating schedule,
 * e.g. `@repeat(every(5).minutes)` or `@repeat(cron("0 9 * * 1-5"))`.
 * Several `@repeat`s on one method are allowed; see schedule-decorator.ts for
 * how their ids are numbered.
 */
import { ERR_SCHEDULE_INVALID, scheduleError } from "../schedule/schedule-errors.ts";
import { type MethodDecorator, scheduleDecorator } from "./schedule-decorator.ts";
import { Schedule } from "./schedule.ts";

export function repeat(schedule: Schedule): MethodDecorator {
  if (!(schedule instanceof Schedule)) {
    const why =
      typeof schedule === "function"
        ? "@repeat needs a schedule: write @repeat(every(5).minutes), not @repeat"
        : "@repeat(...) expects a schedule such as every(5).minutes or cron(\"0 9 * * 1-5\")";
    throw scheduleError(ERR_SCHEDULE_INVALID, `taskhost schedule: ${why}`);
  }
  return scheduleDecorator(schedule.spec, `@repeat(${schedule.expression})`);
}
