import type { LogLevel } from "../logging/log-level.ts";
import type { Ledger, RunStatus, RunTrigger } from "../store/ledger.ts";
import type { LoadedTask } from "../task-file/loaded-task.ts";
import type { Isolation, RunLauncher } from "./run-launcher.ts";
import type { CatchUpPolicy } from "../task-file/task-meta.ts";
import type { SkipCode } from "./scheduling-policy.ts";

/** The slice of a pino logger the scheduler uses (so tests can pass a real one of their own). */
export interface HostLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type TaskLogLine = (title: string, level: LogLevel, message: string) => void;

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The timers the scheduler waits with (injected: tests run a fake clock's). */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};

/**
 * What the scheduler needs when other hosts write the same ledger (issue 14);
 * the host passes it for a shared ledger only. With it, a run's start is
 * recorded before its code begins (another host may have taken the claim back
 * meanwhile: then the run does not start), a run's end is recorded after its
 * state writes (the next run may start on another host), and overlap counts
 * the runs in flight on the other hosts.
 */
export interface SharedLedger {
  /** Runs of the schedule that started and have not ended on the other hosts. */
  runsElsewhere(scheduleId: string): Promise<number>;
  /** How often a run that waits for another host's run of its schedule looks again (ms). */
  pollMs: number;
}

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
  /** When a retry of it will run; null: none follows (success, no attempts left, manual, or the host is stopping). */
  retryAt: number | null;
}

export interface RunSkippedInfo extends RunEventInfo {
  code: SkipCode;
  /** As recorded in the run's error. */
  reason: string;
}

export interface OccurrencesMissedInfo {
  taskId: string;
  scheduleId: string;
  /** The first occurrence missed. */
  first: number;
  /** How many were missed up to now (a floor when `countIsFloor`). */
  count: number;
  countIsFloor: boolean;
  policy: CatchUpPolicy;
  /** `host-down`: they fell due before this host started; `asleep`: while it ran (suspend, clock step, overload). */
  cause: "host-down" | "asleep";
}

export interface SchedulerEvents {
  "run.start": [RunEventInfo & { startedAt: number }];
  "run.end": [RunEndInfo];
  /** An occurrence recorded skipped (overlap, a full queue, a slot wait, catch_up). */
  "run.skipped": [RunSkippedInfo];
  /** Occurrences that passed unrun were found (on start, or after a sleep); catch_up deals with them. */
  "occurrence.missed": [OccurrencesMissedInfo];
  /** A task was paused or resumed (by a command, the dashboard, or its ledger row at load). */
  "task.paused": [{ taskId: string; paused: boolean }];
}

/** What a Scheduler is built from: its ports (ledger, launcher, clock, timers), logs and limits. */
export interface SchedulerOptions {
  ledger: Ledger;
  launcher: RunLauncher;
  log: HostLog;
  taskLog: TaskLogLine;
  maxConcurrentRuns: number;
  historyPerTask: number;
  /** This host's id in the ledger: its claims carry it. */
  owner: string;
  /** Other hosts write the same ledger (a fleet, issue 14); left out for a ledger this host owns alone. */
  shared?: SharedLedger;
  /** How a task's runs are isolated (default `worker`). */
  isolationOf?: (task: LoadedTask) => Isolation;
  clock?: Clock;
  timers?: Timers;
}
