/**
 * The host's side of one warm isolate worker thread: its options, its stdio
 * split into lines for whichever run it serves now, and one idempotent kill.
 */
import { Worker } from "node:worker_threads";
import type { LogLevel } from "../../logging/log-level.ts";
import { LineSplitter } from "../../util/line-splitter.ts";
import { taskEnv } from "../../util/task-env.ts";
import type { TaskPaths } from "../task-paths.ts";
import type { FromIsolate, IsolateMode, IsolateWorkerData, ToIsolate } from "./isolate-protocol.ts";
import type { RunMemoryReport } from "../report-run-memory.ts";
import { runMemoryBook } from "../run-memory-book.ts";
import { endRunOf, newRunOverFlag, setRunOver } from "../run-children.ts";
import { killGroupsAndWait } from "../end-run-children.ts";

/** The run a worker serves now: it hears the worker's messages, output and death. */
export interface IsolateTenant {
  message(message: FromIsolate): void;
  output(level: LogLevel, line: string): void;
  /** The thread is gone (killed, out of memory, process.exit). */
  died(code: number, error: (Error & { code?: string }) | null): void;
}

export interface IsolateWorkerOptions {
  entryFile: string;
  mode: IsolateMode;
  memoryLimitMb: number;
  paths: TaskPaths;
  apiScript: string;
  name: string;
  /** Told what a run that already ended left behind (late rejections), for the host log. */
  onLate(message: string): void;
}

/** One for every pool worker of the process (collect-when-quiet.ts). */
const GC_FLAG_LOCK = new Int32Array(new SharedArrayBuffer(4));
const HOST_EXPOSES_GC = /--expose[-_]gc/.test([...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" "));

export class IsolateWorker {
  /** Runs this worker finished. */
  runs = 0;
  /** Heap and Buffers retained after the first run (the worker's own baseline) and after the latest. */
  baseHeap: number | null = null;
  lastHeap = 0;
  dead = false;
  /** The thread has booted and spoken (until then a run handed to it waits for its boot, not for another run). */
  online = false;
  private onlineWaiters: Array<() => void> = [];
  private tenant: IsolateTenant | null = null;
  /** Runs queued behind the one served now (RunLoad.queued), by run id: each is served from its `started` (or `done`). */
  private readonly queued = new Map<number, IsolateTenant>();
  private readonly thread: Worker;
  private readonly splitters: LineSplitter[];
  private lastError: (Error & { code?: string }) | null = null;
  private killing: Promise<void> | null = null;
  /** Its latest memory report, and its place in the memory book while it is idle (run-memory-book.ts: `idle`). */
  private lastMemory: RunMemoryReport | null = null;
  private leaveBook: (() => void) | null = null;
  /** Set while the run it serves is over: its spawns throw (run-children.ts). */
  private readonly over = newRunOverFlag();

  constructor(readonly options: IsolateWorkerOptions) {
    const data: IsolateWorkerData = { mode: options.mode, paths: options.paths, apiScript: options.apiScript, over: this.over, gcFlagLock: GC_FLAG_LOCK, hostExposesGc: HOST_EXPOSES_GC };
    this.thread = new Worker(options.entryFile, {
      workerData: data,
      stdout: true,
      stderr: true,
      execArgv: [],
      // Task code never sees taskhost's own secrets (issue 10.9), as under `worker`.
      env: taskEnv(),
      resourceLimits: { maxOldGenerationSizeMb: options.memoryLimitMb },
      name: options.name,
    });
    const out = new LineSplitter((line) => this.tenant?.output("info", line));
    const err = new LineSplitter((line) => this.tenant?.output("warn", line));
    this.splitters = [out, err];
    this.thread.stdout.setEncoding("utf8").on("data", (chunk: string) => out.push(chunk));
    this.thread.stderr.setEncoding("utf8").on("data", (chunk: string) => err.push(chunk));
    this.thread.on("message", (message: FromIsolate) => {
      if (!this.online) {
        this.online = true;
        for (const waiter of this.onlineWaiters.splice(0)) waiter();
      }
      if (message.type === "output") {
        for (const [stream, text] of message.chunks) (stream === "stdout" ? out : err).push(text);
        return;
      }
      if (message.type === "memory") this.lastMemory = message;
      // A queued run's messages are its own; from its start (or its end unbegun) it is the one served.
      const runId = "runId" in message ? message.runId : null;
      const queued = runId === null ? undefined : this.queued.get(runId);
      if (queued && message.type === "started") {
        this.queued.delete(runId!);
        this.tenant = queued;
      } else if (queued && message.type !== "done") return queued.message(message);
      else if (queued) this.queued.delete(runId!);
      if (message.type === "collected") {
        this.lastHeap = message.retainedBytes;
        // The first run's figure counted its garbage: what is retained after a collection is the truer baseline.
        this.baseHeap = Math.min(this.baseHeap ?? Infinity, message.retainedBytes);
      } else if (message.type === "late") options.onLate(message.message);
      else if (message.type === "done") {
        this.runs++;
        this.lastHeap = message.retainedBytes;
        this.baseHeap ??= message.retainedBytes;
        (queued ?? this.tenant)?.message(message);
      } else if (message.type === "child.started" && !this.tenant) {
        // Started as its run ended (a spawn under way when the flag was set): no run is left to end it.
        void killGroupsAndWait([message.pgid]);
      } else this.tenant?.message(message);
    });
    this.thread.on("error", (error: Error & { code?: string }) => {
      this.lastError = error;
    });
    this.thread.on("exit", (code) => {
      this.dead = true;
      this.onlineWaiters = [];
      this.idleInBook(false);
      // Output written just before the end is still in flight until the thread has exited.
      setImmediate(() => {
        out.end();
        err.end();
        const tenant = this.tenant;
        this.tenant = null;
        tenant?.died(code, this.lastError);
        const queued = [...this.queued.values()];
        this.queued.clear();
        for (const run of queued) run.died(code, null);
      });
    });
  }

  /** Calls `fn` once the thread has booted (at once if it has); never if it dies first. */
  whenOnline(fn: () => void): void {
    if (this.online) fn();
    else if (!this.dead) this.onlineWaiters.push(fn);
  }

  /** The run being served is over: a last line it printed without a newline is its own, not the next run's. */
  endOutput(): void {
    for (const splitter of this.splitters) splitter.end();
  }

  /** The run with `token` begins on it (it may start processes), or is over (a spawn throws, unless the worker moved on to a queued run). */
  runOver(over: boolean, token: number): void {
    if (over) endRunOf(this.over, token);
    else setRunOver(this.over, false, token);
  }

  /** Whether `tenant` is the one served now. */
  serves(tenant: IsolateTenant): boolean {
    return this.tenant === tenant;
  }

  /** Whether it serves a run now (or what a run left, such as its processes being ended). */
  get serving(): boolean {
    return this.tenant !== null;
  }

  /** Runs queued on it now (RunLoad.queued), not yet begun. */
  get queuedRuns(): number {
    return this.queued.size;
  }

  /** `tenant`'s run is queued behind the one served now: it hears its own messages, and is served from its start. */
  enqueue(runId: number, tenant: IsolateTenant): void {
    this.queued.set(runId, tenant);
  }

  /** Serve `tenant` from now on (one run at a time). */
  attach(tenant: IsolateTenant): void {
    this.tenant = tenant;
    this.idleInBook(false);
  }

  detach(tenant: IsolateTenant): void {
    for (const [runId, queued] of this.queued) if (queued === tenant) this.queued.delete(runId);
    if (this.tenant === tenant) this.tenant = null;
    if (this.tenant === null) this.idleInBook(!this.dead && this.queued.size === 0);
  }

  /** Between runs, what its last run left it occupying is in the memory book; while it serves one, the run's entry is. */
  private idleInBook(idle: boolean): void {
    this.leaveBook?.();
    this.leaveBook = null;
    if (!idle || !this.lastMemory) return;
    const at = Date.now();
    this.leaveBook = runMemoryBook.add({ label: this.options.name, limitBytes: Infinity, since: at, last: { ...this.lastMemory, at }, stop: () => undefined, idle: true });
  }

  send(message: ToIsolate): void {
    if (this.dead) return;
    try {
      this.thread.postMessage(message);
    } catch {
      // The thread is going; its exit tells the tenant.
    }
  }

  /** Terminates the thread (whatever it is doing); resolves once it is gone. */
  kill(): Promise<void> {
    this.idleInBook(false);
    this.killing ??= this.thread.terminate().then(
      () => undefined,
      () => undefined,
    );
    return this.killing;
  }
}
