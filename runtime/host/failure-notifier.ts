import type { EventEmitter } from "node:events";
import type { HostLog, RunEndInfo, SchedulerEvents } from "../scheduler/scheduler-types.ts";
import { deliverNotification, type NotificationOptions, type NotificationResult } from "../../helpers/notifications.ts";

export interface FailureNotifierOptions {
  /** notify_on_failure for this task (the task's frontmatter, else the config's). */
  enabled(taskId: string): boolean;
  /** The task's display title. */
  title(taskId: string): string;
  log: HostLog;
  /** How to notify; default node-notifier through the helpers (deliverNotification). */
  notify?: (options: NotificationOptions) => Promise<NotificationResult>;
}

/**
 * Sends a desktop notification when a run ends `failure` or `timeout` and no
 * retry follows (the scheduler's run.end says so in `retryAt`). Manual runs
 * (`taskhost run`) are not notified: whoever started them sees the result.
 * The outcome is logged as `notify.sent` or `notify.failed` (never thrown).
 * Returns a function that stops listening.
 */
export function notifyFailures(
  scheduler: Pick<EventEmitter<SchedulerEvents>, "on" | "off">,
  options: FailureNotifierOptions,
): () => void {
  const notify = options.notify ?? deliverNotification;
  const onEnd = (run: RunEndInfo) => {
    if (run.status !== "failure" && run.status !== "timeout") return;
    if (run.trigger === "manual") return;
    // The scheduler says whether a retry follows (none after a manual run, nor once the host is stopping).
    if (run.retryAt !== null) return;
    if (!options.enabled(run.taskId)) return;
    const title = options.title(run.taskId);
    const tries = run.attempt > 1 ? ` after ${run.attempt} attempts` : "";
    const reason = (run.error ?? run.status).split("\n")[0]!.slice(0, 200);
    const message = `${run.scheduleId} ${run.status === "timeout" ? "timed out" : "failed"}${tries}: ${reason}`;
    void notify({ title: `taskhost: ${title} failed`, message, urgency: "critical" })
      .catch((error: unknown): NotificationResult => ({ delivered: false, reason: String(error) }))
      .then((result) => {
        const fields = { event: result.delivered ? "notify.sent" : "notify.failed", taskId: run.taskId, runId: run.runId };
        if (result.delivered) options.log.info(fields, `failure notification sent for ${run.scheduleId}`);
        else options.log.warn({ ...fields, reason: result.reason }, `failure notification for ${run.scheduleId} not shown: ${result.reason}`);
      });
  };
  scheduler.on("run.end", onEnd);
  return () => {
    scheduler.off("run.end", onEnd);
  };
}
