/**
 * Short human-readable lines on stdout for `npm start` in a terminal:
 * `19:04:05 info  host.start host started pid=123` and
 * `19:04:05 info  [Hello] tick`. The files keep the full record; this is a
 * glance view, so it prints local wall-clock time only.
 */
import type { LogLevel } from "./log-level.ts";
import { guardBrokenPipe, writeUnlessBroken } from "./broken-pipe.ts";

export interface ConsoleSink {
  /** A pino destination: receives one JSON line per host event. */
  write(jsonLine: string): void;
  task(time: Date, title: string, level: LogLevel, message: string): void;
  /** Writes what is held now (lines are written together, HOLD_MS apart at most); stops holding at exit. */
  close(): void;
}

/** Held lines are written at once past this many characters. */
const HOLD_CHARS = 64 * 1024;
/**
 * How long a line may wait for others: a glance view need not be faster, and a
 * burst of 1,000 runs then costs the host a few dozen writes, not one a turn of
 * the event loop (~190 ms of its main thread in such a burst, measured, while the runs wait).
 */
const HOLD_MS = 40;

const LEVEL_COLORS: Record<string, string> = { debug: "90", info: "32", warn: "33", error: "31", fatal: "31" };
// Shown in the line head, or not worth a glance.
const HIDDEN_KEYS = new Set(["level", "time", "event", "msg"]);

/**
 * `onClosed` runs once if the console's reader goes away (`taskhost start | head`):
 * from then on console lines are dropped and the host carries on with its files.
 */
export function createConsoleSink(out: NodeJS.WriteStream = process.stdout, onClosed?: (error: Error) => void): ConsoleSink {
  guardBrokenPipe(out, onClosed);
  // Escape codes only for a person at a terminal, never into a pipe or file.
  const color = Boolean(out.isTTY) && !process.env.NO_COLOR;
  const paint = (code: string, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const head = (time: Date, level: string) =>
    `${paint("2", time.toTimeString().slice(0, 8))} ${paint(LEVEL_COLORS[level] ?? "0", level.padEnd(5))}`;

  // One write per HOLD_MS, not per line: a console write is a system call (a pipe to the
  // supervisor, a terminal), and a burst of runs logs two lines each.
  let held = "";
  let flushing = false;
  const flush = () => {
    flushing = false;
    if (held === "") return;
    const text = held;
    held = "";
    writeUnlessBroken(out, text);
  };
  const print = (text: string) => {
    held += text;
    if (held.length >= HOLD_CHARS) flush();
    else if (!flushing) {
      flushing = true;
      // Unreferenced: a process with nothing else to do exits, and writes what it held then.
      setTimeout(flush, HOLD_MS).unref();
    }
  };
  // A process that exits (process.exit, a fatal error) writes what it held: console writes are synchronous then.
  process.on("exit", flush);

  return {
    write(jsonLine) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(jsonLine) as Record<string, unknown>;
      } catch {
        print(jsonLine);
        return;
      }
      const time = new Date(typeof record.time === "string" || typeof record.time === "number" ? record.time : Date.now());
      const parts = [head(time, String(record.level ?? "info"))];
      if (record.event) parts.push(String(record.event));
      if (record.msg) parts.push(String(record.msg));
      for (const [key, value] of Object.entries(record)) {
        if (!HIDDEN_KEYS.has(key) && value !== undefined) parts.push(`${key}=${formatValue(value)}`);
      }
      print(`${parts.join(" ")}\n`);
    },
    task(time, title, level, message) {
      print(`${head(time, level)} [${title}] ${message}\n`);
    },
    close() {
      flush();
      process.removeListener("exit", flush);
    },
  };
}

function formatValue(value: unknown): string {
  // pino serialises errors as { type, message, stack }: the message is what a glance needs.
  if (value && typeof value === "object" && "message" in value) return JSON.stringify(String(value.message));
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}
