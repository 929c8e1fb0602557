import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startHost } from "../host/start-host.ts";
import { callHost } from "./control-client.ts";
import { cliContext } from "./cli-context.ts";

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "bin", "taskhost.js");

/** `taskhost start`: the host in this process, or `--daemon` detached from the terminal. */
export async function startCommand(configPath: string, daemon: boolean): Promise<number> {
  if (daemon) return startDaemon(configPath);
  process.title = "taskhost";
  const projectRoot = path.resolve(process.env.TASKHOST_ROOT ?? process.cwd());
  let host;
  try {
    host = await startHost({ projectRoot, configPath, console: process.env.TASKHOST_DAEMON !== "1" });
  } catch (error) {
    if (!(error as { reported?: boolean }).reported) process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`taskhost: ${signal} again: stopping now without waiting for runs\n`);
      process.exit(130);
    }
    void host.stop(`received ${signal}`).catch((error: unknown) => {
      process.stderr.write(`taskhost: stop failed: ${String(error)}\n`);
      process.exit(1);
    });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  await host.stopped;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  return 0;
}

async function startDaemon(configPath: string): Promise<number> {
  const ctx = cliContext(configPath);
  const child = spawn(process.execPath, [BIN, "start", "--config", configPath], {
    cwd: ctx.projectRoot,
    detached: true,
    stdio: "ignore",
    env: { ...process.env, TASKHOST_DAEMON: "1" },
  });
  child.unref();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const { pid } = await callHost<{ pid: number }>(ctx.files.socket, "ping", {}, 2000);
      process.stdout.write(`taskhost started in the background (pid ${pid}); logs in ${path.relative(ctx.projectRoot, ctx.config.logging.directory) || "."}/\n`);
      return 0;
    } catch {
      if (child.exitCode != null) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  process.stderr.write(`taskhost: the background host did not come up; see ${ctx.config.logging.directory}/scheduler.log\n`);
  return 1;
}
