import type { RunStatus, RunTrigger } from "../store/store.ts";

/** The slice of a pino logger the scheduler uses (so tests can pass a real one of their own). */
export interface HostLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type TaskLogLine = (title: string, level: "debug" | "info" | "warn" | "error", message: string) => void;

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface RunEventInfo {
  runId: number;
  taskId: string;
  scheduleId: string;
  scheduledFor: number;
  trigger: RunTrigger;
  attempt: number;
}

export interface RunEndInfo extends RunEventInfo {
  status: RunStatus;
  startedAt: number | null;
  finishedAt: number;
  error: string | null;
  output: string;
}

export interface SchedulerEvents {
  "run.start": [RunEventInfo & { startedAt: number }];
  "run.end": [RunEndInfo];
  /** A task was paused or resumed (by a command, the dashboard, or its ledger row at load). */
  "task.paused": [{ taskId: string; paused: boolean }];
}
