import { format } from "node:util";
import { currentRun } from "../runtime/api/current-run.ts";
import type { LogLevel } from "../runtime/logging/log-level.ts";
import { errorWithStack } from "./errors.ts";

/** The four levels of taskhost's task log (the runtime's one LogLevel). */
export type HelperLogLevel = LogLevel;

/** Logs a line at one level; arguments are joined like `console.log` (errors with their stack). */
export type LogFunction = (...args: unknown[]) => void;

/** The shape of {@link log}. */
export interface HelperLogger {
  debug: LogFunction;
  info: LogFunction;
  warn: LogFunction;
  error: LogFunction;
}

let scriptTitle = "script";

/**
 * Names the lines the log helpers write **outside** a run (a script, a REPL, a
 * test): they go to the console as `<time> LEVEL [title] message`, with title
 * `"script"` unless set here. Inside a run this has no effect: lines carry the
 * task's title and go to `logs/tasks.log` (errors also to `logs/errors.log`).
 *
 * @example
 * setScriptLogTitle("backfill");
 * log.info("starting"); // 2026-01-01T10:00:00.000Z INFO [backfill] starting
 */
export function setScriptLogTitle(title: string): void {
  scriptTitle = title;
}

function write(level: HelperLogLevel, args: unknown[]): void {
  const message = format(...args.map((arg) => (arg instanceof Error ? errorWithStack(arg) : arg)));
  const run = currentRun();
  if (run) {
    run.log[level](message);
    return;
  }
  const line = `${new Date().toISOString()} ${level.toUpperCase()} [${scriptTitle}] ${message}\n`;
  (level === "warn" || level === "error" ? process.stderr : process.stdout).write(line);
}

/**
 * The task log, usable from any code a task calls without passing `ctx`: inside
 * a run the lines go to `logs/tasks.log` as `[<task title>] message` (and into
 * the run's recorded output), errors also to `logs/errors.log`; an `Error`
 * argument is written with its stack trace. Outside a run, see {@link setScriptLogTitle}.
 *
 * @example
 * import { log } from "taskhost/helpers";
 * log.info("fetched %d rows", rows.length);
 * log.error("upload failed:", error); // with the stack trace
 */
export const log: HelperLogger = {
  debug: (...args) => write("debug", args),
  info: (...args) => write("info", args),
  warn: (...args) => write("warn", args),
  error: (...args) => write("error", args),
};

/** The title of the task running now, or the script title outside a run. */
export function currentTaskTitle(): string {
  return currentRun()?.task.title ?? scriptTitle;
}

function describeDetails(details: Record<string, unknown> | undefined): string {
  if (!details || Object.keys(details).length === 0) return "";
  return ` ${JSON.stringify(details)}`;
}

/**
 * Logs that the task (or a part of it) starts, with optional details.
 *
 * @example
 * logTaskStart({ source: "s3://bucket/in" }); // [Title] task started {"source":"s3://bucket/in"}
 */
export function logTaskStart(details?: Record<string, unknown>): void {
  log.info(`task started${describeDetails(details)}`);
}

/**
 * Logs that the task completed; pass `durationMs` (or anything else) in details.
 *
 * @example
 * const t0 = Date.now();
 * // ...
 * logTaskComplete({ durationMs: Date.now() - t0, files: 3 });
 */
export function logTaskComplete(details?: Record<string, unknown>): void {
  log.info(`task completed${describeDetails(details)}`);
}

/**
 * Logs an error at error level with its stack trace (and cause), to tasks.log and errors.log.
 *
 * @example
 * try { await upload(); } catch (error) { logTaskError(error, "upload"); throw error; }
 */
export function logTaskError(error: unknown, context?: string): void {
  log.error(`task error${context ? ` (${context})` : ""}: ${errorWithStack(error)}`);
}

/** What {@link logExecutionResult} accepts: any result of an external command or a step. */
export interface LoggableResult {
  success: boolean;
  /** What ran: a command line or a step name. */
  command?: string;
  name?: string;
  exitCode?: number | null;
  durationMs?: number;
  stdout?: string;
  stderr?: string;
  error?: string | null;
}

/**
 * Logs the result of an external command (see executeCommand) or of a step: one
 * line with its outcome, exit code and duration at info (warn when it failed),
 * then the tail of stderr when it failed.
 *
 * @example
 * logExecutionResult(await executeCommand("git", { args: ["pull"] }));
 */
export function logExecutionResult(result: LoggableResult): void {
  const what = result.command ?? result.name ?? "command";
  const parts = [
    result.exitCode != null ? `exit ${result.exitCode}` : null,
    result.durationMs != null ? `${Math.round(result.durationMs)} ms` : null,
  ].filter(Boolean);
  const head = `${what}: ${result.success ? "succeeded" : "failed"}${parts.length ? ` (${parts.join(", ")})` : ""}`;
  if (result.success) {
    log.info(head);
    return;
  }
  log.warn(`${head}${result.error ? `: ${result.error}` : ""}`);
  const stderr = result.stderr?.trim();
  if (stderr) log.warn(`${what} stderr (last lines):\n${stderr.split("\n").slice(-10).join("\n")}`);
}

/**
 * Logs a labelled value as JSON on one line (errors become `{name, message, stack}`),
 * for data you want to grep or parse from tasks.log later.
 *
 * @example
 * logStructuredData("disk", { mount: "/", freeGb: 12.5 });
 * // [Title] disk {"mount":"/","freeGb":12.5}
 */
export function logStructuredData(label: string, data: unknown, level: HelperLogLevel = "info"): void {
  log[level](`${label} ${JSON.stringify(data, jsonReplacer)}`);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}
