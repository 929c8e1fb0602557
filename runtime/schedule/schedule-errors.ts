/**
 * Error codes of the schedule maths and the `taskhost` builders. Both are
 * bundled into task bundles, so this file stays dependency-free.
 */
export { ERR_SCHEDULE_INVALID, ERR_TIMEZONE_INVALID } from "../errors.ts";
import { ERR_SCHEDULE_INVALID, ERR_TIMEZONE_INVALID } from "../errors.ts";

export type ScheduleErrorCode = typeof ERR_SCHEDULE_INVALID | typeof ERR_TIMEZONE_INVALID;

/** An `Error` carrying `code`, so callers can branch without parsing messages. */
export function scheduleError(code: ScheduleErrorCode, message: string): Error & { code: ScheduleErrorCode } {
  // A plain Error (not TaskhostError): it is thrown inside task bundles at import, and reads
  // "tasks/x.ts:4:18: taskhost schedule: …" like any error a task's own code throws.
  return Object.assign(new Error(message), { code });
}
