/**
 * The serialisable description of one schedule, as produced by the `taskhost`
 * builders (`every`, `cron`, `once`) inside a task bundle and consumed by the
 * host. Plain JSON so it can cross a worker boundary and be stored in the ledger.
 */
export type IntervalUnit = "second" | "minute" | "hour" | "day";

/** 0 = Sunday ... 6 = Saturday (as Date#getDay). */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export type ScheduleSpec =
  /**
   * `every(n).<unit>[.at(...)]`: wall-clock grid counted from local midnight.
   * `offsetSec` shifts the grid inside one period: `every().hour.at(":15")` is
   * unit hour, n 1, offsetSec 900; `every().day.at("09:00")` is offsetSec 32400.
   */
  | { kind: "every"; unit: IntervalUnit; n: number; offsetSec: number }
  /** `every().monday[.at("HH:MM[:SS]")]`: that weekday at offsetSec after local midnight. */
  | { kind: "weekly"; weekday: Weekday; offsetSec: number }
  /** `cron("m h dom mon dow")`, 5 or 6 fields (croner syntax). */
  | { kind: "cron"; expr: string }
  /** `once("2026-12-01T09:00")`: local time of the zone, or with an offset / Z. */
  | { kind: "once"; at: string };

/** One decorated method of a task class. */
export interface MethodSchedule {
  method: string;
  spec: ScheduleSpec;
  /**
   * This schedule's key within the task: the schedule id is `<task id>#<key>`.
   * It is `method` for a method's first schedule and `<method>:2`, `<method>:3`
   * for further decorators on the same method (set by readSchedules; absent
   * means `method`).
   */
  key?: string;
}
