/**
 * One worker thread of taskhost's: a run's, or an inspector's. Every worker is
 * spawned with the same options, its stdio is read (as lines, or drained), and
 * it ends once: `close()` is idempotent, and `onEnd` hears about an end the
 * worker chose itself (an uncaught error, an exit) at most once and never
 * after close(). Messages keep arriving until the thread has exited, so what
 * the worker posted before it died (log lines, state writes, `started`) is not
 * lost; what a caller does with a message after it settled is its own rule.
 */
import { Worker } from "node:worker_threads";
import type { HostMessage, WorkerData, WorkerInput, WorkerMessage } from "./worker-protocol.ts";
import type { TaskPaths } from "./task-paths.ts";
import { LineSplitter } from "../util/line-splitter.ts";
import { taskEnv } from "../util/task-env.ts";

export type WorkerEnd = { kind: "error"; error: Error & { code?: string } } | { kind: "exit"; code: number };

/** What every worker of a runtime starts from. */
export interface WorkerSpawn {
  /** The compiled worker entry (see workerEntryFile). */
  entryFile: string;
  /** Where the project is, for task code (task-paths.ts); tests of the run layer may leave it out. */
  paths?: TaskPaths;
}

export interface WorkerHandleOptions extends WorkerSpawn {
  input: WorkerInput;
  /** The thread's V8 heap cap. */
  memoryLimitMb: number;
  /** Shown in inspectors and heap snapshots. */
  name?: string;
  /** Each line the worker prints; without it, output is read and dropped (a full pipe would block the worker). */
  onLine?: (stream: "stdout" | "stderr", line: string) => void;
  onMessage?: (message: WorkerMessage) => void;
  /** The worker ended by itself, before close(). */
  onEnd?: (end: WorkerEnd) => void;
  /** The thread is up (the inspector hands it work only then). */
  onOnline?: () => void;
  /** Watchers of the raw thread (a run's children, its memory), attached once it is spawned. */
  attach?: (worker: Worker) => void;
  /** What must happen before the thread is terminated (a run's children end, and are reaped by its loop). */
  beforeTerminate?: () => Promise<unknown>;
}

/** Longest wait for an ended thread's last output before its run is settled anyway. */
const DRAIN_MS = 2000;

export class WorkerHandle {
  private readonly worker: Worker;
  private closing: Promise<void> | null = null;
  private endReported = false;
  private readonly splitters: LineSplitter[] = [];
  /** Resolves once the thread has exited and the output it wrote before is read. */
  private readonly exited: Promise<void>;

  constructor(private readonly options: WorkerHandleOptions) {
    this.worker = new Worker(options.entryFile, {
      workerData: { ...options.input, paths: options.paths } satisfies WorkerData,
      stdout: true,
      stderr: true,
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: options.memoryLimitMb },
      // Task code never sees taskhost's own secrets (issue 10.9).
      env: taskEnv(),
      ...(options.name ? { name: options.name } : {}),
    });
    options.attach?.(this.worker);
    const { onLine } = options;
    const splitterOf = new Map<"stdout" | "stderr", LineSplitter>();
    for (const stream of ["stdout", "stderr"] as const) {
      const readable = this.worker[stream];
      if (!onLine) {
        readable.resume();
        continue;
      }
      const splitter = new LineSplitter((line) => onLine(stream, line));
      this.splitters.push(splitter);
      splitterOf.set(stream, splitter);
      readable.setEncoding("utf8").on("data", (chunk: string) => splitter.push(chunk));
    }
    // Output written just before the thread ended is still in flight until it has exited.
    this.exited = new Promise((resolve) => this.worker.once("exit", () => setImmediate(resolve)));
    this.worker.on("message", (message: WorkerMessage) => {
      // The task's stdout and stderr, sent in order with its log lines (stdio-through.ts).
      if (message.type === "output") for (const [stream, text] of message.chunks) splitterOf.get(stream)?.push(text);
      else options.onMessage?.(message);
    });
    this.worker.on("error", (error: Error & { code?: string }) => this.reportEnd({ kind: "error", error }));
    this.worker.on("exit", (code) => this.reportEnd({ kind: "exit", code }));
    if (options.onOnline) this.worker.once("online", options.onOnline);
  }

  /** Whether close() was called or the worker ended by itself. */
  get ended(): boolean {
    return this.closing != null || this.endReported;
  }

  /** Sends a message; a worker already gone is no error (its end is reported through onEnd). */
  post(message: HostMessage): void {
    try {
      this.worker.postMessage(message);
    } catch {
      // The thread is gone.
    }
  }

  /**
   * Ends the thread (after `beforeTerminate`; whatever else it left behind,
   * timers and pending promises, dies with it) and resolves once its last
   * output was read, or after 2 s.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.options.beforeTerminate?.().catch(() => {});
      void this.worker.terminate().catch(() => {});
      await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, DRAIN_MS).unref())]);
      for (const splitter of this.splitters) splitter.end();
    })();
    return this.closing;
  }

  private reportEnd(end: WorkerEnd): void {
    if (this.closing || this.endReported) return;
    this.endReported = true;
    this.options.onEnd?.(end);
  }
}
