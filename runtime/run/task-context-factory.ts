/**
 * The `ctx` a run's method receives, at every isolation level (built inside
 * the run's thread by worker-entry.ts and isolate-entry.ts alike): state
 * round-trips through JSON, log lines and state changes go to the host.
 */
import { format } from "node:util";
import type { RunTriggerName, TaskContext, TaskState } from "../api/task-context.ts";
import type { LogLevel } from "../logging/log-level.ts";

/** What a run is, as its thread was told. */
export interface RunIdentity {
  task: { id: string; title: string };
  scheduleId: string;
  scheduledFor: number;
  attempt: number;
  trigger: RunTriggerName;
}

export interface RunReporter {
  log(level: LogLevel, message: string): void;
  state(key: string, value: unknown, deleted: boolean): void;
}

export function makeTaskContext(run: RunIdentity, initial: Record<string, unknown>, signal: AbortSignal, report: RunReporter): TaskContext {
  const log = (level: LogLevel) => (...args: unknown[]) => report.log(level, format(...args));
  const state = { ...initial };
  const taskState: TaskState = {
    get: <T,>(key: string) => state[key] as T | undefined,
    set: (key, value) => {
      // Round-trip through JSON now so a non-serialisable value fails in the task, not later.
      const json = JSON.parse(JSON.stringify(value ?? null)) as unknown;
      state[key] = json;
      report.state(key, json, false);
    },
    delete: (key) => {
      delete state[key];
      report.state(key, null, true);
    },
    all: () => ({ ...state }),
  };
  return {
    signal,
    log: { info: log("info"), warn: log("warn"), error: log("error"), debug: log("debug") },
    scheduledFor: new Date(run.scheduledFor),
    attempt: run.attempt,
    trigger: run.trigger,
    task: { ...run.task },
    scheduleId: run.scheduleId,
    state: taskState,
  };
}
