/** What a decorated task method receives. Built inside the run's worker. */
export type RunTriggerName = "schedule" | "catch-up" | "retry" | "manual" | "backfill";

export interface TaskLogger {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
}

/** A small persistent key-value store of this task, kept in the ledger between runs. */
export interface TaskState {
  get<T = unknown>(key: string): T | undefined;
  /** Values must be JSON-serialisable. */
  set(key: string, value: unknown): void;
  delete(key: string): void;
  all(): Record<string, unknown>;
}

export interface TaskContext {
  /** Aborted on timeout, on `replace` overlap, and on host shutdown. */
  signal: AbortSignal;
  /** Lines go to logs/tasks.log prefixed `[title]`, and into the run's output. */
  log: TaskLogger;
  /** The occurrence this run is for (now, for manual runs). */
  scheduledFor: Date;
  /** 1-based; > 1 for retries. */
  attempt: number;
  trigger: RunTriggerName;
  task: { id: string; title: string };
  /** `<task id>#<method>` */
  scheduleId: string;
  state: TaskState;
}
