import type { Ledger } from "../store/ledger.ts";
import type { LoadedTask } from "../task-file/loaded-task.ts";
import { decideStart } from "./decide-start.ts";
import type { PendingWork } from "./pending-work.ts";
import type { Isolation, RunLauncher, RunSink } from "./run-launcher.ts";
import type { RunLifecycle } from "./run-lifecycle.ts";
import type { RunRecorder } from "./run-recorder.ts";
import { RunSlots } from "./run-slots.ts";
import { skipMessage } from "./scheduling-policy.ts";
import type { Clock, TaskLogLine } from "./scheduler-types.ts";

export interface RunStarterOptions {
  ledger: Ledger;
  launcher: RunLauncher;
  recorder: RunRecorder;
  work: PendingWork;
  clock: Clock;
  taskLog: TaskLogLine;
  maxConcurrentRuns: number;
  isolationOf(task: LoadedTask): Isolation;
  /** The occurrence of the schedule after `scheduledFor`; null: none, or the schedule is gone. */
  following(scheduleId: string, scheduledFor: number): number | null;
  stopping(): boolean;
}

/**
 * Takes runs from admitted to their end: a run slot (max_concurrent_runs),
 * the claim, the last look (decide-start), the launch, and the task's state,
 * read right before its method begins and written in order.
 */
export class RunStarter {
  private readonly slots: RunSlots;
  /** Each task's state writes, chained: a run's state is read after the writes before it landed. */
  private readonly stateWrites = new Map<string, Promise<void>>();

  constructor(private readonly options: RunStarterOptions) {
    this.slots = new RunSlots(options.maxConcurrentRuns);
  }

  setLimit(maxConcurrentRuns: number): void {
    this.slots.setLimit(maxConcurrentRuns);
  }

  leadTimeMs(task: LoadedTask): number {
    return this.options.launcher.leadTimeMs(task.id, this.options.isolationOf(task));
  }

  /** A claimed run is launched ahead of its instant, if a slot (or a standby place) is free. */
  prewarm(run: RunLifecycle): void {
    if (this.slots.tryAcquire()) run.slot = "held";
    else if (this.slots.tryStandby()) run.slot = "standby";
    else return;
    // A launch that fails here is tried again, and reported, when the run starts.
    try {
      this.launch(run);
    } catch {
      // see execute()
    }
  }

  /** Frees a settled run's slot, or withdraws it from the wait for one. */
  freeSlot(run: RunLifecycle): void {
    if (run.slot === "held") this.slots.release();
    else {
      if (run.slot === "standby") this.slots.releaseStandby();
      this.slots.withdraw(run);
    }
    run.slot = null;
  }

  /** An admitted (waiting) run, to its settlement. */
  async execute(run: RunLifecycle): Promise<void> {
    if (run.slot !== "held") {
      if (!this.slots.tryAcquire()) {
        run.waited ??= "slot";
        if (!(await this.slots.acquire(run))) return; // withdrawn: it was settled meanwhile
      }
      if (run.settled) return this.slots.release();
      if (run.slot === "standby") this.slots.releaseStandby();
      run.slot = "held";
    }
    let id: number | null;
    try {
      id = await run.claim;
    } catch (error) {
      run.settle({ kind: "unclaimed", error });
      return;
    }
    if (run.settled) return;
    if (id === null) return void run.settle({ kind: "lost" });
    const { subject } = run;
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
    try {
      this.launch(run);
    } catch (error) {
      const finishedAt = this.options.clock.now();
      const message = `taskhost: the run could not be launched (${error instanceof Error ? error.message : String(error)})`;
      run.settle({ kind: "ran", outcome: { status: "failure", error: message, output: "", startedAt: null, finishedAt } });
      return;
    }
    const launched = run.launched!;
    run.begin();
    launched.start(() => this.readState(subject.task.id));
    run.settle({ kind: "ran", outcome: await launched.outcome });
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
    };
    run.launched = this.options.launcher.launch(request, this.sinkOf(run));
  }

  private sinkOf(run: RunLifecycle): RunSink {
    const { task } = run.subject;
    const { work, recorder, taskLog } = this.options;
    return {
      started: (at) => work.track("store.write", recorder.started(run, at)),
      log: (level, line) => taskLog(task.meta.title, level, line),
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
