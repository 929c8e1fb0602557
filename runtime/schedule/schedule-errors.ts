/**
 * Error codes of the schedule maths and the `taskhost` builders. Both are
 * bundled into task bundles, so this file stays dependency-free.
 */
export const ERR_SCHEDULE_INVALID = "ERR_SCHEDULE_INVALID";
export const ERR_TIMEZONE_INVALID = "ERR_TIMEZONE_INVALID";

export type ScheduleErrorCode = typeof ERR_SCHEDULE_INVALID | typeof ERR_TIMEZONE_INVALID;

/** An `Error` carrying `code`, so callers can branch without parsing messages. */
export function scheduleError(code: ScheduleErrorCode, message: string): Error & { code: ScheduleErrorCode } {
  return Object.assign(new Error(message), { code });
}
