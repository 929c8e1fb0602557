/**
 * Runs one npm command in its own process group, with a deadline: on timeout
 * (or `kill()`) the whole group gets SIGTERM, then SIGKILL, so install scripts
 * and node-gyp started by npm go too.
 */
import { spawn } from "node:child_process";

export interface NpmRunOptions {
  command: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Called once npm has a pid. */
  onSpawn?: (pid: number) => void;
}

export interface NpmRunResult {
  /** null when npm was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Stopped by `NpmRun.kill()`. */
  killed: boolean;
}

export interface NpmRun {
  readonly pid: number | undefined;
  /** Resolves when npm is gone; rejects only when it could not be started. */
  readonly done: Promise<NpmRunResult>;
  /** Stops npm and its children (SIGTERM, SIGKILL after a grace period). */
  kill(): void;
}

/** Output kept per stream: npm's errors are at the end. */
const MAX_OUTPUT_CHARS = 64 * 1024;
/** From SIGTERM to SIGKILL. */
const KILL_GRACE_MS = 2_000;
/** After npm exits, how long to wait for its pipes to drain. */
const DRAIN_MS = 500;

export function startNpm(options: NpmRunOptions): NpmRun {
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: options.env,
    detached: true, // its own process group, killed as one
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout = keepTail(stdout + chunk)));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = keepTail(stderr + chunk)));

  let timedOut = false;
  let killed = false;
  let exited = false;
  let graceTimer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    signalGroup(child.pid, "SIGTERM");
    graceTimer ??= setTimeout(() => signalGroup(child.pid, "SIGKILL"), KILL_GRACE_MS);
  };
  const deadline = setTimeout(() => {
    timedOut = true;
    stop();
  }, options.timeoutMs);

  const done = new Promise<NpmRunResult>((resolve, reject) => {
    let settled = false;
    let code: number | null = null;
    let signal: NodeJS.Signals | null = null;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(graceTimer);
      // Whatever npm left behind in its group (a stuck install script) goes with it.
      if (timedOut || killed) signalGroup(child.pid, "SIGKILL");
      resolve({ code, signal, stdout, stderr, timedOut, killed });
    };
    child.once("error", (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      reject(error);
    });
    child.once("exit", (exitCode, exitSignal) => {
      exited = true;
      code = exitCode;
      signal = exitSignal;
      setTimeout(finish, DRAIN_MS).unref();
    });
    child.once("close", () => {
      if (exited) finish();
    });
  });
  if (child.pid !== undefined) options.onSpawn?.(child.pid);

  return {
    pid: child.pid,
    done,
    kill: () => {
      if (exited) return;
      killed = true;
      stop();
    },
  };
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}


function keepTail(text: string): string {
  return text.length > MAX_OUTPUT_CHARS ? text.slice(-MAX_OUTPUT_CHARS) : text;
}

/** Lines that only say where npm's debug log is, or repeat how else to install. */
const NOISE = [
  /^npm error A complete log of this run can be found in/i,
  /^npm error 404 Note that you can also install from a/i,
  /^npm error 404 tarball, folder, http url, or git url/i,
  /^npm error\s*(404)?\s*$/i,
];
const MAX_ERROR_LINES = 12;
const MAX_LINE_CHARS = 400;

/**
 * The useful part of npm's output: its `npm error` lines (`npm ERR!` before
 * npm 10) without the boilerplate; the last lines of stderr when there are none.
 */
export function npmErrorLines(output: string): string[] {
  const lines = output.split(/\r?\n/).map((line) => line.trimEnd());
  const errors = lines
    .filter((line) => /^npm (error|ERR!)/.test(line))
    .map((line) => line.replace(/^npm ERR!/, "npm error"))
    .filter((line) => !NOISE.some((noise) => noise.test(line)));
  // No error of its own yet (stopped at install_timeout): the attempts that failed say why.
  const attempts = lines.filter((line) => /^npm http .* failed with E[A-Z_]+/.test(line));
  const chosen =
    errors.length > 0 ? errors : attempts.length > 0 ? attempts.slice(-3) : lines.filter((line) => line.trim() !== "" && !/^npm http /.test(line)).slice(-MAX_ERROR_LINES);
  return chosen
    .slice(0, MAX_ERROR_LINES)
    .map((line) => (line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line));
}
