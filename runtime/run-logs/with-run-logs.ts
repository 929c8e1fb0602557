/**
 * A `RunLauncher` that also writes each run's whole output to its log file:
 * every line the run reports goes to the file as well as to the scheduler's
 * sink, and the file ends with the run's outcome (a run that printed nothing
 * and succeeded has no file). The launcher it wraps is
 * unchanged (worker, context or task isolation alike).
 */
import type { LaunchedRun, RunLauncher, RunOutcome, RunRequest, RunSink } from "../scheduler/run-launcher.ts";
import type { RunLogFiles } from "./run-log-files.ts";

function summary(outcome: RunOutcome): string {
  const took = outcome.startedAt != null ? ` in ${outcome.finishedAt - outcome.startedAt} ms` : "";
  return `${outcome.status}${took}${outcome.error ? `: ${outcome.error.split("\n", 1)[0]}` : ""}`;
}

export function withRunLogs(launcher: RunLauncher, files: RunLogFiles): Required<RunLauncher> {
  return {
    launch(request: RunRequest, sink: RunSink): LaunchedRun {
      const writer = files.open(request.task.id, request.runId);
      let printed = false;
      const launched = launcher.launch(request, {
        started: (at) => sink.started(at),
        state: (key, value, deleted) => sink.state(key, value, deleted),
        log: (level, line) => {
          printed = true;
          writer.line(level, line);
          sink.log(level, line);
        },
      });
      // A run that printed nothing and succeeded gets no file (most runs of most tasks): its
      // file would say only "success", and opening and closing one costs the host ~0.4 ms a run.
      void launched.outcome.then(
        (outcome) => writer.close(printed || outcome.status !== "success" ? summary(outcome) : undefined),
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
        standAlone: () => launched.standAlone?.() ?? false,
      };
    },
    leadTimeMs: (taskId, isolation) => launcher.leadTimeMs(taskId, isolation),
    expect: (run) => launcher.expect?.(run),
    forgetTask: (taskId) => launcher.forgetTask?.(taskId),
    configure: (limits) => launcher.configure?.(limits),
    close: () => launcher.close(),
  };
}
