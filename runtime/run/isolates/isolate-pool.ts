/**
 * Warm isolate workers, grouped: one group per memory_limit for `context`
 * runs (any task may use any of its workers), one group per task bundle for
 * `task` runs. A `task` group keeps one warm worker whose module state its runs
 * share: a run loaded ahead waits for it while another run of the task holds
 * it; a run told to go while every worker of its task serves a run that began
 * gets one more, with a module state of its own (concurrent invocations of an
 * AWS Lambda function get their own environments the same way). A worker
 * serves one run at a time; a worker whose run had to be killed is replaced
 * (a `task` worker's module state with it), and a spare is started ahead
 * whenever a `context` group hands out its last idle worker, so the next run
 * does not pay for a boot.
 * Workers are recycled after RECYCLE_RUNS runs or RECYCLE_HEAP_GROWTH of growth
 * in what they retain (heap and Buffers, as each worker reports after each
 * run, garbage included: a run's big Buffers left as garbage go with their
 * worker instead of counting as the host's own memory; the collection a worker
 * does once its runs are quiet lowers its baseline), and retire after being
 * idle for a while.
 *
 * A `context` group keeps about as many workers as the machine has cores
 * (each ~8.5 MB of RSS): a warm run takes a few ms of CPU, so a burst of short
 * runs drains fastest through them. It grows beyond them, up to the limit,
 * only when every worker has been busy with one run for GROW_AFTER_MS (long
 * runs, or a fault being timed out, must not hold up other tasks; while the
 * host's own threads saturate the cores, for SATURATED_GROW_AFTER_MS: a run
 * then waits for a core, and a boot would take one; run-holds.ts), or when the
 * launcher asks ahead of a boundary (warmAhead: the runs of tasks due every few
 * seconds start together), and those extra workers retire soon after they fall
 * idle. The core workers themselves rest between boundaries a minute or more
 * apart (upcoming-runs.ts).
 */
import { availableParallelism } from "node:os";
import { taskhostError } from "../../errors.ts";
import { IsolateWorker } from "./isolate-worker.ts";
import { RunHolds } from "./run-holds.ts";
import { IdleTimers } from "./idle-timers.ts";
import { idleTimeMs, RECYCLE_HEAP_GROWTH, RECYCLE_RUNS, type GroupSpec, type IsolatePoolOptions } from "./isolate-pool-options.ts";
import { laneDepth } from "../../scheduler/run-lanes.ts";

export interface WorkerCounts {
  context: number;
  task: number;
  idle: number;
  idleUp: number;
  retainedBytes: number;
}

interface Waiter {
  resolve(worker: IsolateWorker): void;
  reject(error: Error): void;
  /** For a run loaded ahead of its start: its worker counts as busy from started(), not from now. */
  ahead: boolean;
  /** Its run was told to go (at once unless `ahead`, else on due()): it does not wait for another run to end. */
  due: boolean;
}

interface Group {
  spec: GroupSpec;
  idle: IsolateWorker[];
  waiters: Waiter[];
  /** Workers of this group alive (idle or serving). */
  size: number;
}

export class IsolatePool {
  private readonly groups = new Map<string, Group>();
  private readonly groupOf = new Map<IsolateWorker, Group>();
  private readonly idleTimers = new IdleTimers<IsolateWorker>((worker) => void this.retire(worker));
  private readonly taskKeys = new Map<string, string>();
  private contextWorkers = 0;
  private taskWorkers = 0;
  /** availableParallelism() + 1, asked once. */
  private cores: number | undefined;
  /** When each worker now serving a run was handed out. */
  private readonly holds: RunHolds;
  /** Each acquire's waiter, by the caller's token (due()). */
  private readonly waiting = new WeakMap<object, { group: Group; waiter: Waiter }>();
  private closed = false;
  constructor(private options: IsolatePoolOptions) {
    this.holds = new RunHolds((worker) => {
      const group = this.groupOf.get(worker);
      // From a timer: a throw here would end the host, and with it every run in flight.
      try {
        if (group) this.serveWaiters(group);
      } catch (error) {
        options.onLate(`taskhost isolates: serving the runs waiting for a worker failed (a bug; please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      }
    }, options.coreLoad);
  }

  setLimits(limits: { maxContextWorkers: number; maxTaskWorkers: number }): void {
    this.options = { ...this.options, ...limits };
    for (const group of this.groups.values()) this.serveWaiters(group);
  }

  /**
   * A worker for one run: an idle one at once, a new one if the limit allows, else the next one
   * released. `ahead`: the run loads ahead of its start (started() says when it begins), and a
   * worker waiting for it is not a run that lasts.
   */
  acquire(spec: GroupSpec, ahead = false, token: object = {}): Promise<IsolateWorker> {
    if (this.closed) return Promise.reject(taskhostError("ERR_SCHEDULER_STOPPED", "taskhost isolates: the host is stopping; no run starts"));
    const group = this.group(spec);
    return new Promise<IsolateWorker>((resolve, reject) => {
      const waiter = { resolve, reject, ahead, due: !ahead };
      this.waiting.set(token, { group, waiter });
      group.waiters.push(waiter);
      this.serveWaiters(group);
    });
  }

  /** The run that acquired with `token` (ahead) and still waits for a worker was told to go. */
  due(token: object): void {
    const waiting = this.waiting.get(token);
    if (!waiting || !waiting.group.waiters.includes(waiting.waiter)) return;
    waiting.waiter.due = true;
    // Only a `task` group serves a waiter differently once it is due.
    if (waiting.group.spec.mode === "task") this.serveWaiters(waiting.group);
  }

  /** Boots a group's core workers ahead of its first runs (a host start: its first boundary should not wait for boots). */
  warm(spec: GroupSpec): void {
    const group = this.group(spec);
    while (!this.closed && group.size < (spec.mode === "context" ? this.coreWorkers() : 1)) {
      const worker = this.boot(group, false);
      if (!worker) return;
      this.give(group, worker);
    }
  }

  /**
   * Boots idle `context` workers until the group has `count` (within the limit): runs due
   * together that recur often enough to keep them (issue 13: a boundary's runs start at once,
   * not one worker after another). Those beyond the core count retire after SURPLUS_IDLE_MS idle.
   */
  warmAhead(spec: GroupSpec, count: number): void {
    const group = this.group(spec);
    while (!this.closed && group.size < count) {
      const worker = this.boot(group, false);
      if (!worker) return;
      // Idle, not handed to a run waiting now: the core workers free up sooner than this one boots.
      this.give(group, worker, false);
    }
  }

  /**
   * A run loaded ahead (acquire with `ahead`) is told to go: its worker is busy with it from now,
   * or from `notBefore` (epoch ms) when it waits for its instant (waiting is not a run that lasts).
   */
  started(worker: IsolateWorker, notBefore = 0): void {
    const group = this.groupOf.get(worker);
    if (!group || this.holds.has(worker)) return;
    this.handOut(group, worker, Math.max(0, notBefore - Date.now()));
    // Its task's runs told to go meanwhile need not wait for this one to end.
    if (group.spec.mode === "task") this.serveWaiters(group);
  }

  /**
   * Whether a run of `spec` may be queued on `worker` behind the run it serves (IsolateLaunchedRun.startBehind):
   * a live `context` worker of that group, serving a run, with fewer runs queued than a lane of its heap limit holds (laneDepth).
   */
  queueable(worker: IsolateWorker, spec: GroupSpec): boolean {
    const group = this.groupOf.get(worker);
    return !this.closed && group?.spec.key === spec.key && spec.mode === "context" && !worker.dead && worker.serving && worker.queuedRuns < laneDepth(spec.memoryLimitMb);
  }

  /**
   * The group's next runs changed: if they are far off, its idle workers rest now, as after a burst,
   * not after the idle time they were given (a cadence that ended).
   */
  restIdle(spec: GroupSpec): void {
    const group = this.groups.get(spec.key);
    if (!group || group.idle.length === 0) return;
    const { ms, resting } = idleTimeMs(group.spec, false, this.options);
    if (resting) this.idleTimers.hasten(group.idle, ms);
  }

  /** Whether the group has a booted worker idle now (a run may load ahead of its boundary without taking one from a run that is due). */
  hasIdle(spec: GroupSpec): boolean {
    return this.groups.get(spec.key)?.idle.some((worker) => worker.online) ?? false;
  }

  /** Gives a worker back after its run; `reusable` false (or a dead or worn worker) means it is killed and replaced. */
  release(worker: IsolateWorker, reusable: boolean): void {
    this.holds.end(worker);
    const group = this.groupOf.get(worker);
    if (!group) return;
    // Runs queued on it begin there now, one after another: it stays busy (worn or not, it retires after them).
    if (reusable && worker.queuedRuns > 0 && !worker.dead && !this.closed) return this.handOut(group, worker);
    const { runs, heapGrowthBytes } = this.options.recycle ?? { runs: RECYCLE_RUNS, heapGrowthBytes: RECYCLE_HEAP_GROWTH };
    const worn = worker.runs >= runs || (worker.baseHeap !== null && worker.lastHeap - worker.baseHeap > heapGrowthBytes);
    if (!reusable || worker.dead || worn || this.closed || this.groups.get(group.spec.key) !== group) {
      this.retire(worker);
      // The next run of this group should not wait for a boot.
      if (!this.closed && group.spec.mode === "context") this.startSpare(group);
      return;
    }
    this.give(group, worker);
  }

  /** Workers alive now, by mode, those idle (`idleUp`: idle and booted), and what they retain after their latest run or collection (for status and tests). */
  counts(): WorkerCounts {
    let idle = 0;
    let idleUp = 0;
    for (const group of this.groups.values()) {
      idle += group.idle.length;
      idleUp += group.idle.filter((worker) => worker.online).length;
    }
    let retainedBytes = 0;
    for (const worker of this.groupOf.keys()) retainedBytes += worker.lastHeap;
    return { context: this.contextWorkers, task: this.taskWorkers, idle, idleUp, retainedBytes };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.holds.close();
    const all = [...this.groupOf.keys()];
    for (const group of this.groups.values()) {
      for (const waiter of group.waiters.splice(0)) waiter.reject(taskhostError("ERR_SCHEDULER_STOPPED", "taskhost isolates: the host is stopping; no run starts"));
    }
    await Promise.all(all.map((worker) => this.retire(worker)));
  }

  private group(spec: GroupSpec): Group {
    let group = this.groups.get(spec.key);
    if (!group) {
      group = { spec, idle: [], waiters: [], size: 0 };
      this.groups.set(spec.key, group);
    }
    if (spec.taskId !== undefined) {
      // A new bundle of the task: its old workers hold old code.
      const previous = this.taskKeys.get(spec.taskId);
      if (previous !== undefined && previous !== spec.key) {
        const old = this.groups.get(previous);
        this.groups.delete(previous);
        for (const worker of old?.idle.splice(0) ?? []) void this.retire(worker);
      }
      this.taskKeys.set(spec.taskId, spec.key);
    }
    return group;
  }

  private serveWaiters(group: Group): void {
    if (group.spec.mode === "task") return this.serveTaskWaiters(group);
    while (group.waiters.length > 0) {
      const worker = this.takeIdle(group) ?? (this.mayGrow(group) ? this.boot(group) : null);
      // Otherwise the next release, or a run found to last (run-holds.ts), serves it.
      if (!worker) return;
      this.idleTimers.clear(worker);
      const waiter = group.waiters.shift();
      // Served meanwhile (a worker's end can serve waiters): this worker waits idle for the next.
      if (!waiter) {
        this.give(group, worker, false);
        break;
      }
      if (!waiter.ahead) this.handOut(group, worker);
      waiter.resolve(worker);
    }
    this.startSpare(group);
  }

  /** In order, each waiter that may have a worker now: an idle one, or a new one (taskMayGrow). */
  private serveTaskWaiters(group: Group): void {
    for (let i = 0; i < group.waiters.length; ) {
      const waiter = group.waiters[i]!;
      const worker = this.takeIdle(group) ?? (this.taskMayGrow(group, waiter) ? this.boot(group) : null);
      if (!worker) {
        i++;
        continue;
      }
      group.waiters.splice(i, 1);
      this.idleTimers.clear(worker);
      if (!waiter.ahead) this.handOut(group, worker);
      waiter.resolve(worker);
    }
  }

  /**
   * A `task` group's first worker; another only for a run told to go while each of its workers
   * serves a run told to go too (one loaded ahead and not begun frees up, or begins, first).
   */
  private taskMayGrow(group: Group, waiter: Waiter): boolean {
    if (group.size === 0) return true;
    if (!waiter.due || group.idle.length > 0) return false;
    for (const [worker, owner] of this.groupOf) if (owner === group && !this.holds.has(worker)) return false;
    return true;
  }

  /**
   * The most recently idled booted worker; else one still booting, unless a worker busy with a
   * short run (or loaded ahead for one) will be free sooner than a boot (~50-100 ms) takes.
   */
  private takeIdle(group: Group): IsolateWorker | undefined {
    for (let i = group.idle.length - 1; i >= 0; i--) {
      if (group.idle[i]!.online) return group.idle.splice(i, 1)[0];
    }
    const freeingSoon = group.size - group.idle.length - this.longHeld(group);
    return freeingSoon > 0 ? undefined : group.idle.pop();
  }

  /** Busy from now (+ `fromMs`): if its run lasts, the group may need another worker (run-holds.ts). */
  private handOut(group: Group, worker: IsolateWorker, fromMs = 0): void {
    this.holds.begin(worker, fromMs, group.spec.mode === "context");
  }

  private coreWorkers(): number {
    // The cores once (a system call each time, asked a few times a run).
    return this.options.coreWorkers ?? (this.cores ??= availableParallelism() + 1);
  }

  /** Workers of the group held by a run that lasts (run-holds.ts). */
  private longHeld(group: Group): number {
    return this.holds.lasting((worker) => this.groupOf.get(worker) === group);
  }

  /** A `context` group keeps `coreWorkers` workers that no lasting run holds; beyond that it waits for one to free up. */
  private mayGrow(group: Group): boolean {
    return group.size - this.longHeld(group) < this.coreWorkers();
  }

  /** One more idle worker for the group, when none is idle (or lasting runs hold too many) and it may grow. */
  private startSpare(group: Group): void {
    if (group.waiters.length > 0 || this.closed) return;
    if (group.idle.length > 0 && group.size - this.longHeld(group) >= this.coreWorkers()) return;
    if (!this.mayGrow(group)) return;
    const worker = this.boot(group, false);
    if (worker) this.give(group, worker);
  }

  private boot(group: Group, evict = true): IsolateWorker | null {
    const { spec } = group;
    if (spec.mode === "context" && this.contextWorkers >= this.options.maxContextWorkers) {
      // Room for this memory limit by retiring an idle worker of another.
      const other = evict ? [...this.groups.values()].find((g) => g !== group && g.spec.mode === "context" && g.idle.length > 0) : undefined;
      if (!other) return null;
      // The slot it frees is this group's: retiring it must not serve other waiters from in here
      // (the caller is serving a waiter; a nested serve took it and crashed the host, issue found in a walkthrough).
      void this.retire(other.idle.shift()!, false);
    }
    if (spec.mode === "task" && this.taskWorkers >= this.options.maxTaskWorkers) {
      const oldest = this.idleTimers.oldest((worker) => this.groupOf.get(worker)?.spec.mode === "task");
      if (oldest) void this.retire(oldest, false);
    }
    const worker = new IsolateWorker({
      entryFile: this.options.entryFile,
      mode: spec.mode,
      memoryLimitMb: spec.memoryLimitMb,
      paths: this.options.paths,
      apiScript: this.options.apiScript,
      name: `taskhost:${spec.key}`,
      onLate: this.options.onLate,
    });
    this.groupOf.set(worker, group);
    group.size++;
    if (spec.mode === "context") this.contextWorkers++;
    else this.taskWorkers++;
    return worker;
  }

  private give(group: Group, worker: IsolateWorker, toWaiter = true): void {
    // A task's run told to go first: one loaded ahead has time.
    const first = group.spec.mode === "task" ? group.waiters.findIndex((w) => w.due) : 0;
    const waiter = toWaiter ? group.waiters.splice(Math.max(0, first), 1)[0] : undefined;
    if (waiter) {
      if (!waiter.ahead) this.handOut(group, worker);
      return waiter.resolve(worker);
    }
    group.idle.push(worker);
    const { ms, resting } = idleTimeMs(group.spec, group.size > this.coreWorkers(), this.options);
    // A group that rests rests whole: its other idle workers' times were for runs that came more often.
    if (resting) this.idleTimers.hasten(group.idle, ms);
    this.idleTimers.arm(worker, ms);
  }

  /** `serve`: whoever waits may have the freed slot (not when it is freed for a boot of the caller's). */
  private retire(worker: IsolateWorker, serve = true): Promise<void> {
    this.holds.end(worker);
    const group = this.groupOf.get(worker);
    if (group) {
      this.groupOf.delete(worker);
      this.idleTimers.clear(worker);
      const at = group.idle.indexOf(worker);
      if (at >= 0) group.idle.splice(at, 1);
      group.size--;
      if (group.spec.mode === "context") this.contextWorkers--;
      else this.taskWorkers--;
      if (group.size === 0 && group.waiters.length === 0 && this.groups.get(group.spec.key) === group && group.spec.mode === "task") {
        this.groups.delete(group.spec.key);
        if (group.spec.taskId !== undefined && this.taskKeys.get(group.spec.taskId) === group.spec.key) this.taskKeys.delete(group.spec.taskId);
      }
      // A slot freed: whoever waits for a context worker may boot one now; a task's next run, its new worker.
      if (serve && group.spec.mode === "context") for (const g of this.groups.values()) if (g.waiters.length > 0) this.serveWaiters(g);
      if (serve && group.spec.mode === "task" && group.waiters.length > 0 && !this.closed) this.serveWaiters(group);
    }
    return worker.kill();
  }
}
