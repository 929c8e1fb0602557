import { Worker } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import type { RunTriggerName } from "../api/task-context.ts";
import type { HostMessage, LogLevel, WorkerInput, WorkerMessage } from "./worker-protocol.ts";
import { OutputExcerpt } from "./output-excerpt.ts";
import { LineSplitter, MAX_LINE_CHARS } from "./line-splitter.ts";
import { taskEnv } from "./task-env.ts";
import { watchRunChildren } from "./end-run-children.ts";
import { watchRunMemory } from "./watch-run-memory.ts";

export interface RunRequest {
  /** The compiled worker entry (see workerEntryFile). */
  entryFile: string;
  bundlePath: string;
  method: string;
  task: { id: string; title: string };
  scheduleId: string;
  scheduledFor: number;
  attempt: number;
  trigger: RunTriggerName;
  timeoutSec: number;
  memoryLimitMb: number;
  onStarted(at: number): void;
  onLog(level: LogLevel, message: string): void;
  onState(key: string, value: unknown, deleted: boolean): void;
}

export type EndStatus = "success" | "failure" | "timeout" | "interrupted";

export interface RunOutcome {
  status: EndStatus;
  error: string | null;
  output: string;
  startedAt: number | null;
  finishedAt: number;
}

export interface PreparedRun {
  /** Resolves when the task module is loaded and waits for start() (or the run already ended). */
  readonly ready: Promise<void>;
  readonly outcome: Promise<RunOutcome>;
  /** Lets the loaded task's method begin, with the task's state as of now. */
  start(state: Record<string, unknown>): void;
  /**
   * Aborts ctx.signal, then terminates the worker after `graceMs` unless it finished.
   * With `completedCounts`, a run that still completes its work in the grace is a success
   * (a graceful shutdown); otherwise it ends with `status` whatever it does.
   */
  stop(status: "timeout" | "interrupted", reason: string, graceMs: number, completedCounts?: boolean): void;
}

/** Lines a single run may write to the task log before the rest is only kept in its excerpt. */
const LOG_LINE_BUDGET = 2000;

/**
 * Starts one run in its own worker thread; the task's module is imported and
 * its class constructed at once, and its method waits for start() — so a
 * worker started shortly before a boundary begins the task's code on it. The worker has its own heap (capped
 * at memory_limit), its own event loop and can be terminated mid-instruction,
 * so a throw, process.exit(), an endless loop or a memory blow-up ends the run
 * and never the host.
 */
export function prepareRun(request: RunRequest): PreparedRun {
  const input: WorkerInput = {
    mode: "run",
    bundleUrl: pathToFileURL(request.bundlePath).href,
    method: request.method,
    task: request.task,
    scheduleId: request.scheduleId,
    scheduledFor: request.scheduledFor,
    attempt: request.attempt,
    trigger: request.trigger,
  };
  const worker = new Worker(request.entryFile, {
    workerData: input,
    stdout: true,
    stderr: true,
    execArgv: [],
    resourceLimits: { maxOldGenerationSizeMb: request.memoryLimitMb },
    name: `taskhost:${request.scheduleId}`,
    env: taskEnv(),
  });
  const children = watchRunChildren(worker);
  // Buffers and ArrayBuffers count against memory_limit too, not only the heap (issue 10.5).
  watchRunMemory(worker, { label: request.scheduleId, limitMb: request.memoryLimitMb, stop: (reason) => finish("failure", reason) });
  const excerpt = new OutputExcerpt();
  let logLines = 0;
  const writeLine = (level: LogLevel, line: string) => {
    excerpt.append(`${line}\n`);
    logLines++;
    if (logLines < LOG_LINE_BUDGET) request.onLog(level, line);
    else if (logLines === LOG_LINE_BUDGET) request.onLog("warn", `output exceeds ${LOG_LINE_BUDGET} lines; the rest is kept only in the run's excerpt`);
  };
  const out = new LineSplitter((line) => writeLine("info", line));
  const err = new LineSplitter((line) => writeLine("warn", line));
  worker.stdout.setEncoding("utf8").on("data", (chunk: string) => out.push(chunk));
  worker.stderr.setEncoding("utf8").on("data", (chunk: string) => err.push(chunk));

  let startedAt: number | null = null;
  let ended = false;
  let forced: { status: "timeout" | "interrupted"; reason: string; completedCounts: boolean } | null = null;
  let timeoutTimer: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let settle: (outcome: RunOutcome) => void = () => {};
  const outcome = new Promise<RunOutcome>((resolve) => (settle = resolve));

  const send = (message: HostMessage) => {
    try {
      worker.postMessage(message);
    } catch {
      // The worker is already gone; its exit handler settles the run.
    }
  };

  // Output the worker wrote just before it ended is still in flight until its thread has exited.
  const exited = new Promise<void>((resolve) => worker.once("exit", () => setImmediate(resolve)));

  const finish = (status: EndStatus, error: string | null) => {
    if (ended) return;
    ended = true;
    const finishedAt = Date.now();
    clearTimeout(timeoutTimer);
    clearTimeout(killTimer);
    markReady();
    const settleNow = () => {
      out.end();
      err.end();
      settle({ status, error, output: excerpt.toString(), startedAt, finishedAt });
    };
    // The processes it started end (and are reaped by its loop) first; whatever else
    // the task left behind (timers, pending promises) dies with its thread.
    void children
      .end()
      .then(() => worker.terminate())
      .catch(() => {})
      .then(() => Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())]))
      .then(settleNow);
  };

  const stop = (status: "timeout" | "interrupted", reason: string, graceMs: number, completedCounts = false) => {
    if (ended || forced) return;
    forced = { status, reason, completedCounts };
    send({ type: "abort", reason });
    killTimer = setTimeout(() => finish(status, reason), graceMs);
  };

  const armTimeout = () => {
    clearTimeout(timeoutTimer);
    const ms = request.timeoutSec * 1000;
    timeoutTimer = setTimeout(
      () => stop("timeout", `timed out after ${request.timeoutSec}s`, graceFor(request.timeoutSec)),
      ms,
    );
  };
  // Loading the module counts against the timeout too: a top-level endless loop must end.
  armTimeout();

  worker.on("message", (message: WorkerMessage) => {
    switch (message.type) {
      case "ready":
        markReady();
        break;
      case "started":
        startedAt = message.at;
        armTimeout();
        request.onStarted(message.at);
        break;
      case "log":
        for (const line of message.message.split("\n")) writeLine(message.level, cutLine(line));
        break;
      case "state":
        request.onState(message.key, message.value, message.deleted);
        break;
      case "done":
        // A task that honoured ctx.signal after a timeout still timed out; one that
        // completed its work during a shutdown's grace succeeded.
        if (forced && !(forced.completedCounts && message.ok)) finish(forced.status, forced.reason);
        else if (message.ok) finish("success", null);
        else finish("failure", message.error.stack ?? message.error.message);
        break;
      default:
        break;
    }
  });
  worker.on("error", (error: Error & { code?: string }) => {
    if (error.code === "ERR_WORKER_OUT_OF_MEMORY") {
      finish("failure", `the run exceeded its memory_limit of ${request.memoryLimitMb} MB and was stopped`);
    } else {
      finish(forced?.status ?? "failure", error.stack ?? error.message);
    }
  });
  worker.on("exit", (code) => {
    if (forced) finish(forced.status, forced.reason);
    else finish("failure", `the task ended its thread with process.exit(${code}) before finishing`);
  });

  return {
    ready,
    outcome,
    start: (state) => send({ type: "go", state }),
    stop,
  };
}

/** How long a run gets between ctx.signal aborting and its thread being terminated. */
export function graceFor(timeoutSec: number): number {
  return Math.round(Math.min(5, Math.max(0.5, timeoutSec / 4)) * 1000);
}

/** A ctx.log line is bounded like a printed one. */
function cutLine(line: string): string {
  return line.length <= MAX_LINE_CHARS ? line : `${line.slice(0, MAX_LINE_CHARS)} … (${line.length - MAX_LINE_CHARS} more characters of this line cut)`;
}
