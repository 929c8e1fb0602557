import { callHost } from "./control-client.ts";
import type { CliContext } from "./cli-context.ts";
import { ERR_BAD_FLAGS, ERR_NO_HOST, taskhostError } from "../errors.ts";
import { isProcessAlive } from "../util/is-process-alive.ts";
import { runningHostPid } from "../host/host-lock.ts";

export interface StopFlags {
  timeout?: number;
  force: boolean;
}

/** The seconds running tasks get on a stop or restart: --timeout, none with --force, else shutdown_grace. */
export function graceOf(ctx: CliContext, flags: StopFlags): number {
  if (flags.force && flags.timeout != null) {
    throw taskhostError(ERR_BAD_FLAGS, "taskhost: --force and --timeout exclude each other (--force gives running tasks no time at all)");
  }
  return flags.force ? 0 : (flags.timeout ?? ctx.config.scheduler.shutdownGraceSec);
}

/**
 * `stop`: the running host stops as on `kill <pid>` (runs get --timeout or
 * shutdown_grace seconds; --force: none) and its supervisor exits with it.
 * Returns once the process is gone, like `systemctl stop`; with no host
 * running there is nothing to do, which is not an error.
 */
export async function stopCommand(ctx: CliContext, flags: StopFlags): Promise<number> {
  const grace = graceOf(ctx, flags);
  let before: { pid: number; running: number };
  const t0 = Date.now();
  try {
    before = await callHost(ctx.files.socket, "ping", {}, 5000);
  } catch (error) {
    if ((error as { code?: string }).code !== ERR_NO_HOST) throw error;
    // No socket, but the lock names a live taskhost: one starting (before its socket opens),
    // between a restart's two hosts, or one whose socket file was removed. SIGTERM is a stop with
    // shutdown_grace (not --timeout, which only the socket carries): as `kill <pid>` would.
    const holder = await runningHostPid(ctx.files.pidFile);
    if (holder == null) {
      process.stdout.write("no host is running\n");
      return 0;
    }
    try {
      process.kill(holder, "SIGTERM");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
      process.stdout.write(`the host (pid ${holder}) has just stopped\n`);
      return 0;
    }
    process.stdout.write(`stopping the host (pid ${holder}), which is not answering on its socket: sent it SIGTERM\n`);
    return waitUntilGone(holder, t0, t0 + (ctx.config.scheduler.shutdownGraceSec + 30) * 1000);
  }
  await callHost(ctx.files.socket, "stop", { reason: "taskhost stop", graceSec: grace }, 10_000);
  process.stdout.write(`stopping the host (pid ${before.pid}); ${before.running} run(s) in flight get ${grace} s\n`);
  return waitUntilGone(before.pid, t0, t0 + (grace + 30) * 1000);
}

/** Returns once `pid` is gone (0), or says what to do when it outlives `deadline` (1). */
async function waitUntilGone(pid: number, t0: number, deadline: number): Promise<number> {
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid)) {
      process.stdout.write(`stopped in ${Date.now() - t0} ms\n`);
      return 0;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.stderr.write(`taskhost: the host (pid ${pid}) is still running ${Math.round((deadline - t0) / 1000)} s later; see logs/scheduler.log, or kill -9 ${pid}\n`);
  return 1;
}
