/**
 * Backfills: re-running a past range of a schedule. Each one plans the
 * occurrences of the range that have no recorded run, then asks the scheduler
 * to run them one at a time, oldest first, with trigger `backfill` and the
 * occurrence as `scheduledFor`. Progress is saved after every step and sent to
 * listeners; a backfill can be cancelled (the run in flight finishes); a host
 * that restarts resumes the ones still running.
 *
 * Never twice: the scheduler records each occurrence through the ledger's
 * `recordRequestedRun`, which answers null when that occurrence already has a
 * run (run before, by a schedule, another host, or this backfill's previous
 * life); the step is then noted and skipped.
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import type { ScheduleWindow } from "../schedule/next-run.ts";
import type { ScheduleSpec } from "../schedule/schedule-spec.ts";
import type { HostLog } from "../scheduler/scheduler-types.ts";
import { messageOf, taskhostError } from "../errors.ts";
import { DEFAULT_MAX, planBackfill, rangeInstant } from "./backfill-plan.ts";
import { nextStep, type BackfillJob, type BackfillRequest } from "./backfill-job.ts";
import type { BackfillJobFiles } from "./backfill-job-files.ts";

/** What a backfill needs from the host: the schedule, the ledger's runs, and the scheduler. */
export interface BackfillTarget {
  /** The loaded schedule of `<task>[#method]`; throws ERR_UNKNOWN_TASK / ERR_UNKNOWN_METHOD / ERR_METHOD_AMBIGUOUS. */
  schedule(target: string): { taskId: string; scheduleId: string; method: string; spec: ScheduleSpec; zone: string; window: ScheduleWindow };
  /** scheduledFor of the schedule's runs recorded in [from, to]. */
  recorded(scheduleId: string, from: number, to: number): Promise<Set<number>>;
  /** The ledger's prunedThrough: how far pruning reached into the task's occurrences. */
  prunedThrough(taskId: string): Promise<number | null>;
  /** Records and runs one occurrence (trigger backfill); resolves when it ended, or null when it already had a run. */
  runOccurrence(occurrence: { taskId: string; scheduleId: string; method: string; scheduledFor: number }): Promise<{ runId: number; status: string; error: string | null } | null>;
}

/** Finished backfills kept in memory for the list. */
const KEPT = 50;

export interface BackfillEvents {
  /** A backfill started, made a step, or ended. */
  progress: [BackfillJob];
}

export class Backfills extends EventEmitter<BackfillEvents> {
  private readonly jobs = new Map<string, BackfillJob>();
  private readonly cancelled = new Set<string>();
  private closed: Promise<void> | null = null;

  constructor(
    private readonly options: { target: BackfillTarget; files: BackfillJobFiles; log: HostLog; now?: () => number },
  ) {
    super();
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Plans a backfill; unless `dryRun`, saves it and starts running it. Resolves with the plan. */
  async start(request: BackfillRequest): Promise<BackfillJob> {
    if (this.closed) throw taskhostError("ERR_SCHEDULER_STOPPED", "backfill: the host is stopping; start it again after the restart");
    const schedule = this.options.target.schedule(request.target);
    const running = [...this.jobs.values()].find((job) => job.scheduleId === schedule.scheduleId && job.state === "running");
    if (running && !request.dryRun) {
      throw taskhostError("ERR_CONFLICT", `backfill: ${schedule.scheduleId} is being backfilled already (${running.id}); wait for it, or cancel it first`);
    }
    const from = rangeInstant(request.from, schedule.zone, "--from");
    const to = rangeInstant(request.to, schedule.zone, "--to");
    const max = request.max ?? DEFAULT_MAX;
    const [recorded, prunedThrough] = await Promise.all([
      this.options.target.recorded(schedule.scheduleId, from, to),
      this.options.target.prunedThrough(schedule.taskId),
    ]);
    const plan = planBackfill({ ...schedule, from, to, recorded, prunedThrough, max, now: this.now() });
    const job: BackfillJob = {
      id: `${new Date(this.now()).toISOString().replace(/[-:.]/g, "").slice(0, 15)}-${randomBytes(3).toString("hex")}`,
      taskId: schedule.taskId,
      scheduleId: schedule.scheduleId,
      method: schedule.method,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      max,
      createdAt: new Date(this.now()).toISOString(),
      state: plan.occurrences.length === 0 ? "done" : "running",
      planned: plan.occurrences.map((at) => new Date(at).toISOString()),
      done: [],
      alreadyRun: plan.alreadyRun,
      pruned: plan.pruned,
      more: plan.more,
      note: plan.emptyBecause,
      finishedAt: plan.occurrences.length === 0 ? new Date(this.now()).toISOString() : null,
    };
    if (request.dryRun) return { ...job, dryRun: true };
    this.jobs.set(job.id, job);
    await this.options.files.save(job);
    this.options.log.info(
      { event: "backfill.start", backfill: job.id, scheduleId: job.scheduleId, from: job.from, to: job.to, planned: job.planned.length },
      `backfill ${job.id} of ${job.scheduleId}: ${job.planned.length} occurrence(s) from ${job.from} to ${job.to}`,
    );
    this.emit("progress", job);
    this.spin(job);
    return job;
  }

  /** Stops a backfill after the run in flight (one that ended already is returned as it is). */
  async cancel(id: string): Promise<BackfillJob> {
    const job = this.get(id);
    if (job.state === "running") this.cancelled.add(id);
    return job;
  }

  get(id: string): BackfillJob {
    const job = this.jobs.get(id);
    if (!job) throw taskhostError("ERR_NOT_FOUND", `no backfill "${id}": GET /api/backfills lists the host's backfills (a dry run's plan is not kept)`);
    return job;
  }

  list(): BackfillJob[] {
    return [...this.jobs.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** Loads the backfills on disk and carries on with the ones a previous host left running. */
  async resume(): Promise<number> {
    const jobs = await this.options.files.list((file, error) =>
      this.options.log.error({ event: "backfill.unreadable", file, err: error }, `backfill file ${file} cannot be read (${messageOf(error)}); left alone`),
    );
    let resumed = 0;
    for (const job of jobs) {
      this.jobs.set(job.id, job);
      if (job.state !== "running") continue;
      resumed++;
      this.options.log.info({ event: "backfill.resume", backfill: job.id, left: job.planned.length - job.done.length }, `backfill ${job.id} resumes: ${job.planned.length - job.done.length} occurrence(s) left`);
      this.spin(job);
    }
    await this.options.files.prune().catch(() => {});
    return resumed;
  }

  /**
   * Stops starting backfill runs. It does not wait for the run in flight: the
   * scheduler's stop ends it, and the backfill stays "running" on disk for the
   * next host to resume. Memoized.
   */
  close(): Promise<void> {
    this.closed ??= Promise.resolve();
    return this.closed;
  }

  /** Finished backfills beyond the newest KEPT stay on disk only (until pruned there). */
  private forgetOld(): void {
    const finished = this.list().filter((job) => job.state !== "running");
    for (const job of finished.slice(KEPT)) this.jobs.delete(job.id);
  }

  private spin(job: BackfillJob): void {
    this.run(job).catch((error: unknown) => {
      this.options.log.error({ event: "backfill.crash", backfill: job.id, err: error }, `backfill ${job.id}: ${messageOf(error)}`);
    });
  }

  private async run(job: BackfillJob): Promise<void> {
    const { target, files, log } = this.options;
    for (let at = nextStep(job); at !== null; at = nextStep(job)) {
      if (this.closed) return; // still "running" on disk: the next host resumes it
      if (this.cancelled.delete(job.id)) return this.finish(job, "cancelled", "cancelled");
      let result: Awaited<ReturnType<BackfillTarget["runOccurrence"]>>;
      try {
        result = await target.runOccurrence({ taskId: job.taskId, scheduleId: job.scheduleId, method: job.method, scheduledFor: Date.parse(at) });
      } catch (error) {
        // The host is stopping, or the task went away: the backfill stops where it is.
        if (this.closed) return;
        return this.finish(job, "failed", messageOf(error));
      }
      job.done.push(result ? { at, runId: result.runId, status: result.status, error: result.error } : { at, runId: null, status: "already-run", error: null });
      await files.save(job);
      log.info({ event: "backfill.step", backfill: job.id, at, runId: result?.runId ?? null, status: result?.status ?? "already-run" }, `backfill ${job.id}: ${at} ${result?.status ?? "already had a run"}`);
      this.emit("progress", job);
    }
    if (this.cancelled.delete(job.id) && job.done.length < job.planned.length) return this.finish(job, "cancelled", "cancelled");
    return this.finish(job, "done", null);
  }

  private async finish(job: BackfillJob, state: "done" | "cancelled" | "failed", note: string | null): Promise<void> {
    job.state = state;
    // A plan that held nothing keeps its reason (planBackfill's emptyBecause).
    job.note = note ?? job.note;
    job.finishedAt = new Date(this.now()).toISOString();
    await this.options.files.save(job);
    const counts = job.done.reduce<Record<string, number>>((acc, step) => ({ ...acc, [step.status]: (acc[step.status] ?? 0) + 1 }), {});
    this.forgetOld();
    this.options.log.info({ event: "backfill.end", backfill: job.id, state, counts }, `backfill ${job.id} ${state}: ${JSON.stringify(counts)}${note && state !== "cancelled" ? ` (${note})` : ""}`);
    this.emit("progress", job);
  }
}
