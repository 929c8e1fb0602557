/**
 * One-line human text of a schedule, as shown by `taskhost status`:
 * "every 5 minutes", "every hour at :15", "every day at 09:00",
 * "every monday at 09:00", "at 09:00, Monday through Friday (cron 0 9 * * 1-5)",
 * "once at 2026-12-01T09:00".
 * Offsets the builders cannot produce (only reachable through hand-written
 * JSON) are still described, as "starting HH:MM:SS".
 */
import cronstrue from "cronstrue";
import type { IntervalUnit, ScheduleSpec } from "./schedule-spec.ts";

const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"] as const;

export function describeSchedule(spec: ScheduleSpec): string {
  switch (spec.kind) {
    case "every":
      return describeEvery(spec.unit, spec.n, spec.offsetSec);
    case "weekly":
      return `every ${WEEKDAYS[spec.weekday]} at ${clock(spec.offsetSec)}`;
    case "cron":
      return describeCron(spec.expr);
    case "once":
      return `once at ${spec.at}`;
  }
}

/** A cron pattern in words (cronstrue), the pattern itself kept in brackets for those who read cron. */
function describeCron(expr: string): string {
  try {
    const words = cronstrue.toString(expr, { use24HourTimeFormat: true, throwExceptionOnParseError: true });
    return `${words.charAt(0).toLowerCase()}${words.slice(1)} (cron ${expr})`;
  } catch {
    return `cron ${expr}`;
  }
}

function describeEvery(unit: IntervalUnit, n: number, offsetSec: number): string {
  const base = n === 1 ? `every ${unit}` : `every ${n} ${unit}s`;
  if (unit === "day") return `${base} at ${clock(offsetSec)}`;
  if (offsetSec === 0) return base;
  if (unit === "hour" && offsetSec < 3600) return `${base} at ${minuteMark(offsetSec)}`;
  if (unit === "minute" && n === 1) return `${base} at :${two(offsetSec)}`;
  return `${base} starting ${clock(offsetSec)}`;
}

/** "HH:MM", or "HH:MM:SS" when seconds are set. */
function clock(sec: number): string {
  const hm = `${two(Math.floor(sec / 3600))}:${two(Math.floor(sec / 60) % 60)}`;
  return sec % 60 === 0 ? hm : `${hm}:${two(sec % 60)}`;
}

/** ":MM", or ":MM:SS" when seconds are set. */
function minuteMark(sec: number): string {
  const m = `:${two(Math.floor(sec / 60))}`;
  return sec % 60 === 0 ? m : `${m}:${two(sec % 60)}`;
}

function two(n: number): string {
  return String(n).padStart(2, "0");
}
