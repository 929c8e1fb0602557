import { pathToFileURL } from "node:url";
import { doneOutcome, NOT_BEGUN, type ForcedEnd } from "./run-end.ts";
import type { LogLevel } from "../logging/log-level.ts";
import type { LaunchedRun, RunOutcome, RunRequest, RunSink } from "../scheduler/run-launcher.ts";
import { graceFor } from "../scheduler/grace-period.ts";
import type { RunTriggerName } from "../api/task-context.ts";
import type { WorkerInput, WorkerMessage } from "./worker-protocol.ts";
import { OutputExcerpt } from "./output-excerpt.ts";
import { MAX_LINE_CHARS } from "../util/line-splitter.ts";
import { WorkerHandle, type WorkerEnd, type WorkerSpawn } from "./worker-handle.ts";
import { watchRunChildren, type RunChildren } from "./end-run-children.ts";
import { newRunOverFlag } from "./run-children.ts";
import { watchRunMemory } from "./watch-run-memory.ts";
import { heapOverrunMessage } from "./run-memory-book.ts";

type Status = RunOutcome["status"];

/**
 * One run in a worker thread of its own. The task's module is imported and its
 * class constructed at once; its method waits for start(), so a worker
 * launched shortly before a boundary begins the task's code on it. The worker
 * has its own heap (capped at memory_limit) and event loop and can be
 * terminated mid-instruction: a throw, process.exit(), an endless loop or a
 * memory blow-up ends the run, never the host.
 *
 * The run settles once (`settle`), whatever ends it: the method's end, the
 * worker's error or exit, a timeout, stop() or cancel(). After that no timer
 * is armed again, even by `started` or `ready` messages the worker posted
 * before it died and that arrive after its error (issue 10 item 2: a stopped
 * host lingered until such a timer fired).
 */
export function launchWorkerRun(worker: WorkerSpawn, request: RunRequest, sink: RunSink, onLoaded?: (loadMs: number) => void): LaunchedRun {
  const launchedAt = Date.now();
  const over = newRunOverFlag();
  const input: WorkerInput = {
    mode: "run",
    bundleUrl: pathToFileURL(request.bundlePath).href,
    method: request.method,
    task: request.task,
    scheduleId: request.scheduleId,
    scheduledFor: request.scheduledFor,
    attempt: request.attempt,
    // ctx.trigger learns "backfill" with the authoring work (contract §12); passed on as it is.
    trigger: request.trigger as RunTriggerName,
    over,
  };
  const excerpt = new OutputExcerpt();
  // Every line goes to the sink (a run's log file keeps them all); the task log's budget is the scheduler's.
  const writeLine = (level: LogLevel, line: string) => {
    excerpt.append(`${line}\n`);
    sink.log(level, line);
  };

  let startedAt: number | null = null;
  let settled = false;
  let startAsked = false;
  /** Its go was posted: from then on only the worker knows whether its code began. */
  let goPosted = false;
  let loadedAt = 0;
  let forced: ForcedEnd | null = null;
  let timeoutTimer: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let resolveOutcome: (outcome: RunOutcome) => void = () => {};
  const outcome = new Promise<RunOutcome>((resolve) => (resolveOutcome = resolve));

  const settle = (status: Status, error: string | null, late = false): void => {
    if (settled) return;
    settled = true;
    const finishedAt = Date.now();
    clearTimeout(timeoutTimer);
    clearTimeout(killTimer);
    markReady();
    void handle.close().then(() => resolveOutcome({ status, error, output: excerpt.toString(), startedAt, finishedAt, ...(late ? { late } : {}) }));
  };

  const stop = (status: "timeout" | "interrupted", reason: string, graceMs: number, completedCounts = false): void => {
    if (settled || forced) return;
    forced = { status, reason, completedCounts };
    // Told to start, but waiting for its instant (or its state): its code never begins, so nothing needs the grace.
    if (startAsked && !goPosted) return settle(status, reason, true);
    handle.post({ type: "abort", reason, graceful: completedCounts });
    killTimer = setTimeout(() => settle(status, reason), graceMs);
  };

  const armTimeout = (): void => {
    if (settled) return;
    clearTimeout(timeoutTimer);
    timeoutTimer = setTimeout(
      () => stop("timeout", `timed out after ${request.timeoutSec}s`, graceFor(request.timeoutSec)),
      request.timeoutSec * 1000,
    );
  };

  const onMessage = (message: WorkerMessage): void => {
    switch (message.type) {
      case "ready":
        loadedAt = Date.now();
        onLoaded?.(loadedAt - launchedAt);
        // Loaded: waiting for its boundary (or a slot) is not the run's time; its timeout restarts at `started`.
        clearTimeout(timeoutTimer);
        markReady();
        break;
      case "too-late":
        settle("interrupted", NOT_BEGUN, true);
        break;
      case "started":
        // Even after an error overtook it, the code did start: the record says so.
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
        const { status, reason } = doneOutcome(forced, message);
        settle(status, reason);
        break;
      }
      default:
        break;
    }
  };

  const onEnd = (end: WorkerEnd): void => {
    if (end.kind === "error" && end.error.code === "ERR_WORKER_OUT_OF_MEMORY") {
      settle("failure", heapOverrunMessage(request.memoryLimitMb));
    } else if (end.kind === "error") settle(forced?.status ?? "failure", end.error.stack ?? end.error.message);
    else if (forced) settle(forced.status, forced.reason);
    else settle("failure", `the task ended its thread with process.exit(${end.code}) before finishing`);
  };

  let children: RunChildren | null = null;
  const handle = new WorkerHandle({
    entryFile: worker.entryFile,
    paths: worker.paths,
    input,
    memoryLimitMb: request.memoryLimitMb,
    name: `taskhost:${request.scheduleId}`,
    onLine: (stream, line) => writeLine(stream === "stdout" ? "info" : "warn", line),
    onMessage,
    onEnd,
    attach: (worker) => {
      children = watchRunChildren(worker, over);
      // Buffers and ArrayBuffers count against memory_limit too, not only the heap (issue 10.5).
      watchRunMemory(worker, { label: request.scheduleId, limitMb: request.memoryLimitMb, stop: (reason) => settle("failure", reason) });
    },
    // The processes it started end (and are reaped by its loop) before its thread does (issue 10.4).
    beforeTerminate: () => children?.end() ?? Promise.resolve(),
  });
  // Loading the module counts against the timeout too: a top-level endless loop must end.
  armTimeout();

  return {
    ready,
    outcome,
    start(readState, options) {
      if (startAsked || settled) return;
      startAsked = true;
      const askedAt = Date.now();
      // The state is read once the code is loaded, right before the method begins, so it
      // sees what a run that ended meanwhile wrote (issue 11 item 13).
      void ready
        .then(async () => {
          if (settled) return;
          const state = await readState();
          // Told ahead of its instant: the go waits for it here (a fresh thread per run is not about milliseconds).
          const notBefore = options?.notBefore ?? 0;
          while (notBefore > Date.now()) await new Promise((resolve) => setTimeout(resolve, notBefore - Date.now()));
          const lateAfter = options?.lateAfterMs;
          const notAfter = lateAfter === undefined ? undefined : Math.max(askedAt, loadedAt, notBefore) + lateAfter;
          // Not once it is being stopped (it timed out while loading, or the host is stopping).
          if (settled || forced) return;
          goPosted = true;
          handle.post({ type: "go", state, ...(notAfter === undefined ? {} : { notAfter }) });
        })
        .catch((error: unknown) => settle("failure", `taskhost: the task's state could not be read (${error instanceof Error ? error.message : String(error)})`));
    },
    stop,
    cancel() {
      if (!startAsked) settle("interrupted", "cancelled before it started");
    },
  };
}

/** A ctx.log line is bounded like a printed one. */
function cutLine(line: string): string {
  return line.length <= MAX_LINE_CHARS ? line : `${line.slice(0, MAX_LINE_CHARS)} … (${line.length - MAX_LINE_CHARS} more characters of this line cut)`;
}
