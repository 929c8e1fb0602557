/**
 * The code of a warm isolate worker (issue 13). It runs one run at a time:
 * under `context` each in a fresh RunRealm, dropped when the run ends; under
 * `task` in the one realm of its task, kept between runs, with a fresh class
 * instance per run. A run that must be killed takes this thread with it; the
 * host's pool starts another. Bundled to plain JS like worker-entry.ts.
 */
import { parentPort, workerData } from "node:worker_threads";
import { format } from "node:util";
import v8 from "node:v8";
import type { SerializedError } from "../worker-protocol.ts";
import { authorFrames, isErrorLike, serializeThrown } from "../serialize-thrown.ts";
import type { FromIsolate, IsolateWorkerData, RunLoad, ToIsolate } from "./isolate-protocol.ts";
import { RunRealm } from "./run-realm.ts";
import { RealmStock } from "./realm-stock.ts";
import { fetchGc, QuietCollector } from "./collect-when-quiet.ts";
import { mapStack, runEnded } from "./script-cache.ts";
import { makeTaskContext } from "../task-context-factory.ts";
import { taskExport, taskMethod, type TaskExport } from "../task-export.ts";
import { setRunOver, trackRunChildren } from "../run-children.ts";
import { reportRunMemoryUntil } from "../report-run-memory.ts";
import type { TaskContext } from "../../api/task-context.ts";
import { abortReason } from "../../api/abort-reason.ts";
import { publishTaskPaths } from "../task-paths.ts";
import { watchEnv } from "./env-baseline.ts";
import { stdioThrough } from "../stdio-through.ts";

process.setSourceMapsEnabled(true);

// import() inside a context uses vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER, which Node 20
// calls experimental on first use: that note is taskhost's, not the task's output.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === "string" ? warning : warning.message;
  if (text.includes("USE_MAIN_CONTEXT_DEFAULT_LOADER")) return;
  (emitWarning as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

const data = workerData as IsolateWorkerData;
const port = parentPort!;
// Before any task code: helpers (and processes a run starts) find the project through these.
publishTaskPaths(data.paths);
// Before any task code, after taskhost's own variables: what each realm's end puts back (run-realm.ts).
watchEnv();
// Before any task code: console lines arrive in order with ctx.log's (sent before any other message).
const flushOutput = stdioThrough((chunks) => port.postMessage({ type: "output", chunks } satisfies FromIsolate));
const post = (message: FromIsolate): void => {
  flushOutput();
  port.postMessage(message);
};
// Before any task code: what a run starts ends with it (issue 10.4); the host asks after each run.
// A run queued behind one that started processes begins once they are ended.
const hasChildren = trackRunChildren(port, data.over, () => advance());

interface ActiveRun {
  load: RunLoad;
  realm: RunRealm;
  instance: Record<string, unknown>;
  fn: (ctx: TaskContext) => unknown;
  abort: AbortController;
  /** When its load ended (Date.now()). */
  loadedAt: number;
  /** Queued: when the run before it was over (its wait behind that run is not lateness). */
  turnAt?: number;
  /** Queued: taken by this worker or back by the host, whichever swaps it first (RunLoad.queued). */
  cell?: Int32Array;
  /** Queued: its module failed to load (reported on its turn, as a run that failed to load). */
  loadError?: { error: unknown };
  started: boolean;
  returned: boolean;
  ended: boolean;
  /** Told to go: it waits for its instant (notBefore) or begins. */
  told?: boolean;
  /** The wait for its instant, cleared if it ends first (cancelled). */
  instantTimer?: NodeJS.Timeout;
  /** Queued behind the run before it (RunLoad.queued): its go, kept until its turn. */
  go?: { state: Record<string, unknown>; late: { askedAt: number; afterMs: number } | undefined; notBefore: number | undefined };
}

/** The run being served: loaded and waiting for its go, waiting for its instant, or running. */
let current: ActiveRun | null = null;
/** Runs loaded ahead behind `current`, in order (RunLoad.queued): each begins as the one before ends. */
const queue: ActiveRun[] = [];
/** `context`: contexts made while the worker is idle, as many as its last burst of runs needed (realm-stock.ts). */
const stock = data.mode === "context" ? new RealmStock(data.apiScript, () => current === null && queue.length === 0) : null;
stock?.fill();
/** What a burst of runs left in this thread's heap goes once the runs are quiet (collect-when-quiet.ts). */
const collector = new QuietCollector(
  () => current === null,
  retainedBytes,
  (bytes) => post({ type: "collected", retainedBytes: bytes }),
  () => fetchGc(data.gcFlagLock, data.hostExposesGc),
);
/** `task` mode: the task's realm and class, kept while its bundle stays the same. */
let kept: { script: string; realm: RunRealm; cls: TaskExport } | null = null;

port.on("message", (message: ToIsolate) => {
  // children.end is answered by trackRunChildren's own listener.
  if (message.type === "children.end") return;
  const run = current && current.load.runId === message.runId ? current : null;
  const queued = run ? null : (queue.find((q) => q.load.runId === message.runId) ?? null);
  switch (message.type) {
    case "load":
      load(message);
      break;
    case "go":
      if (run && !run.told) void begin(run, message.state, message.late, message.notBefore);
      if (queued && !queued.go) {
        queued.go = { state: message.state, late: message.late, notBefore: message.notBefore };
        advance();
      }
      break;
    case "abort":
      run?.abort.abort(abortReason(message.reason, message.graceful === true));
      // Told to go but still waiting for its instant: its code never begins (the host decides what follows).
      if (run?.told && !run.started && !run.ended) {
        post({ type: "too-late", runId: run.load.runId });
        void end(run, null);
      }
      if (queued) {
        post({ type: "too-late", runId: queued.load.runId });
        dropQueued(queued);
      }
      break;
    case "cancel":
      // Also while it waits for its instant: it never begins.
      if (run && !run.started) void end(run, null);
      if (queued) dropQueued(queued);
      break;
    default:
      break;
  }
});

/** Stops the memory reports of the run being served (they run only while one is). */
let stopMemoryReports: () => void = () => {};

function load(request: RunLoad): void {
  post({ type: "loading", runId: request.runId });
  if (request.queued) return loadQueued(request);
  stopMemoryReports();
  stopMemoryReports = reportRunMemoryUntil(port);
  let realm: RunRealm | null = null;
  try {
    let cls: TaskExport;
    if (data.mode === "task" && kept?.script === request.script) {
      ({ realm, cls } = kept);
    } else {
      realm = stock ? stock.take() : new RunRealm("taskhost:run", data.apiScript);
      cls = taskExport(realm.main(request.script, request.importMetaUrl));
      if (data.mode === "task") kept = { script: request.script, realm, cls };
    }
    const { instance, fn } = taskMethod(cls, request.method);
    current = { load: request, realm, instance, fn, abort: new AbortController(), loadedAt: Date.now(), started: false, returned: false, ended: false };
    post({ type: "ready", runId: request.runId });
  } catch (error) {
    // A task that fails at load is not kept: its next run loads it anew.
    if (data.mode === "task") kept = null;
    const failed: ActiveRun = {
      load: request,
      realm: realm ?? new RunRealm("taskhost:failed", data.apiScript),
      instance: {},
      fn: () => {},
      abort: new AbortController(),
      loadedAt: Date.now(),
      started: false,
      returned: false,
      ended: false,
    };
    current = failed;
    void end(failed, error, true);
  }
}

async function begin(run: ActiveRun, state: Record<string, unknown>, late: { askedAt: number; afterMs: number } | undefined, notBefore = 0): Promise<void> {
  const id = run.load.runId;
  run.told = true;
  const ctx = makeTaskContext(run.load, state, run.abort.signal, {
    log: (level, message) => post({ type: "log", runId: id, level, message }),
    state: (key, value, deleted) => post({ type: "state", runId: id, key, value, deleted }),
  });
  run.realm.setCurrentRun({ task: ctx.task, scheduleId: ctx.scheduleId, log: ctx.log, signal: ctx.signal, projectRoot: data.paths.projectRoot, cleanStack: (stack: string) => cleanStack(stack)! });
  // Told ahead of its instant: everything but the call is done; this thread waits for the instant itself.
  if (notBefore > Date.now()) {
    await new Promise<void>((resolve) => (run.instantTimer = setTimeout(resolve, notBefore - Date.now() - INSTANT_TIMER_SLACK_MS)));
    if (run.ended) return;
    sleepUntil(notBefore);
  }
  // Frozen between the host's go and now: the host decides again (catch_up), the code does not begin.
  if (late && Date.now() > Math.max(late.askedAt, run.loadedAt, notBefore, run.turnAt ?? 0) + late.afterMs) {
    post({ type: "too-late", runId: id });
    // The runs queued behind it were told for the same freeze: the host decides again for each (and for its lane).
    for (const queued of [...queue]) {
      post({ type: "too-late", runId: queued.load.runId });
      dropQueued(queued);
    }
    return end(run, null);
  }
  run.started = true;
  post({ type: "started", runId: id, at: Date.now() });
  try {
    await run.fn.call(run.instance, ctx);
    run.returned = true;
    // A rejection the method left unhandled as it returned is reported now, while the run is current.
    await new Promise((resolve) => setImmediate(resolve));
    await end(run, null);
  } catch (error) {
    await end(run, error, true);
  }
}

/** A timer may fire a millisecond or two late: it wakes this much early, and sleepUntil() does the rest. */
const INSTANT_TIMER_SLACK_MS = 3;
const napCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Blocks this thread until the wall clock reads `at` (a few ms at most): a
 * futex wait, not a spin, so the other workers whose runs are due on the
 * same instant get the cores, and one wake-up each (Date.now() is whole ms:
 * waiting the whole difference wakes within the first ms of `at`).
 */
function sleepUntil(at: number): void {
  for (let left = at - Date.now(); left > 0; left = at - Date.now()) Atomics.wait(napCell, 0, 0, left);
}

async function end(run: ActiveRun, error: unknown, failed = false): Promise<void> {
  const endedAt = Date.now();
  if (run.ended) return;
  run.ended = true;
  clearTimeout(run.instantTimer);
  // Under `task` the task's realm stays (with its timers: a pool's keep-alive); one that failed to load goes.
  if (data.mode === "context" || run.realm !== kept?.realm) run.realm.dispose();
  if (current === run) {
    current = null;
    stopMemoryReports();
  }
  await outputDelivered();
  runEnded(run.started ? run.load.script : null, () => current === null && queue.length === 0);
  const retained = retainedBytes();
  if (failed) post({ type: "done", runId: run.load.runId, ok: false, error: serialize(error), retainedBytes: retained, at: endedAt });
  else post({ type: "done", runId: run.load.runId, ok: true, retainedBytes: retained, at: endedAt });
  if (queue.length > 0) return advance();
  stock?.ranOut();
  collector.ranOut(retained);
}

// ---- runs queued behind the one being served ---------------------------------

/** A queued run's cell (RunLoad.queued): the first swap from QUEUED decides where it begins. */
const QUEUED = 0;
const BEGUN_HERE = 1;

/** A run loaded ahead behind the current one: its module runs now, its method when its turn comes. */
function loadQueued(request: RunLoad): void {
  const realm = stock ? stock.take() : new RunRealm("taskhost:run", data.apiScript);
  const run: ActiveRun = { load: request, realm, instance: {}, fn: () => {}, abort: new AbortController(), loadedAt: Date.now(), started: false, returned: false, ended: false, cell: request.queued };
  try {
    ({ instance: run.instance, fn: run.fn } = taskMethod(taskExport(realm.main(request.script, request.importMetaUrl)), request.method));
  } catch (error) {
    // Its failure is its own: reported on its turn, as a run that failed to load.
    run.loadError = { error };
  }
  queue.push(run);
  post({ type: "ready", runId: request.runId });
  advance();
}

/**
 * The next queued run becomes current once the run before it is over (and the processes it
 * started are ended) and its go came: unless the host took it back first (to begin it elsewhere).
 */
function advance(): void {
  const had = queue.length > 0;
  while (current === null && queue.length > 0 && queue[0]!.go && !hasChildren()) {
    const run = queue.shift()!;
    if (Atomics.compareExchange(run.cell!, 0, QUEUED, BEGUN_HERE) !== QUEUED) {
      // The host took it back: it is another worker's now.
      run.realm.dispose();
      continue;
    }
    current = run;
    run.turnAt = Date.now();
    setRunOver(data.over, false, run.load.token);
    stopMemoryReports();
    stopMemoryReports = reportRunMemoryUntil(port);
    if (run.loadError) return void end(run, run.loadError.error, true);
    const { state, late, notBefore } = run.go!;
    void begin(run, state, late, notBefore);
  }
  if (had && current === null && queue.length === 0) {
    stock?.ranOut();
    collector.ranOut(retainedBytes());
  }
}

/** A queued run that will not begin here (cancelled, aborted): its context goes, and the host hears it is done. */
function dropQueued(run: ActiveRun): void {
  queue.splice(queue.indexOf(run), 1);
  run.ended = true;
  run.realm.dispose();
  post({ type: "done", runId: run.load.runId, ok: true, retainedBytes: retainedBytes(), at: Date.now() });
  advance();
}

/** Heap and Buffers alike: a run's Buffers left as garbage stay in the thread until a collection. */
function retainedBytes(): number {
  const heap = v8.getHeapStatistics();
  return heap.used_heap_size + heap.external_memory;
}

/** Whether anything was written to stdout or stderr since the last flush (most runs print nothing). */
let wrote = false;
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((...args: unknown[]) => {
    wrote = true;
    return write(...args);
  }) as typeof stream.write;
}

/** Everything the run wrote to stdout and stderr has reached the host (see worker-entry.ts). */
function outputDelivered(): Promise<void> {
  if (!wrote) return Promise.resolve();
  wrote = false;
  const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write("", () => resolve()));
  return Promise.all([flushed(process.stdout), flushed(process.stderr)]).then(() => undefined);
}

function serialize(error: unknown): SerializedError {
  return serializeThrown(error, cleanStack);
}

/** Task frames name tasks/x.ts:line from the project root; this entry's frames say nothing to the author. */
function cleanStack(stack: string | undefined): string | undefined {
  return stack && authorFrames(mapStack(stack), /isolate-entry-[0-9a-f]+\.mjs/, data.paths.projectRoot);
}

/** Who a fault belongs to: the current run if it is that run's (or, under `task`, the task's), else nobody now. */
function ownerOf(promise?: unknown): ActiveRun | null {
  if (!current) return null;
  if (data.mode === "task" || promise === undefined || current.realm.owns(promise)) return current;
  return null;
}

process.on("unhandledRejection", (reason, promise) => {
  const run = ownerOf(promise);
  const text = isErrorLike(reason) ? (cleanStack(reason.stack) ?? reason.message) : format("%o", reason);
  // Before the method returns, a rejection nobody handles fails the run (Node's own rule, as under `worker`).
  if (run && !run.returned) void end(run, reason, true);
  else if (run) post({ type: "log", runId: run.load.runId, level: "warn", message: `unhandled rejection after the run returned (ignored): ${text}` });
  else post({ type: "late", message: `unhandled rejection from a run that already ended (ignored): ${text}` });
});

process.on("uncaughtException", (error) => {
  // Thrown from one of the run's timers: under `worker` this ends the run's thread; here it ends the run.
  const run = ownerOf();
  if (run) void end(run, error, true);
  else post({ type: "late", message: `exception from a run that already ended (ignored): ${cleanStack((error as Error)?.stack) ?? String(error)}` });
});

post({ type: "up" });
