/**
 * `@once("2026-12-01T09:00")`: run the decorated method one time, at that
 * local time of the task's zone (or at the explicit offset / Z given).
 * The string is checked now, so a typo fails when the task loads.
 */
import { parseOnce } from "../schedule/parse-once.ts";
import { ERR_SCHEDULE_INVALID, scheduleError } from "../schedule/schedule-errors.ts";
import { type MethodDecorator, scheduleDecorator } from "./schedule-decorator.ts";

export function once(at: string): MethodDecorator {
  if (typeof at === "function") {
    throw scheduleError(ERR_SCHEDULE_INVALID, 'taskhost schedule: @once needs a date-time: write @once("2026-12-01T09:00"), not @once');
  }
  parseOnce(at); // throws ERR_SCHEDULE_INVALID quoting the string
  const trimmed = at.trim();
  return scheduleDecorator({ kind: "once", at: trimmed }, `@once(${JSON.stringify(trimmed)})`);
}
