// describeSchedule: the one-line text `taskhost status` shows for each schedule.
import { describe, expect, it } from "vitest";
import { every, cron } from "../runtime/api/index.ts";
import { describeSchedule } from "../runtime/schedule/describe-schedule.ts";

describe("describeSchedule", () => {
  it.each([
    [every().second, "every second"],
    [every(10).seconds, "every 10 seconds"],
    [every().minute, "every minute"],
    [every(5).minutes, "every 5 minutes"],
    [every().minute.at(":30"), "every minute at :30"],
    [every().hour, "every hour"],
    [every(2).hours, "every 2 hours"],
    [every().hour.at(":15"), "every hour at :15"],
    [every(2).hours.at(":15"), "every 2 hours at :15"],
    [every().hour.at(":15:30"), "every hour at :15:30"],
    [every().day, "every day at 00:00"],
    [every().day.at("09:00"), "every day at 09:00"],
    [every().day.at("9:05:30"), "every day at 09:05:30"],
    [every(2).days.at("09:00"), "every 2 days at 09:00"],
    [every().monday.at("09:00"), "every monday at 09:00"],
    [every().sunday, "every sunday at 00:00"],
    [cron("0 9 * * 1-5"), "at 09:00, Monday through Friday (cron 0 9 * * 1-5)"],
    [cron("*/5 * * * *"), "every 5 minutes (cron */5 * * * *)"],
  ])("%s", (schedule, text) => {
    expect(describeSchedule(schedule.spec)).toBe(text);
    expect(String(schedule)).toBe(text);
  });

  it("describes once and hand-written offsets the builders cannot produce", () => {
    expect(describeSchedule({ kind: "once", at: "2026-12-01T09:00" })).toBe("once at 2026-12-01T09:00");
    expect(describeSchedule({ kind: "every", unit: "minute", n: 5, offsetSec: 150 })).toBe("every 5 minutes starting 00:02:30");
    expect(describeSchedule({ kind: "weekly", weekday: 6, offsetSec: 23 * 3600 + 59 * 60 })).toBe("every saturday at 23:59");
  });
});
