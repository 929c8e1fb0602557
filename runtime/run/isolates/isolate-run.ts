/**
 * One run in a warm isolate worker, as the scheduler sees it (a LaunchedRun):
 * it waits for a worker from the pool, loads the task there, starts on
 * start(), applies the timeout and stop()'s grace, and settles once. A run
 * that must be killed takes its worker with it; otherwise the worker goes back
 * to the pool. Statuses and messages are those of the `worker` level.
 */
import type { LaunchedRun, RunOutcome, RunRequest, RunSink, EndStatus, StartOptions } from "../../scheduler/run-launcher.ts";
import { graceFor } from "../../scheduler/grace-period.ts";
import { killGroupsAndWait } from "../end-run-children.ts";
import { endChildrenOnWorker } from "./end-children-on-worker.ts";
import { MAX_LINE_CHARS } from "../../util/line-splitter.ts";
import { OutputExcerpt } from "../output-excerpt.ts";
import { doneOutcome, NOT_BEGUN, type ForcedEnd } from "../run-end.ts";
import type { LogLevel } from "../../logging/log-level.ts";
import type { FromIsolate } from "./isolate-protocol.ts";
import type { RunTriggerName } from "../../api/task-context.ts";
import type { IsolatePool } from "./isolate-pool.ts";
import type { GroupSpec } from "./isolate-pool-options.ts";
import type { IsolateTenant, IsolateWorker } from "./isolate-worker.ts";
import { trackRunMemory, type RunMemoryWatch } from "../watch-run-memory.ts";
import { heapOverrunMessage } from "../run-memory-book.ts";

export interface IsolateRunOptions {
  pool: IsolatePool;
  group: GroupSpec;
  request: RunRequest;
  sink: RunSink;
  /** The task's CommonJS bundle. */
  script: string;
  /**
   * Load at start() rather than at launch (`context` with no worker idle, or
   * a run launched without a slot, which loads where it will begin): a warm
   * load takes a millisecond or two, while a run loaded ahead would wait for a
   * worker another run is due on. The state is read while a worker is found,
   * and `go` follows `load` at once.
   */
  deferLoad?: boolean;
  importMetaUrl: string;
  /** The pool handed it a worker (it may have waited for one), and its load is on the way there. */
  onWorker?: () => void;
  /**
   * Queued on a worker that died before it began (the run ahead of it took the worker with it): it
   * is placed nowhere now, and is to be started again (the launcher queues it after the run it follows
   * again, or waits for that run). Without it, it loads on any worker at once.
   */
  onDisplaced?: () => void;
}

/** A run on a warm isolate worker, which another run may be queued behind. */
export interface IsolateLaunchedRun extends LaunchedRun {
  /**
   * start(), queued on `worker` behind the run it serves: it loads there now and the worker
   * begins it by itself once that run is over (no round trip through the host).
   */
  startBehind(worker: IsolateWorker, readState: () => Promise<Record<string, unknown>>, options?: StartOptions): void;
  /**
   * Queued: taken back to begin on any worker as soon as it can. false: its worker began it (or it
   * ended). A run not queued stands alone already: true until its start is heard.
   */
  standAlone(): boolean;
  /** The worker it is loaded on or runs on, until it ends. */
  servedBy(): IsolateWorker | null;
}

let lastToken = 1;
/** A run's token in its worker's RunOverFlag (run-children.ts): 0 and 1 are taken. */
function nextToken(): number {
  lastToken = lastToken >= 0x7fffffff ? 2 : lastToken + 1;
  return lastToken;
}

export function launchIsolateRun(options: IsolateRunOptions): IsolateLaunchedRun {
  const { pool, request, sink } = options;
  const excerpt = new OutputExcerpt();
  // Every line goes to the sink (a run's log file keeps them all); the task log's budget is the scheduler's.
  const writeLine = (level: LogLevel, line: string) => {
    excerpt.append(`${line}\n`);
    sink.log(level, line);
  };

  let worker: IsolateWorker | null = null;
  let loadSent = false;
  let goSent = false;
  let loaded = false;
  let startedAt: number | null = null;
  /** When its worker says its code ended (the host hears it later). */
  let endedAt: number | null = null;
  let ended = false;
  let goState: Record<string, unknown> | null = null;
  /** How late its code may begin (StartOptions.lateAfterMs), once known. */
  let lateAfterMs: number | undefined;
  /** Its code begins at this instant, not earlier (StartOptions.notBefore). */
  let notBefore: number | undefined;
  let askedAt = 0;
  let tooLate = false;
  let forced: ForcedEnd | null = null;
  let timeoutTimer: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let settle: (outcome: RunOutcome) => void = () => {};
  const outcome = new Promise<RunOutcome>((resolve) => (settle = resolve));
  const runId = request.runId;
  const token = nextToken();
  /** Queued behind another run on its worker (startBehind): the cell that decides where it begins. */
  let cell: Int32Array | null = null;

  /** `kill`: the worker is in an unknown state (still running the task) and must go. */
  const finish = (status: EndStatus, error: string | null, kill: boolean) => {
    if (ended) return;
    ended = true;
    clearTimeout(timeoutTimer);
    clearTimeout(killTimer);
    memory?.leave();
    markReady();
    const finishedAt = endedAt ?? Date.now();
    const done = () => settle({ status, error, output: excerpt.toString(), startedAt, finishedAt, ...(tooLate ? { late: true } : {}) });
    if (!worker) return done();
    const w = worker;
    if (!kill && cell && !w.serves(tenant)) {
      // Ended while queued (taken back, dropped, or its load failed): the worker is freed here only if it serves nothing else.
      w.detach(tenant);
      w.runOver(true, token);
      if (!w.serving && w.queuedRuns === 0) pool.release(w, true);
      return done();
    }
    // Loaded and never told to go (its state could not be read): the worker drops it before its next run.
    if (!kill && loadSent && !goSent && w.serves(tenant)) w.send({ type: "cancel", runId });
    if (!kill) w.endOutput();
    w.detach(tenant);
    // From now on its spawns throw: a loop of them ends, and nothing starts that the host misses.
    w.runOver(true, token);
    if (childGroups.size === 0) {
      if (!kill) {
        pool.release(w, true);
        return done();
      }
      // Settle once the thread is gone, so nothing of the run outlives its outcome.
      return void w.kill().then(() => (pool.release(w, false), done()));
    }
    void endChildrenOnWorker(w, childGroups, writeLine).then(async (replied) => {
      if (kill || !replied) await w.kill();
      pool.release(w, !kill && replied);
      done();
    });
  };

  /** Queued and not begun: taken back from its worker (which drops it). false: its worker began it first, or it is not queued. */
  const takeBack = (): boolean => {
    if (!cell || !worker || Atomics.compareExchange(cell, 0, 0, 2) !== 0) return false;
    worker.send({ type: "cancel", runId });
    return true;
  };

  const stop = (status: "timeout" | "interrupted", reason: string, graceMs: number, completedCounts = false) => {
    if (ended || forced) return;
    // Still queued: it never begins (unbegun, like a run stopped while it waits for its instant), and the run its worker serves goes on.
    if (takeBack()) {
      tooLate = true;
      return finish(status, reason, false);
    }
    forced = { status, reason, completedCounts };
    // Told to go, its code may be running though its `ready` is not read yet (a load at start):
    // the worker decides, with the grace, whether it began (as for a run known to be loaded).
    if (!worker || (!loaded && !goSent)) return finish(status, reason, worker !== null);
    worker.send({ type: "abort", runId, reason, graceful: completedCounts });
    killTimer = setTimeout(() => finish(status, reason, true), graceMs);
  };

  const armTimeout = () => {
    clearTimeout(timeoutTimer);
    timeoutTimer = setTimeout(
      () => stop("timeout", `timed out after ${request.timeoutSec}s`, graceFor(request.timeoutSec)),
      request.timeoutSec * 1000,
    );
  };

  const childGroups = new Set<number>();
  /** The run's place in the host's memory book, from the moment it has a worker (issue 10.5, as under `worker`). */
  let memory: RunMemoryWatch | null = null;
  const tenant: IsolateTenant = {
    message(message: FromIsolate) {
      if (message.type === "memory") return memory?.report(message);
      if (message.type === "child.started") childGroups.add(message.pgid);
      if (!("runId" in message) || message.runId !== runId) return;
      switch (message.type) {
        case "loading":
          // Loading counts against the timeout (a top-level endless loop must end); booting the worker does not.
          armTimeout();
          break;
        case "ready":
          loaded = true;
          // Waiting for start() (a pre-warmed run, a run waiting for a slot, or for its turn behind another run) is not the task's time.
          if (!goSent || cell) clearTimeout(timeoutTimer);
          markReady();
          break;
        case "too-late":
          tooLate = true;
          break;
        case "started":
          watchMemory();
          startedAt = message.at;
          armTimeout();
          sink.started(message.at);
          break;
        case "log":
          for (const line of message.message.split("\n")) writeLine(message.level, cutLine(line));
          break;
        case "state":
          sink.state(message.key, message.value, message.deleted);
          break;
        case "done": {
          if (startedAt !== null) endedAt = message.at;
          // Unbegun: too late (the machine froze), or stopped while it waited for its instant.
          const { status, reason } = tooLate ? { status: forced?.status ?? ("interrupted" as const), reason: forced?.reason ?? NOT_BEGUN } : doneOutcome(forced, message);
          finish(status, reason, false);
          break;
        }
        default:
          break;
      }
    },
    output: writeLine,
    died(code, error) {
      // Queued behind a run that took the worker with it, and not begun there: it is placed anew (after the run it follows).
      if (cell && !forced && startedAt === null && worker && !worker.serves(tenant) && Atomics.compareExchange(cell, 0, 0, 2) === 0) {
        unplace();
        return options.onDisplaced ? options.onDisplaced() : void acquireAndLoad(false);
      }
      if (error?.code === "ERR_WORKER_OUT_OF_MEMORY") {
        finish("failure", heapOverrunMessage(request.memoryLimitMb), true);
      } else if (forced) finish(forced.status, forced.reason, true);
      else if (error) finish("failure", error.stack ?? error.message, true);
      else finish("failure", `the task ended its thread with process.exit(${code}) before finishing`, true);
    },
  };

  /** Once the load is on its way and the state is read: the worker begins the run as soon as it is loaded. */
  const sendGo = () => {
    if (goSent || !loadSent || !goState || ended) return;
    goSent = true;
    pool.started(worker!, notBefore);
    worker!.send({
      type: "go",
      runId,
      state: goState,
      ...(lateAfterMs === undefined ? {} : { late: { askedAt, afterMs: lateAfterMs } }),
      ...(notBefore === undefined ? {} : { notBefore }),
    });
  };

  const readAndGo = (readState: () => Promise<Record<string, unknown>>) => {
    readState().then(
      (state) => {
        if (ended) return;
        goState = state;
        sendGo();
      },
      (error: unknown) => {
        // Queued: its worker must not begin it, nor wait for its go.
        takeBack();
        finish("failure", `taskhost could not read the task's state: ${String(error)}`, false);
      },
    );
  };

  /** Its place in the pool's line (a run loaded ahead is told to go while it may still wait there). */
  const place = {};
  const acquireAndLoad = (ahead = !options.deferLoad) => options.pool.acquire(options.group, ahead, place).then(
    (w) => {
      if (ended) return pool.release(w, true);
      worker = w;
      w.runOver(false, token);
      w.attach(tenant);
      sendLoad(w);
      options.onWorker?.();
    },
    (error: Error) => finish("interrupted", error.message, false),
  );

  /** Over its memory_limit in Buffers and ArrayBuffers (which V8's heap limit does not cover): the run goes, with its worker. */
  const watchMemory = () => {
    memory ??= trackRunMemory({ label: request.scheduleId, limitMb: request.memoryLimitMb, stop: (reason) => finish("failure", reason, true) });
  };

  const sendLoad = (w: IsolateWorker) => {
    // A queued run enters the memory book on its turn: until then its worker reports for the run ahead of it.
    if (!cell) watchMemory();
    w.send({
      type: "load",
      runId,
      script: options.script,
      importMetaUrl: options.importMetaUrl,
      method: request.method,
      task: request.task,
      scheduleId: request.scheduleId,
      scheduledFor: request.scheduledFor,
      attempt: request.attempt,
      trigger: request.trigger as RunTriggerName,
      token,
      ...(cell ? { queued: cell } : {}),
    });
    loadSent = true;
    sendGo();
  };

  /** Off the worker it was queued on (taken back, or that worker died): not placed anywhere. */
  const unplace = () => {
    worker?.detach(tenant);
    memory?.leave();
    memory = null;
    worker = null;
    cell = null;
    loadSent = false;
    loaded = false;
    goSent = false;
  };
  if (options.deferLoad) markReady();
  else void acquireAndLoad();

  return {
    ready,
    outcome,
    start(readState, startOptions) {
      if (ended) return;
      askedAt = Date.now();
      lateAfterMs = startOptions?.lateAfterMs;
      notBefore = startOptions?.notBefore;
      readAndGo(readState);
      if (options.deferLoad) void acquireAndLoad();
      else if (!worker) pool.due(place);
    },
    startBehind(w, readState, startOptions) {
      if (ended) return;
      askedAt = Date.now();
      lateAfterMs = startOptions?.lateAfterMs;
      notBefore = startOptions?.notBefore;
      worker = w;
      cell = new Int32Array(new SharedArrayBuffer(4));
      w.enqueue(runId, tenant);
      readAndGo(readState);
      sendLoad(w);
    },
    standAlone() {
      if (ended) return false;
      if (!cell) return startedAt === null;
      // Swapped first by its worker: it has begun there (or is beginning).
      if (!takeBack()) return false;
      const w = worker!;
      unplace();
      // That worker may have nothing left to do: it goes back to the pool.
      if (!w.serving && w.queuedRuns === 0) pool.release(w, true);
      // Loaded anew on any worker, it begins as soon as it can.
      void acquireAndLoad(false);
      return true;
    },
    servedBy: () => (ended ? null : worker),
    stop,
    cancel() {
      if (ended) return;
      if (cell) {
        if (takeBack()) return finish("interrupted", "cancelled before it started", false);
        // Its worker began it: it is stopped like any run that began.
        return stop("interrupted", "cancelled", 0);
      }
      if (worker && loaded && startedAt === null) {
        // The worker drops the loaded run and says done; until then it is not free.
        const w = worker;
        worker = null;
        ended = true;
        clearTimeout(timeoutTimer);
        memory?.leave();
        markReady();
        const release: typeof tenant = {
          ...tenant,
          message: (m) => {
            // Its load started a process (module-level code): no run is left to end it.
            if (m.type === "child.started") void killGroupsAndWait([m.pgid]);
            if (m.type === "done" && m.runId === runId) {
              w.detach(release);
              pool.release(w, true);
            }
          },
          died: () => pool.release(w, false),
        };
        w.runOver(true, token);
        w.attach(release);
        w.send({ type: "cancel", runId });
        settle({ status: "interrupted", error: "cancelled before it started", output: excerpt.toString(), startedAt: null, finishedAt: Date.now() });
      } else stop("interrupted", "cancelled", 0);
    },
  };
}

/** A ctx.log line is bounded like a printed one. */
function cutLine(line: string): string {
  return line.length <= MAX_LINE_CHARS ? line : `${line.slice(0, MAX_LINE_CHARS)} … (${line.length - MAX_LINE_CHARS} more characters of this line cut)`;
}
