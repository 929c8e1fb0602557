/**
 * The host's three logs (contract §8): `scheduler.log` (host events, pino
 * JSON), `tasks.log` (task lines, `[title]` prefix) and `errors.log` (the
 * error-level lines of both, each in its own format), rotated by pino-roll,
 * optionally echoed to the console.
 */
import fs from "node:fs";
import pino, { type Logger } from "pino";
import { createConsoleSink, type ConsoleSink } from "./console-sink.ts";
import type { LogLevel } from "./log-level.ts";
import type { ResolvedLoggingOptions } from "./logging-options.ts";
import { openRollingFile, type RollingFile } from "./rolling-file.ts";

export interface Logs {
  /** Host events: one JSON object a line in scheduler.log; error and fatal also go to errors.log. Give each an `event` field. */
  readonly host: Logger;
  /** A task's line: `<ISO time> <LEVEL> [<title>] <message>` in tasks.log; error lines also in errors.log. */
  task(title: string, level: LogLevel, message: string): void;
  setLevel(level: LogLevel): void;
  /** Everything written before is on disk when it resolves; later file writes are dropped. Safe to call twice. */
  close(): Promise<void>;
}

export interface CreateLogsExtra {
  /** Also print a short line per host event and task line on stdout. */
  console?: boolean;
  /** Where console lines go (tests); default process.stdout. */
  stdout?: NodeJS.WriteStream;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 };

interface Files {
  scheduler: RollingFile;
  tasks: RollingFile;
  errors: RollingFile;
}

/**
 * Never throws for a logs directory it cannot create or write: the host must
 * still run, so it falls back to the console and says so once (`logs.unwritable`).
 */
export async function createLogs(options: ResolvedLoggingOptions, extra: CreateLogsExtra = {}): Promise<Logs> {
  // Failures of an open stream (disk full, a roll that cannot open its file)
  // are reported once per file, after the write that hit them, so a warning
  // about scheduler.log never re-enters scheduler.log's own write.
  const reported = new Set<string>();
  let host: Logger | undefined;
  const onFileError = (name: string) => (error: Error) => {
    if (reported.has(name)) return;
    reported.add(name);
    process.nextTick(() =>
      host?.warn(
        { event: "logs.write_failed", file: `${name}.log`, directory: options.directory, error: error.message },
        `logging: writing ${name}.log in ${options.directory} failed (${error.message}); check free space and permissions`,
      ),
    );
  };

  let files: Files | undefined;
  let unwritable: Error | undefined;
  try {
    files = await openFiles(options, onFileError);
  } catch (error) {
    unwritable = error as Error;
  }

  const onConsoleClosed = (error: Error) =>
    process.nextTick(() =>
      host?.warn(
        { event: "logs.console_closed", error: error.message },
        `logging: the console's reader went away (${error.message}); console lines are dropped from now on, the log files keep everything`,
      ),
    );
  const consoleSink: ConsoleSink | undefined =
    extra.console || !files ? createConsoleSink(extra.stdout ?? process.stdout, onConsoleClosed) : undefined;

  const streams: pino.StreamEntry<LogLevel>[] = [];
  if (files) {
    streams.push({ level: "debug", stream: { write: (line: string) => files.scheduler.write(line) } });
    streams.push({ level: "error", stream: { write: (line: string) => files.errors.write(line) } });
  }
  if (consoleSink) streams.push({ level: "debug", stream: consoleSink });

  host = pino(
    {
      level: options.level,
      // No pid/hostname on every line: host.start carries the pid, and a
      // caller passing its own `pid` would otherwise get the key twice.
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      // "level":"info" rather than 30: the file is read by people with grep.
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.multistream(streams),
  );

  if (unwritable) {
    host.warn(
      { event: "logs.unwritable", directory: options.directory, error: unwritable.message },
      `logging: cannot write logs in ${options.directory} (${unwritable.message}); logging to the console only — make the directory writable or change logging.directory`,
    );
  }

  let taskLevel = options.level;
  let closing: Promise<void> | undefined;
  const logger = host;

  return {
    host: logger,
    task(title, level, message) {
      if (LEVEL_RANK[level] < LEVEL_RANK[taskLevel]) return;
      const time = new Date();
      // One trailing newline is the line's own end, not an empty line.
      const text = message.endsWith("\n") ? message.slice(0, -1) : message;
      if (files && !closing) {
        const line = `${time.toISOString()} ${level.toUpperCase()} [${title}] ${text}\n`;
        files.tasks.write(line);
        if (level === "error") files.errors.write(line);
      }
      consoleSink?.task(time, title, level, text);
    },
    setLevel(level) {
      if (!(level in LEVEL_RANK)) throw new Error(`logging: unknown level ${JSON.stringify(level)}; use debug, info, warn or error`);
      logger.level = level;
      taskLevel = level;
    },
    close() {
      consoleSink?.close();
      closing ??= files
        ? Promise.all([files.scheduler.close(), files.tasks.close(), files.errors.close()]).then(() => undefined)
        : Promise.resolve();
      return closing;
    },
  };
}

async function openFiles(options: ResolvedLoggingOptions, onError: (name: string) => (error: Error) => void): Promise<Files> {
  // Created owner-only (an existing directory keeps the mode its owner chose).
  fs.mkdirSync(options.directory, { recursive: true, mode: 0o700 });
  // mkdir succeeds on an existing read-only directory: find out now, not on the first line.
  fs.accessSync(options.directory, fs.constants.W_OK);
  const opened: RollingFile[] = [];
  const open = async (name: string) => {
    const file = await openRollingFile({ ...options, name, onError: onError(name) });
    opened.push(file);
    return file;
  };
  try {
    return { scheduler: await open("scheduler"), tasks: await open("tasks"), errors: await open("errors") };
  } catch (error) {
    await Promise.all(opened.map((file) => file.close()));
    throw error;
  }
}
