import { callHost } from "./control-client.ts";
import { startCommand } from "./start-command.ts";
import { graceOf, type StopFlags } from "./stop-command.ts";
import type { CliContext } from "./cli-context.ts";
import { ERR_NO_HOST } from "../errors.ts";
import { describeConfigProblem, loadConfigOrLastGood } from "../config/last-good-config.ts";
import { readStartFailure } from "../supervisor/start-failure.ts";
import { isProcessAlive } from "../util/is-process-alive.ts";

export interface RestartFlags extends StopFlags {
  dryRun: boolean;
  daemon: boolean;
}

interface Ping {
  pid: number;
  hostPid: number;
  running: number;
  /** A host up but waiting for its database (starting-control.ts) says so. */
  waiting?: string | null;
}

/**
 * `restart`: the running host stops gracefully (runs get --timeout or
 * shutdown_grace seconds; --force: none) and its supervisor starts a fresh one;
 * the supervisor's PID, which users and systemd see, stays the same. A host
 * started with --no-supervisor exits 75 and its service manager starts the new one.
 */
export async function restartCommand(ctx: CliContext, configOption: string, flags: RestartFlags): Promise<number> {
  const grace = graceOf(ctx, flags);
  // Say first what the new host will start on: a bad config.yaml is named before anything happens.
  const cannotStart = configBlocksStart(ctx);
  if (cannotStart) {
    process.stderr.write(
      `taskhost: ${flags.dryRun ? "dry run: the restart would fail" : "not restarting"}: a new host could not start: ${cannotStart}\n` +
        "fix the file first; a running host keeps running meanwhile\n",
    );
    return 1;
  }
  if (ctx.configProblem) {
    process.stdout.write(`note: ${describeConfigProblem(ctx.configProblem)}\n`);
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
    return startCommand(configOption, { daemon: true, supervisor: true });
  }
  // `start --no-supervisor`: the host is the process users see, and it exits 75 for its
  // service manager to start a new one (with a new PID); nothing here can start it.
  const unsupervised = before.pid === before.hostPid;
  if (flags.dryRun) {
    const how = unsupervised ? `pid ${before.pid}, without a supervisor: it would exit 75 for its service manager to start a new one` : `pid ${before.pid}, host process ${before.hostPid}`;
    process.stdout.write(
      `dry run: would restart the host (${how}); ` +
        `${before.running} run(s) in flight would get ${grace} s before being interrupted\n`,
    );
    return 0;
  }
  const t0 = Date.now();
  await callHost(ctx.files.socket, "restart", { graceSec: grace }, 10_000);
  process.stdout.write(`restarting the host (pid ${before.pid}); ${before.running} run(s) in flight get ${grace} s\n`);
  const deadline = t0 + (grace + 90) * 1000;
  let saidManager = false;
  let told = 0;
  while (Date.now() < deadline) {
    // A new host that fails is recorded by the supervisor: say why now, not at the deadline.
    const failure = readStartFailure(ctx.files.dataDir, t0);
    if (failure && failure.at > told) {
      told = failure.at;
      process.stderr.write(`taskhost: the new host ${failure.gaveUp ? "could not start" : "failed and is being retried"}: ${failure.message}\n`);
      if (failure.gaveUp) return 1;
    }
    if (unsupervised) {
      if (!saidManager && !isProcessAlive(before.pid)) {
        saidManager = true;
        process.stdout.write(`the host (pid ${before.pid}) has exited; waiting for its service manager to start a new one (it runs without a supervisor)\n`);
      }
    } else if (!isProcessAlive(before.pid)) {
      process.stderr.write(`taskhost: the supervisor (pid ${before.pid}) has exited; no host is running. See logs/supervisor.log or the terminal it ran in\n`);
      return 1;
    }
    try {
      const after = await callHost<Ping>(ctx.files.socket, "ping", {}, 2000);
      if (after.hostPid !== before.hostPid) {
        const pids = unsupervised ? `pid ${before.pid} -> ${after.pid}` : `host process ${before.hostPid} -> ${after.hostPid}, pid ${after.pid}`;
        process.stdout.write(`restarted in ${Date.now() - t0} ms: ${pids}\n`);
        if (after.waiting) process.stderr.write(`taskhost: ${after.waiting}\n`);
        return 0;
      }
    } catch {
      // Between the old host and the new one nobody answers.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const manager = unsupervised ? " (it runs with --no-supervisor: its service manager must restart it on exit 75, as the systemd unit of scripts/install.sh does)" : "";
  process.stderr.write(`taskhost: the host did not come back within ${Math.round((deadline - t0) / 1000)} s${manager}; see logs/scheduler.log and logs/errors.log\n`);
  return 1;
}

/** Why a host started now would refuse to start (a bad config.yaml with no last good copy), or null. */
function configBlocksStart(ctx: CliContext): string | null {
  try {
    loadConfigOrLastGood(ctx.configPath, ctx.projectRoot);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
