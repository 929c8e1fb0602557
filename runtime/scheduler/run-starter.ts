import { isCode, messageOf } from "../errors.ts";
import type { Ledger } from "../store/ledger.ts";
import type { LoadedTask } from "../task-file/loaded-task.ts";
import { decideAdmission } from "./decide-admission.ts";
import { decideStart } from "./decide-start.ts";
import type { PendingWork } from "./pending-work.ts";
import type { Isolation, RunLauncher, RunSink } from "./run-launcher.ts";
import type { RunLifecycle } from "./run-lifecycle.ts";
import { logFields, type RunRecorder } from "./run-recorder.ts";
import { SlotKeeper } from "./slot-keeper.ts";
import { SHORT_RUN_MS } from "./run-lanes.ts";
import { LATE_MS, skipMessage } from "./scheduling-policy.ts";
import type { Clock, HostLog, SharedLedger, TaskLogLine, Timers } from "./scheduler-types.ts";

/** Lines a single run may write to tasks.log. */
const TASK_LOG_LINE_BUDGET = 2000;

export interface RunStarterOptions {
  ledger: Ledger;
  launcher: RunLauncher;
  recorder: RunRecorder;
  work: PendingWork;
  clock: Clock;
  timers: Timers;
  log: HostLog;
  taskLog: TaskLogLine;
  maxConcurrentRuns: number;
  /** Other hosts write the ledger too: starts are fenced, overlap counts their runs. */
  shared: SharedLedger | null;
  isolationOf(task: LoadedTask): Isolation;
  /** The occurrence of the schedule after `scheduledFor`; null: none, or the schedule is gone. */
  following(scheduleId: string, scheduledFor: number): number | null;
  /** Runs of the task in flight (admitted and not settled). */
  runsOfTask(taskId: string): number;
  stopping(): boolean;
}

/**
 * Takes runs from admitted to their end: a run slot (max_concurrent_runs),
 * the claim, the last look (decide-start), the launch, and the task's state,
 * read right before its method begins and written in order.
 */
export class RunStarter {
  private readonly slots: SlotKeeper;
  /** How long each task's last run took (ms): lanes are for short runs. */
  private readonly lastDurations = new Map<string, number>();
  /** Each task's state writes, chained: a run's state is read after the writes before it landed. */
  private readonly stateWrites = new Map<string, Promise<void>>();

  constructor(private readonly options: RunStarterOptions) {
    this.slots = new SlotKeeper(options.maxConcurrentRuns, {
      clock: options.clock,
      timers: options.timers,
      mayFollow: (run) => this.mayFollow(run),
      isolationOf: options.isolationOf,
      short: (taskId) => (this.lastDurations.get(taskId) ?? 0) <= SHORT_RUN_MS,
    });
  }

  setLimit(maxConcurrentRuns: number): void {
    this.slots.setLimit(maxConcurrentRuns);
  }

  leadTimeMs(task: LoadedTask): number {
    return this.options.launcher.leadTimeMs(task.id, this.options.isolationOf(task));
  }

  /** The launcher is told a schedule's next occurrence (it dedupes: this is asked at every tick). */
  expect(task: LoadedTask, scheduleId: string, at: number | null): void {
    if (at === null) return;
    const isolation = this.options.isolationOf(task);
    this.options.launcher.expect?.({ taskId: task.id, scheduleId, at, isolation, bundlePath: task.bundle.path, memoryLimitMb: task.meta.memoryLimitMb });
  }

  /** A claimed run is launched ahead of its instant, if a slot (or a standby place) is free; `onLoaded` once its code is. */
  prewarm(run: RunLifecycle, onLoaded: () => void): void {
    // Without a slot, one that may follow another is launched too (its code loads behind that run's, ahead of its instant).
    if (!this.slots.ahead(run) && !this.mayFollow(run)) return;
    // A launch that fails here is tried again, and reported, when the run starts.
    try {
      this.launch(run);
    } catch {
      // see execute()
    }
    const launched = run.launched;
    void launched?.ready.then(() => {
      if (run.launched !== launched) return;
      run.loaded = true;
      onLoaded();
    });
  }

  /** The task is gone: its last duration and the launcher's measurements of it are dropped. */
  forgetTask(taskId: string): void {
    this.lastDurations.delete(taskId);
    this.options.launcher.forgetTask?.(taskId);
  }

  /** Frees a settled run's slot (or passes it to the next run of its lane), or withdraws it from the wait for one. */
  freeSlot(run: RunLifecycle): void {
    this.slots.free(run);
  }

  /** An admitted (waiting) run, to its settlement. */
  async execute(run: RunLifecycle): Promise<void> {
    if (run.slot !== "held") {
      const placed = this.slots.slotOrLane(run);
      if (placed !== true && !(await placed)) return;
    }
    let id: number | null;
    try {
      // Known already: no turn of the loop between a follower's joining its lane and its launch.
      id = run.claimKnown ? run.runId : await run.claim;
    } catch (error) {
      run.settle({ kind: "unclaimed", error });
      return;
    }
    if (run.settled) return;
    if (id === null) return void run.settle({ kind: "lost" });
    const { subject } = run;
    if (this.options.shared && !(await this.clearOfOtherHosts(run))) return;
    for (;;) {
      const decision = decideStart({
        trigger: subject.trigger,
        scheduledFor: subject.scheduledFor,
        now: this.options.clock.now(),
        catchUp: subject.task.meta.catchUp,
        overlap: subject.task.meta.overlap,
        following: this.options.following(subject.scheduleId, subject.scheduledFor),
        waited: run.waited,
        stopping: this.options.stopping(),
      });
      if (decision.kind === "release") return void run.settle({ kind: "released", handBack: true });
      if (decision.kind === "skip") {
        run.settle({ kind: "skipped", code: decision.code, reason: skipMessage(decision.code, subject.task.meta.catchUp) });
        return;
      }
      if (decision.kind === "catch-up") run.becomeCatchUp();
      if (run.retriggered && !(await this.recordCatchUp(run))) return;
      try {
        this.launch(run);
      } catch (error) {
        const finishedAt = this.options.clock.now();
        const message = `taskhost: the run could not be launched (${error instanceof Error ? error.message : String(error)})`;
        run.settle({ kind: "ran", outcome: { status: "failure", error: message, output: "", startedAt: null, finishedAt } });
        return;
      }
      // On a shared ledger the state is read while the start is recorded (one round trip less before
      // the code begins): the other hosts' runs of it are over by now (clearOfOtherHosts), their state landed.
      const state = this.options.shared && !run.startRecorded ? this.readState(subject.task.id) : null;
      if (state) {
        state.catch(() => undefined);
        if (!(await this.recordStart(run))) return;
      }
      const launched = run.launched!;
      run.begin();
      // A scheduled run's code begins on its instant (told ahead of it, it waits for it where it runs), and
      // within a second of it or not at all (the machine froze): then catch_up decides.
      const timing = subject.trigger === "schedule" ? { notBefore: subject.scheduledFor, lateAfterMs: LATE_MS } : undefined;
      // A follower begins once the run ahead of it in its lane is over (their slot is one).
      const after = run.slot === "follows" ? this.slots.runAhead(run)?.runId : null;
      const read = () => this.watched(state ?? this.readState(subject.task.id)).finally(() => run.wasTold());
      launched.start(read, after == null ? timing : { ...timing, after });
      const outcome = await launched.outcome;
      if (outcome.startedAt !== null) this.lastDurations.set(subject.task.id, outcome.finishedAt - outcome.startedAt);
      // On a shared ledger its start was recorded, fenced by this host's lease, which may have lapsed
      // meanwhile: it ends unbegun, recorded interrupted (a survivor may have recorded so already).
      if (outcome.late && run.startRecorded) return void run.settle({ kind: "ran", outcome });
      if (outcome.late && !run.settled) {
        // Unbegun because the host is stopping: decideStart gives it back below.
        if (!this.options.stopping()) this.options.log.info({ event: "run.not_begun", ...logFields(run) }, `${subject.scheduleId}: the machine froze as its code was to begin; catch_up: ${subject.task.meta.catchUp} decides`);
        run.launched = null;
        run.waited = null;
        continue;
      }
      // Its state lands before its end: whoever sees it ended (the next run, maybe on another host) sees its state.
      await this.stateWrites.get(subject.task.id);
      run.settle({ kind: "ran", outcome });
      return;
    }
  }

  /**
   * Whether a run without a slot may follow another in a lane: a scheduled run on its instant
   * under `context` (its launcher can queue it where the run ahead runs), on a ledger no other
   * host writes (a fenced start would come between), and no other run of its task in flight
   * (its state is read ahead, before the run ahead of it is over).
   */
  private mayFollow(run: RunLifecycle): boolean {
    const { subject } = run;
    return (
      !this.options.shared &&
      subject.trigger === "schedule" &&
      !this.options.stopping() &&
      this.options.isolationOf(subject.task) === "context" &&
      this.options.runsOfTask(subject.task.id) === (run.inFlight ? 1 : 0)
    );
  }

  /** A scheduled occurrence that became a catch-up: the ledger says so before it runs. false: it does not start. */
  private async recordCatchUp(run: RunLifecycle): Promise<boolean> {
    try {
      await this.watched(this.options.ledger.recordCatchUp(run.runId!));
    } catch (error) {
      this.notStarted(run, `its change to a catch-up could not be recorded (${messageOf(error)})`, error);
      return false;
    }
    run.retriggered = false;
    return !run.settled;
  }

  /**
   * Overlap across hosts: the schedule's previous run may be in flight on
   * another host. Under overlap: skip the occurrence is skipped (a catch-up
   * one waits), under queue it waits for that run to end. false: the run was
   * settled here or meanwhile.
   */
  private async clearOfOtherHosts(run: RunLifecycle): Promise<boolean> {
    const { subject } = run;
    const { overlap } = subject.task.meta;
    if ((subject.trigger !== "schedule" && subject.trigger !== "catch-up") || overlap === "allow") return true;
    const shared = this.options.shared!;
    for (;;) {
      let elsewhere: number;
      try {
        elsewhere = await this.watched(shared.runsElsewhere(subject.scheduleId));
      } catch (error) {
        this.notStarted(run, `the other hosts' runs of it could not be read (${messageOf(error)})`, error);
        return false;
      }
      if (run.settled) return false;
      // Told ahead of its instant: the other host's run may end before it comes; look again then.
      const early = subject.scheduledFor - this.options.clock.now();
      if (elsewhere > 0 && early > 0) {
        await new Promise<void>((resolve) => this.options.timers.setTimeout(resolve, early));
        if (run.settled) return false;
        continue;
      }
      const admission = decideAdmission({ overlap, trigger: subject.trigger, inFlight: elsewhere, queued: 0 });
      if (admission.kind === "skip") {
        run.settle({ kind: "skipped", code: admission.code, reason: skipMessage(admission.code, subject.task.meta.catchUp) });
        return false;
      }
      // overlap: replace starts; the other host stops its older run when it sees this one (replacedElsewhere).
      if (admission.kind !== "queue") return true;
      run.waited = "queue";
      await new Promise<void>((resolve) => this.options.timers.setTimeout(resolve, shared.pollMs));
      if (run.settled) return false;
    }
  }

  /**
   * The start is recorded before the code begins: until then another host may
   * have taken the claim back (this host's lease lapsed), and then it must not
   * run here. false: it does not start.
   */
  private async recordStart(run: RunLifecycle): Promise<boolean> {
    try {
      // Told ahead of its instant, its code begins on it.
      await this.watched(this.options.ledger.recordStart(run.runId!, Math.max(this.options.clock.now(), run.subject.scheduledFor)));
    } catch (error) {
      const why = isCode(error, "ERR_CLAIM_LOST") ? "another host took its claim back (this host's lease had lapsed)" : `its start could not be recorded (${messageOf(error)})`;
      this.notStarted(run, why, isCode(error, "ERR_CLAIM_LOST") ? null : error);
      return false;
    }
    run.startRecorded = true;
    return !run.settled;
  }

  /** A ledger call a run waits on: idle() waits for it too. */
  private watched<T>(work: Promise<T>): Promise<T> {
    this.options.work.watch(work);
    return work;
  }

  /** Given back unstarted: if its claim is still this host's, its occurrence is due again (here or elsewhere). */
  private notStarted(run: RunLifecycle, why: string, error: unknown): void {
    if (!run.settle({ kind: "released", handBack: true })) return;
    const level = error ? "error" : "warn";
    this.options.log[level]({ event: "run.not_started", ...logFields(run), ...(error ? { err: error } : {}) }, `${run.subject.scheduleId} not started: ${why}`);
  }

  private launch(run: RunLifecycle): void {
    if (run.launched) return;
    const { task, scheduleId, method, scheduledFor, attempt, trigger } = run.subject;
    const request = {
      runId: run.runId!,
      task: { id: task.id, title: task.meta.title },
      bundlePath: task.bundle.path,
      scheduleId,
      method,
      scheduledFor,
      attempt,
      trigger,
      timeoutSec: task.meta.timeoutSec,
      memoryLimitMb: task.meta.memoryLimitMb,
      isolation: this.options.isolationOf(task),
      nextOccurrence: trigger === "schedule" || trigger === "catch-up" ? this.options.following(scheduleId, scheduledFor) : null,
      standby: run.slot !== "held",
    };
    run.launched = this.options.launcher.launch(request, this.sinkOf(run));
  }

  private sinkOf(run: RunLifecycle): RunSink {
    const { task } = run.subject;
    const { work, recorder, taskLog } = this.options;
    let lines = 0;
    return {
      started: (at) => work.track("store.write", recorder.started(run, at)),
      // A flood must not drown tasks.log: past the budget, lines stay in the run's excerpt and log file only.
      log: (level, line) => {
        lines++;
        if (lines < TASK_LOG_LINE_BUDGET) taskLog(task.meta.title, level, line);
        else if (lines === TASK_LOG_LINE_BUDGET) {
          taskLog(task.meta.title, "warn", `output exceeds ${TASK_LOG_LINE_BUDGET} lines; the rest is kept only in the run's excerpt and log file`);
        }
      },
      state: (key, value, deleted) => this.writeState(task.id, key, deleted ? undefined : value),
    };
  }

  private writeState(taskId: string, key: string, value: unknown): void {
    const write = (this.stateWrites.get(taskId) ?? Promise.resolve()).then(() => this.options.ledger.setState(taskId, key, value));
    const settled = write.catch(() => {});
    this.stateWrites.set(taskId, settled);
    this.options.work.track(
      "store.write",
      write.finally(() => {
        if (this.stateWrites.get(taskId) === settled) this.stateWrites.delete(taskId);
      }),
    );
  }

  private async readState(taskId: string): Promise<Record<string, unknown>> {
    await this.stateWrites.get(taskId);
    return this.options.ledger.getState(taskId);
  }
}
