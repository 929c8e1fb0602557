/**
 * The run launcher of issue 13: picks the engine by `request.isolation`.
 *
 * - `context` (default): a warm pooled worker, a fresh V8 context per run.
 * - `task`: the task's own warm worker, its module kept between runs.
 * - `worker`: a fresh worker thread per run (also for a task without a
 *   CommonJS bundle, e.g. one that uses top-level await).
 *
 * Each launch is timed from launch to loaded, per task and level, and
 * leadTimeMs() answers from those measurements.
 */
import { existsSync } from "node:fs";
import { taskhostError } from "../../errors.ts";
import { pathToFileURL } from "node:url";
import type { ExpectedRun, Isolation, LaunchedRun, RunLauncher, RunRequest, RunSink, StartOptions } from "../../scheduler/run-launcher.ts";
import { scriptBundlePath } from "../../task-file/bundle-task.ts";
import { IsolatePool, type WorkerCounts } from "./isolate-pool.ts";
import { SURPLUS_IDLE_MS, type GroupSpec, type IsolatePoolOptions } from "./isolate-pool-options.ts";
import { launchIsolateRun, type IsolateLaunchedRun } from "./isolate-run.ts";
import { LeadTimes } from "./lead-times.ts";
import { UpcomingRuns, WAKE_AHEAD_MS } from "./upcoming-runs.ts";
import { launchWorkerRun } from "../worker-run.ts";
import type { IsolateToolchain } from "./isolate-entry-file.ts";
import type { TaskPaths } from "../task-paths.ts";

export interface IsolatingLauncherOptions {
  /** The `worker` level's entry (runtime/run/worker-entry-file.ts). */
  workerEntryFile: string;
  /** The isolate workers' entry and `taskhost` script (isolate-entry-file.ts). */
  isolates: IsolateToolchain;
  /** Where the project is, for task code (task-paths.ts). */
  paths: TaskPaths;
  maxConcurrentRuns: number;
  /** Idle time before a warm worker retires; defaults 90 s (`context`; 2 s after a burst when its next runs are far off: upcoming-runs.ts) and 5 min (`task`). */
  idleMs?: { context: number; task: number };
  /** How far off a group's next runs must be for its core workers to rest (tests); default REST_GAP_MS, 45 s. */
  restGapMs?: number;
  /** `context` workers per memory limit started without waiting; default cores + 1. */
  coreWorkers?: number;
  /** When a pool worker is replaced (tests); default after 2,000 runs or 64 MB of heap growth. */
  recycle?: { runs: number; heapGrowthBytes: number };
  /** Whether the host's threads saturate the cores (tests); default this process's CPU (core-load.ts). */
  coreLoad?: IsolatePoolOptions["coreLoad"];
  /** Host log for what the launcher decides on its own (a fallback, a late rejection). */
  log?: (message: string) => void;
}

/**
 * `context`: one worker per run slot and a spare. `task`: a warm worker for
 * each of the most recently run tasks, at least 8, at most four per slot.
 */
function poolLimits(maxConcurrentRuns: number): { maxContextWorkers: number; maxTaskWorkers: number } {
  return { maxContextWorkers: maxConcurrentRuns + 1, maxTaskWorkers: Math.max(8, maxConcurrentRuns * 4) };
}

function contextGroup(memoryLimitMb: number): GroupSpec {
  return { key: `context:${memoryLimitMb}`, mode: "context", memoryLimitMb };
}

/** A run this launcher launched, until its outcome is in. */
interface Launched {
  run: LaunchedRun;
  isolate: IsolateLaunchedRun | null;
  group: GroupSpec | null;
  /** Starts it again as it was started (a queued run displaced from a dead worker). */
  restart: (() => void) | null;
  /** Runs started after it while it had no worker: each is queued behind it once it has one. */
  awaitingWorker: Array<() => void>;
}

/** `entry` is on a worker now (handed one, or queued on one): the runs waiting for that are queued behind it there. */
function queueFollowers(entry: Launched): void {
  for (const follow of entry.awaitingWorker.splice(0)) follow();
}

export class IsolatingLauncher implements RunLauncher {
  private readonly pool: IsolatePool;
  private readonly leadTimes = new LeadTimes();
  private readonly live = new Set<LaunchedRun>();
  /** Runs not over, by run id: what a run started `after` another follows. */
  private readonly byId = new Map<number, Launched>();
  private readonly scripts = new Map<string, boolean>();
  private readonly warned = new Set<string>();
  /** Per `context` group: launched runs of schedules recurring within SURPLUS_IDLE_MS, not yet over. */
  private readonly frequentRuns = new Map<string, number>();
  private readonly upcoming: UpcomingRuns;
  /** Per group, the timer that boots its core workers ahead of its next run (its first, or the next after a rest). */
  private readonly wakeTimers = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  /** Groups whose next runs changed this turn of the event loop: their workers are planned once (expect). */
  private readonly changedGroups = new Map<string, GroupSpec>();
  /** Each task's bundle and its file URL (URL parsing is ~40 µs, and a burst has a run per task). */
  private readonly bundleUrls = new Map<string, { bundlePath: string; url: string }>();
  private closing: Promise<void> | null = null;

  constructor(private readonly options: IsolatingLauncherOptions) {
    this.upcoming = new UpcomingRuns(Date.now, options.restGapMs);
    this.pool = new IsolatePool({
      entryFile: options.isolates.entryFile,
      apiScript: options.isolates.apiScript,
      paths: options.paths,
      ...poolLimits(options.maxConcurrentRuns),
      idleMs: options.idleMs ?? { context: 90_000, task: 300_000 },
      ...(options.recycle ? { recycle: options.recycle } : {}),
      ...(options.coreWorkers ? { coreWorkers: options.coreWorkers } : {}),
      ...(options.coreLoad ? { coreLoad: options.coreLoad } : {}),
      mayRest: (group) => this.restUntilWake(group),
      onLate: (message) => options.log?.(message),
    });
  }

  /** max_concurrent_runs changed (config reload). */
  configure(limits: { maxConcurrentRuns: number }): void {
    this.pool.setLimits(poolLimits(limits.maxConcurrentRuns));
  }

  launch(request: RunRequest, sink: RunSink): LaunchedRun {
    if (this.closing) throw taskhostError("ERR_SCHEDULER_STOPPED", "taskhost launcher: the host is stopping; no run starts");
    let launchedAt = performance.now();
    const isolation = this.effectiveIsolation({ ...request, taskId: request.task.id });
    // A run launched without a slot will follow one that has it (a lane), on that run's worker: no worker of its own.
    const group = isolation === "context" ? contextGroup(request.memoryLimitMb) : null;
    // Before warmFor: the pool judges whether this group may rest on this run's schedule too.
    if (group && (request.trigger === "schedule" || request.trigger === "catch-up")) this.upcoming.note(group.key, request.scheduleId, request.nextOccurrence);
    const frequent = isolation === "context" && request.standby !== true && this.warmFor(request);
    // Filled in once the run is made (its displacement callback reads it).
    const entry: Launched = { run: null as unknown as LaunchedRun, isolate: null, group, restart: null, awaitingWorker: [] };
    const isolate =
      isolation === "worker"
        ? null
        : launchIsolateRun({
            pool: this.pool,
            request,
            sink,
            script: scriptBundlePath(request.bundlePath),
            // A worker idle now loads it ahead, so only its method's start is left for the boundary;
            // with none idle it loads on start, rather than hold a worker another run is due on.
            // A `task` run waits for its task's one worker; without a run slot yet it must not hold
            // that worker (a run of the task holding the last slot could wait for it), so it loads on start.
            // A `context` run launched without a slot loads where it will begin: behind the run it follows, or on its start.
            deferLoad: request.standby === true || (group !== null && !this.pool.hasIdle(group)),
            importMetaUrl: this.bundleUrl(request),
            onWorker: () => {
              // A `task` run's wait for its turn on the task's worker is the run before it, not a cost a lead can cover.
              if (isolation === "task") launchedAt = performance.now();
              queueFollowers(entry);
            },
            onDisplaced: () => entry.restart?.(),
            group: group ?? {
              key: `task:${request.task.id}:${request.bundlePath}:${request.memoryLimitMb}`,
              mode: "task",
              memoryLimitMb: request.memoryLimitMb,
              taskId: request.task.id,
            },
          });
    const inner = isolate ?? launchWorkerRun({ entryFile: this.options.workerEntryFile, paths: this.options.paths }, request, sink);
    entry.run = inner;
    entry.isolate = isolate;
    this.byId.set(request.runId, entry);
    void inner.outcome.then(() => this.byId.get(request.runId) === entry && this.byId.delete(request.runId));
    const run = this.following(entry);
    this.live.add(run);
    if (frequent) this.countDownWhenOver(request, run);
    void run.ready.then(() => this.leadTimes.record(request.task.id, request.isolation, performance.now() - launchedAt));
    void run.outcome.then(() => this.live.delete(run));
    return run;
  }

  /**
   * StartOptions.after: a run of this launcher that is not over bounds the start. A `context` run
   * that has no worker yet is queued behind it on its worker when it runs on one of the same
   * group (the worker begins it by itself), or as soon as it has one (a crowd due right after the
   * host started: its lanes' first runs wait for workers to boot, and their followers would
   * otherwise each take a worker of their own); otherwise it starts once that run's outcome is
   * in, or when standAlone() says it need not wait.
   */
  private following(entry: Launched): LaunchedRun {
    const { run, isolate, group } = entry;
    let waiting: (() => void) | null = null;
    const start = (readState: () => Promise<Record<string, unknown>>, options?: StartOptions) => {
      // Displaced from the worker it was queued on (that worker died): placed again the same way.
      entry.restart = () => start(readState, options);
      const ahead = options?.after === undefined ? undefined : this.byId.get(options.after);
      if (!ahead || ahead === entry) return run.start(readState, options);
      const queueing = isolate !== null && group !== null && isolate.servedBy() === null;
      const worker = queueing ? ahead.isolate?.servedBy() : null;
      if (worker && this.pool.queueable(worker, group!)) {
        isolate!.startBehind(worker, readState, options);
        return queueFollowers(entry);
      }
      const go = (waiting = () => run.start(readState, options));
      if (queueing && ahead.isolate && !worker) {
        ahead.awaitingWorker.push(() => {
          if (waiting !== go) return;
          waiting = null;
          start(readState, options);
        });
      }
      void ahead.run.outcome.then(() => {
        if (waiting !== go) return;
        waiting = null;
        go();
      });
    };
    return {
      ready: run.ready,
      outcome: run.outcome,
      start,
      stop: (status, reason, graceMs, completedCounts) => {
        // Never begun: it ends as a run stopped before it loaded.
        waiting = null;
        run.stop(status, reason, graceMs, completedCounts);
      },
      cancel: () => {
        waiting = null;
        run.cancel();
      },
      standAlone: () => {
        if (waiting) {
          const go = waiting;
          waiting = null;
          go();
          return true;
        }
        return run.standAlone?.() ?? false;
      },
    };
  }

  private bundleUrl({ task, bundlePath }: RunRequest): string {
    let known = this.bundleUrls.get(task.id);
    if (known?.bundlePath !== bundlePath) this.bundleUrls.set(task.id, (known = { bundlePath, url: pathToFileURL(bundlePath).href }));
    return known.url;
  }

  /**
   * A `context` run launched ahead of its boundary: if its schedule recurs within
   * SURPLUS_IDLE_MS, the pool gets as many workers as such runs are launched and not over, so
   * the runs of one boundary start together. Tasks due once a minute or less drain through the
   * core workers instead: a worker booted for them would retire before their next boundary.
   * true: the run was counted.
   */
  private warmFor(request: RunRequest): boolean {
    const { nextOccurrence } = request;
    if (nextOccurrence == null || nextOccurrence - request.scheduledFor >= SURPLUS_IDLE_MS) return false;
    const group = contextGroup(request.memoryLimitMb);
    const count = (this.frequentRuns.get(group.key) ?? 0) + 1;
    this.frequentRuns.set(group.key, count);
    this.pool.warmAhead(group, count);
    return true;
  }

  /**
   * Asked by the pool when a core worker of `group` falls idle: whether the group may rest (its
   * next runs are far off, upcoming-runs.ts); if so, a wake timer boots its core workers again
   * ahead of its next run. Here rather than at each launch: a boundary's burst launches hundreds.
   */
  private restUntilWake(group: GroupSpec): boolean {
    const wakeAt = this.upcoming.wakeAt(group.key);
    if (wakeAt !== null) this.armWake(group, wakeAt);
    return wakeAt !== null;
  }

  /** The group's core workers boot at `at` (at once if it passed), ahead of its next run: one timer per group, the latest asked. */
  private armWake(group: GroupSpec, at: number): void {
    const armed = this.wakeTimers.get(group.key);
    if (armed?.at === at) return;
    clearTimeout(armed?.timer);
    const timer = setTimeout(() => {
      this.wakeTimers.delete(group.key);
      if (!this.closing) this.pool.warm(group);
    }, Math.max(0, at - Date.now())).unref();
    this.wakeTimers.set(group.key, { timer, at });
  }

  /**
   * The scheduler's next occurrence of a schedule. A `context` group without workers boots WAKE_AHEAD_MS
   * before its first run (a host's start), and one whose next runs are far off rests from now
   * (upcoming-runs.ts), not only once a burst ends.
   */
  expect(run: ExpectedRun): void {
    if (this.closing || this.effectiveIsolation(run) !== "context") return;
    const group = contextGroup(run.memoryLimitMb);
    if (!this.upcoming.note(group.key, run.scheduleId, run.at)) return;
    // Once a turn: a tick tells every schedule's next occurrence (a thousand after a boundary).
    if (this.changedGroups.size === 0) setImmediate(() => this.planChangedGroups()).unref();
    this.changedGroups.set(group.key, group);
  }

  /**
   * Groups whose next runs changed: their idle workers may rest now, and their core workers boot (again)
   * WAKE_AHEAD_MS before the next run: a group without any yet (a host's start), or whose workers rest or
   * are about to (a run told due sooner than the one they rest for).
   */
  private planChangedGroups(): void {
    for (const group of this.changedGroups.values()) {
      const next = this.upcoming.nextAt(group.key);
      if (this.closing || next === null) continue;
      this.pool.restIdle(group);
      this.armWake(group, next - WAKE_AHEAD_MS);
    }
    this.changedGroups.clear();
  }

  /** A run counted by warmFor no longer needs its worker once it is over. */
  private countDownWhenOver(request: RunRequest, run: LaunchedRun): void {
    const { key } = contextGroup(request.memoryLimitMb);
    void run.outcome.then(() => {
      const left = (this.frequentRuns.get(key) ?? 1) - 1;
      if (left > 0) this.frequentRuns.set(key, left);
      else this.frequentRuns.delete(key);
    });
  }

  /** Starts the `context` pool's workers for this memory limit now, ahead of the first runs. */
  warm(memoryLimitMb: number): void {
    this.pool.warm(contextGroup(memoryLimitMb));
  }

  leadTimeMs(taskId: string, isolation: Isolation): number {
    return this.leadTimes.get(taskId, isolation);
  }

  forgetTask(taskId: string): void {
    this.leadTimes.forget(taskId);
    this.upcoming.forgetTask(taskId);
    // A group nothing is expected of any more boots for nothing.
    for (const [key, { timer }] of this.wakeTimers) {
      if (this.upcoming.nextAt(key) === null) {
        clearTimeout(timer);
        this.wakeTimers.delete(key);
      }
    }
    this.bundleUrls.delete(taskId);
  }

  /** Workers alive now (tests and the bench read it). */
  workers(): WorkerCounts {
    return this.pool.counts();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const { timer } of this.wakeTimers.values()) clearTimeout(timer);
      for (const run of this.live) run.stop("interrupted", "the host is stopping", 0);
      await Promise.all([...this.live].map((run) => run.outcome));
      await this.pool.close();
    })();
    return this.closing;
  }

  /** A task without a CommonJS bundle (top-level await, or a cache from an older taskhost) runs as `worker`. */
  private effectiveIsolation(request: { taskId: string; isolation: Isolation; bundlePath: string }): Isolation {
    if (request.isolation === "worker") return "worker";
    let has = this.scripts.get(request.bundlePath);
    if (has === undefined) {
      has = existsSync(scriptBundlePath(request.bundlePath));
      // One entry per bundle a task ever had: the oldest go first (a host edited for months).
      if (this.scripts.size >= 4096) this.scripts.delete(this.scripts.keys().next().value!);
      this.scripts.set(request.bundlePath, has);
    }
    if (has) return request.isolation;
    if (!this.warned.has(request.bundlePath)) {
      this.warned.add(request.bundlePath);
      this.options.log?.(
        `task ${request.taskId}: its bundle has no CommonJS form (top-level await?), so it runs with isolation: worker instead of ${request.isolation}`,
      );
    }
    return "worker";
  }
}
