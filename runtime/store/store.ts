/**
 * The ledger interface. The scheduler only ever talks to a `Store`; the sql.js
 * file store is one implementation, and a PostgreSQL one can be added later
 * without touching the scheduler. Every method is async for that reason.
 * All instants are epoch milliseconds (UTC).
 */
export type RunStatus = "running" | "success" | "failure" | "timeout" | "skipped" | "interrupted";
export type RunTrigger = "schedule" | "catch-up" | "retry" | "manual";

export interface TaskRow {
  id: string;
  title: string;
  /** Path relative to the project root, e.g. `tasks/reports/daily.ts`. */
  file: string;
  paused: boolean;
  /** Set when the task file was removed; its history stays. */
  removedAt: number | null;
  /** Why its file last failed to load (null: it loaded); `status` shows it with no host running. */
  error: string | null;
  /** Its frontmatter's `enabled`, as last loaded. */
  enabled: boolean;
}

/** Whether the next host start will schedule the task: its file is there, enabled, and loaded last time. */
export function willBeScheduled(task: TaskRow): boolean {
  return task.removedAt == null && task.enabled && task.error == null;
}

export interface ScheduleRow {
  /** `<task id>#<method>` */
  id: string;
  taskId: string;
  method: string;
  /** JSON of the ScheduleSpec plus zone/window, to detect a changed schedule. */
  fingerprint: string;
  /** Human text, e.g. "every 5 minutes". */
  spec: string;
  /** Next occurrence not yet claimed; null when the schedule has none left. */
  nextRun: number | null;
}

export interface RunRow {
  id: number;
  taskId: string;
  scheduleId: string | null;
  scheduledFor: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  status: RunStatus;
  attempt: number;
  trigger: RunTrigger;
  error: string | null;
  /** Excerpt of the run's output (capped by the caller). */
  output: string;
}

export type NewRun = Omit<RunRow, "id">;
export type RunPatch = Partial<Omit<RunRow, "id" | "taskId">>;

export interface ListRunsOptions {
  limit?: number;
  /** Only runs with id < before (for pagination, newest first). */
  before?: number;
  scheduleId?: string;
}

export interface Store {
  upsertTask(task: Omit<TaskRow, "paused" | "removedAt" | "error" | "enabled"> & { removedAt?: number | null }): Promise<void>;
  getTask(id: string): Promise<TaskRow | undefined>;
  listTasks(): Promise<TaskRow[]>;
  setPaused(taskId: string, paused: boolean): Promise<void>;
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
  /** Newest first. */
  /** A task's runs, newest first; occurrences claimed but not started yet are left out. */
  listRuns(taskId: string, options?: ListRunsOptions): Promise<RunRow[]>;
  /** The newest run that started or ended (a claim still waiting for its boundary is not one). */
  lastRun(scheduleId: string): Promise<RunRow | undefined>;
  /** Runs left with status `running` (by a host that died). */
  listUnfinishedRuns(): Promise<RunRow[]>;
  /** True when a non-retry run of this occurrence was already recorded. */
  hasOccurrence(scheduleId: string, scheduledFor: number): Promise<boolean>;
  /** Deletes all but the newest `keep` runs of the task; returns how many went. */
  pruneRuns(taskId: string, keep: number): Promise<number>;

  getState(taskId: string): Promise<Record<string, unknown>>;
  /** `undefined` deletes the key. Values are stored as JSON. */
  setState(taskId: string, key: string, value: unknown): Promise<void>;

  /** Persist now (durably). Writes are otherwise persisted within a short delay. */
  flush(): Promise<void>;
  /** Flushes and releases the store; safe to call twice. */
  close(): Promise<void>;
}
