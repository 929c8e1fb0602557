/**
 * The old table-level store interface, kept while the scheduler still calls
 * it (issue 12 replaces it with the intent-level `Ledger` of ledger.ts; the
 * sql.js ledger implements both on one object until then). New code talks to
 * `Ledger`. The row types are the ledger's.
 */
import type { ListRunsOptions, RunRow, RunTrigger as LedgerRunTrigger, ScheduleRow, TaskRow } from "./ledger.ts";

export type { ListRunsOptions, RunRow, RunStatus, ScheduleRow, TaskRow } from "./ledger.ts";
/** The triggers the old scheduler starts runs with (a task's ctx.trigger knows no "backfill" yet). */
export type RunTrigger = Exclude<LedgerRunTrigger, "backfill">;

/** The fleet and catch-up fields are optional for old callers (null when left out). */
type LedgerOnlyRunFields = "host" | "coversFrom" | "coversCount";
export type NewRun = Omit<RunRow, "id" | LedgerOnlyRunFields> & Partial<Pick<RunRow, LedgerOnlyRunFields>>;
export type RunPatch = Partial<Omit<RunRow, "id" | "taskId">>;

export interface Store {
  upsertTask(task: Omit<TaskRow, "paused" | "removedAt" | "error" | "enabled"> & { removedAt?: number | null }): Promise<void>;
  getTask(id: string): Promise<TaskRow | undefined>;
  listTasks(): Promise<TaskRow[]>;
  /** Returns whether it changed (the ledger's answer). */
  setPaused(taskId: string, paused: boolean): Promise<boolean>;
  /** What the last load of the task's file found, for a status read from the ledger alone. */
  setTaskLoad(taskId: string, load: { error: string | null; enabled: boolean }): Promise<void>;
  /** The task's file is gone: its history stays, its schedules are dropped. */
  markTaskRemoved(taskId: string, at: number): Promise<void>;

  upsertSchedule(schedule: ScheduleRow): Promise<void>;
  getSchedule(id: string): Promise<ScheduleRow | undefined>;
  listSchedules(taskId?: string): Promise<ScheduleRow[]>;
  setNextRun(scheduleId: string, nextRun: number | null): Promise<void>;
  removeSchedule(id: string): Promise<void>;

  /** Inserts a run and returns its id. */
  insertRun(run: NewRun): Promise<number>;
  updateRun(id: number, patch: RunPatch): Promise<void>;
  /** Removes a run that was claimed but never started (its occurrence is then overdue again). */
  deleteRun(id: number): Promise<void>;
  getRun(id: number): Promise<RunRow | undefined>;
  /** A task's runs, newest first; occurrences claimed but not started yet are left out. */
  listRuns(taskId: string, options?: ListRunsOptions): Promise<RunRow[]>;
  /** The newest run that started or ended (a claim still waiting for its boundary is not one). */
  lastRun(scheduleId: string): Promise<RunRow | undefined>;
  /** Runs left with status `running` (by a host that died). */
  listUnfinishedRuns(): Promise<RunRow[]>;
  /** Deletes all but the newest `keep` runs of the task; returns the ids of the runs removed (the ledger's answer). */
  pruneRuns(taskId: string, keep: number): Promise<number[]>;

  getState(taskId: string): Promise<Record<string, unknown>>;
  /** `undefined` deletes the key. Values are stored as JSON. */
  setState(taskId: string, key: string, value: unknown): Promise<void>;

  /** Persist now (durably). Writes are otherwise persisted within a short delay. */
  flush(): Promise<void>;
  /** Flushes and releases the store; safe to call twice. */
  close(): Promise<void>;
}
