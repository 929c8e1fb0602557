import { callHost, ERR_NO_HOST } from "./control-client.ts";
import { startCommand } from "./start-command.ts";
import type { CliContext } from "./cli-context.ts";
import { ERR_BAD_FLAGS } from "./ops-commands.ts";

export interface RestartFlags {
  timeout?: number;
  force: boolean;
  dryRun: boolean;
  daemon: boolean;
}

interface Ping {
  pid: number;
  hostPid: number;
  running: number;
}

/**
 * `restart`: the running host stops gracefully (runs get --timeout or
 * shutdown_grace seconds; --force: none) and its supervisor starts a fresh one;
 * the supervisor's PID, which users and systemd see, stays the same.
 */
export async function restartCommand(ctx: CliContext, configOption: string, flags: RestartFlags): Promise<number> {
  if (flags.force && flags.timeout != null) {
    throw Object.assign(new Error("taskhost: --force and --timeout exclude each other (--force gives running tasks no time at all)"), { code: ERR_BAD_FLAGS });
  }
  let before: Ping;
  try {
    before = await callHost<Ping>(ctx.files.socket, "ping", {}, 5000);
  } catch (error) {
    if ((error as { code?: string }).code !== ERR_NO_HOST) throw error;
    if (flags.dryRun) {
      process.stdout.write(`dry run: no host is running; ${flags.daemon ? "restart --daemon would start one in the background" : "nothing to restart"}\n`);
      return flags.daemon ? 0 : 1;
    }
    if (!flags.daemon) {
      process.stderr.write("taskhost: no host is running, so there is nothing to restart; start one with `npx taskhost start` (or `restart --daemon`)\n");
      return 1;
    }
    process.stdout.write("no host was running; starting one in the background\n");
    return startCommand(configOption, true);
  }
  const grace = flags.force ? 0 : (flags.timeout ?? ctx.config.scheduler.shutdownGraceSec);
  if (flags.dryRun) {
    process.stdout.write(
      `dry run: would restart the host (pid ${before.pid}, host process ${before.hostPid}); ` +
        `${before.running} run(s) in flight would get ${grace} s before being interrupted\n`,
    );
    return 0;
  }
  const t0 = Date.now();
  await callHost(ctx.files.socket, "restart", { graceSec: grace }, 10_000);
  process.stdout.write(`restarting the host (pid ${before.pid}); ${before.running} run(s) in flight get ${grace} s\n`);
  const deadline = t0 + (grace + 90) * 1000;
  while (Date.now() < deadline) {
    try {
      const after = await callHost<Ping>(ctx.files.socket, "ping", {}, 2000);
      if (after.hostPid !== before.hostPid) {
        process.stdout.write(`restarted in ${Date.now() - t0} ms: host process ${before.hostPid} -> ${after.hostPid}, pid ${after.pid}\n`);
        return 0;
      }
    } catch {
      // Between the old host and the new one nobody answers.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.stderr.write(`taskhost: the host did not come back within ${Math.round((deadline - t0) / 1000)} s; see logs/scheduler.log and logs/errors.log\n`);
  return 1;
}
