/**
 * The wall-clock grid of each repeating form: the next wall value strictly
 * after a given wall value. Walls are local date-times encoded as UTC ms
 * (see wall-clock.ts), so a local day is exactly 86 400 000 wall ms and
 * "local midnight" is a multiple of it; no time zone is involved here.
 */
import type { ScheduleSpec } from "./schedule-spec.ts";
import { nextCronWall } from "./cron-pattern.ts";

const DAY_MS = 86_400_000;
export const UNIT_SECONDS = { second: 1, minute: 60, hour: 3600, day: 86_400 } as const;

/** Non-negative remainder (wall values before 1970 are negative). */
function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

export function nextGridWall(spec: Exclude<ScheduleSpec, { kind: "once" }>, wall: number): number | null {
  switch (spec.kind) {
    case "every": {
      const offset = spec.offsetSec * 1000;
      if (spec.unit === "day") return nextDayWall(wall, offset, spec.n);
      // Sub-day grid restarting at each local midnight: T >= offset, (T - offset) % step == 0.
      const step = spec.n * UNIT_SECONDS[spec.unit] * 1000;
      const day = Math.floor(wall / DAY_MS);
      const timeOfDay = wall - day * DAY_MS;
      const next = timeOfDay < offset ? offset : offset + (Math.floor((timeOfDay - offset) / step) + 1) * step;
      return next < DAY_MS ? day * DAY_MS + next : (day + 1) * DAY_MS + offset;
    }
    case "weekly": {
      const offset = spec.offsetSec * 1000;
      let day = Math.floor(wall / DAY_MS);
      if (day * DAY_MS + offset <= wall) day += 1;
      // 1970-01-01 (day 0) was a Thursday: weekday = (day + 4) mod 7, 0 = Sunday.
      day += mod(spec.weekday - mod(day + 4, 7), 7);
      return day * DAY_MS + offset;
    }
    case "cron":
      return nextCronWall(spec.expr, wall);
  }
}

/** Midnight (+offset) of the next local day whose number since 1970-01-01 is divisible by n. */
function nextDayWall(wall: number, offset: number, n: number): number {
  let day = Math.floor(wall / DAY_MS);
  if (day * DAY_MS + offset <= wall) day += 1;
  day += mod(-day, n);
  return day * DAY_MS + offset;
}
