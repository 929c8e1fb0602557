import { EventEmitter } from "node:events";
import type { LoadedTask } from "../task-file/loaded-task.ts";
import type { RunRow } from "../store/ledger.ts";
import { decideAdmission, shouldDrain } from "./decide-admission.ts";
import { decideRetry } from "./decide-retry.ts";
import { countDue, CrowdLead } from "./crowd-lead.ts";
import { decideTick, type TickStep } from "./decide-tick.ts";
import { timingOf } from "./schedule-timing.ts";
import { graceFor } from "./grace-period.ts";
import { PendingWork } from "./pending-work.ts";
import { runPastOccurrence, startManualRun, type RunRequests } from "./requested-runs.ts";
import type { CatchUpPlan } from "./plan-catch-up.ts";
import { RunLifecycle, subjectOf, type LifecycleHooks, type RunSubject, type Settlement } from "./run-lifecycle.ts";
import { RunRecorder, type Emit } from "./run-recorder.ts";
import { RunStarter } from "./run-starter.ts";
import { RunsInFlight } from "./runs-in-flight.ts";
import { GO_AHEAD_MS, LATE_MS, MAX_WAIT_MS, SHARED_GO_AHEAD_MS, skipMessage, type SkipCode } from "./scheduling-policy.ts";
import { systemClock, systemTimers, type Clock, type SchedulerEvents, type SchedulerOptions, type Timers } from "./scheduler-types.ts";
import { ScheduleBook, type OverdueSchedule, type ScheduleHint, type ScheduleReset, type ScheduleState } from "./schedule-book.ts";
export type { OverdueSchedule, ScheduleHint, ScheduleReset } from "./schedule-book.ts";
export type { SchedulerOptions } from "./scheduler-types.ts";

/**
 * The coordinator: owns the clock loop and carries out what the pure
 * decisions (decide-*.ts) say, through its ports: the ledger (claims and
 * records, durable when they resolve), the run launcher (where code runs),
 * the clock and the timers. Each occurrence it deals with is a RunLifecycle
 * whose one settle() ends it; the ScheduleBook holds the schedules.
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  private readonly book: ScheduleBook;
  /** Runs admitted and not settled; the fleet stops those another host's newer occurrence replaces. */
  readonly inFlight = new RunsInFlight();
  private readonly retryTimers = new Set<unknown>();
  private readonly starter: RunStarter;
  private readonly recorder: RunRecorder;
  private readonly work: PendingWork;
  private readonly hooks: LifecycleHooks;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly crowdLead: CrowdLead;
  /** Runs due at each instant, as the last tick counted them: a crowded one is armed and told to go earlier (crowd-lead.ts), its runs may follow others (slot-keeper.ts). */
  private due = new Map<number, number>();
  private readonly requests: RunRequests = {
    task: (taskId) => this.book.task(taskId),
    stopping: () => this.stopping !== null,
    now: () => this.clock.now(),
    begin: (subject) => this.begin(this.requested(subject)),
  };
  private timer: unknown;
  private running = false;
  private stopping: Promise<void> | null = null;

  constructor(private readonly options: SchedulerOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.crowdLead = new CrowdLead(options.shared ? SHARED_GO_AHEAD_MS : GO_AHEAD_MS);
    this.work = new PendingWork((what, error) => this.logError(what, error));
    const emit: Emit = (event, ...args) => (this.emit as (name: string, ...values: unknown[]) => boolean)(event, ...args);
    this.recorder = new RunRecorder({ ledger: options.ledger, log: options.log, taskLog: options.taskLog, clock: this.clock, timers: this.timers, emit, historyPerTask: options.historyPerTask, work: this.work, stopping: () => this.stopping !== null });
    const release = (run: RunLifecycle) => run.settle({ kind: "released", handBack: false });
    this.book = new ScheduleBook({ ledger: options.ledger, log: options.log, clock: this.clock, release, emit, wake: () => this.wake() });
    this.starter = new RunStarter({
      ledger: options.ledger,
      launcher: options.launcher,
      recorder: this.recorder,
      work: this.work,
      clock: this.clock,
      timers: this.timers,
      log: options.log, taskLog: options.taskLog,
      maxConcurrentRuns: options.maxConcurrentRuns,
      shared: options.shared ?? null,
      isolationOf: (task) => options.isolationOf?.(task) ?? "worker",
      following: (scheduleId, at) => this.book.state(scheduleId)?.occurrences.after(at) ?? null,
      runsOfTask: (taskId) => this.inFlight.countOf(taskId),
      stopping: () => this.stopping != null,
    });
    this.hooks = { freeSlot: (run) => this.starter.freeSlot(run), settled: (run, settlement) => this.settled(run, settlement) };
  }

  /** Live-tunable limits (config reload). */
  configure(limits: { maxConcurrentRuns: number; historyPerTask: number }): void {
    this.starter.setLimit(limits.maxConcurrentRuns);
    this.options.launcher.configure?.({ maxConcurrentRuns: limits.maxConcurrentRuns });
    this.recorder.configure(limits.historyPerTask);
  }

  /** Records the runs a dead host left behind as `interrupted`; returns how many. */
  async recoverUnfinished(): Promise<number> {
    return (await this.options.ledger.recoverRuns(this.options.owner)).length;
  }

  /** Adds or replaces a task. Unchanged schedules keep their next run; changed ones are recomputed. */
  setTask(task: LoadedTask, options: { paused?: boolean } = {}): Promise<void> {
    return this.book.setTask(task, options.paused);
  }

  /** Unschedules a task (its file is gone). Runs that began finish; those still waiting for a slot are skipped; history stays. */
  removeTask(taskId: string): void {
    for (const run of this.book.removeTask(taskId)) this.skip(run, "removed");
    this.starter.forgetTask(taskId);
  }

  /** Pauses or resumes a task's schedules; resolves once a resumed task's next runs are recorded. */
  setPaused(taskId: string, paused: boolean): Promise<void> {
    const written = this.book.setPaused(taskId, paused);
    this.wake();
    return written;
  }

  isPaused(taskId: string): boolean {
    return this.book.isPaused(taskId);
  }

  /** The next occurrence of a schedule as the scheduler sees it (armed or not). */
  nextRunOf(scheduleId: string): number | null {
    return this.book.nextRunOf(scheduleId);
  }

  /** Recomputes next runs on the aligned grid from now (dropping what was missed); resolves once recorded. */
  resetSchedules(select: (scheduleId: string, taskId: string) => boolean, options: { futureOnly: boolean; dryRun: boolean }): Promise<ScheduleReset[]> {
    return this.book.reset(select, options);
  }

  /** Schedules whose next run has passed unrun (paused tasks, or a host that just woke). */
  overdueSchedules(): OverdueSchedule[] {
    return this.book.overdue(this.clock.now() - LATE_MS);
  }

  /** Another writer of the ledger changed these schedules: those that differ from what this scheduler holds are read again. */
  changedElsewhere(hints: readonly ScheduleHint[]): Promise<void> {
    const done = this.book.changedElsewhere(hints);
    this.work.track("store.read", done);
    return done;
  }

  /**
   * Another writer took this host's claims over (its lease lapsed while it was frozen): its runs are
   * recorded `interrupted` already. Runs in flight are stopped, unstarted claims let go, schedules re-read.
   */
  abandonClaims(reason: string): Promise<void> {
    for (const run of this.book.takeClaimed()) run.settle({ kind: "released", handBack: true });
    this.inFlight.letGo(reason, (run) => graceFor(run.subject.task.meta.timeoutSec));
    const done = this.book.rereadAll();
    this.work.track("store.read", done);
    return done;
  }

  /** Runs admitted and not over (waiting for a slot, loading or running). */
  get runningCount(): number {
    return this.inFlight.size;
  }

  start(): void {
    this.work.track("store.write", this.book.start());
    this.running = true;
    this.wake();
  }

  /** Resolves once no ledger write the scheduler started is pending (runs in flight may go on). */
  idle(): Promise<void> {
    return this.work.idle();
  }

  /** Runs one task method now (trigger `manual`) and resolves with its recorded run. */
  runNow(taskId: string, methodName?: string): Promise<RunRow> {
    return this.startNow(taskId, methodName).then(({ done }) => done);
  }

  /** Starts a manual run: resolves once it is recorded, with the finished run as `done` (requested-runs.ts). */
  startNow(taskId: string, methodName?: string): Promise<{ runId: number; done: Promise<RunRow> }> {
    return startManualRun(this.requests, taskId, methodName);
  }

  /** Runs a past occurrence (trigger `backfill`); null when the ledger already has a run of it. */
  runOccurrence(request: { taskId: string; scheduleId: string; method: string; scheduledFor: number; trigger: "backfill" }): Promise<RunRow | null> {
    return runPastOccurrence(this.requests, request);
  }

  /**
   * Graceful stop: no new runs; runs in flight get their ctx.signal aborted and
   * `graceMs` to finish before they are terminated and recorded as interrupted
   * (with `reason`). Occurrences claimed but not started are handed back (due on next start).
   */
  stop(graceMs: number, reason = "the host is shutting down"): Promise<void> {
    this.stopping ??= (async () => {
      this.running = false;
      this.timers.clearTimeout(this.timer);
      for (const timer of this.retryTimers) this.timers.clearTimeout(timer);
      for (const run of this.book.takeClaimed()) run.settle({ kind: "released", handBack: true });
      const runs = this.inFlight.letGo(reason, () => graceMs, true);
      await Promise.allSettled(runs.map((run) => run.recorded));
      await this.work.idle();
    })();
    return this.stopping;
  }

  // ---- the clock loop -------------------------------------------------------

  private wake(): void {
    if (!this.running) return;
    this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => this.tick(), 0);
  }

  private tick(): void {
    if (!this.running) return;
    const now = this.clock.now();
    let wakeAt = now + MAX_WAIT_MS;
    const schedulable = [...this.book.schedulable()];
    const due = (this.due = countDue(schedulable));
    // A task with a run in flight may write its state before an armed run of it would read it.
    const taskBusy = (taskId: string) => this.inFlight.hasTask(taskId);
    const arming: Array<Promise<unknown>> = [];
    const telling: Array<Promise<unknown>> = [];
    for (const state of schedulable) {
      try {
        this.starter.expect(state.task, state.schedule.id, state.nextRun);
        const timing = timingOf(state, this.starter.leadTimeMs(state.task) + this.crowdLead.at(due, state.nextRun), this.crowdLead.goAheadMs(due, state.armed?.subject.scheduledFor ?? state.nextRun, state.occurrences), taskBusy);
        const decision = decideTick(timing, now, state.occurrences);
        for (const step of decision.steps) {
          if (step.kind === "fire") telling.push(state.armed!.told);
          const armed = this.apply(state, step);
          if (armed) arming.push(armed);
        }
        if (decision.wakeAt !== null) wakeAt = Math.min(wakeAt, decision.wakeAt);
      } catch (error) {
        // A bug around one schedule must not stop the clock for all of them.
        this.logError(`tick of ${state.schedule.id}`, error);
      }
    }
    if (arming.length > 0) void Promise.allSettled(arming).then(() => this.crowdLead.record(arming.length, this.clock.now() - now));
    if (telling.length > 0) void Promise.allSettled(telling).then(() => this.crowdLead.recordTelling(telling.length, this.clock.now() - now));
    // Timers can fire a little early or very late; every wake re-reads the clock.
    const wait = Math.max(0, Math.min(MAX_WAIT_MS, wakeAt - this.clock.now()));
    this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => this.tick(), wait);
  }

  /** Carries a step out; an arm step returns what settles once the run is armed. */
  private apply(state: ScheduleState, step: TickStep): Promise<unknown> | void {
    if (step.kind === "arm") return this.arm(state, step.at, step.next);
    if (step.kind === "catch-up") return this.catchUp(state, step.plan);
    const run = state.armed!;
    state.armed = null;
    if (step.kind === "fire" && step.late) run.becomeCatchUp(); // slept through: a catch-up, not a late `schedule`
    if (step.kind === "fire") this.admit(state, run);
    else this.skip(run, "missed");
  }

  /** Claims the next occurrence; once the claim is written, its run is launched so its code starts on the instant. */
  private arm(state: ScheduleState, at: number, next: number | null): Promise<unknown> {
    const claim = this.book.claim(state, at, next, [{ scheduledFor: at, trigger: "schedule" }], this.options.owner).then((ids) => ids[0] ?? null);
    const run = this.newRun(subjectOf(state, at, "schedule"), claim);
    run.crowd = this.due.get(at) ?? 1;
    state.armed = run;
    const settleIfArmed = (settlement: Settlement) => {
      if (state.armed !== run) return;
      state.armed = null;
      run.settle(settlement);
    };
    return claim.then(
      (id) => {
        if (id == null) return settleIfArmed({ kind: "lost" });
        // Not once it was admitted (it launches then) or queued (it let go of its slot). Once loaded, it
        // may be told to go ahead of its instant (decideTick's goAheadMs): a look now if that time has come.
        // (As far ahead as the tick would tell it: a crowd's runs loaded after the base lead would wait for the instant.)
        if (state.armed === run) this.starter.prewarm(run, () => state.armed === run && this.clock.now() >= at - this.crowdLead.goAheadMs(this.due, at, state.occurrences) && this.wake());
      },
      (error: unknown) => settleIfArmed({ kind: "unclaimed", error }),
    );
  }

  /** Occurrences missed (host down, machine asleep, clock stepped): claimed as catch_up planned. */
  private catchUp(state: ScheduleState, plan: CatchUpPlan): void {
    const { schedule, task } = state;
    const first = state.nextRun!;
    const policy = task.meta.catchUp;
    const missed = { taskId: task.id, scheduleId: schedule.id, ...plan.missed, policy, cause: this.book.causeOfMiss(first) };
    if (plan.occurrences.length === 0) {
      this.recorder.missed(missed);
      state.nextRun = plan.next;
      this.work.track("store.write", this.options.ledger.setNextRun(schedule.id, plan.next));
      return;
    }
    const occurrences = plan.occurrences.map((o) => ({
      scheduledFor: o.scheduledFor,
      trigger: "catch-up" as const,
      ...(o.skipped ? { skipped: skipMessage(o.skipped, policy) } : {}),
      ...(o.covers ? { covers: o.covers } : {}),
    }));
    const claim = this.book.claim(state, first, plan.next, occurrences, this.options.owner);
    // Said by the host whose claim took them: on a shared ledger the others lost the race (or ran them).
    claim.then((ids) => ids.some((id) => id != null) && this.recorder.missed(missed), () => undefined);
    let admitted = false;
    plan.occurrences.forEach((o, i) => {
      const run = this.newRun(subjectOf(state, o.scheduledFor, "catch-up"), claim.then((ids) => ids[i] ?? null));
      if (o.skipped) run.settle({ kind: "skipped", code: o.skipped, reason: skipMessage(o.skipped, policy), recorded: true });
      else if (!admitted) {
        admitted = true;
        this.admit(state, run);
      } else {
        run.park(); // catch_up: all runs them one after another, oldest first
        state.queue.push(run);
      }
    });
  }

  // ---- runs ------------------------------------------------------------------

  private newRun(subject: RunSubject, claim: Promise<number | null>): RunLifecycle {
    this.work.watch(claim);
    return new RunLifecycle(subject, claim, this.hooks);
  }

  /** A manual run or a retry: not a schedule's next occurrence. */
  private requested(subject: RunSubject): RunLifecycle {
    const { task, scheduleId, scheduledFor, attempt } = subject;
    const trigger = subject.trigger as "manual" | "retry" | "backfill";
    return this.newRun(subject, this.options.ledger.recordRequestedRun({ taskId: task.id, scheduleId, scheduledFor, trigger, attempt, owner: this.options.owner }));
  }

  /** Applies the overlap policy to an occurrence that is due. */
  private admit(state: ScheduleState, run: RunLifecycle): void {
    const trigger = run.subject.trigger === "catch-up" ? "catch-up" : "schedule";
    const waitingForSlot = [...state.runs].filter((other) => other.phase === "waiting" && other.slot !== "held").length;
    const admission = decideAdmission({ overlap: state.task.meta.overlap, trigger, inFlight: state.runs.size, waitingForSlot, queued: state.queue.length });
    if (admission.kind === "skip") return this.skip(run, admission.code);
    if (admission.kind === "queue") {
      run.park();
      state.queue.push(run);
      return;
    }
    if (admission.kind === "replace") {
      for (const other of state.runs) {
        if (other.phase === "waiting") this.skip(other, "replaced");
        else other.launched?.stop("interrupted", "replaced by a newer occurrence (overlap: replace)", graceFor(other.subject.task.meta.timeoutSec));
      }
    }
    this.begin(run);
  }

  private skip(run: RunLifecycle, code: SkipCode): void {
    run.settle({ kind: "skipped", code, reason: skipMessage(code, run.subject.task.meta.catchUp) });
  }

  /** Admitted: waits for a slot and its claim, takes the last look (decide-start), runs, and settles. */
  private begin(run: RunLifecycle): RunLifecycle {
    run.admit();
    this.book.state(run.subject.scheduleId)?.runs.add(run);
    this.inFlight.add(run);
    // Runs are waited for by stop() (through their records), not by idle().
    void this.starter.execute(run).catch((error: unknown) => {
      this.logError("run.crash", error);
      run.settle({ kind: "released", handBack: false });
    });
    return run;
  }

  /** The lifecycle's settle(): bookkeeping now, the records in the background (or awaited by a manual caller). */
  private settled(run: RunLifecycle, settlement: Settlement): Promise<RunRow | undefined> {
    const { subject } = run;
    this.inFlight.delete(run);
    this.book.state(subject.scheduleId)?.runs.delete(run);
    let retryAt: number | null = null;
    if (settlement.kind === "ran") {
      const { meta } = subject.task;
      const { status } = settlement.outcome;
      const retry = decideRetry({ ...subject, status, retryCount: meta.retryCount, retryDelaySec: meta.retryDelaySec, now: this.clock.now(), stopping: this.stopping != null });
      retryAt = retry?.at ?? null;
      if (retry) this.retryAt(run, retry.at);
    }
    const recorded = this.recorder.settled(run, settlement, retryAt);
    this.work.track("store.write", recorded);
    this.drain(subject.scheduleId);
    return recorded;
  }

  private drain(scheduleId: string): void {
    const state = this.book.state(scheduleId);
    if (state && shouldDrain(state.runs.size, state.queue.length, this.stopping != null)) this.begin(state.queue.shift()!);
  }

  private retryAt(failed: RunLifecycle, at: number): void {
    const timer = this.timers.setTimeout(() => {
      this.retryTimers.delete(timer);
      const task = this.book.task(failed.subject.task.id);
      // Not after the host began stopping, nor for a task since removed or disabled.
      if (this.stopping || !task?.meta.enabled) return;
      this.begin(this.requested({ ...failed.subject, task, trigger: "retry", attempt: failed.subject.attempt + 1 }));
    }, Math.max(0, at - this.clock.now()));
    this.retryTimers.add(timer);
  }

  private logError(event: string, error: unknown): void {
    this.options.log.error({ event, err: error }, `taskhost scheduler: ${event} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
