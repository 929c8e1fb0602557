/**
 * Runs someone asked for rather than a schedule's clock: a manual run
 * (`taskhost run`, the dashboard's button, a webhook) and a backfilled past
 * occurrence. Both are recorded first, then run like any other; only what the
 * caller waits for differs.
 */
import { taskhostError } from "../errors.ts";
import type { RunRow } from "../store/ledger.ts";
import type { LoadedTask } from "../task-file/loaded-task.ts";
import { pickMethod } from "./pick-method.ts";
import type { RunLifecycle, RunSubject } from "./run-lifecycle.ts";

/** What the scheduler lends these requests. */
export interface RunRequests {
  task(taskId: string): LoadedTask | undefined;
  stopping(): boolean;
  now(): number;
  /** Records the request and begins the run (admission, slot, launch). */
  begin(subject: RunSubject): RunLifecycle;
}

/**
 * Starts a manual run: resolves once it is recorded (with its run id, so a
 * webhook caller can look it up) and gives the finished run as `done`.
 * Rejects at once for an unknown task or method, or a stopping host.
 */
export async function startManualRun(requests: RunRequests, taskId: string, methodName?: string): Promise<{ runId: number; done: Promise<RunRow> }> {
  if (requests.stopping()) throw taskhostError("ERR_SCHEDULER_STOPPED", "taskhost scheduler: the host is stopping; run the task after it restarts");
  const task = requests.task(taskId);
  if (!task) throw taskhostError("ERR_UNKNOWN_TASK", `taskhost: no loaded task "${taskId}" (see \`taskhost status\` for the task ids)`);
  const method = pickMethod(task, methodName);
  const scheduleId = task.schedules.find((s) => s.method === method)?.id ?? `${task.id}#${method}`;
  const run = requests.begin({ task, scheduleId, method, scheduledFor: requests.now(), trigger: "manual", attempt: 1 });
  const runId = await run.claim;
  if (runId == null) throw new Error(`taskhost scheduler: the manual run of ${scheduleId} was not recorded`);
  const done = run.recorded.then((row) => row ?? Promise.reject(new Error(`taskhost scheduler: the manual run of ${scheduleId} was cancelled`)));
  // The caller may only want the id.
  done.catch(() => {});
  return { runId, done };
}

/**
 * Runs a past occurrence (trigger `backfill`) like a manual run, at the occurrence's time: the ledger
 * answers null when it already has a run. Resolves with the ended run, or null; rejects on a stop.
 */
export async function runPastOccurrence(
  requests: RunRequests,
  request: { taskId: string; scheduleId: string; method: string; scheduledFor: number; trigger: "backfill" },
): Promise<RunRow | null> {
  const task = requests.stopping() ? undefined : requests.task(request.taskId);
  if (!task) {
    throw requests.stopping()
      ? taskhostError("ERR_SCHEDULER_STOPPED", "taskhost scheduler: the host is stopping; the backfill resumes after it restarts")
      : taskhostError("ERR_UNKNOWN_TASK", `taskhost: no loaded task "${request.taskId}"`);
  }
  const run = requests.begin({ task, scheduleId: request.scheduleId, method: request.method, scheduledFor: request.scheduledFor, trigger: request.trigger, attempt: 1 });
  if ((await run.claim) == null) return null;
  return (await run.recorded) ?? Promise.reject(taskhostError("ERR_SCHEDULER_STOPPED", `taskhost scheduler: the backfill run of ${request.scheduleId} did not start (the host is stopping)`));
}
