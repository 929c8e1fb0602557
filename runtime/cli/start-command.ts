import { spawn } from "node:child_process";
import { existsSync, fchmodSync, fstatSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { runningHostPid } from "../host/host-lock.ts";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runSupervisor } from "../supervisor/run-supervisor.ts";
import { EXIT_CANNOT_START } from "../supervisor/exit-codes.ts";
import { hostCommand } from "./host-command.ts";
import { survivesClosedTerminal } from "./closed-terminal.ts";
import { callHost } from "./control-client.ts";
import { cliContext } from "./cli-context.ts";
import { guardBrokenPipe } from "../logging/broken-pipe.ts";
import { LOG_FILE_MODE } from "../logging/rolling-file.ts";

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "bin", "taskhost.js");

export interface StartFlags {
  daemon: boolean;
  /**
   * `--no-supervisor`: the host runs in this process, for a service manager that
   * supervises it already (systemd's unit): no second Node process (~60 MB of RSS),
   * and a restart (memory limit, `taskhost restart`) is exit 75 for the manager to act on.
   */
  supervisor: boolean;
}

/** `taskhost start`: the supervisor (and its host) in this process, or `--daemon` detached, or the host alone. */
export async function startCommand(configOption: string, flags: StartFlags): Promise<number> {
  // `taskhost start 2>&1 | head` must not kill the supervisor on EPIPE (issue 10.12).
  guardBrokenPipe(process.stdout);
  guardBrokenPipe(process.stderr);
  let ctx;
  try {
    ctx = cliContext(configOption, { strict: true });
  } catch (error) {
    // No last good configuration to fall back on: only fixing the file helps (systemd's
    // unit does not retry exit 78).
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\ntaskhost: fix the config file and start again\n`);
    return EXIT_CANNOT_START;
  }
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
  // Detached, stderr is logs/supervisor.log: stamp each line, and also note the quiet events
  // (starts, restarts, stops) a reader of that file looks for. In a terminal, only problems.
  const detached = process.env.TASKHOST_DAEMON === "1";
  survivesClosedTerminal();
  const say = (line: string) => process.stderr.write(detached ? `${new Date().toISOString()} ${line}\n` : `${line}\n`);
  return runSupervisor({ ctx, configOption, say, ...(detached ? { note: say } : {}) });
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
  const child = spawn(process.execPath, [BIN, "start", ...configArgs], {
    cwd: ctx.projectRoot,
    detached: true,
    stdio: ["ignore", out, out],
    env: { ...process.env, TASKHOST_DAEMON: "1", TASKHOST_ROOT: ctx.projectRoot },
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
