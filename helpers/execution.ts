import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { currentRun } from "../runtime/api/current-run.ts";
import { isGracefulStop } from "../runtime/api/abort-reason.ts";
import { procStat } from "../runtime/util/proc-stat.ts";
import { getProjectRoot } from "./project-root.ts";
import { hostPackageDir } from "./host-modules.ts";
import { errorMessage, sleep } from "./errors.ts";
import { log } from "./logging.ts";
import { setLongTimeout, type LongTimeout } from "./long-timeout.ts";
import { CappedOutput, OutputLines } from "./command-output.ts";

/** How {@link executeCommand} runs a command. Times are in seconds, like the task frontmatter. */
export interface ExecuteOptions {
  /** Arguments, passed as they are (no shell quoting needed, none interpreted). */
  args?: readonly string[];
  /** Working directory; relative paths are relative to the project root (the default). */
  cwd?: string;
  /** Added to (and overriding) the environment of the task; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Seconds before the command (its whole process group) is stopped; default 300. */
  timeout?: number;
  /** Further attempts after a failure (not after an abort); default 0. */
  retries?: number;
  /** Seconds between attempts; default 1. */
  retryDelay?: number;
  /** Exit codes that count as success; default `[0]`. */
  expectedExitCodes?: readonly number[];
  /** Run `command` through `/bin/sh -c` (pipes, globs, `&&`); default false. Never with untrusted input. */
  shell?: boolean;
  /** Bytes of stdout and of stderr kept (each); beyond, the middle is dropped. Default 1 MiB. */
  maxOutputBytes?: number;
  /**
   * Also log each line of output as it comes: stdout at info, stderr at warn (inside a run, to
   * its log), up to maxOutputBytes of each; a partial line after a second of quiet. A run
   * stopped while the command runs (its timeout, the end of a host's shutdown_grace) then keeps
   * what the command printed. `stdout` and `stderr` are still returned. Default false.
   */
  logOutput?: boolean;
  /** Written to the command's stdin, which is then closed. Default: empty stdin. */
  input?: string;
  /** Stops the command when it aborts; default the current run's `ctx.signal`. */
  signal?: AbortSignal;
  /** Milliseconds between SIGTERM and SIGKILL on timeout; default 2000 (at most 250 on abort). */
  killGraceMs?: number;
}

/** The outcome of {@link executeCommand} (of its last attempt). */
export interface ExecutionResult {
  /** The command line, for display. */
  command: string;
  /** Process id of the (last) process started, which is also its process group id; null if none started. */
  pid: number | null;
  success: boolean;
  /** null when the process was killed by a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Output went beyond maxOutputBytes and was cut in the middle. */
  truncated: boolean;
  timedOut: boolean;
  /** Stopped because the run's signal (or options.signal) aborted. */
  aborted: boolean;
  durationMs: number;
  attempts: number;
  /** Why it failed, in one line; null on success. */
  error: string | null;
}

const DEFAULT_TIMEOUT_SEC = 300;
const DEFAULT_MAX_OUTPUT = 1024 * 1024;
const ABORT_GRACE_MS = 250;

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Whether any process of group `pgid` still runs (zombies, already dead but not yet reaped, do not count). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  if (process.platform !== "linux") return true;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    // null: gone while we looked.
    const fields = procStat(entry);
    if (fields && Number(fields[2]) === pgid && fields[0] !== "Z") return true;
  }
  return false;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** SIGTERM to the whole group, SIGKILL to whatever is left after `graceMs`; resolves when none is left. */
async function stopGroup(pid: number, graceMs: number): Promise<void> {
  killGroup(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (groupAlive(pid) && Date.now() < deadline) await sleep(25);
  if (!groupAlive(pid)) return;
  killGroup(pid, "SIGKILL");
  const hardDeadline = Date.now() + 1000;
  while (groupAlive(pid) && Date.now() < hardDeadline) await sleep(25);
}

function attempt(command: string, options: ExecuteOptions, display: string): Promise<Omit<ExecutionResult, "attempts">> {
  const root = getProjectRoot();
  const cwd = path.resolve(root, options.cwd ?? ".");
  const timeoutMs = (options.timeout ?? DEFAULT_TIMEOUT_SEC) * 1000;
  const cap = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const signal = options.signal ?? currentRun()?.signal;
  const expected = options.expectedExitCodes ?? [0];
  const started = performance.now();
  return new Promise((resolve) => {
    const stdout = new CappedOutput(cap);
    const stderr = new CappedOutput(cap);
    const lines = options.logOutput ? new OutputLines(cap) : null;
    let timedOut = false;
    let aborted = false;
    let stopping: Promise<void> | null = null;
    let finished = false;
    // Declared before finish(), which the early returns below call before it is armed.
    let timer: LongTimeout | undefined;
    let onAbort: (() => void) | undefined;
    const finish = (exitCode: number | null, sig: NodeJS.Signals | null, spawnError?: string) => {
      if (finished) return;
      finished = true;
      timer?.clear();
      if (onAbort) signal?.removeEventListener("abort", onAbort);
      lines?.end();
      const ok = !spawnError && !timedOut && !aborted && exitCode != null && expected.includes(exitCode);
      const why = spawnError
        ? spawnError
        : timedOut
          ? `timed out after ${timeoutMs / 1000}s; its process group was stopped`
          : aborted
            ? "stopped because the run was aborted"
            : exitCode == null
              ? `killed by ${sig}`
              : `exit code ${exitCode}${expected.length === 1 && expected[0] === 0 ? "" : ` (expected ${expected.join(", ")})`}`;
      resolve({
        command: display,
        pid: child?.pid ?? null,
        success: ok,
        exitCode,
        signal: sig,
        stdout: stdout.toString(),
        stderr: stderr.toString(),
        truncated: stdout.truncated || stderr.truncated,
        timedOut,
        aborted,
        durationMs: Math.round(performance.now() - started),
        error: ok ? null : why,
      });
    };
    let child: ReturnType<typeof spawn> | undefined;
    // A graceful stop of the host lets the command run (and start): the run has shutdown_grace
    // seconds to finish, and the host ends the command's process group when they run out.
    if (signal?.aborted && !isGracefulStop(signal)) {
      aborted = true;
      return finish(null, null);
    }
    if (!existsSync(cwd)) return finish(null, null, `working directory ${cwd} does not exist`);
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const [key, value] of Object.entries(options.env ?? {})) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
    const proc = spawn(command, [...(options.args ?? [])], {
      cwd,
      env,
      shell: options.shell ?? false,
      // Its own process group, so a timeout stops everything it started.
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
      windowsHide: true,
    });
    child = proc;
    const stop = (graceMs: number) => {
      if (stopping || proc.pid == null) return;
      stopping = stopGroup(proc.pid, graceMs);
    };
    onAbort = () => {
      if (isGracefulStop(signal)) return;
      aborted = true;
      stop(Math.min(options.killGraceMs ?? 2000, ABORT_GRACE_MS));
    };
    timer = setLongTimeout(() => {
      timedOut = true;
      stop(options.killGraceMs ?? 2000);
    }, timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    proc.stdout.on("data", (chunk: Buffer) => {
      stdout.push(chunk);
      lines?.push("stdout", chunk);
    });
    proc.stderr.on("data", (chunk: Buffer) => {
      stderr.push(chunk);
      lines?.push("stderr", chunk);
    });
    proc.stdin.on("error", () => {});
    proc.stdin.end(options.input ?? "");
    let spawnError: string | undefined;
    proc.on("error", (error: NodeJS.ErrnoException) => {
      spawnError = error.code === "ENOENT" ? `command not found: ${command}` : `could not start ${command}: ${error.message}`;
      finish(null, null, spawnError);
    });
    proc.on("exit", (code, sig) => {
      // Output still in the pipes arrives before "close"; a background process
      // that keeps the pipes open must not hold us, so wait only a little.
      let closed = false;
      const settle = async () => {
        if (closed) return;
        closed = true;
        if (stopping) await stopping;
        proc.stdout.destroy();
        proc.stderr.destroy();
        finish(code, sig);
      };
      proc.once("close", () => void settle());
      setTimeout(() => void settle(), 200);
    });
  });
}

/**
 * Runs an external command without a shell (unless `shell: true`), capturing
 * stdout and stderr (each capped at `maxOutputBytes`). The command runs in its
 * own process group: on `timeout`, or when the run's `ctx.signal` aborts (its
 * timeout, overlap: replace), the whole group gets SIGTERM, then SIGKILL after a
 * grace, so nothing it started outlives it. A graceful stop of the host (which
 * aborts ctx.signal too) lets it finish within scheduler.shutdown_grace instead. Failed attempts (unexpected exit code, timeout, not found) are
 * retried `retries` times, `retryDelay` seconds apart. Never throws; check `success`.
 *
 * @example
 * const result = await executeCommand("git", { args: ["pull", "--ff-only"], cwd: "repos/site", timeout: 60, retries: 2 });
 * if (!result.success) throw new Error(`git pull: ${result.error}\n${result.stderr}`);
 */
export async function executeCommand(command: string, options: ExecuteOptions = {}): Promise<ExecutionResult> {
  const display = options.shell ? command : [command, ...(options.args ?? [])].map(quote).join(" ");
  const attempts = 1 + Math.max(0, options.retries ?? 0);
  const signal = options.signal ?? currentRun()?.signal;
  let result: Omit<ExecutionResult, "attempts"> | undefined;
  for (let n = 1; n <= attempts; n++) {
    result = await attempt(command, options, display);
    if (result.success || result.aborted || n === attempts) return { ...result, attempts: n };
    log.warn(`${display}: attempt ${n} of ${attempts} failed (${result.error}); retrying in ${options.retryDelay ?? 1}s`);
    try {
      await sleep((options.retryDelay ?? 1) * 1000, signal);
    } catch {
      return { ...result, attempts: n };
    }
  }
  return { ...result!, attempts };
}

/** Interpreters by script extension. */
function interpreterFor(file: string): { command: string; args: string[] } | null {
  switch (path.extname(file).toLowerCase()) {
    case ".ts":
    case ".mts":
    case ".cts": {
      const loader = pathToFileURL(path.join(hostPackageDir("tsx"), "dist", "loader.mjs")).href;
      return { command: process.execPath, args: ["--import", loader] };
    }
    case ".js":
    case ".mjs":
    case ".cjs":
      return { command: process.execPath, args: [] };
    case ".py":
      return { command: "python3", args: [] };
    case ".sh":
      return { command: "bash", args: [] };
    default:
      return null;
  }
}

/**
 * Runs a script with the interpreter its extension calls for: `.ts` with this
 * Node and tsx, `.js`/`.mjs`/`.cjs` with this Node, `.py` with python3, `.sh`
 * with bash; anything else is executed directly. The path is relative to the
 * project root; `options.args` follow the script. Same options and result as
 * {@link executeCommand}.
 *
 * @example
 * const result = await executeScript("scripts/compress.py", { args: ["data/in.csv"], timeout: 120 });
 * logExecutionResult(result);
 */
export async function executeScript(scriptPath: string, options: ExecuteOptions = {}): Promise<ExecutionResult> {
  const file = path.resolve(getProjectRoot(), scriptPath);
  const base: Omit<ExecutionResult, "error" | "command"> = {
    pid: null, success: false, exitCode: null, signal: null, stdout: "", stderr: "",
    truncated: false, timedOut: false, aborted: false, durationMs: 0, attempts: 0,
  };
  if (!existsSync(file)) return { ...base, command: scriptPath, error: `script not found: ${file}` };
  let interpreter;
  try {
    interpreter = interpreterFor(file);
  } catch (error) {
    return { ...base, command: scriptPath, error: errorMessage(error) };
  }
  if (!interpreter) return executeCommand(file, options);
  const args = [...interpreter.args, file, ...(options.args ?? [])];
  const result = await executeCommand(interpreter.command, { ...options, shell: false, args });
  return { ...result, command: [path.relative(getProjectRoot(), file), ...(options.args ?? [])].map(quote).join(" ") };
}

/** The summary {@link processExecutionResults} returns. */
export interface ExecutionSummary {
  total: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  totalDurationMs: number;
  /** Every result that did not succeed, with why. */
  failures: Array<{ command: string; exitCode: number | null; error: string | null }>;
  /** One line: `3 commands: 2 succeeded, 1 failed (1 timed out) in 1234 ms`. */
  text: string;
  allSucceeded: boolean;
}

/**
 * Summarises several results (counts, failures, total time) and gives a one-line text.
 *
 * @example
 * const results = await Promise.all(hosts.map((h) => executeCommand("ping", { args: ["-c1", h], timeout: 5 })));
 * const summary = processExecutionResults(results);
 * log.info(summary.text);
 * if (!summary.allSucceeded) throw new Error(summary.failures.map((f) => f.command).join(", "));
 */
export function processExecutionResults(results: readonly ExecutionResult[]): ExecutionSummary {
  const failures = results.filter((r) => !r.success).map((r) => ({ command: r.command, exitCode: r.exitCode, error: r.error }));
  const timedOut = results.filter((r) => r.timedOut).length;
  const totalDurationMs = results.reduce((sum, r) => sum + r.durationMs, 0);
  const succeeded = results.length - failures.length;
  const text =
    `${results.length} command${results.length === 1 ? "" : "s"}: ${succeeded} succeeded, ${failures.length} failed` +
    `${timedOut ? ` (${timedOut} timed out)` : ""} in ${totalDurationMs} ms`;
  return { total: results.length, succeeded, failed: failures.length, timedOut, totalDurationMs, failures, text, allSucceeded: failures.length === 0 };
}
