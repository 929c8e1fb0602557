/**
 * One rotated log stream (scheduler, tasks or errors): pino-roll writes
 * `<name>.<date>.<n>.log` files and this wrapper keeps `<name>.log` linked to
 * the one being written now.
 */
import { EventEmitter } from "node:events";
import { chmodSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pointLink, removeDanglingLink } from "./current-link.ts";
import type { LogRotation } from "./logging-options.ts";

/** The part of the SonicBoom stream pino-roll returns that we use. */
interface SonicBoomLike extends EventEmitter {
  /** The file being written now; pino-roll changes it (via `reopen`) on every roll. */
  file: string | null;
  destroyed: boolean;
  write(data: string): boolean;
  end(): void;
}

type PinoRollBuild = (options: {
  file: string;
  size?: string;
  frequency?: "daily" | "hourly";
  dateFormat?: string;
  limit?: { count: number; removeOtherLogFiles?: boolean };
  mkdir?: boolean;
  sync?: boolean;
  /** SonicBoom's: the mode of each file it creates (the first and every rolled one). */
  mode?: number;
}) => Promise<SonicBoomLike>;

// pino-roll is CommonJS without type declarations. Loaded on first use: it brings date-fns
// (300 modules), which the supervisor (it imports LOG_FILE_MODE) must not carry.
let pinoRoll: PinoRollBuild | undefined;
const buildPinoRoll: PinoRollBuild = (options) => (pinoRoll ??= createRequire(import.meta.url)("pino-roll") as PinoRollBuild)(options);

/**
 * A date in every rotated name: without it pino-roll, which only counts the
 * current period's files when it starts, would restart at `<name>.1.log` the
 * next day and append to a file possibly days old. 24-hour `HH` (pino-roll's
 * README example uses 12-hour `hh`, which collides am/pm).
 */
const DATE_FORMATS: Record<LogRotation, string | undefined> = {
  daily: "yyyy-MM-dd",
  hourly: "yyyy-MM-dd-HH",
  none: undefined,
};

/** Every log file taskhost writes is owner-only (issue 10.10). */
export const LOG_FILE_MODE = 0o600;

/**
 * `mode` applies only to files SonicBoom creates: this stream's files from an
 * older taskhost (0644) are made owner-only when the stream opens.
 */
function tightenModes(directory: string, name: string): void {
  for (const entry of readdirSync(directory)) {
    if (!entry.startsWith(`${name}.`) || !entry.endsWith(".log") || entry === `${name}.log`) continue;
    try {
      chmodSync(path.join(directory, entry), LOG_FILE_MODE);
    } catch {
      // Not ours to change (another owner), or gone: the stream still works.
    }
  }
}

export interface RollingFileOptions {
  /** Absolute, existing directory. */
  directory: string;
  /** "tasks" → link `tasks.log`, files `tasks.<date>.<n>.log`. */
  name: string;
  maxSizeBytes: number;
  rotation: LogRotation;
  /** Rotated files kept besides the active one. */
  retention: number;
  /** Write, roll or clean-up failures; the stream keeps going. */
  onError(error: Error): void;
}

export interface RollingFile {
  /** `<directory>/<name>.log`, always reaching the file being written now. */
  readonly linkPath: string;
  /** The rotated file being written now. */
  readonly currentFile: string;
  write(text: string): void;
  /** Flushes and closes; later writes are dropped. Safe to call twice. */
  close(): Promise<void>;
}

export async function openRollingFile(options: RollingFileOptions): Promise<RollingFile> {
  const linkPath = path.join(options.directory, `${options.name}.log`);
  removeDanglingLink(linkPath);

  const stream = await buildPinoRoll({
    // No extension: pino-roll appends ".log" after the date and number.
    file: path.join(options.directory, options.name),
    size: `${options.maxSizeBytes}b`, // a bare number would be read as MB
    ...(options.rotation === "none" ? {} : { frequency: options.rotation, dateFormat: DATE_FORMATS[options.rotation] }),
    // With removeOtherLogFiles pino-roll keeps `count` files in all, the new
    // active one included (sync mode has created it before the clean-up
    // lists the directory), and it also prunes files of earlier runs.
    limit: { count: options.retention + 1, removeOtherLogFiles: true },
    mkdir: true,
    // Every line reaches the OS before write() returns: nothing to lose on a
    // crash, close() has nothing to flush, and the current file exists on disk
    // as soon as pino-roll switches to it (so the link never dangles).
    sync: true,
    // Log lines can carry what tasks print, secrets included: owner-only, like the ledger.
    mode: LOG_FILE_MODE,
  });
  tightenModes(options.directory, options.name);

  let linked = "";
  let closing: Promise<void> | undefined;

  // Cheap enough to run after every write (a string compare); the actual link
  // update happens once per roll. Size rolls switch files on the tick after the
  // write that crossed the limit, time rolls from a timer: "ready" covers both.
  const follow = () => {
    const file = stream.file;
    if (!file || file === linked) return;
    try {
      pointLink(linkPath, file);
      linked = file;
    } catch (error) {
      options.onError(error as Error);
      linked = file; // do not retry on every line; the next roll tries again
    }
  };

  stream.on("error", (error: Error) => options.onError(error));
  stream.on("ready", follow);
  follow();

  return {
    linkPath,
    get currentFile() {
      return stream.file ?? "";
    },
    write(text) {
      if (closing || stream.destroyed) return;
      stream.write(text);
      follow();
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (stream.destroyed) return resolve();
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        // "close" after the fd is fsynced and closed; "error" if that fails.
        stream.once("close", done);
        stream.once("error", done);
        // A stream whose fd went bad may never report back: do not hang shutdown.
        const timer = setTimeout(done, 5_000);
        timer.unref();
        stream.end();
      });
      return closing;
    },
  };
}
