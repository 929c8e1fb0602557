/**
 * `isolation: worker`: today's fresh worker thread per run (prepare-run.ts),
 * behind the LaunchedRun shape. Also where a task that cannot run in a context
 * (no CommonJS bundle) goes.
 */
import type { LaunchedRun, RunRequest, RunSink } from "../../scheduler/run-launcher.ts";
import { prepareRun } from "../prepare-run.ts";
import type { RunTriggerName } from "../../api/task-context.ts";

export function launchWorkerRun(entryFile: string, request: RunRequest, sink: RunSink): LaunchedRun {
  const prepared = prepareRun({
    entryFile,
    bundlePath: request.bundlePath,
    method: request.method,
    task: request.task,
    scheduleId: request.scheduleId,
    scheduledFor: request.scheduledFor,
    attempt: request.attempt,
    trigger: request.trigger as RunTriggerName,
    timeoutSec: request.timeoutSec,
    memoryLimitMb: request.memoryLimitMb,
    onStarted: (at) => sink.started(at),
    onLog: (level, line) => sink.log(level, line),
    onState: (key, value, deleted) => sink.state(key, value, deleted),
  });
  let started = false;
  return {
    ready: prepared.ready,
    outcome: prepared.outcome,
    start(readState) {
      started = true;
      readState().then(
        (state) => prepared.start(state),
        (error: unknown) => prepared.stop("interrupted", `taskhost could not read the task's state: ${String(error)}`, 0),
      );
    },
    stop: (status, reason, graceMs, completedCounts) => prepared.stop(status, reason, graceMs, completedCounts),
    cancel() {
      if (!started) prepared.stop("interrupted", "cancelled before it started", 0);
    },
  };
}
