import { describe, expect, it } from "vitest";
import { buildTimeline, OCCURRENCE_CAP, type TimelineRunRow, type TimelineSchedule } from "../runtime/dashboard/timeline-data.ts";

const T = (hhmm: string) => Date.parse(`2026-06-01T${hhmm}:00Z`);
const hourly: TimelineSchedule = { id: "job#run", taskId: "job", spec: { kind: "every", unit: "hour", n: 1, offsetSec: 0 }, zone: "UTC", window: {}, nextRun: T("13:00") };
const run = (id: number, at: string, status: TimelineRunRow["status"], trigger: TimelineRunRow["trigger"] = "schedule"): TimelineRunRow => ({
  id, taskId: "job", scheduleId: "job#run", scheduledFor: T(at), startedAt: T(at) + 20, finishedAt: status === "running" ? null : T(at) + 1500, status, trigger, error: null,
});

describe("the timeline of a day", () => {
  const from = T("00:00");
  const to = from + 24 * 3600_000;

  it("lists the runs, the occurrences to come from the next run on, and the past ones that never ran", () => {
    const runs = [run(1, "08:00", "success"), run(2, "09:00", "failure"), run(3, "11:00", "skipped"), run(4, "12:00", "running")];
    const timeline = buildTimeline({ from, to, now: T("12:30"), schedules: [hourly], runs });
    expect(timeline.runs.map((r) => [r.id, r.status])).toEqual([[1, "success"], [2, "failure"], [3, "skipped"], [4, "running"]]);
    // Before the first recorded run the task may not have existed: nothing before 08:00 is "missed".
    expect(timeline.missed.map((m) => m.at)).toEqual([new Date(T("10:00")).toISOString()]);
    expect(timeline.upcoming).toHaveLength(11);
    expect(timeline.upcoming[0]).toEqual({ taskId: "job", scheduleId: "job#run", at: new Date(T("13:00")).toISOString() });
    expect(timeline.truncated).toBe(false);
  });

  it("draws nothing ahead for a paused schedule, and caps a dense one", () => {
    const paused = buildTimeline({ from, to, now: T("12:30"), schedules: [{ ...hourly, nextRun: null }], runs: [] });
    expect(paused.upcoming).toEqual([]);
    const everySecond: TimelineSchedule = { ...hourly, spec: { kind: "every", unit: "second", n: 1, offsetSec: 0 }, nextRun: T("12:30") + 1000 };
    const dense = buildTimeline({ from, to, now: T("12:30"), schedules: [everySecond], runs: [] });
    expect(dense.upcoming).toHaveLength(OCCURRENCE_CAP);
    expect(dense.truncated).toBe(true);
  });

  it("a manual run has no occurrence, and does not make one of the schedule count as run", () => {
    const manual = { ...run(5, "10:00", "success", "manual"), scheduleId: "job#run", scheduledFor: T("10:00") + 123 };
    const timeline = buildTimeline({ from, to, now: T("12:30"), schedules: [hourly], runs: [run(1, "09:00", "success"), manual] });
    expect(timeline.runs.map((r) => r.trigger)).toEqual(["schedule", "manual"]);
    expect(timeline.missed.map((m) => m.at)).toEqual([T("10:00"), T("11:00"), T("12:00")].map((ms) => new Date(ms).toISOString()));
  });

  it("draws a backfill run at the occurrence it stands for, not when it ran", () => {
    const backfill = { ...run(9, "03:00", "success", "backfill"), startedAt: T("12:10"), finishedAt: T("12:11") };
    const night = buildTimeline({ from: T("02:00"), to: T("04:00"), now: T("12:30"), schedules: [hourly], runs: [run(1, "01:00", "success"), backfill] });
    expect(night.runs.map((r) => r.id)).toEqual([9]);
    expect(night.missed.map((m) => m.at)).toEqual([new Date(T("02:00")).toISOString()]);
  });
});
