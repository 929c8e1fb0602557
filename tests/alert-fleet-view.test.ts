/** The pure counting behind fleet-wide alerts (runtime/alerts/fleet-view.ts, AlertRules.adopt). */
import { describe, expect, it } from "vitest";
import { alertHistory, failedInARow, occurrenceTakenOn } from "../runtime/alerts/fleet-view.ts";
import { AlertRules } from "../runtime/alerts/alert-rules.ts";
import { resolveAlertsOptions } from "../runtime/config/alerts-options.ts";

const run = (status: string, scheduledFor: number, trigger = "schedule") => ({ status, trigger, scheduledFor });

describe("fleet view", () => {
  it("failedInARow: occurrences (a retry counts once) since the last success, manual runs and runs in flight aside", () => {
    expect(failedInARow([run("failure", 3, "retry"), run("failure", 3), run("running", 2), run("failure", 2, "manual"), run("timeout", 1), run("success", 0), run("failure", -1)])).toBe(2);
    expect(failedInARow([run("success", 1)])).toBe(0);
  });

  it("alertHistory: a rule's last alert, failure and streak only since the last recovery", () => {
    const h = alertHistory([
      { event: "recovered", at: 30, scheduleId: "s", scheduledFor: null },
      { event: "missed", at: 25, scheduleId: "s", scheduledFor: 20 },
      { event: "failure", at: 10, scheduleId: "s", scheduledFor: null },
    ]);
    expect([...h.lastAt]).toEqual([["recovered", 30], ["missed", 25]]);
    expect(h).toMatchObject({ recoveredAt: 30, incidentOpen: false, missedOccurrences: [{ scheduleId: "s", scheduledFor: 20 }] });
  });

  it("occurrenceTakenOn: started, ended or skipped anywhere; a claim not started is not", () => {
    expect(occurrenceTakenOn([{ startedAt: null, status: "running" }])).toBe(false);
    expect(occurrenceTakenOn([{ startedAt: 5, status: "running" }])).toBe(true);
    expect(occurrenceTakenOn([{ startedAt: null, status: "skipped" }])).toBe(true);
  });

  it("AlertRules.adopt: the fleet's streak and last failure alert decide", () => {
    const settings = resolveAlertsOptions({ failure_streak: 3, repeat_after: 3600 }).options;
    const rules = new AlertRules(() => settings);
    const ended = { runId: 9, taskId: "t", scheduleId: "t#m", title: "T", status: "failure" as const, trigger: "schedule" as const, attempt: 1, retryCount: 0, startedAt: 1000, finishedAt: 2000, error: "boom" };
    rules.adopt("t", { streak: 2, history: alertHistory([{ event: "failure", at: 1000, scheduleId: "t#m", scheduledFor: null }]) });
    expect(rules.runEnded(ended).map((d) => [d.rule, d.text])).toEqual([["streak", "T failed 3 times in a row; last: boom"]]);
  });
});
