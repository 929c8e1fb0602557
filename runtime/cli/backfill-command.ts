import path from "node:path";
import { callHost, ERR_NO_HOST } from "./control-client.ts";
import type { CliContext } from "./cli-context.ts";
import type { BackfillJob, BackfillRequest, BackfillStep } from "../backfill/backfill-job.ts";

export interface BackfillOptions {
  from: string;
  to: string;
  max?: number;
  dryRun?: boolean;
}

/** How long the command waits for a restarting host before giving up on following it. */
const RECONNECT_MS = 120_000;
const POLL_MS = 300;

const line = (text: string) => process.stdout.write(`${text}\n`);

function stepLine(step: BackfillStep): string {
  const run = step.runId == null ? "" : ` run ${step.runId}`;
  return `  ${step.at}  ${step.status}${run}${step.error ? `: ${step.error.split("\n", 1)[0]}` : ""}`;
}

function planLine(job: BackfillJob, dryRun: boolean): string {
  const already = job.alreadyRun ? `; ${job.alreadyRun} already had a run` : "";
  // An empty plan's note says it in full.
  const pruned = job.pruned && job.planned.length > 0 ? `; ${job.pruned} older than the task's kept history (database.history_per_task), not run: they may have run` : "";
  const more = job.more ? `; more are left beyond --max ${job.max} (run it again for the rest)` : "";
  return `${dryRun ? "would run" : `backfill ${job.id}:`} ${job.planned.length} occurrence(s) of ${job.scheduleId} between ${job.from} and ${job.to}${already}${pruned}${more}`;
}

/**
 * `taskhost backfill <task>[#method] --from T --to T [--dry-run] [--max N]`:
 * the host runs each occurrence of the range that has no recorded run, oldest
 * first, one at a time (trigger `backfill`); this command reports each as it
 * ends. Ctrl-C cancels the backfill after the run in flight. A host restart
 * meanwhile does not end it: the new host resumes it and this command follows.
 */
export async function backfillCommand(ctx: CliContext, target: string, options: BackfillOptions): Promise<number> {
  const socket = ctx.files.socket;
  let job: BackfillJob;
  const request: BackfillRequest = { target, from: options.from, to: options.to, max: options.max, dryRun: options.dryRun === true };
  try {
    job = await callHost<BackfillJob>(socket, "backfill-start", { ...request });
  } catch (error) {
    if ((error as { code?: string }).code !== ERR_NO_HOST) throw error;
    // A plan needs no host: the task's schedule and the ledger's runs, read here.
    if (request.dryRun) job = await planOffline(ctx, request);
    else {
      process.stderr.write("taskhost backfill: no host is running; a backfill runs in the host: start it (`npm start`) and try again (`--dry-run` works without one)\n");
      return 1;
    }
  }
  line(planLine(job, options.dryRun === true));
  if (job.planned.length === 0 && job.note) line(`  nothing to run: ${job.note}`);
  if (options.dryRun) {
    for (const at of job.planned) line(`  ${at}`);
    return 0;
  }
  let cancelling = false;
  const onSignal = () => {
    if (cancelling) process.exit(130);
    cancelling = true;
    line("cancelling: the run in flight finishes, no further one starts (Ctrl-C again to stop following)");
    void callHost(socket, "backfill-cancel", { id: job.id }).catch(() => {});
  };
  process.on("SIGINT", onSignal);
  try {
    let shown = 0;
    let lostSince: number | null = null;
    for (;;) {
      for (; shown < job.done.length; shown++) line(stepLine(job.done[shown]!));
      if (job.state !== "running") break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      try {
        job = await callHost<BackfillJob>(socket, "backfill-status", { id: job.id }, 10_000);
        lostSince = null;
      } catch (error) {
        // A restarting host: the next one resumes the backfill from its file.
        if (lostSince === null) line("the host is not answering (restarting?); waiting for it to resume the backfill");
        lostSince ??= Date.now();
        if (Date.now() - lostSince > RECONNECT_MS) throw error;
      }
    }
    const failed = job.done.filter((s) => s.status === "failure" || s.status === "timeout" || s.status === "interrupted").length;
    const ran = job.done.filter((s) => s.runId != null).length;
    // Those found run when it was planned, and those found run as it went (another host, a resumed backfill).
    const already = (job.alreadyRun ?? 0) + job.done.length - ran;
    line(`backfill ${job.id} ${job.state}: ${ran} run(s), ${failed} failed, ${already} already had a run${job.note && job.state === "failed" ? ` (${job.note})` : ""}`);
    return job.state === "done" && failed === 0 ? 0 : 1;
  } finally {
    process.off("SIGINT", onSignal);
  }
}

/** The plan of a dry run with no host: the task loaded and the ledger read as a host would (offline-runtime.ts). */
async function planOffline(ctx: CliContext, request: BackfillRequest): Promise<BackfillJob> {
  const [{ offlineRuntime }, { Backfills }, { BackfillJobFiles }, { hostBackfillTarget, splitTarget }] = await Promise.all([
    import("./ops-commands.ts"),
    import("../backfill/backfills.ts"),
    import("../backfill/backfill-job-files.ts"),
    import("../backfill/host-backfill-target.ts"),
  ]);
  // Loaded before the target is read: either task id it may name.
  return offlineRuntime(ctx, splitTarget(request.target, () => false).taskIds, async ({ catalog, ledger, scheduler, log }) => {
    const backfills = new Backfills({
      target: hostBackfillTarget({ catalog, ledger, scheduler }),
      files: new BackfillJobFiles(path.join(ctx.files.dataDir, "backfills")),
      log,
    });
    try {
      return await backfills.start(request);
    } finally {
      await backfills.close();
    }
  });
}
