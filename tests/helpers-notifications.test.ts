import { execFileSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { sendAndLogNotification, sendNotification, type NotificationOptions, type NotificationResult } from "../helpers/index.ts";
import { notifyFailures } from "../runtime/host/failure-notifier.ts";
import type { HostLog, RunEndInfo, SchedulerEvents } from "../runtime/scheduler/scheduler-types.ts";

const hasNotifySend = (() => {
  try {
    execFileSync("sh", ["-c", "command -v notify-send"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("sendNotification", () => {
  it("never throws; without a notification tool it says why", async () => {
    const result = await sendNotification({ title: "t", message: "m", urgency: "low", timeout: 1 });
    expect(typeof result.delivered).toBe("boolean");
    if (process.platform === "linux" && !hasNotifySend) {
      expect(result).toEqual({ delivered: false, reason: expect.stringMatching(/^not found: notify-send \(no desktop notification tool/) });
    }
    const logged = await sendAndLogNotification({ title: "t", message: "m" });
    expect(logged.delivered).toBe(result.delivered);
  });
});

describe("notifyFailures", () => {
  const end = (over: Partial<RunEndInfo>): RunEndInfo => ({
    runId: 1, taskId: "backup", scheduleId: "backup#start", scheduledFor: 0, trigger: "schedule", attempt: 1,
    status: "failure", startedAt: 0, finishedAt: 1, error: "Error: disk full\n    at x", output: "", retryAt: null, ...over,
  });

  it("notifies once a failed run has no retry left, and logs the outcome", async () => {
    const scheduler = new EventEmitter<SchedulerEvents>();
    const sent: NotificationOptions[] = [];
    const lines: Array<[string, object, string | undefined]> = [];
    const log: HostLog = {
      debug: (o, m) => lines.push(["debug", o, m]),
      info: (o, m) => lines.push(["info", o, m]),
      warn: (o, m) => lines.push(["warn", o, m]),
      error: (o, m) => lines.push(["error", o, m]),
    };
    let delivered = true;
    const dispose = notifyFailures(scheduler, {
      enabled: (id) => id !== "quiet",
      title: (id) => `Title of ${id}`,
      log,
      notify: async (n): Promise<NotificationResult> => {
        sent.push(n);
        return delivered ? { delivered: true } : { delivered: false, reason: "no daemon" };
      },
    });
    scheduler.emit("run.end", end({ attempt: 1, retryAt: 60_000 })); // a retry follows
    scheduler.emit("run.end", end({ attempt: 2, trigger: "retry", retryAt: 120_000 })); // another follows
    scheduler.emit("run.end", end({ status: "success", attempt: 3 }));
    scheduler.emit("run.end", end({ trigger: "manual", attempt: 3 }));
    scheduler.emit("run.end", end({ taskId: "quiet", scheduleId: "quiet#start" }));
    scheduler.emit("run.end", end({ status: "interrupted", attempt: 3 }));
    expect(sent).toEqual([]);
    scheduler.emit("run.end", end({ attempt: 3, trigger: "retry" }));
    delivered = false;
    scheduler.emit("run.end", end({ taskId: "other", scheduleId: "other#go", status: "timeout", error: "timed out after 5s" }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual([
      { title: "taskhost: Title of backup failed", message: "backup#start failed after 3 attempts: Error: disk full", urgency: "critical" },
      { title: "taskhost: Title of other failed", message: "other#go timed out: timed out after 5s", urgency: "critical" },
    ]);
    expect(lines.map(([level, o]) => [level, (o as { event: string }).event])).toEqual([
      ["info", "notify.sent"],
      ["warn", "notify.failed"],
    ]);
    dispose();
    scheduler.emit("run.end", end({ attempt: 3 }));
    expect(sent).toHaveLength(2);
  });
});
