/**
 * Parses the date-time of `@once(...)`: ISO 8601 "YYYY-MM-DDTHH:MM[:SS[.fff]]"
 * (a space may replace the T; a bare date means its midnight), optionally
 * followed by "Z" or "±HH:MM". Without an offset it is a wall-clock time of
 * the task's zone, resolved later by wall-clock.ts (DST rule applies).
 * Hand-rolled rather than Date.parse because Date.parse reads offset-less
 * strings in the *machine's* zone and silently rolls over "2026-02-30".
 */
import { ERR_SCHEDULE_INVALID, scheduleError } from "./schedule-errors.ts";

export interface ParsedOnce {
  /** The local date-time as wall ms (local fields encoded as UTC). */
  wall: number;
  /** Explicit offset in ms when the string had Z or ±HH:MM, else null. */
  offsetMs: number | null;
}

const ONCE_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

export function parseOnce(at: string): ParsedOnce {
  const match = typeof at === "string" ? ONCE_PATTERN.exec(at.trim()) : null;
  if (!match) throw invalid(at, 'write an ISO date-time such as "2026-12-01T09:00" or "2026-12-01T09:00+01:00"');
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone] = match;
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = Number(s);
  if (month < 1 || month > 12) throw invalid(at, "month must be 01-12");
  if (day < 1 || day > daysInMonth(year, month)) throw invalid(at, `day must be 01-${daysInMonth(year, month)} in that month`);
  if (hour > 23) throw invalid(at, "hour must be 00-23");
  if (minute > 59) throw invalid(at, "minute must be 00-59");
  if (second > 59) throw invalid(at, "second must be 00-59");
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Number(frac.slice(0, 3).padEnd(3, "0")));
  return { wall: date.getTime(), offsetMs: zone === undefined ? null : parseOffset(at, zone) };
}

function parseOffset(at: string, zone: string): number {
  if (zone.toUpperCase() === "Z") return 0;
  const sign = zone[0] === "-" ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2));
  if (hours > 23 || minutes > 59) throw invalid(at, "the offset must be ±HH:MM");
  return sign * (hours * 3_600_000 + minutes * 60_000);
}

function daysInMonth(year: number, month: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 0);
  return date.getUTCDate();
}

function invalid(at: unknown, why: string): Error {
  return scheduleError(ERR_SCHEDULE_INVALID, `taskhost schedule: once(${JSON.stringify(at)}) is invalid: ${why}`);
}
