import { stableHostId } from "../host/fleet-membership.ts";
import { callHost, ERR_NO_HOST } from "./control-client.ts";
import { withLedger } from "./offline-ledger.ts";
import type { CliContext } from "./cli-context.ts";
import { runJson, type RunJson } from "../host/report-shapes.ts";
import { RunLogFiles, runLogRoot } from "../run-logs/run-log-files.ts";

/** How far back a run without a log file is looked up in the task's history. */
const HISTORY_LOOKUP = 5000;

async function findRun(ctx: CliContext, task: string, runId: number): Promise<RunJson | undefined> {
  try {
    const runs = await callHost<RunJson[]>(ctx.files.socket, "history", { task, limit: HISTORY_LOOKUP });
    return runs.find((run) => run.id === runId);
  } catch (error) {
    if ((error as { code?: string }).code !== ERR_NO_HOST) throw error;
  }
  return withLedger(ctx, false, async (store) => {
    if (!(await store.getTask(task))) throw new Error(`taskhost: no task "${task}" (see \`taskhost status\`)`);
    const row = await store.getRun(runId);
    return row && row.taskId === task ? runJson(row) : undefined;
  });
}

/**
 * `logs <task> --run N`: the whole output of run N, from its file in
 * logs/runs/. A run with no file (it printed nothing, or ran before run logs
 * existed) shows the ledger's excerpt, saying so.
 */
export async function runLogCommand(ctx: CliContext, task: string, runId: number): Promise<number> {
  const files = new RunLogFiles(() => runLogRoot(ctx.config.logging.directory), () => {});
  const text = await files.read(task, runId);
  if (text != null) {
    process.stdout.write(text);
    return 0;
  }
  const run = await findRun(ctx, task, runId);
  if (!run) {
    process.stderr.write(`taskhost: task "${task}" has no run ${runId} (see \`taskhost history ${task}\`; pruned runs lose their logs)\n`);
    return 1;
  }
  if (run.status === "skipped") {
    process.stderr.write(`run ${runId} was skipped (${run.error ?? "no reason recorded"}): it has no output\n`);
    return 0;
  }
  // A fleet's hosts each keep the files of the runs they ran (logs/runs/ is not shared).
  const elsewhere = ctx.config.database.url != null && run.host != null && run.host !== stableHostId(ctx.config.projectRoot, ctx.config.configPath);
  const why = elsewhere ? `it ran on host ${run.host}, whose logs/runs/ holds its file` : "it printed nothing, or ran before run logs were kept";
  process.stderr.write(`run ${runId} has no log file here (${why}); the ledger's excerpt:\n`);
  process.stdout.write(run.output.endsWith("\n") || run.output === "" ? run.output : `${run.output}\n`);
  return 0;
}
