/**
 * A `RunLauncher` that also writes each run's whole output to its log file:
 * every line the run reports goes to the file as well as to the scheduler's
 * sink, and the file ends with the run's outcome. The launcher it wraps is
 * unchanged (worker, context or task isolation alike).
 */
import type { LaunchedRun, RunLauncher, RunOutcome, RunRequest, RunSink } from "../scheduler/run-launcher.ts";
import type { RunLogFiles } from "./run-log-files.ts";

function summary(outcome: RunOutcome): string {
  const took = outcome.startedAt != null ? ` in ${outcome.finishedAt - outcome.startedAt} ms` : "";
  return `${outcome.status}${took}${outcome.error ? `: ${outcome.error.split("\n", 1)[0]}` : ""}`;
}

export function withRunLogs(launcher: RunLauncher, files: RunLogFiles): RunLauncher {
  return {
    launch(request: RunRequest, sink: RunSink): LaunchedRun {
      const writer = files.open(request.task.id, request.runId);
      const launched = launcher.launch(request, {
        started: (at) => sink.started(at),
        state: (key, value, deleted) => sink.state(key, value, deleted),
        log: (level, line) => {
          writer.line(level, line);
          sink.log(level, line);
        },
      });
      void launched.outcome.then(
        (outcome) => writer.close(summary(outcome)),
        () => writer.close(),
      );
      return {
        ready: launched.ready,
        outcome: launched.outcome,
        start: (readState, options) => launched.start(readState, options),
        stop: (status, reason, graceMs, completedCounts) => launched.stop(status, reason, graceMs, completedCounts),
        cancel: () => {
          launched.cancel();
          void writer.close();
        },
      };
    },
    leadTimeMs: (taskId, isolation) => launcher.leadTimeMs(taskId, isolation),
    close: () => launcher.close(),
  };
}
