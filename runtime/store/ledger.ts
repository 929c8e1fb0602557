/**
 * The ledger: what taskhost has run and will run. This is the seam between the
 * host and its storage; the host (scheduler, catalog, commands, dashboard)
 * talks to nothing else, and `openLedger(config.database)` is the only place
 * that picks a backend: the sql.js file (one host, the default) or PostgreSQL
 * (a fleet of hosts on one database).
 *
 * Each method is one intent of the host, not a table operation, and is DURABLE
 * WHEN ITS PROMISE RESOLVES: there is no flush(). (sql.js group-commits the
 * writes of the same moment into one journal append + fsync.)
 *
 * Each method is written so that PostgreSQL with several hosts can do it in
 * ONE statement, never read-then-write; the statement is sketched beside it.
 * A lost race ("another host took it") is a normal result (`null`, `false`),
 * never an error. All instants are epoch milliseconds, UTC. In PostgreSQL the
 * instants that decide races (claims, leases) come from the database's clock.
 *
 * Status of this file: the interface of issue 12. Methods marked (fleet) are
 * needed by issue 14; the sql.js ledger implements them for its single host.
 */
export type RunStatus = "running" | "success" | "failure" | "timeout" | "skipped" | "interrupted";
export type RunTrigger = "schedule" | "catch-up" | "retry" | "manual" | "backfill";

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

export interface ScheduleRow {
  /** `<task id>#<method>` */
  id: string;
  taskId: string;
  method: string;
  /** Changes whenever the occurrences would (spec, zone, window): hosts claim only a fingerprint they loaded. */
  fingerprint: string;
  /** Human text, e.g. "every 5 minutes". */
  spec: string;
  /** Next occurrence not yet claimed; null when the schedule has none (disabled, or none left). */
  nextRun: number | null;
}

export interface RunRow {
  id: number;
  taskId: string;
  scheduleId: string | null;
  scheduledFor: number | null;
  /** null while claimed and not started yet. */
  startedAt: number | null;
  finishedAt: number | null;
  status: RunStatus;
  attempt: number;
  trigger: RunTrigger;
  error: string | null;
  /** Excerpt of the run's output. */
  output: string;
  /** Id of the host that claimed it. */
  host: string | null;
  /**
   * A catch-up run (catch_up: once) stands for the occurrences it replaced:
   * from `coversFrom` on, `coversCount` of them (itself included). null otherwise.
   */
  coversFrom: number | null;
  coversCount: number | null;
}

export interface HostRow {
  id: string;
  hostname: string;
  pid: number;
  startedAt: number;
  lastHeartbeat: number;
  /** Runs of this host now in flight (as its last heartbeat said). */
  running: number;
}

/** One step of a schedule: occurrences taken and its next run moved on, atomically. */
export interface OccurrenceClaim {
  scheduleId: string;
  taskId: string;
  /** The schedule's next run as this host knows it; the claim holds only if the ledger still has it (compare-and-set). */
  expectedNext: number;
  /** The schedule's next run after this step (null: none left). */
  next: number | null;
  /** The fingerprint this host loaded; a host with another version of the task never claims. */
  fingerprint: string;
  /** The claiming host's id. */
  owner: string;
  /**
   * Oldest first. One for a boundary; for catch-up, what the policy runs, plus
   * the ones it records as skipped (`skipped` = the reason), so no occurrence
   * between first and last run goes unaccounted for.
   */
  occurrences: ReadonlyArray<{
    scheduledFor: number;
    trigger: "schedule" | "catch-up";
    skipped?: string;
    covers?: { from: number; count: number };
  }>;
}

/** What the ledger says when a claim is lost: the schedule as it stands now. */
export type ClaimResult = { ok: true; runIds: number[] } | { ok: false; current: ScheduleRow | null };

export interface RunEnd {
  status: Exclude<RunStatus, "running">;
  startedAt?: number | null;
  finishedAt: number;
  error: string | null;
  output?: string;
}

export interface ListRunsOptions {
  limit?: number;
  /** Only runs with id < before (pagination, newest first). */
  before?: number;
  scheduleId?: string;
}

/** One alert as raised (contract §11): what `taskhost alerts` lists, newest first. */
export interface AlertRow {
  id: number;
  /** When the rule fired (epoch ms). */
  at: number;
  /** The rule: failure, recovered, streak, slow, missed, error. */
  event: string;
  taskId: string;
  /** The task's title then. */
  title: string;
  scheduleId: string | null;
  runId: number | null;
  /** The occurrence a "missed" alert is about. */
  scheduledFor: number | null;
  text: string;
  /** The channels it was handed to (names under alerts.channels). */
  channels: string[];
  /** Id of the host that raised it. */
  host: string | null;
}

export interface ListAlertsOptions {
  limit?: number;
  /** Only alerts with id < before (pagination, newest first). */
  before?: number;
  taskId?: string;
}

/** Everything `status` reads from the ledger, in one query. */
export interface LedgerSnapshot {
  tasks: TaskRow[];
  schedules: ScheduleRow[];
  /** The newest run that started or ended, per schedule id. */
  lastRuns: Map<string, RunRow>;
  hosts: HostRow[];
}

export interface Ledger {
  /** "sqljs" or "postgres", for status and logs (never the URL). */
  readonly kind: "sqljs" | "postgres";

  // --- hosts (fleet) ------------------------------------------------------
  /** Joins the ledger as a live host (sql.js: the one host). PG: INSERT … ON CONFLICT (id) DO UPDATE. */
  registerHost(host: Omit<HostRow, "lastHeartbeat" | "running">): Promise<void>;
  /** Renews this host's lease. Returns the database clock minus ours (ms). PG: UPDATE hosts SET last_heartbeat = now() … RETURNING now(). */
  heartbeat(hostId: string, running: number): Promise<{ skewMs: number }>;
  /** A clean stop: the host's row goes. */
  leaveHost(hostId: string): Promise<void>;
  listHosts(): Promise<HostRow[]>;

  // --- tasks --------------------------------------------------------------
  /** What loading a task file found (it loaded: error null). PG: INSERT … ON CONFLICT DO UPDATE … RETURNING. */
  recordTaskLoad(task: { id: string; title: string; file: string; error: string | null; enabled: boolean }): Promise<TaskRow>;
  /** The task's file is gone: its schedules are dropped, its history stays. */
  markTaskRemoved(taskId: string, at: number): Promise<void>;
  /** Returns whether it changed. Unknown task: false. PG: UPDATE … WHERE paused <> $2. */
  setPaused(taskId: string, paused: boolean): Promise<boolean>;
  getTask(id: string): Promise<TaskRow | undefined>;
  listTasks(): Promise<TaskRow[]>;

  // --- schedules ----------------------------------------------------------
  /**
   * Makes the ledger hold this schedule and returns it as it stands. New: next
   * run `firstRun`. Same fingerprint with a next run: kept, whoever set it
   * (another host may have claimed since). Changed fingerprint, or no next run:
   * `firstRun`. `enabled: false`: no next run.
   * PG: INSERT … ON CONFLICT (id) DO UPDATE SET next_run = CASE WHEN NOT $enabled THEN NULL
   *     WHEN schedules.fingerprint = EXCLUDED.fingerprint AND schedules.next_run IS NOT NULL
   *     THEN schedules.next_run ELSE EXCLUDED.next_run END, … RETURNING *.
   */
  ensureSchedule(schedule: Omit<ScheduleRow, "nextRun"> & { firstRun: number | null; enabled: boolean }): Promise<ScheduleRow>;
  /** Drops the task's schedules other than `keep` (methods gone from the file). PG: DELETE … WHERE task_id = $1 AND id <> ALL($2). */
  retireSchedules(taskId: string, keep: readonly string[]): Promise<void>;
  /** Sets a schedule's next run outright: a reset, a resume, a fresh start. PG: UPDATE schedules SET next_run = $2 WHERE id = $1. */
  setNextRun(scheduleId: string, next: number | null): Promise<void>;
  getSchedule(id: string): Promise<ScheduleRow | undefined>;
  listSchedules(taskId?: string): Promise<ScheduleRow[]>;

  // --- claims and runs ----------------------------------------------------
  /**
   * Takes occurrences of a schedule and moves its next run on, if the ledger's
   * next run is still `expectedNext` and its fingerprint matches. A lost race
   * is `{ ok: false }` with the schedule as it stands. Backstop: a unique key on
   * non-retry (schedule_id, scheduled_for).
   * PG: WITH moved AS (UPDATE schedules SET next_run = $next WHERE id = $id AND next_run = $expected
   *     AND fingerprint = $fp RETURNING id) INSERT INTO runs … SELECT … FROM moved, unnest($occurrences) RETURNING id.
   */
  claimOccurrences(claim: OccurrenceClaim): Promise<ClaimResult>;
  /**
   * A run that is not a schedule's next occurrence: manual (always), retry and
   * backfill (null when that occurrence and attempt already has a run: another
   * host took it, or it ran). PG: INSERT … ON CONFLICT DO NOTHING RETURNING id.
   */
  recordRequestedRun(run: {
    taskId: string;
    scheduleId: string | null;
    scheduledFor: number;
    trigger: "manual" | "retry" | "backfill";
    attempt: number;
    owner: string;
  }): Promise<number | null>;
  /**
   * An occurrence claimed and never started is given back: its row goes. With
   * `handBack` (the host is stopping) the schedule's next run goes back to it
   * unless already earlier, so it is due again (for this host's next life, or
   * another host). PG: WITH gone AS (DELETE FROM runs WHERE id = $1 AND started_at IS NULL RETURNING …)
   * UPDATE schedules SET next_run = LEAST(next_run, gone.scheduled_for) FROM gone WHERE $handBack AND ….
   */
  releaseClaim(runId: number, options: { handBack: boolean }): Promise<void>;
  /** The run's code started. */
  recordStart(runId: number, at: number): Promise<void>;
  /**
   * An occurrence claimed as `schedule` that could not start on time (the
   * machine froze or slept) runs as a catch-up: its trigger becomes
   * `catch-up`, before it starts (issue 10 item 8).
   * PG: UPDATE runs SET trigger = 'catch-up' WHERE id = $1 AND started_at IS NULL.
   */
  recordCatchUp(runId: number): Promise<void>;
  /** The run ended (or was skipped); returns it as recorded. Unknown id (pruned): undefined. */
  recordEnd(runId: number, end: RunEnd): Promise<RunRow | undefined>;
  /**
   * Runs left `running` by hosts that are gone are recorded `interrupted`:
   * sql.js: every one (one host owns the file, and it is starting). PG: those
   * of `ownerId`'s earlier lives and of hosts whose lease lapsed (their claims
   * that never started are released and handed back instead). Returns them.
   */
  recoverRuns(ownerId: string): Promise<RunRow[]>;

  // --- history ------------------------------------------------------------
  getRun(id: number): Promise<RunRow | undefined>;
  /** A task's runs, newest first; occurrences claimed but not started are left out. */
  listRuns(taskId: string, options?: ListRunsOptions): Promise<RunRow[]>;
  /** The runs whose occurrence (or start, for manual runs) falls in [from, to), oldest first (timeline, backfill). */
  listRunsBetween(from: number, to: number, options?: { taskId?: string; scheduleId?: string }): Promise<RunRow[]>;
  /** Keeps the newest `keep` runs of the task; returns the ids of the runs removed (their log files go too). */
  pruneRuns(taskId: string, keep: number): Promise<number[]>;
  /**
   * The latest occurrence (scheduledFor) among the task's runs that pruning removed, or null:
   * whether an occurrence at or before it ran is no longer known (a backfill leaves it alone).
   */
  prunedThrough(taskId: string): Promise<number | null>;
  /** Everything `status` needs, in one query. */
  statusSnapshot(): Promise<LedgerSnapshot>;

  // --- alerts (issue 15) ------------------------------------------------------
  /** Records an alert as raised; returns it with its id. PG: INSERT INTO alerts … RETURNING *. */
  recordAlert(alert: Omit<AlertRow, "id">): Promise<AlertRow>;
  /**
   * Records the alert unless another host recorded the same one since this host
   * read the task's alerts: an alert of the same task, rule, schedule and
   * occurrence and the same run (any run for `missed`; all null for a task's
   * error), with an id above `seenUpTo` (the newest id that read returned; 0
   * for none). Resolves null
   * then, and the alert is not to be sent: two hosts seeing one missed
   * occurrence, or one broken file, raise one alert. PG: under the task's alert lock.
   */
  claimAlert(alert: Omit<AlertRow, "id">, seenUpTo: number): Promise<AlertRow | null>;
  /** Newest first; keeps no more than the newest 1,000 per task (older ones are pruned on insert). */
  listAlerts(options?: ListAlertsOptions): Promise<AlertRow[]>;

  // --- task state (ctx.state) -----------------------------------------------
  getState(taskId: string): Promise<Record<string, unknown>>;
  /** `undefined` deletes the key. Values are stored as JSON. */
  setState(taskId: string, key: string, value: unknown): Promise<void>;

  /** Waits for pending writes and releases the ledger (its writer lock too). Memoized. */
  close(): Promise<void>;
}
