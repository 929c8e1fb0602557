/**
 * The run layer as the scheduler sees it (issue 12's `RunLauncher` seam). The
 * scheduler decides WHEN a run starts and records it in the ledger; a launcher
 * decides WHERE and HOW its code runs: a fresh worker thread per run
 * (`worker`), a warm pooled worker with a fresh V8 context per run
 * (`context`), or a task's own warm worker (`task`). The scheduler never
 * imports `run/`; the host injects a launcher.
 */
import type { LogLevel } from "../logging/log-level.ts";
import type { RunTrigger } from "../store/ledger.ts";

export type Isolation = "context" | "task" | "worker";

export interface RunRequest {
  runId: number;
  task: { id: string; title: string };
  /** The task's bundle on disk (the launcher may ask the toolchain for another format of it). */
  bundlePath: string;
  scheduleId: string;
  method: string;
  scheduledFor: number;
  attempt: number;
  trigger: RunTrigger;
  timeoutSec: number;
  memoryLimitMb: number;
  isolation: Isolation;
  /** A scheduled run's next occurrence after this one (null: none, or not a scheduled run): a pooled launcher sizes its pool by how often runs recur. */
  nextOccurrence?: number | null;
  /**
   * Launched ahead of its boundary without a run slot (a standby launch): it
   * starts only once another run frees one, so a launcher must not let it hold
   * what a run with a slot may be waiting for (a `task` task's one worker).
   */
  standby?: boolean;
}

/** What a run reports while it runs. Called on the host's thread; must not throw. */
export interface RunSink {
  started(at: number): void;
  /** Every line the run prints (stdout, stderr, ctx.log), in order: the consumer decides what to keep. */
  log(level: LogLevel, line: string): void;
  state(key: string, value: unknown, deleted: boolean): void;
}

export type EndStatus = "success" | "failure" | "timeout" | "interrupted";

export interface RunOutcome {
  status: EndStatus;
  error: string | null;
  /** The excerpt the ledger keeps. */
  output: string;
  startedAt: number | null;
  finishedAt: number;
  /**
   * Told to begin, its code would have begun more than `lateAfterMs` after
   * (the machine froze or slept in between): it did not begin, and the
   * scheduler decides again (issue 10 item 8).
   */
  late?: boolean;
}

export interface StartOptions {
  /**
   * The code begins only within this long of start() (or of its load, when
   * it loads after start(), or of `notBefore`); later, the run ends unbegun
   * with `late`.
   */
  lateAfterMs?: number;
  /**
   * The code begins no earlier than this instant (ms since the epoch): a
   * scheduled run told to start ahead of its boundary (everything the host
   * does first is done by then) waits for it where it runs, so runs due
   * together begin together instead of one after another.
   */
  notBefore?: number;
  /**
   * The run id of a run this one is to follow (it takes over that run's slot): its code begins
   * only once that run's code is over. A launcher may queue it where that run runs, so it begins
   * there without a round trip through the host. A run the launcher does not know is over. The
   * scheduler sets it only for `context` runs (run-lanes.ts); the isolating launcher honours it
   * for every level, the bare WorkerLauncher (tests) does not.
   */
  after?: number;
}

export interface LaunchedRun {
  /** The task's code is loaded and its method waits for start() (or the run already ended). */
  readonly ready: Promise<void>;
  /** Settles once, whatever ends the run. */
  readonly outcome: Promise<RunOutcome>;
  /**
   * Lets the method begin. `readState` is called right before the method
   * starts (after loading), so it sees what the previous run left.
   */
  start(readState: () => Promise<Record<string, unknown>>, options?: StartOptions): void;
  /**
   * Aborts ctx.signal, then kills the run after `graceMs` unless it finished.
   * With `completedCounts`, a run that completes its work within the grace is
   * a success (a graceful shutdown); otherwise it ends with `status`.
   */
  stop(status: "timeout" | "interrupted", reason: string, graceMs: number, completedCounts?: boolean): void;
  /** Gives up a run that never started (pre-warmed, then cancelled); its isolate is released. */
  cancel(): void;
  /**
   * Started `after` another run that has not ended: that run no longer bounds it (it has a slot
   * of its own now), so it begins as soon as it can. false: it began already (or ended).
   */
  standAlone?(): boolean;
}

/** A schedule's next occurrence, as the scheduler computes it. */
export interface ExpectedRun {
  taskId: string;
  scheduleId: string;
  at: number;
  isolation: Isolation;
  /** The task's bundle now: the level a run gets may depend on it (a bundle with no CommonJS form runs as `worker`). */
  bundlePath: string;
  memoryLimitMb: number;
}

export interface RunLauncher {
  /** Starts loading a run; its code begins only on start(). */
  launch(request: RunRequest, sink: RunSink): LaunchedRun;
  /**
   * How long before its boundary a run of this task should be launched so its
   * code starts on the boundary: measured, not fixed.
   */
  leadTimeMs(taskId: string, isolation: Isolation): number;
  /**
   * A schedule's next occurrence, told at every tick of the scheduler (the
   * launcher keeps what changed): a pooled launcher boots workers ahead of what
   * is coming, and lets them rest when nothing is for a while, from a host's
   * start on rather than from its first run.
   */
  expect?(run: ExpectedRun): void;
  /** The task is gone (its file removed): what was measured of its runs is dropped (a host lives for months of edits). */
  forgetTask?(taskId: string): void;
  /** max_concurrent_runs changed (config reload): a pooled launcher resizes its pool. */
  configure?(limits: { maxConcurrentRuns: number }): void;
  /** Stops every run and releases every isolate. Memoized. */
  close(): Promise<void>;
}
