/**
 * The whole output of each run, in `logs/runs/<task id>/<run id>.log` (the
 * ledger keeps only an excerpt). A run's file is capped: past the cap its head
 * stays on disk, its last lines are kept in memory, and at the end the file
 * gets a note of what was left out, then those last lines, so both how the
 * run began and how it ended survive a flood.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, readFile, rm, rmdir } from "node:fs/promises";
import path from "node:path";
import type { LogLevel } from "../logging/log-level.ts";
import { isTaskId } from "../task-file/task-id.ts";

/** Per run, by default. */
export const RUN_LOG_MAX_BYTES = 5 * 1024 * 1024;


export interface RunLogWriter {
  line(level: LogLevel, text: string): void;
  /** Ends the file with `summary` (e.g. "success in 812 ms"); resolves once it is on disk. Safe to call twice. */
  close(summary?: string): Promise<void>;
}

/** Where run logs live: `runs/` in `logging.directory`. */
export function runLogRoot(loggingDirectory: string): string {
  return path.join(loggingDirectory, "runs");
}

/** `logs/runs/<task id>/<run id>.log`, or null for an id no task file has (one that could leave the folder). */
export function runLogPath(root: string, taskId: string, runId: number): string | null {
  if (!Number.isSafeInteger(runId) || runId <= 0 || !isTaskId(taskId)) return null;
  return path.join(root, ...taskId.split("/"), `${runId}.log`);
}

class CappedWriter implements RunLogWriter {
  private stream: WriteStream | null = null;
  private opening: Promise<void> | null = null;
  /** Lines written while the folder is being made. */
  private pending: string[] = [];
  private failed = false;
  private written = 0;
  private tail: string[] = [];
  private tailBytes = 0;
  private dropped = 0;
  private closed: Promise<void> | null = null;
  private readonly tailBudget: number;

  constructor(
    private readonly file: string,
    private readonly maxBytes: number,
    private readonly onError: (error: unknown) => void,
  ) {
    this.tailBudget = Math.min(64 * 1024, Math.floor(maxBytes / 4));
  }

  /** The file is made on the first line: a run that never printed has none until it ends. */
  private open(): void {
    if (this.stream || this.opening) return;
    this.opening = mkdir(path.dirname(this.file), { recursive: true, mode: 0o750 }).then(
      () => {
        this.stream = createWriteStream(this.file, { flags: "a", mode: 0o640 });
        this.stream.on("error", (error) => {
          this.failed = true;
          this.onError(error);
        });
        for (const chunk of this.pending.splice(0)) this.stream.write(chunk);
      },
      (error: unknown) => {
        this.failed = true;
        this.pending = [];
        this.onError(error);
      },
    );
  }

  private write(chunk: string): void {
    this.open();
    if (this.stream) this.stream.write(chunk);
    else if (!this.failed) this.pending.push(chunk);
  }

  line(level: LogLevel, text: string): void {
    if (this.closed) return;
    const chunk = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${text}\n`;
    const bytes = Buffer.byteLength(chunk);
    if (this.written + bytes <= this.maxBytes - this.tailBudget) {
      this.written += bytes;
      this.write(chunk);
      return;
    }
    this.tail.push(chunk);
    this.tailBytes += bytes;
    while (this.tailBytes > this.tailBudget && this.tail.length > 1) {
      const first = this.tail.shift()!;
      this.tailBytes -= Buffer.byteLength(first);
      this.dropped += Buffer.byteLength(first);
    }
  }

  close(summary?: string): Promise<void> {
    this.closed ??= (async () => {
      if (this.dropped > 0) this.write(`… ${this.dropped} bytes of output left out here (a run's log keeps ${this.maxBytes} bytes) …\n`);
      for (const chunk of this.tail.splice(0)) this.write(chunk);
      if (summary) this.write(`${new Date().toISOString()} END   ${summary}\n`);
      await this.opening;
      const stream = this.stream;
      if (stream) await new Promise<void>((resolve) => stream.end(resolve));
    })().catch(this.onError);
    return this.closed;
  }
}

export class RunLogFiles {
  /**
   * @param root the folder (absolute), read on each use: `logging.directory` may move
   * @param onError a file that cannot be written is reported, never thrown at a run
   */
  constructor(
    private readonly root: () => string,
    private readonly onError: (error: unknown) => void,
    private readonly maxBytes = RUN_LOG_MAX_BYTES,
  ) {}

  open(taskId: string, runId: number): RunLogWriter {
    const file = runLogPath(this.root(), taskId, runId);
    if (!file) return { line: () => {}, close: async () => {} };
    return new CappedWriter(file, this.maxBytes, this.onError);
  }

  /** The run's whole output, or null when it has no file (no output, or from before run logs). */
  async read(taskId: string, runId: number): Promise<string | null> {
    const file = runLogPath(this.root(), taskId, runId);
    return file ? readFile(file, "utf8").catch(() => null) : null;
  }

  /** Removes the files of runs the ledger pruned, and the task's folder once it is empty. */
  async remove(taskId: string, runIds: readonly number[]): Promise<void> {
    const files = runIds.map((id) => runLogPath(this.root(), taskId, id)).filter((f): f is string => f != null);
    await Promise.all(files.map((file) => rm(file, { force: true })));
    if (files.length > 0) await rmdir(path.dirname(files[0]!)).catch(() => {});
  }
}
