// nextRun / occurrencesBetween: the aligned grid, calendar edges, the DST rule
// and windows, on fixed dates. Expected local times are rendered with
// temporal-polyfill, independently of the Intl-based offset code under test.
import { describe, expect, it } from "vitest";
import { Temporal } from "temporal-polyfill";
import type { IntervalUnit, ScheduleSpec, Weekday } from "../runtime/schedule/schedule-spec.ts";
import { nextRun } from "../runtime/schedule/next-run.ts";
import { latestOccurrences, occurrencesBetween } from "../runtime/schedule/occurrences-between.ts";

const every = (unit: IntervalUnit, n = 1, offsetSec = 0): ScheduleSpec => ({ kind: "every", unit, n, offsetSec });
const weekly = (weekday: Weekday, offsetSec = 0): ScheduleSpec => ({ kind: "weekly", weekday, offsetSec });
const cron = (expr: string): ScheduleSpec => ({ kind: "cron", expr });
const once = (at: string): ScheduleSpec => ({ kind: "once", at });

const ms = (iso: string): number => {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`bad test date ${iso}`);
  return t;
};

/** "2026-03-08T03:00:00-04:00": the instant in the zone, offset included. */
const local = (t: number | null, zone: string): string | null =>
  t === null ? null : Temporal.Instant.fromEpochMilliseconds(t).toZonedDateTimeISO(zone).toString({ timeZoneName: "never" });

/** The next `count` runs after `fromIso`, chained through nextRun as the scheduler does. */
function runs(spec: ScheduleSpec, fromIso: string, zone: string, count: number): string[] {
  const out: string[] = [];
  let from = ms(fromIso);
  for (let i = 0; i < count; i++) {
    const next = nextRun(spec, from, zone);
    if (next === null) break;
    expect(next).toBeGreaterThan(from);
    out.push(local(next, zone)!);
    from = next;
  }
  return out;
}

describe("aligned interval grid", () => {
  it("every(5).minutes lands on :00/:05 and is strictly after from", () => {
    expect(local(nextRun(every("minute", 5), ms("2026-05-10T10:03:27.123Z"), "UTC"), "UTC")).toBe("2026-05-10T10:05:00+00:00");
    expect(local(nextRun(every("minute", 5), ms("2026-05-10T10:05:00Z"), "UTC"), "UTC")).toBe("2026-05-10T10:10:00+00:00");
    expect(local(nextRun(every("minute", 5), ms("2026-05-10T10:04:59.999Z"), "UTC"), "UTC")).toBe("2026-05-10T10:05:00+00:00");
  });

  it("every second and every minute tick on whole units", () => {
    expect(runs(every("second"), "2026-05-10T10:00:00.400Z", "UTC", 2)).toEqual([
      "2026-05-10T10:00:01+00:00",
      "2026-05-10T10:00:02+00:00",
    ]);
    expect(runs(every("minute"), "2026-05-10T23:59:30Z", "UTC", 2)).toEqual([
      "2026-05-11T00:00:00+00:00",
      "2026-05-11T00:01:00+00:00",
    ]);
  });

  it("is aligned to the zone's local midnight, not UTC's", () => {
    // Asia/Kolkata is UTC+05:30: every(2).hours runs at local even hours.
    expect(runs(every("hour", 2), "2026-05-10T00:00:00Z", "Asia/Kolkata", 2)).toEqual([
      "2026-05-10T06:00:00+05:30",
      "2026-05-10T08:00:00+05:30",
    ]);
  });

  it("every(7).minutes restarts at each local midnight", () => {
    expect(runs(every("minute", 7), "2026-05-10T23:48:00+02:00", "Europe/Berlin", 4)).toEqual([
      "2026-05-10T23:55:00+02:00",
      "2026-05-11T00:00:00+02:00",
      "2026-05-11T00:07:00+02:00",
      "2026-05-11T00:14:00+02:00",
    ]);
  });

  it("offsets: hour at :15, n hours at :15, minute at :30", () => {
    expect(runs(every("hour", 1, 900), "2026-05-10T10:15:00Z", "UTC", 2)).toEqual([
      "2026-05-10T11:15:00+00:00",
      "2026-05-10T12:15:00+00:00",
    ]);
    expect(runs(every("hour", 2, 900), "2026-05-10T21:00:00Z", "UTC", 3)).toEqual([
      "2026-05-10T22:15:00+00:00",
      "2026-05-11T00:15:00+00:00",
      "2026-05-11T02:15:00+00:00",
    ]);
    expect(runs(every("minute", 1, 30), "2026-05-10T10:00:30Z", "UTC", 2)).toEqual([
      "2026-05-10T10:01:30+00:00",
      "2026-05-10T10:02:30+00:00",
    ]);
  });
});

describe("days and weekdays", () => {
  it("every(3).days runs on local dates whose day number since 1970-01-01 divides by 3", () => {
    const got = runs(every("day", 3), "2026-01-01T00:00:00+09:00", "Asia/Tokyo", 4);
    // 2026-01-01 is day 20454 = 3 * 6818, so the next ones are the 4th, 7th, ...
    expect(got).toEqual([
      "2026-01-04T00:00:00+09:00",
      "2026-01-07T00:00:00+09:00",
      "2026-01-10T00:00:00+09:00",
      "2026-01-13T00:00:00+09:00",
    ]);
    for (const text of got) {
      const date = Temporal.PlainDate.from(text.slice(0, 10));
      expect(date.since("1970-01-01").days % 3).toBe(0);
    }
  });

  it("every(2).days at 09:00", () => {
    // 2026-01-02 is day 20455 (odd), so the even days are the 1st, 3rd, ...
    expect(runs(every("day", 2, 9 * 3600), "2026-01-01T09:00:00Z", "UTC", 2)).toEqual([
      "2026-01-03T09:00:00+00:00",
      "2026-01-05T09:00:00+00:00",
    ]);
  });

  it("every().day crosses month ends and leap days", () => {
    expect(runs(every("day"), "2028-02-27T12:00:00Z", "UTC", 3)).toEqual([
      "2028-02-28T00:00:00+00:00",
      "2028-02-29T00:00:00+00:00",
      "2028-03-01T00:00:00+00:00",
    ]);
    expect(runs(every("day", 1, 23 * 3600 + 30 * 60), "2026-02-28T00:00:00Z", "UTC", 2)).toEqual([
      "2026-02-28T23:30:00+00:00",
      "2026-03-01T23:30:00+00:00",
    ]);
  });

  it("weekly: that weekday at the time, the same day if still ahead", () => {
    // 2026-05-11 is a Monday.
    expect(runs(weekly(1, 9 * 3600), "2026-05-11T08:59:59+02:00", "Europe/Berlin", 2)).toEqual([
      "2026-05-11T09:00:00+02:00",
      "2026-05-18T09:00:00+02:00",
    ]);
    expect(runs(weekly(0), "2026-05-10T00:00:00+02:00", "Europe/Berlin", 1)).toEqual(["2026-05-17T00:00:00+02:00"]);
  });
});

describe("cron", () => {
  it("weekday mornings in the zone", () => {
    // 2026-05-08 is a Friday.
    expect(runs(cron("0 9 * * 1-5"), "2026-05-08T09:00:00-04:00", "America/New_York", 2)).toEqual([
      "2026-05-11T09:00:00-04:00",
      "2026-05-12T09:00:00-04:00",
    ]);
  });

  it("day 31 skips short months; Feb 29 waits for leap years", () => {
    expect(runs(cron("0 0 31 * *"), "2026-01-31T00:00:00Z", "UTC", 2)).toEqual([
      "2026-03-31T00:00:00+00:00",
      "2026-05-31T00:00:00+00:00",
    ]);
    expect(runs(cron("0 0 29 2 *"), "2026-01-01T00:00:00Z", "UTC", 2)).toEqual([
      "2028-02-29T00:00:00+00:00",
      "2032-02-29T00:00:00+00:00",
    ]);
  });

  it("six fields put seconds first", () => {
    expect(runs(cron("30 * * * * *"), "2026-05-10T10:00:30Z", "UTC", 2)).toEqual([
      "2026-05-10T10:01:30+00:00",
      "2026-05-10T10:02:30+00:00",
    ]);
  });

  it("a pattern that never matches gives null", () => {
    expect(nextRun(cron("0 0 30 2 *"), ms("2026-01-01T00:00:00Z"), "UTC")).toBeNull();
  });
});

describe("DST spring-forward: skipped wall times run once at the transition", () => {
  it("America/New_York 2026-03-08 (02:00 EST -> 03:00 EDT)", () => {
    const zone = "America/New_York";
    // Grid points 02:00 and 02:30 do not exist; 03:00 is the transition and a grid point: one run.
    expect(runs(every("minute", 30), "2026-03-08T01:00:00-05:00", zone, 4)).toEqual([
      "2026-03-08T01:30:00-05:00",
      "2026-03-08T03:00:00-04:00",
      "2026-03-08T03:30:00-04:00",
      "2026-03-08T04:00:00-04:00",
    ]);
    // 02:05, 02:30, 02:55 collapse into one run at 03:00, which is not itself a grid point.
    expect(runs(every("minute", 25), "2026-03-08T01:30:00-05:00", zone, 3)).toEqual([
      "2026-03-08T01:40:00-05:00",
      "2026-03-08T03:00:00-04:00",
      "2026-03-08T03:20:00-04:00",
    ]);
    expect(runs(every("day", 1, 2 * 3600 + 1800), "2026-03-07T12:00:00-05:00", zone, 3)).toEqual([
      "2026-03-08T03:00:00-04:00",
      "2026-03-09T02:30:00-04:00",
      "2026-03-10T02:30:00-04:00",
    ]);
    // 2026-03-08 is a Sunday.
    expect(runs(weekly(0, 2 * 3600 + 1800), "2026-03-01T12:00:00-05:00", zone, 2)).toEqual([
      "2026-03-08T03:00:00-04:00",
      "2026-03-15T02:30:00-04:00",
    ]);
    expect(runs(cron("30 2 * * *"), "2026-03-07T12:00:00-05:00", zone, 2)).toEqual([
      "2026-03-08T03:00:00-04:00",
      "2026-03-09T02:30:00-04:00",
    ]);
    // croner alone skips gap times of interval patterns; here they collapse like the grid.
    expect(runs(cron("25,50 * * * *"), "2026-03-08T01:30:00-05:00", zone, 3)).toEqual([
      "2026-03-08T01:50:00-05:00",
      "2026-03-08T03:00:00-04:00",
      "2026-03-08T03:25:00-04:00",
    ]);
  });

  it("every second does not stall or repeat across the gap", () => {
    expect(runs(every("second"), "2026-03-08T01:59:58-05:00", "America/New_York", 3)).toEqual([
      "2026-03-08T01:59:59-05:00",
      "2026-03-08T03:00:00-04:00",
      "2026-03-08T03:00:01-04:00",
    ]);
  });

  it("Europe/Berlin 2026-03-29 (02:00 CET -> 03:00 CEST)", () => {
    const zone = "Europe/Berlin";
    expect(runs(every("hour"), "2026-03-29T00:30:00+01:00", zone, 3)).toEqual([
      "2026-03-29T01:00:00+01:00",
      "2026-03-29T03:00:00+02:00",
      "2026-03-29T04:00:00+02:00",
    ]);
    expect(runs(cron("30 2 * * *"), "2026-03-28T12:00:00+01:00", zone, 2)).toEqual([
      "2026-03-29T03:00:00+02:00",
      "2026-03-30T02:30:00+02:00",
    ]);
  });

  it("Australia/Sydney 2026-10-04 (02:00 AEST -> 03:00 AEDT, southern spring)", () => {
    const zone = "Australia/Sydney";
    expect(runs(every("minute", 45), "2026-10-04T01:00:00+10:00", zone, 3)).toEqual([
      "2026-10-04T01:30:00+10:00",
      "2026-10-04T03:00:00+11:00",
      "2026-10-04T03:45:00+11:00",
    ]);
    expect(runs(every("day", 1, 2 * 3600 + 15 * 60), "2026-10-03T12:00:00+10:00", zone, 2)).toEqual([
      "2026-10-04T03:00:00+11:00",
      "2026-10-05T02:15:00+11:00",
    ]);
  });

  it("Australia/Lord_Howe 2026-10-04 (02:00 -> 02:30, a 30-minute shift)", () => {
    expect(runs(every("minute", 15), "2026-10-04T01:40:00+10:30", "Australia/Lord_Howe", 3)).toEqual([
      "2026-10-04T01:45:00+10:30",
      "2026-10-04T02:30:00+11:00",
      "2026-10-04T02:45:00+11:00",
    ]);
  });

  it("America/Santiago: a midnight that does not exist (00:00 -> 01:00 on 2026-09-06)", () => {
    expect(runs(every("day"), "2026-09-05T12:00:00-04:00", "America/Santiago", 2)).toEqual([
      "2026-09-06T01:00:00-03:00",
      "2026-09-07T00:00:00-03:00",
    ]);
  });
});

describe("DST fall-back: a repeated wall time runs once, on its first pass", () => {
  it("America/New_York 2026-11-01 (02:00 EDT -> 01:00 EST)", () => {
    const zone = "America/New_York";
    expect(runs(every("minute", 30), "2026-11-01T00:15:00-04:00", zone, 5)).toEqual([
      "2026-11-01T00:30:00-04:00",
      "2026-11-01T01:00:00-04:00",
      "2026-11-01T01:30:00-04:00",
      "2026-11-01T02:00:00-05:00",
      "2026-11-01T02:30:00-05:00",
    ]);
    expect(runs(every("day", 1, 5400), "2026-10-31T12:00:00-04:00", zone, 2)).toEqual([
      "2026-11-01T01:30:00-04:00",
      "2026-11-02T01:30:00-05:00",
    ]);
    // croner on its own runs */30 on both passes; taskhost's cron keeps the rule.
    expect(runs(cron("*/30 * * * *"), "2026-11-01T00:15:00-04:00", zone, 5)).toEqual([
      "2026-11-01T00:30:00-04:00",
      "2026-11-01T01:00:00-04:00",
      "2026-11-01T01:30:00-04:00",
      "2026-11-01T02:00:00-05:00",
      "2026-11-01T02:30:00-05:00",
    ]);
  });

  it("from inside the second pass, the next run is after the repetition", () => {
    const zone = "America/New_York";
    expect(runs(every("second"), "2026-11-01T01:10:00-05:00", zone, 2)).toEqual([
      "2026-11-01T02:00:00-05:00",
      "2026-11-01T02:00:01-05:00",
    ]);
    expect(runs(every("minute", 1, 30), "2026-11-01T01:59:00-05:00", zone, 1)).toEqual(["2026-11-01T02:00:30-05:00"]);
    // A daily time inside the repeated hour has already run on the first pass.
    expect(runs(every("day", 1, 5400), "2026-11-01T01:10:00-05:00", zone, 1)).toEqual(["2026-11-02T01:30:00-05:00"]);
  });

  it("Europe/Berlin 2026-10-25 (03:00 CEST -> 02:00 CET)", () => {
    const zone = "Europe/Berlin";
    expect(runs(every("hour"), "2026-10-25T01:30:00+02:00", zone, 3)).toEqual([
      "2026-10-25T02:00:00+02:00",
      "2026-10-25T03:00:00+01:00",
      "2026-10-25T04:00:00+01:00",
    ]);
    expect(runs(cron("30 2 * * *"), "2026-10-24T12:00:00+02:00", zone, 2)).toEqual([
      "2026-10-25T02:30:00+02:00",
      "2026-10-26T02:30:00+01:00",
    ]);
  });

  it("Australia/Sydney 2026-04-05 (03:00 AEDT -> 02:00 AEST, southern autumn)", () => {
    const zone = "Australia/Sydney";
    expect(runs(every("minute", 20), "2026-04-05T02:30:00+11:00", zone, 4)).toEqual([
      "2026-04-05T02:40:00+11:00",
      "2026-04-05T03:00:00+10:00",
      "2026-04-05T03:20:00+10:00",
      "2026-04-05T03:40:00+10:00",
    ]);
    // 2026-04-05 is a Sunday.
    expect(runs(weekly(0, 2 * 3600 + 1800), "2026-04-04T12:00:00+11:00", zone, 2)).toEqual([
      "2026-04-05T02:30:00+11:00",
      "2026-04-12T02:30:00+10:00",
    ]);
  });

  it("Australia/Lord_Howe 2026-04-05 (02:00 -> 01:30, a 30-minute repeat)", () => {
    expect(runs(every("minute", 15), "2026-04-05T01:20:00+11:00", "Australia/Lord_Howe", 4)).toEqual([
      "2026-04-05T01:30:00+11:00",
      "2026-04-05T01:45:00+11:00",
      "2026-04-05T02:00:00+10:30",
      "2026-04-05T02:15:00+10:30",
    ]);
  });
});

describe("once", () => {
  it("reads a plain date-time in the zone, or honours its offset", () => {
    const from = ms("2026-01-01T00:00:00Z");
    expect(local(nextRun(once("2026-12-01T09:00"), from, "Europe/Berlin"), "UTC")).toBe("2026-12-01T08:00:00+00:00");
    expect(local(nextRun(once("2026-12-01T09:00"), from, "America/New_York"), "UTC")).toBe("2026-12-01T14:00:00+00:00");
    expect(local(nextRun(once("2026-12-01T09:00+01:00"), from, "America/New_York"), "UTC")).toBe("2026-12-01T08:00:00+00:00");
    expect(local(nextRun(once("2026-12-01T09:00:00Z"), from, "Asia/Tokyo"), "UTC")).toBe("2026-12-01T09:00:00+00:00");
  });

  it("runs only if strictly after from", () => {
    const at = ms("2026-12-01T09:00:00Z");
    expect(nextRun(once("2026-12-01T09:00Z"), at - 1, "UTC")).toBe(at);
    expect(nextRun(once("2026-12-01T09:00Z"), at, "UTC")).toBeNull();
    expect(nextRun(once("2026-12-01T09:00Z"), at + 1, "UTC")).toBeNull();
  });

  it("follows the DST rule: skipped -> transition, repeated -> first pass", () => {
    const from = ms("2026-01-01T00:00:00Z");
    expect(local(nextRun(once("2026-03-08T02:30"), from, "America/New_York"), "America/New_York")).toBe("2026-03-08T03:00:00-04:00");
    expect(local(nextRun(once("2026-11-01T01:30"), from, "America/New_York"), "America/New_York")).toBe("2026-11-01T01:30:00-04:00");
  });
});

describe("windows", () => {
  const spec = every("hour");
  it("start is inclusive and moves the first run forward", () => {
    const from = ms("2026-05-10T00:30:00Z");
    expect(nextRun(spec, from, "UTC", { start: ms("2026-05-10T05:00:00Z") })).toBe(ms("2026-05-10T05:00:00Z"));
    expect(nextRun(spec, from, "UTC", { start: ms("2026-05-10T05:00:00.001Z") })).toBe(ms("2026-05-10T06:00:00Z"));
    // A start in the past changes nothing.
    expect(nextRun(spec, from, "UTC", { start: ms("2026-01-01T00:00:00Z") })).toBe(ms("2026-05-10T01:00:00Z"));
  });

  it("end is inclusive; nothing left gives null", () => {
    const from = ms("2026-05-10T00:30:00Z");
    expect(nextRun(spec, from, "UTC", { end: ms("2026-05-10T01:00:00Z") })).toBe(ms("2026-05-10T01:00:00Z"));
    expect(nextRun(spec, from, "UTC", { end: ms("2026-05-10T00:59:59.999Z") })).toBeNull();
    expect(nextRun(spec, from, "UTC", { start: ms("2026-06-01T00:00:00Z"), end: ms("2026-05-31T00:00:00Z") })).toBeNull();
  });

  it("applies to once as well", () => {
    const from = ms("2026-01-01T00:00:00Z");
    expect(nextRun(once("2026-12-01T09:00Z"), from, "UTC", { end: ms("2026-11-30T00:00:00Z") })).toBeNull();
    expect(nextRun(once("2026-12-01T09:00Z"), from, "UTC", { start: ms("2026-12-02T00:00:00Z") })).toBeNull();
    expect(nextRun(once("2026-12-01T09:00Z"), from, "UTC", { start: ms("2026-12-01T09:00:00Z") })).toBe(ms("2026-12-01T09:00:00Z"));
  });
});

describe("occurrencesBetween", () => {
  it("lists missed runs in (after, until], ascending", () => {
    const list = occurrencesBetween(every("minute", 15), ms("2026-05-10T10:00:00Z"), ms("2026-05-10T11:00:00Z"), "UTC");
    expect(list.map((t) => local(t, "UTC"))).toEqual([
      "2026-05-10T10:15:00+00:00",
      "2026-05-10T10:30:00+00:00",
      "2026-05-10T10:45:00+00:00",
      "2026-05-10T11:00:00+00:00",
    ]);
  });

  it("stops at the limit and at the window end", () => {
    const after = ms("2026-05-10T00:00:00Z");
    const until = ms("2026-05-17T00:00:00Z");
    const limited = occurrencesBetween(every("second"), after, until, "UTC", undefined, 100);
    expect(limited).toHaveLength(100);
    expect(limited[0]).toBe(after + 1000);
    expect(limited[99]).toBe(after + 100_000);
    const windowed = occurrencesBetween(every("day"), after, until, "UTC", { end: ms("2026-05-12T00:00:00Z") });
    expect(windowed.map((t) => local(t, "UTC"))).toEqual(["2026-05-11T00:00:00+00:00", "2026-05-12T00:00:00+00:00"]);
    expect(occurrencesBetween(once("2026-05-09T00:00Z"), after, until, "UTC")).toEqual([]);
  });

  it("latestOccurrences keeps the newest when more were missed than the cap", () => {
    const after = ms("2026-05-10T00:00:00Z");
    const until = ms("2026-05-17T00:00:00Z") + 500; // a week of every(1).seconds, ending between boundaries
    const latest = latestOccurrences(every("second"), after, until, "UTC", undefined, 100);
    expect(latest.more).toBe(true);
    expect(latest.occurrences).toHaveLength(100);
    expect(latest.occurrences[99]).toBe(ms("2026-05-17T00:00:00Z"));
    expect(latest.occurrences[0]).toBe(ms("2026-05-17T00:00:00Z") - 99_000);
    // Fewer than the cap: all of them, nothing left out.
    const few = latestOccurrences(every("minute", 15), ms("2026-05-10T10:00:00Z"), ms("2026-05-10T11:00:00Z"), "UTC", undefined, 100);
    expect(few).toEqual({ occurrences: occurrencesBetween(every("minute", 15), ms("2026-05-10T10:00:00Z"), ms("2026-05-10T11:00:00Z"), "UTC"), more: false });
    // Exactly the cap plus one, across a DST change: the oldest one is left out.
    const hours = latestOccurrences(every("hour"), ms("2026-03-07T23:30:00-05:00"), ms("2026-03-12T23:30:00-04:00"), "America/New_York", undefined, 100);
    expect(hours.occurrences).toHaveLength(100);
    expect(local(hours.occurrences[99]!, "America/New_York")).toBe("2026-03-12T23:00:00-04:00");
  });

  it("latestOccurrences agrees with listing everything, for regular, bursty and windowed schedules", () => {
    const cases: Array<[ScheduleSpec, string, string, string, { start?: number; end?: number }?]> = [
      [every("minute", 5), "2026-03-06T00:00:00Z", "2026-03-10T13:07:00Z", "America/New_York"],
      [cron("* 9 * * 1-5"), "2026-03-01T00:00:00Z", "2026-03-20T12:00:00Z", "America/New_York"], // bursts of 60 each weekday
      [cron("*/10 * * * * *"), "2026-10-24T00:00:00Z", "2026-10-26T06:00:00Z", "Europe/Berlin"],
      [every("hour"), "2026-01-01T00:00:00Z", "2026-12-31T00:00:00Z", "Europe/London", { end: ms("2026-06-30T00:00:00Z") }],
      [weekly(1, 3600), "2024-01-01T00:00:00Z", "2026-12-31T00:00:00Z", "Asia/Tokyo"],
    ];
    for (const [spec, from, until, zone, window] of cases) {
      const everything = occurrencesBetween(spec, ms(from), ms(until), zone, window, 1_000_000);
      const latest = latestOccurrences(spec, ms(from), ms(until), zone, window, 100);
      expect(latest, JSON.stringify(spec)).toEqual({ occurrences: everything.slice(-100), more: everything.length > 100 });
    }
  });

  it("counts a fall-back day's repeated hour once", () => {
    const list = occurrencesBetween(
      every("hour"),
      ms("2026-11-01T00:00:00-04:00"),
      ms("2026-11-01T04:00:00-05:00"),
      "America/New_York",
    );
    expect(list.map((t) => local(t, "America/New_York"))).toEqual([
      "2026-11-01T01:00:00-04:00",
      "2026-11-01T02:00:00-05:00",
      "2026-11-01T03:00:00-05:00",
      "2026-11-01T04:00:00-05:00",
    ]);
  });
});
