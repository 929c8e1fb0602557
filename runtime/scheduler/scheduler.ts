import { EventEmitter } from "node:events";
import type { Store, RunRow, RunPatch, RunTrigger } from "../store/store.ts";
import type { LoadedTask, TaskSchedule } from "../task-file/loaded-task.ts";
import { nextRun } from "../schedule/next-run.ts";
import { latestOccurrences } from "../schedule/occurrences-between.ts";
import { prepareRun, graceFor, type PreparedRun, type RunOutcome } from "../run/prepare-run.ts";
import { RunSlots } from "./run-slots.ts";
import { systemClock, type Clock, type HostLog, type SchedulerEvents, type TaskLogLine } from "./scheduler-types.ts";

export const ERR_UNKNOWN_TASK = "ERR_UNKNOWN_TASK";
export const ERR_UNKNOWN_METHOD = "ERR_UNKNOWN_METHOD";
export const ERR_SCHEDULER_STOPPED = "ERR_SCHEDULER_STOPPED";

/** Workers are started this long before their occurrence, so the task's code starts on the boundary. */
const LEAD_MS = 400;
/** A timer that fires later than this found the machine asleep, the clock stepped, or the host down. */
const LATE_MS = 1000;
/** No single timer waits longer (clock steps and suspends are noticed within this). */
const MAX_WAIT_MS = 30_000;
/** Like Kubernetes CronJob: at most this many missed occurrences are caught up or recorded. */
const CATCH_UP_LIMIT = 100;
/** overlap: queue keeps at most this many occurrences waiting; later ones are skipped. */
const QUEUE_LIMIT = 100;

export interface ScheduleReset {
  scheduleId: string;
  taskId: string;
  before: number | null;
  after: number | null;
}

export interface SchedulerOptions {
  store: Store;
  log: HostLog;
  taskLog: TaskLogLine;
  /** The compiled worker entry. */
  entryFile: string;
  maxConcurrentRuns: number;
  historyPerTask: number;
  clock?: Clock;
}

type Phase = "armed" | "waiting" | "active" | "ended";

interface Run {
  rowId: number | null;
  /** Resolves once the claim is durable (the run row and the advanced next run). */
  claimed: Promise<void>;
  task: LoadedTask;
  scheduleId: string;
  method: string;
  scheduledFor: number;
  trigger: RunTrigger;
  attempt: number;
  phase: Phase;
  hasSlot: boolean;
  /** Pre-warmed without a slot: it starts the moment one frees up. */
  standby: boolean;
  prepared: PreparedRun | null;
  outcome: Promise<RunRow | undefined> | null;
}

interface ScheduleState {
  task: LoadedTask;
  schedule: TaskSchedule;
  nextRun: number | null;
  armed: Run | null;
  queue: Run[];
  runs: Set<Run>;
}

/**
 * Decides when each schedule's occurrences run and runs them: pre-warms a
 * worker shortly before the boundary, claims the occurrence durably before the
 * task's code starts (so no occurrence runs twice, even across kill -9),
 * applies overlap, concurrency, retries and catch-up, and records everything
 * through the Store.
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  private readonly states = new Map<string, ScheduleState>();
  private readonly tasks = new Map<string, LoadedTask>();
  private readonly paused = new Set<string>();
  private readonly active = new Set<Run>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** Schedules first seen before start(): their next run is counted from start(). */
  private readonly fresh = new Set<string>();
  private readonly runsSincePrune = new Map<string, number>();
  private readonly slots: RunSlots;
  /** Pre-warmed workers waiting for a slot; at most one slot's worth per slot. */
  private standbyCount = 0;
  private readonly clock: Clock;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopping = false;
  private historyPerTask: number;

  constructor(private readonly options: SchedulerOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.slots = new RunSlots(options.maxConcurrentRuns);
    this.historyPerTask = options.historyPerTask;
  }

  /** Live-tunable limits (config reload). */
  configure(limits: { maxConcurrentRuns: number; historyPerTask: number }): void {
    this.slots.setLimit(limits.maxConcurrentRuns);
    this.historyPerTask = limits.historyPerTask;
  }

  /** Marks the runs a dead host left behind as `interrupted`. */
  async recoverUnfinished(): Promise<number> {
    const { store } = this.options;
    const unfinished = await store.listUnfinishedRuns();
    // At most once: after a crash nobody knows whether a claimed run had begun, so none is re-run.
    for (const run of unfinished) {
      await store.updateRun(run.id, {
        status: "interrupted",
        error:
          run.startedAt == null
            ? "the host stopped (crash or kill) when this run was due; it may not have started"
            : "the host stopped (crash or kill) while this run was running",
      });
    }
    await store.flush();
    return unfinished.length;
  }

  /** Adds or replaces a task. Unchanged schedules keep their next run; changed ones are recomputed. */
  async setTask(task: LoadedTask, options: { paused?: boolean } = {}): Promise<void> {
    const { store } = this.options;
    const now = this.clock.now();
    this.tasks.set(task.id, task);
    if (options.paused !== undefined) this.setPausedFlag(task.id, options.paused);
    const keep = new Set(task.schedules.map((s) => s.id));
    for (const [id, state] of this.states) {
      if (state.task.id === task.id && !keep.has(id)) this.dropSchedule(id, state);
    }
    for (const schedule of task.schedules) {
      const existing = this.states.get(schedule.id);
      if (existing && existing.schedule.fingerprint === schedule.fingerprint && existing.task.meta.enabled === task.meta.enabled) {
        existing.task = task;
        existing.schedule = schedule;
        continue;
      }
      if (existing) this.dropSchedule(schedule.id, existing);
      const row = await store.getSchedule(schedule.id);
      const enabled = task.meta.enabled;
      // No stored next run: a disabled task (or one that has none left, which recomputing confirms).
      const known = row != null && row.fingerprint === schedule.fingerprint && row.nextRun != null;
      // A disabled task has no next run, so enabling it starts from now: what fell due while it
      // was off was not missed (like a paused one's), and check-overdue does not list it.
      const next = !enabled ? null : known ? row.nextRun : nextRun(schedule.spec, now, schedule.zone, schedule.window);
      // A new schedule counts from when scheduling starts, not from when its file loaded
      // (a cold start with many files must not find its own new schedules overdue).
      if (enabled && !known && !this.running) this.fresh.add(schedule.id);
      await store.upsertSchedule({
        id: schedule.id,
        taskId: task.id,
        method: schedule.method,
        fingerprint: schedule.fingerprint,
        spec: schedule.text,
        nextRun: next,
      });
      // Runs still going on the old version count for overlap until they end.
      const carried = existing ? [...existing.runs].filter((r) => r.phase === "active" || r.phase === "waiting") : [];
      this.states.set(schedule.id, { task, schedule, nextRun: next, armed: null, queue: [], runs: new Set(carried) });
    }
    for (const row of await store.listSchedules(task.id)) {
      if (!keep.has(row.id)) await store.removeSchedule(row.id);
    }
    this.wake();
  }

  /** Unschedules a task (its file is gone). Runs in flight finish; history stays. */
  removeTask(taskId: string): void {
    this.tasks.delete(taskId);
    for (const [id, state] of this.states) if (state.task.id === taskId) this.dropSchedule(id, state);
  }

  setPaused(taskId: string, paused: boolean): void {
    this.setPausedFlag(taskId, paused);
    this.wake();
  }

  isPaused(taskId: string): boolean {
    return this.paused.has(taskId);
  }

  /** The next occurrence of a schedule as the scheduler sees it (armed or not). */
  nextRunOf(scheduleId: string): number | null {
    const state = this.states.get(scheduleId);
    if (!state) return null;
    return state.armed ? state.armed.scheduledFor : state.nextRun;
  }

  /**
   * Recomputes next runs on the aligned grid from now (dropping whatever was
   * missed). `futureOnly` touches only schedules whose next run is in the past.
   */
  resetSchedules(select: (scheduleId: string, taskId: string) => boolean, options: { futureOnly: boolean; dryRun: boolean }): ScheduleReset[] {
    const now = this.clock.now();
    const resets: ScheduleReset[] = [];
    for (const [id, state] of this.states) {
      // A disabled task has no next run to reset (enabling it starts from now anyway).
      if (!select(id, state.task.id) || !state.task.meta.enabled) continue;
      const before = state.armed ? state.armed.scheduledFor : state.nextRun;
      if (options.futureOnly && (before == null || before > now)) continue;
      const { schedule } = state;
      const after = nextRun(schedule.spec, now, schedule.zone, schedule.window);
      resets.push({ scheduleId: id, taskId: state.task.id, before, after });
      if (options.dryRun) continue;
      if (state.armed) this.cancelClaim(state.armed, state, false);
      state.armed = null;
      state.nextRun = after;
      void this.persistNextRun(id, after);
    }
    if (!options.dryRun) this.wake();
    return resets;
  }

  /** Schedules whose next run has passed unrun (paused tasks, or a host that just woke). */
  overdueSchedules(): Array<{ scheduleId: string; taskId: string; nextRun: number; catchUp: string; paused: boolean }> {
    const now = this.clock.now();
    const out = [];
    for (const [id, state] of this.states) {
      const next = state.armed ? state.armed.scheduledFor : state.nextRun;
      if (next != null && next < now - LATE_MS) {
        out.push({ scheduleId: id, taskId: state.task.id, nextRun: next, catchUp: state.task.meta.catchUp, paused: this.paused.has(state.task.id) });
      }
    }
    return out;
  }

  get runningCount(): number {
    return this.active.size;
  }

  start(): void {
    const now = this.clock.now();
    for (const id of this.fresh) {
      const state = this.states.get(id);
      // Reloaded as disabled since it was added: it has no next run.
      if (!state || !state.task.meta.enabled) continue;
      const { schedule } = state;
      state.nextRun = nextRun(schedule.spec, now, schedule.zone, schedule.window);
      void this.persistNextRun(id, state.nextRun);
    }
    this.fresh.clear();
    this.running = true;
    this.wake();
  }

  /** Runs one task method now (trigger `manual`) and resolves with its recorded run. */
  runNow(taskId: string, methodName?: string): Promise<RunRow> {
    return this.startNow(taskId, methodName).then(({ done }) => done);
  }

  /**
   * Starts a manual run: resolves once it is recorded (with its run id, so a
   * webhook caller can look it up) and gives the finished run as `done`.
   * Rejects at once for an unknown task or method, or a stopping host.
   */
  async startNow(taskId: string, methodName?: string): Promise<{ runId: number; done: Promise<RunRow> }> {
    if (this.stopping) throw codeError(ERR_SCHEDULER_STOPPED, "taskhost scheduler: the host is stopping; run the task after it restarts");
    const task = this.tasks.get(taskId);
    if (!task) throw codeError(ERR_UNKNOWN_TASK, `taskhost: no loaded task "${taskId}" (see \`taskhost status\` for the task ids)`);
    const method = pickMethod(task, methodName);
    const schedule = task.schedules.find((s) => s.method === method);
    const run = this.newRun(task, schedule?.id ?? `${task.id}#${method}`, method, this.clock.now(), "manual", 1);
    run.claimed = this.insertRunRow(run);
    const state = schedule ? this.states.get(schedule.id) : undefined;
    state?.runs.add(run);
    const done = this.begin(run, state).then((row) => {
      if (!row) throw new Error(`taskhost scheduler: the manual run of ${taskId}#${method} was cancelled`);
      return row;
    });
    // The caller may only want the id; a failure to record is then reported through `runId`.
    done.catch(() => {});
    await run.claimed;
    return { runId: run.rowId!, done };
  }

  /**
   * Graceful stop: no new runs; runs in flight get their ctx.signal aborted and
   * `graceMs` to finish before they are terminated and recorded as interrupted.
   * Occurrences claimed but not started are handed back (overdue on next start).
   */
  async stop(graceMs: number, reason = "the host is shutting down"): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.running = false;
    clearTimeout(this.timer);
    for (const timer of this.retryTimers) clearTimeout(timer);
    for (const state of this.states.values()) {
      if (state.armed) this.cancelClaim(state.armed, state, true);
      for (const queued of state.queue.splice(0)) this.cancelClaim(queued, state, true);
      state.armed = null;
    }
    // Runs still waiting for a slot get one at once, see the host is stopping, and hand their occurrence back.
    this.slots.setLimit(Number.POSITIVE_INFINITY);
    const outcomes: Promise<unknown>[] = [];
    for (const run of this.active) {
      if (run.phase === "waiting") continue;
      run.prepared?.stop("interrupted", reason, graceMs, true);
      if (run.outcome) outcomes.push(run.outcome);
    }
    await Promise.allSettled(outcomes);
    await this.options.store.flush();
  }

  // ---- the clock loop -------------------------------------------------------

  private wake(): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), 0);
  }

  private tick(): void {
    if (!this.running) return;
    const now = this.clock.now();
    let wakeAt = now + MAX_WAIT_MS;
    for (const state of this.states.values()) {
      if (!this.schedulable(state)) continue;
      if (state.armed) {
        const { armed } = state;
        if (now >= armed.scheduledFor && this.sleptThrough(state, armed, now)) {
          // Only one of several occurrences missed while asleep: catch_up deals with them all below.
          state.armed = null;
          this.skip(armed, state, `skipped: missed while the host was down or asleep (catch_up: ${state.task.meta.catchUp})`);
        } else if (now >= armed.scheduledFor) this.fire(state, armed, now);
        else {
          wakeAt = Math.min(wakeAt, state.armed.scheduledFor);
          continue;
        }
      }
      if (state.nextRun == null) continue;
      if (state.nextRun <= now - LATE_MS) this.catchUpMissed(state, now);
      else if (state.nextRun - now <= LEAD_MS) this.arm(state);
      const target = state.armed ? state.armed.scheduledFor : state.nextRun == null ? Infinity : state.nextRun - LEAD_MS;
      wakeAt = Math.min(wakeAt, target);
    }
    // Timers can fire a little early or very late; every wake re-reads the clock.
    const wait = Math.max(0, Math.min(MAX_WAIT_MS, wakeAt - this.clock.now()));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), wait);
  }

  private schedulable(state: ScheduleState): boolean {
    return state.task.meta.enabled && !this.paused.has(state.task.id);
  }

  /** Claims the next occurrence and pre-warms its worker. */
  private arm(state: ScheduleState): void {
    const at = state.nextRun!;
    const { schedule } = state;
    state.nextRun = nextRun(schedule.spec, at, schedule.zone, schedule.window);
    const run = this.newRun(state.task, schedule.id, schedule.method, at, "schedule", 1);
    run.phase = "armed";
    run.claimed = this.claim(run, state.nextRun, schedule.id);
    state.armed = run;
    state.runs.add(run);
    if (this.slots.tryAcquire()) {
      run.hasSlot = true;
      run.prepared = this.spawn(run);
    } else if (this.standbyCount < this.slots.limit) {
      // More due than slots: load these too, so each starts as soon as a slot frees.
      this.standbyCount++;
      run.standby = true;
      run.prepared = this.spawn(run);
    }
  }

  /** The armed occurrence and the one after it have both passed unrun (suspend, clock step): not catch_up: all. */
  private sleptThrough(state: ScheduleState, armed: Run, now: number): boolean {
    return now - armed.scheduledFor > LATE_MS && state.nextRun != null && state.nextRun <= now - LATE_MS && state.task.meta.catchUp !== "all";
  }

  /** The armed occurrence's instant has come. */
  private fire(state: ScheduleState, run: Run, now: number): void {
    state.armed = null;
    if (now - run.scheduledFor > LATE_MS) run.trigger = "catch-up";
    this.admit(state, run);
  }

  /** Applies the overlap policy to an occurrence that is due. */
  private admit(state: ScheduleState, run: Run): void {
    const others = [...state.runs].filter((r) => r !== run && r.phase === "active");
    if (others.length > 0) {
      switch (state.task.meta.overlap) {
        case "skip":
          this.skip(run, state, "skipped: the previous run was still running (overlap: skip)");
          return;
        case "queue":
          if (state.queue.length >= QUEUE_LIMIT) {
            this.skip(run, state, `skipped: ${QUEUE_LIMIT} occurrences already queued (overlap: queue)`);
          } else {
            this.releaseWorker(run);
            run.phase = "waiting";
            state.queue.push(run);
          }
          return;
        case "replace":
          for (const other of others) {
            other.prepared?.stop("interrupted", "replaced by a newer occurrence (overlap: replace)", graceFor(other.task.meta.timeoutSec));
          }
          break;
        case "allow":
          break;
      }
    }
    void this.begin(run, state);
  }

  /** Missed occurrences (host down, machine asleep, clock stepped): apply catch_up. */
  private catchUpMissed(state: ScheduleState, now: number): void {
    const { schedule, task } = state;
    // The newest CATCH_UP_LIMIT: `once` runs the latest missed occurrence, `all` the last 100.
    const first = state.nextRun!;
    const { occurrences: kept, more } = latestOccurrences(schedule.spec, first - 1, now, schedule.zone, schedule.window, CATCH_UP_LIMIT);
    state.nextRun = nextRun(schedule.spec, now, schedule.zone, schedule.window);
    this.options.log.warn(
      {
        event: "schedule.overdue",
        scheduleId: schedule.id,
        missed: kept.length,
        first: new Date(first).toISOString(),
        policy: task.meta.catchUp,
      },
      `${schedule.id}: ${kept.length}${more ? "+" : ""} occurrence(s) missed since ${new Date(first).toISOString()}; catch_up: ${task.meta.catchUp}` +
        (more ? ` (only the latest ${CATCH_UP_LIMIT} count)` : ""),
    );
    if (task.meta.catchUp === "skip") {
      for (const at of kept) {
        const run = this.newRun(task, schedule.id, schedule.method, at, "catch-up", 1);
        const reason = "skipped: missed while the host was down or asleep (catch_up: skip)";
        // Recorded skipped from the start: a crash before the update must not leave it "interrupted".
        run.claimed = this.claim(run, state.nextRun, schedule.id, { status: "skipped", finishedAt: now, error: reason });
        this.skip(run, state, reason);
      }
      if (kept.length === 0) void this.persistNextRun(schedule.id, state.nextRun);
      return;
    }
    const due = task.meta.catchUp === "once" ? kept.slice(-1) : kept;
    due.forEach((at, i) => {
      const run = this.newRun(task, schedule.id, schedule.method, at, "catch-up", 1);
      run.claimed = this.claim(run, state.nextRun, schedule.id);
      state.runs.add(run);
      // catch_up: all runs them one after another, oldest first.
      if (i === 0) this.admit(state, run);
      else {
        run.phase = "waiting";
        state.queue.push(run);
      }
    });
  }

  // ---- one run ---------------------------------------------------------------

  private newRun(task: LoadedTask, scheduleId: string, method: string, scheduledFor: number, trigger: RunTrigger, attempt: number): Run {
    return {
      rowId: null,
      claimed: Promise.resolve(),
      task,
      scheduleId,
      method,
      scheduledFor,
      trigger,
      attempt,
      phase: "waiting",
      hasSlot: false,
      standby: false,
      prepared: null,
      outcome: null,
    };
  }

  /** Records the occurrence as taken and persists it durably before any of its code runs. */
  private claim(run: Run, next: number | null, scheduleId: string, recorded?: RunPatch): Promise<void> {
    const claimed = (async () => {
      const { store } = this.options;
      await this.insertRunRow(run, recorded);
      await store.setNextRun(scheduleId, next);
      await store.flush();
    })();
    // A claim that cannot be written (disk full, data/ read-only) is dealt with where the run
    // would start (execute) or is settled (skip, cancelClaim); it must not crash the host meanwhile.
    claimed.catch(() => {});
    return claimed;
  }

  private async insertRunRow(run: Run, recorded?: RunPatch): Promise<void> {
    run.rowId = await this.options.store.insertRun({
      taskId: run.task.id,
      scheduleId: run.scheduleId,
      scheduledFor: run.scheduledFor,
      startedAt: null,
      finishedAt: null,
      status: "running",
      attempt: run.attempt,
      trigger: run.trigger,
      error: null,
      output: "",
      ...recorded,
    });
  }

  private persistNextRun(scheduleId: string, next: number | null): Promise<void> {
    return this.options.store.setNextRun(scheduleId, next).catch((error: unknown) => this.logError("store.write", error));
  }

  private spawn(run: Run): PreparedRun {
    const { task } = run;
    const prepared = prepareRun({
      entryFile: this.options.entryFile,
      bundlePath: task.bundle.path,
      method: run.method,
      task: { id: task.id, title: task.meta.title },
      scheduleId: run.scheduleId,
      scheduledFor: run.scheduledFor,
      attempt: run.attempt,
      trigger: run.trigger,
      timeoutSec: task.meta.timeoutSec,
      memoryLimitMb: task.meta.memoryLimitMb,
      onStarted: (at) => this.started(run, at),
      onLog: (level, message) => this.options.taskLog(task.meta.title, level, message),
      onState: (key, value, deleted) => {
        this.options.store
          .setState(task.id, key, deleted ? undefined : value)
          .catch((error: unknown) => this.logError("store.write", error));
      },
    });
    return prepared;
  }

  /** Takes a slot, starts (or reuses) the worker, waits for the end and records it. */
  private begin(run: Run, state: ScheduleState | undefined): Promise<RunRow | undefined> {
    run.phase = "active";
    this.active.add(run);
    run.outcome = this.execute(run, state).catch((error: unknown) => {
      this.logError("run.crash", error);
      return undefined;
    });
    return run.outcome;
  }

  private async execute(run: Run, state: ScheduleState | undefined): Promise<RunRow | undefined> {
    const { store, log } = this.options;
    if (!run.hasSlot) {
      run.phase = "waiting";
      await this.slots.acquire();
      run.hasSlot = true;
      this.leaveStandby(run);
      if (this.stopping) {
        this.cancelClaim(run, state, true);
        return undefined;
      }
      run.phase = "active";
      // Overloaded: it waited for a slot until its schedule's next occurrence came due.
      // Running it now would only push every later run further back; the next one stands for it.
      const next = state ? (state.armed ? state.armed.scheduledFor : state.nextRun) : null;
      if (state && run.trigger === "schedule" && next != null && next <= this.clock.now()) {
        this.skip(run, state, "skipped: it waited for a free run slot (scheduler.max_concurrent_runs) until its next occurrence was due");
        this.active.delete(run);
        this.drainQueue(state);
        return undefined;
      }
    }
    try {
      await run.claimed;
    } catch (error) {
      return this.unclaimed(run, state, error);
    }
    // The state store must reflect the previous run, which may have ended after pre-warm.
    const taskState = await store.getState(run.task.id);
    if (!run.prepared) run.prepared = this.spawn(run);
    const prepared = run.prepared;
    prepared.start(taskState);
    const outcome = await prepared.outcome;
    return this.finish(run, state, outcome, log);
  }

  /** Its claim could not be made durable: it must not start (it could run twice after a crash). */
  private async unclaimed(run: Run, state: ScheduleState | undefined, error: unknown): Promise<RunRow | undefined> {
    const { store, log } = this.options;
    const reason = `not started: its claim could not be recorded durably (${error instanceof Error ? error.message : String(error)})`;
    log.error({ event: "run.not_claimed", ...this.logFields(run) }, `${run.scheduleId} ${reason}`);
    this.releaseWorker(run);
    run.phase = "ended";
    this.active.delete(run);
    this.forget(run, state);
    const current = this.states.get(run.scheduleId) ?? state;
    if (current) this.drainQueue(current);
    if (run.rowId == null) return undefined;
    // Written with the next flush that succeeds.
    await store.updateRun(run.rowId, { status: "failure", finishedAt: this.clock.now(), error: reason });
    return store.getRun(run.rowId);
  }

  private started(run: Run, at: number): void {
    const lagMs = at - run.scheduledFor;
    this.options.store.updateRun(run.rowId!, { startedAt: at }).catch((error: unknown) => this.logError("store.write", error));
    this.options.log.info(
      { event: "run.start", ...this.logFields(run), ...(run.trigger === "manual" ? {} : { lagMs }) },
      `${run.scheduleId} started (${run.trigger}${run.attempt > 1 ? `, attempt ${run.attempt}` : ""})`,
    );
    this.emit("run.start", { ...this.info(run), startedAt: at });
  }

  private async finish(run: Run, state: ScheduleState | undefined, outcome: RunOutcome, log: HostLog): Promise<RunRow | undefined> {
    const { store } = this.options;
    run.phase = "ended";
    this.active.delete(run);
    this.forget(run, state);
    if (run.hasSlot) {
      run.hasSlot = false;
      this.slots.release();
    }
    const startedAt = outcome.startedAt;
    await store.updateRun(run.rowId!, {
      status: outcome.status,
      startedAt,
      finishedAt: outcome.finishedAt,
      error: outcome.error,
      output: outcome.output,
    });
    const durationMs = startedAt == null ? null : outcome.finishedAt - startedAt;
    const level = outcome.status === "success" ? "info" : "error";
    log[level](
      {
        event: "run.end",
        ...this.logFields(run),
        status: outcome.status,
        durationMs,
        ...(outcome.error ? { error: firstLine(outcome.error) } : {}),
      },
      `${run.scheduleId} ${outcome.status}${durationMs != null ? ` in ${durationMs} ms` : ""}`,
    );
    this.emit("run.end", { ...this.info(run), ...outcome });
    this.countForPrune(run.task.id);
    if ((outcome.status === "failure" || outcome.status === "timeout") && run.trigger !== "manual") {
      this.maybeRetry(run);
    }
    const current = this.states.get(run.scheduleId) ?? state;
    if (current) this.drainQueue(current);
    return store.getRun(run.rowId!);
  }

  private maybeRetry(run: Run): void {
    const { meta } = run.task;
    if (this.stopping || run.attempt > meta.retryCount) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      const task = this.tasks.get(run.task.id);
      // Not after the host began stopping, nor for a task since removed or disabled.
      if (this.stopping || !task?.meta.enabled) return;
      const state = this.states.get(run.scheduleId);
      const retry = this.newRun(task, run.scheduleId, run.method, run.scheduledFor, "retry", run.attempt + 1);
      retry.claimed = this.insertRunRow(retry);
      state?.runs.add(retry);
      void this.begin(retry, state);
    }, meta.retryDelaySec * 1000);
    this.retryTimers.add(timer);
  }

  /** A run is over: out of its schedule's state, and of the state that replaced it (a reload carries runs over). */
  private forget(run: Run, state: ScheduleState | undefined): void {
    state?.runs.delete(run);
    this.states.get(run.scheduleId)?.runs.delete(run);
  }

  private drainQueue(state: ScheduleState): void {
    if (this.stopping || state.queue.length === 0) return;
    if ([...state.runs].some((r) => r.phase === "active")) return;
    const next = state.queue.shift()!;
    void this.begin(next, state);
  }

  private skip(run: Run, state: ScheduleState, reason: string): void {
    this.releaseWorker(run);
    run.phase = "ended";
    this.forget(run, state);
    const at = this.clock.now();
    this.options.log.info({ event: "run.skipped", ...this.logFields(run), reason }, `${run.scheduleId} ${reason}`);
    void run.claimed
      .then(() => this.options.store.updateRun(run.rowId!, { status: "skipped", finishedAt: at, error: reason }))
      .catch((error: unknown) => this.logError("store.write", error));
  }

  /**
   * Undoes the claim of an occurrence that never started. With `handBack` (the
   * host is stopping) its schedule's stored next run goes back to it, so the
   * next host finds it overdue; a reset, pause or replaced schedule has already
   * set the next run it wants and must not have it overwritten.
   */
  private cancelClaim(run: Run, state: ScheduleState | undefined, handBack: boolean): void {
    this.releaseWorker(run);
    run.phase = "ended";
    this.active.delete(run);
    this.forget(run, state);
    const { store } = this.options;
    void run.claimed
      .then(async () => {
        if (run.rowId != null) await store.deleteRun(run.rowId);
        if (!handBack || run.trigger === "manual" || run.trigger === "retry") return;
        const row = await store.getSchedule(run.scheduleId);
        if (row && (row.nextRun == null || row.nextRun > run.scheduledFor)) await store.setNextRun(row.id, run.scheduledFor);
      })
      .catch((error: unknown) => this.logError("store.write", error));
  }

  private leaveStandby(run: Run): void {
    if (!run.standby) return;
    run.standby = false;
    this.standbyCount--;
  }

  private releaseWorker(run: Run): void {
    this.leaveStandby(run);
    if (run.prepared) {
      run.prepared.stop("interrupted", "cancelled before it started", 0);
      run.prepared = null;
    }
    if (run.hasSlot) {
      run.hasSlot = false;
      this.slots.release();
    }
  }

  private dropSchedule(id: string, state: ScheduleState): void {
    if (state.armed) this.cancelClaim(state.armed, state, false);
    for (const queued of state.queue.splice(0)) this.cancelClaim(queued, state, false);
    state.armed = null;
    this.states.delete(id);
    this.fresh.delete(id);
  }

  private setPausedFlag(taskId: string, paused: boolean): void {
    if (paused === this.paused.has(taskId)) return;
    if (paused) {
      this.paused.add(taskId);
      for (const state of this.states.values()) {
        if (state.task.id !== taskId) continue;
        if (state.armed) this.cancelClaim(state.armed, state, false);
        state.armed = null;
      }
      this.emit("task.paused", { taskId, paused });
      return;
    }
    this.paused.delete(taskId);
    // Resuming starts afresh from now: what was missed while paused was missed on purpose.
    const now = this.clock.now();
    for (const state of this.states.values()) {
      // A disabled task stays without a next run until its file enables it.
      if (state.task.id !== taskId || !state.task.meta.enabled) continue;
      const { schedule } = state;
      state.nextRun = nextRun(schedule.spec, now, schedule.zone, schedule.window);
      void this.persistNextRun(schedule.id, state.nextRun);
    }
    this.emit("task.paused", { taskId, paused });
  }

  private countForPrune(taskId: string): void {
    const n = (this.runsSincePrune.get(taskId) ?? 0) + 1;
    // Pruning costs a DELETE over the task's runs: do it every tenth of the allowance.
    if (n < Math.max(10, Math.floor(this.historyPerTask / 10))) {
      this.runsSincePrune.set(taskId, n);
      return;
    }
    this.runsSincePrune.set(taskId, 0);
    this.options.store.pruneRuns(taskId, this.historyPerTask).catch((error: unknown) => this.logError("store.prune", error));
  }

  private info(run: Run) {
    return {
      runId: run.rowId!,
      taskId: run.task.id,
      scheduleId: run.scheduleId,
      scheduledFor: run.scheduledFor,
      trigger: run.trigger,
      attempt: run.attempt,
    };
  }

  private logFields(run: Run) {
    return {
      taskId: run.task.id,
      scheduleId: run.scheduleId,
      runId: run.rowId,
      scheduledFor: new Date(run.scheduledFor).toISOString(),
      trigger: run.trigger,
      attempt: run.attempt,
    };
  }

  private logError(event: string, error: unknown): void {
    this.options.log.error({ event, err: error }, `taskhost scheduler: ${event} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function pickMethod(task: LoadedTask, name: string | undefined): string {
  const candidates = [...new Set(task.schedules.map((s) => s.method))];
  if (name) {
    if (!task.methods.includes(name)) {
      throw codeError(ERR_UNKNOWN_METHOD, `taskhost: task "${task.id}" has no method "${name}" (it has: ${task.methods.join(", ") || "none"})`);
    }
    return name;
  }
  if (candidates.length === 1) return candidates[0]!;
  if (task.methods.includes("start")) return "start";
  if (candidates.length === 0 && task.methods.length === 1) return task.methods[0]!;
  throw codeError(
    ERR_UNKNOWN_METHOD,
    `taskhost: task "${task.id}" has several methods; name one as ${task.id}#<method> (one of: ${(candidates.length ? candidates : task.methods).join(", ")})`,
  );
}

function codeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}
