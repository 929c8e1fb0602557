import { spawn } from "node:child_process";
import { fchmodSync, mkdirSync, openSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Host } from "../host/start-host.ts";
import { runSupervisor } from "../supervisor/run-supervisor.ts";
import { EXIT_CANNOT_START, EXIT_RESTART, EXIT_STOPPED } from "../supervisor/exit-codes.ts";
import { callHost } from "./control-client.ts";
import { cliContext } from "./cli-context.ts";
import { guardBrokenPipe } from "../logging/broken-pipe.ts";
import { LOG_FILE_MODE } from "../logging/rolling-file.ts";

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "bin", "taskhost.js");

/** `taskhost start`: the supervisor (and its host) in this process, or `--daemon` detached. */
export async function startCommand(configOption: string, daemon: boolean): Promise<number> {
  // `taskhost start 2>&1 | head` must not kill the supervisor on EPIPE (issue 10.12).
  guardBrokenPipe(process.stdout);
  guardBrokenPipe(process.stderr);
  let ctx;
  try {
    ctx = cliContext(configOption, { strict: true });
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\ntaskhost: fix the config file and start again\n`);
    return 1;
  }
  if (daemon) return startDaemon(configOption);
  // Detached, stderr is logs/supervisor.log: stamp each line, and also note the quiet events
  // (starts, restarts, stops) a reader of that file looks for. In a terminal, only problems.
  const detached = process.env.TASKHOST_DAEMON === "1";
  const say = (line: string) => process.stderr.write(detached ? `${new Date().toISOString()} ${line}\n` : `${line}\n`);
  return runSupervisor({ ctx, configOption, say, ...(detached ? { note: say } : {}) });
}

/** The hidden `__host` command: one host process, spawned and watched by the supervisor. */
export async function hostCommand(configOption: string): Promise<number> {
  process.title = "taskhost-host";
  guardBrokenPipe(process.stdout);
  guardBrokenPipe(process.stderr);
  const projectRoot = path.resolve(process.env.TASKHOST_ROOT ?? process.cwd());
  const supervisorPid = Number(process.env.TASKHOST_SUPERVISOR_PID) || undefined;
  let host: Host;
  try {
    const { startHost } = await import("../host/start-host.ts");
    host = await startHost({
      projectRoot,
      configPath: configOption,
      console: process.env.TASKHOST_DAEMON !== "1",
      supervisorPid,
      restarts: Number(process.env.TASKHOST_RESTARTS) || 0,
    });
  } catch (error) {
    if (!(error as { reported?: boolean }).reported) process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_CANNOT_START;
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`taskhost: ${signal} again: stopping now without waiting for runs\n`);
      process.exit(130);
    }
    const restart = signal === "SIGHUP";
    void host.stop({ reason: `received ${signal}`, restart }).catch((error: unknown) => {
      process.stderr.write(`taskhost: stop failed: ${String(error)}\n`);
      process.exit(1);
    });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  // The supervisor is gone (even by kill -9): stop rather than run on without a lock holder.
  process.on("disconnect", () => void host.stop({ reason: "the supervisor went away" }).catch(() => process.exit(1)));
  const { restart } = await host.stopped;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  process.off("SIGHUP", onSignal);
  process.disconnect?.();
  return restart ? EXIT_RESTART : EXIT_STOPPED;
}

async function startDaemon(configOption: string): Promise<number> {
  const ctx = cliContext(configOption);
  const logDir = ctx.config.logging.directory;
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  // The supervisor's own lines (restarts, crashes) go here; the host logs to its files.
  // Owner-only like every log (issue 10.10); fchmod for a file an older version made.
  const out = openSync(path.join(logDir, "supervisor.log"), "a", LOG_FILE_MODE);
  fchmodSync(out, LOG_FILE_MODE);
  const child = spawn(process.execPath, [BIN, "start", "--config", configOption], {
    cwd: ctx.projectRoot,
    detached: true,
    stdio: ["ignore", out, out],
    env: { ...process.env, TASKHOST_DAEMON: "1" },
  });
  child.unref();
  // A previous host that is still stopping holds the ledger for up to shutdown_grace; ours waits for it.
  const deadline = Date.now() + (ctx.config.scheduler.shutdownGraceSec + 60) * 1000;
  while (Date.now() < deadline) {
    try {
      const { pid } = await callHost<{ pid: number }>(ctx.files.socket, "ping", {}, 2000);
      // Only our supervisor's host counts: an old host still in its grace answers too.
      if (pid !== child.pid) throw new Error(`pid ${pid} answered, not ours`);
      process.stdout.write(`taskhost started in the background (pid ${pid}); logs in ${path.relative(ctx.projectRoot, logDir) || "."}/\n`);
      return 0;
    } catch {
      if (child.exitCode != null) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  process.stderr.write(`taskhost: the background host did not come up; see ${path.relative(ctx.projectRoot, logDir)}/supervisor.log and scheduler.log\n`);
  return 1;
}
