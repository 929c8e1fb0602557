import type { TaskLogger } from "./task-context.ts";

/**
 * What code running inside a run (the task, and helpers it calls) can learn
 * about that run without being handed the context: helpers use it to log with
 * the task's prefix and to stop child processes when the run is aborted.
 * Each run has its own worker thread, so one global per thread is exact.
 */
export interface CurrentRun {
  readonly task: { readonly id: string; readonly title: string };
  readonly scheduleId: string;
  readonly log: TaskLogger;
  readonly signal: AbortSignal;
  readonly projectRoot: string;
  /** How the run's error stacks read to its author (the run's entry frames and the event loop's out, paths from the project root). */
  readonly cleanStack?: (stack: string) => string;
}

const CURRENT_RUN_KEY = Symbol.for("taskhost.currentRun");

/** The run this code executes in, or undefined outside a run (tests, scripts, import time). */
export function currentRun(): CurrentRun | undefined {
  return (globalThis as Record<symbol, CurrentRun | undefined>)[CURRENT_RUN_KEY];
}

/** Set by the run's worker before the task method starts. */
export function setCurrentRun(run: CurrentRun): void {
  (globalThis as Record<symbol, CurrentRun | undefined>)[CURRENT_RUN_KEY] = run;
}
