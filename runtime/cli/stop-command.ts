import { callHost } from "./control-client.ts";
import type { CliContext } from "./cli-context.ts";
import { ERR_BAD_FLAGS, ERR_NO_HOST, taskhostError } from "../errors.ts";
import { isProcessAlive } from "../util/is-process-alive.ts";

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
  try {
    before = await callHost(ctx.files.socket, "ping", {}, 5000);
  } catch (error) {
    if ((error as { code?: string }).code !== ERR_NO_HOST) throw error;
    process.stdout.write("no host is running\n");
    return 0;
  }
  const t0 = Date.now();
  await callHost(ctx.files.socket, "stop", { reason: "taskhost stop", graceSec: grace }, 10_000);
  process.stdout.write(`stopping the host (pid ${before.pid}); ${before.running} run(s) in flight get ${grace} s\n`);
  const deadline = t0 + (grace + 30) * 1000;
  while (Date.now() < deadline) {
    if (!isProcessAlive(before.pid)) {
      process.stdout.write(`stopped in ${Date.now() - t0} ms\n`);
      return 0;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.stderr.write(`taskhost: the host (pid ${before.pid}) is still running ${Math.round((deadline - t0) / 1000)} s later; see logs/scheduler.log, or kill -9 ${before.pid}\n`);
  return 1;
}
