import { spawn } from "node:child_process";
import { existsSync, fchmodSync, fstatSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { runningHostPid } from "../host/host-lock.ts";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { EXIT_CANNOT_START } from "../supervisor/exit-codes.ts";
import { hostCommand } from "./host-command.ts";
import { callHost } from "./control-client.ts";
import { cliContext, startContext } from "./cli-context.ts";
import { guardBrokenPipe } from "../logging/broken-pipe.ts";
import { LOG_FILE_MODE } from "../logging/rolling-file.ts";

/** The `taskhost` command: a supervised `start` there runs its supervisor in the shell. */
const SHELL_BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "bin", "taskhost");

export interface StartFlags {
  daemon: boolean;
  /**
   * `--no-supervisor`: the host runs in this process, for a service manager that
   * supervises it already (systemd's unit): no supervisor between them,
   * and a restart (memory limit, `taskhost restart`) is exit 75 for the manager to act on.
   */
  supervisor: boolean;
}

/** `taskhost start` from Node: the shell supervisor (runtime/bin/taskhost) as a child, or `--daemon` detached, or the host alone. */
export async function startCommand(configOption: string, flags: StartFlags): Promise<number> {
  // `taskhost start 2>&1 | head` must not kill the supervisor on EPIPE (issue 10.12).
  guardBrokenPipe(process.stdout);
  guardBrokenPipe(process.stderr);
  const ctx = startContext(configOption);
  if (!ctx) return EXIT_CANNOT_START;
  if (!flags.supervisor) {
    if (flags.daemon) {
      process.stderr.write("taskhost: --daemon and --no-supervisor do not go together: a detached host needs its supervisor to restart it; under a service manager, run `start --no-supervisor` in the foreground\n");
      return EXIT_CANNOT_START;
    }
    // Node's own flags are the service manager's to give here (install.sh's unit gives the supervisor's).
    if (process.env.TASKHOST_CPU_PROFILE) process.stderr.write("taskhost: TASKHOST_CPU_PROFILE is for a supervised host; with --no-supervisor, give node --cpu-prof yourself\n");
    return hostCommand(configOption, { alone: { dataDir: ctx.files.dataDir } });
  }
  if (flags.daemon) return startDaemon(configOption);
  return superviseFromNode(existsSync(ctx.configPath) ? ["--config", configOption] : []);
}

/**
 * `node runtime/bin/taskhost.js start`, the way in that is not the shell command
 * (an older unit file, a habit): the supervisor is the shell's all the same, run
 * as this process's child, which passes on the signals it is sent (a terminal's
 * reach both: the host takes a copy within 300 ms as the same request).
 */
async function superviseFromNode(configArgs: string[]): Promise<number> {
  // TASKHOST_LAUNCHER_PID: killed (-9), this process leaves its supervisor behind; the host then stops.
  const env = { ...process.env, TASKHOST_NODE: process.execPath, TASKHOST_LAUNCHER_PID: String(process.pid) };
  const child = spawn(SHELL_BIN, ["start", ...configArgs], { stdio: "inherit", env });
  const pass = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, pass);
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal === "SIGINT" ? 130 : 1))));
}

async function startDaemon(configOption: string): Promise<number> {
  const ctx = cliContext(configOption);
  const running = await runningHostPid(ctx.files.pidFile);
  if (running != null) {
    process.stderr.write(`taskhost: a host is already running for this project (pid ${running}); nothing was started. \`npx taskhost status\` shows it\n`);
    return 1;
  }
  const logDir = ctx.config.logging.directory;
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  // The supervisor's own lines (restarts, crashes) go here; the host logs to its files.
  // Owner-only like every log (issue 10.10); fchmod for a file an older version made.
  const logFile = path.join(logDir, "supervisor.log");
  const out = openSync(logFile, "a", LOG_FILE_MODE);
  fchmodSync(out, LOG_FILE_MODE);
  const logStart = fstatSync(out).size;
  // An absent default config.yaml is fine (defaults); --config names one only when there is one.
  const configArgs = existsSync(ctx.configPath) ? ["--config", configOption] : [];
  const child = spawn(SHELL_BIN, ["start", ...configArgs], {
    cwd: ctx.projectRoot,
    detached: true,
    stdio: ["ignore", out, out],
    env: { ...process.env, TASKHOST_DAEMON: "1", TASKHOST_ROOT: ctx.projectRoot, TASKHOST_NODE: process.execPath },
  });
  child.unref();
  // A previous host that is still stopping holds the ledger for up to shutdown_grace; ours waits for it.
  const deadline = Date.now() + (ctx.config.scheduler.shutdownGraceSec + 60) * 1000;
  while (Date.now() < deadline && child.exitCode == null) {
    try {
      // Only our supervisor's host counts: an old host still in its grace answers too.
      const { pid, waiting } = await callHost<{ pid: number; waiting?: string | null }>(ctx.files.socket, "ping", {}, 2000);
      if (pid === child.pid) {
        process.stdout.write(`taskhost started in the background (pid ${pid}); logs in ${path.relative(ctx.projectRoot, logDir) || "."}/\n`);
        // Started, and it stays up, but a user who walks away must know that nothing runs yet.
        if (waiting) process.stderr.write(`taskhost: ${waiting}\n`);
        return 0;
      }
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Say why, from what the background process wrote, rather than only where to look.
  const said = readFileSync(logFile, "utf8").slice(logStart).trim();
  process.stderr.write(
    `taskhost: the background host did not come up${said ? `:\n${said}` : ""}\n(see ${path.relative(ctx.projectRoot, logFile)} and ${path.relative(ctx.projectRoot, logDir)}/scheduler.log)\n`,
  );
  return 1;
}
