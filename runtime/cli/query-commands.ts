import { ERR_NO_HOST } from "./control-client.ts";
import { askHost } from "./ask-host.ts";
import { ledgerTask, withLedger } from "./offline-ledger.ts";
import { formatHistory, formatStatus } from "./format-text.ts";
import { warnConfigProblem, type CliContext } from "./cli-context.ts";
import { ledgerStatus } from "../host/build-status.ts";
import { taskFileFacts } from "../host/task-file-facts.ts";
import { runJson, type RunJson, type StatusJson } from "../host/report-shapes.ts";

/**
 * Commands that ask the running host over its socket, and read (or, holding
 * the lock, write) the ledger themselves when no host runs.
 */
async function viaHost<T>(ctx: CliContext, method: string, params: Record<string, unknown>, offline: () => Promise<T>): Promise<T> {
  try {
    return await askHost<T>(ctx, method, params);
  } catch (error) {
    if ((error as { code?: string }).code === ERR_NO_HOST) return offline();
    throw error;
  }
}

export async function statusCommand(ctx: CliContext, json: boolean): Promise<number> {
  const status = await viaHost<StatusJson>(ctx, "status", {}, async () => {
    try {
      // Each task's isolation and warnings as its file and the configuration say now (what the next host loads).
      const factsOf = (task: { file: string; manual: boolean }) => taskFileFacts(ctx.config.projectRoot, task, ctx.config.scheduler.isolation);
      return await withLedger(ctx, false, (ledger) => ledgerStatus(ledger, factsOf));
    } catch (error) {
      if ((error as { code?: string }).code === "ERR_NO_LEDGER") {
        return { host: { running: false, pid: null, uptimeSec: null, rssMb: null, restarts: 0 }, tasks: [], hosts: [] };
      }
      throw error;
    }
  });
  // With no host, what the next one will ignore in the file, as a running one says it.
  if (!status.host.running) {
    status.host.configError = ctx.configProblem ?? null;
    status.host.configWarnings = [...(ctx.configWarnings ?? [])];
  }
  // A running host shows its configuration error in the status itself; say it once.
  if (ctx.configProblem && !status.host.configError) warnConfigProblem(ctx.configProblem);
  print(json ? JSON.stringify(status, null, 2) : formatStatus(status));
  return 0;
}

export async function historyCommand(ctx: CliContext, task: string, limit: number, json: boolean): Promise<number> {
  // --limit 0 still checks the task exists (the ledger lists at least one run per ask).
  const ask = Math.max(1, limit);
  const runs = (
    await viaHost<RunJson[]>(ctx, "history", { task, limit: ask }, () =>
      withLedger(ctx, false, async (ledger) => {
        await ledgerTask(ledger, task);
        return (await ledger.listRuns(task, { limit: ask })).map(runJson);
      }),
    )
  ).slice(0, limit);
  print(json ? JSON.stringify(runs, null, 2) : limit === 0 ? `${task}: --limit 0, no runs shown` : formatHistory(task, runs));
  return 0;
}

export async function runCommand(ctx: CliContext, target: string, json: boolean): Promise<number> {
  const [task, method] = target.split("#", 2) as [string, string | undefined];
  const { run, previousVersionOf } = await viaHost<{ run: RunJson; previousVersionOf: { file: string; error: string } | null }>(ctx, "run", { task, method }, async () => ({
    run: await (await import("./run-offline.ts")).runOffline(ctx, task, method),
    previousVersionOf: null,
  }));
  if (json) print(JSON.stringify(run, null, 2));
  else {
    if (run.output) process.stdout.write(run.output.endsWith("\n") ? run.output : `${run.output}\n`);
    const took = run.durationMs == null ? "" : ` in ${run.durationMs} ms`;
    process.stderr.write(`${run.scheduleId}: ${run.status}${took}${run.error ? `\n${run.error}` : ""}\n`);
  }
  // A host whose task file no longer loads keeps (and runs) the version it had: without this, a
  // `run` right after a broken save would report that version's success as if the edit had worked.
  if (previousVersionOf) {
    process.stderr.write(
      `note: ${previousVersionOf.file} does not load now, so this ran the previous version, which the host keeps until the file is fixed:\n  ${previousVersionOf.error.split("\n").join("\n  ")}\n`,
    );
  }
  return run.status === "success" ? 0 : 1;
}

export async function pauseCommand(ctx: CliContext, task: string, paused: boolean): Promise<number> {
  const { changed, enabled } = await viaHost<{ changed?: boolean; enabled?: boolean }>(ctx, paused ? "pause" : "resume", { task }, () =>
    withLedger(ctx, true, async (ledger) => {
      const row = await ledgerTask(ledger, task);
      if (!(await ledger.setPaused(task, paused))) return { changed: false, enabled: row.enabled };
      // Resuming starts afresh from now, as with a host: forget the stale next runs so the
      // next host computes them from its start instead of catching up what was paused.
      if (!paused) await ledger.retireSchedules(task, []);
      return { changed: true, enabled: row.enabled };
    }),
  );
  const off = enabled === false ? ` (its file says \`enabled: false\`: it runs once that is changed)` : "";
  if (changed === false) print(paused ? `${task} was already paused; nothing changed${off}` : `${task} is not paused; nothing changed${off}`);
  else print(paused ? `paused ${task}: it will not be scheduled until \`taskhost resume ${task}\`` : `resumed ${task}: scheduled again from now on${off}`);
  return 0;
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
