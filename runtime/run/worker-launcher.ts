import { taskhostError } from "../errors.ts";
import type { Isolation, LaunchedRun, RunLauncher, RunRequest, RunSink } from "../scheduler/run-launcher.ts";
import { launchWorkerRun } from "./worker-run.ts";
import type { WorkerSpawn } from "./worker-handle.ts";

/** Lead time before any load of a task was measured (a fresh worker loads a small bundle in ~100–300 ms). */
const DEFAULT_LEAD_MS = 400;
const MIN_LEAD_MS = 150;
const MAX_LEAD_MS = 3000;
/** Weight of the newest load time in a task's running average. */
const NEWEST_WEIGHT = 0.3;

export type WorkerLauncherOptions = WorkerSpawn;

/**
 * Isolation `worker`: each run gets a fresh worker thread, started ahead of
 * its boundary by how long this task's loads have been taking.
 */
export class WorkerLauncher implements RunLauncher {
  private readonly runs = new Set<LaunchedRun>();
  /** Running average of each task's load time (launch to `ready`), ms. */
  private readonly loadMs = new Map<string, number>();
  private closing: Promise<void> | null = null;

  constructor(private readonly options: WorkerLauncherOptions) {}

  launch(request: RunRequest, sink: RunSink): LaunchedRun {
    if (this.closing) throw taskhostError("ERR_SCHEDULER_STOPPED", "taskhost launcher: the host is stopping; no run starts");
    const run = launchWorkerRun(this.options, request, sink, (ms) => this.measured(request.task.id, ms));
    this.runs.add(run);
    void run.outcome.then(() => this.runs.delete(run));
    return run;
  }

  forgetTask(taskId: string): void {
    this.loadMs.delete(taskId);
  }

  /** Half as long again as this task's loads take (plus scheduling slack), within 150 ms–3 s. */
  leadTimeMs(taskId: string, _isolation: Isolation): number {
    const load = this.loadMs.get(taskId);
    if (load === undefined) return DEFAULT_LEAD_MS;
    return Math.round(Math.min(MAX_LEAD_MS, Math.max(MIN_LEAD_MS, load * 1.5 + 100)));
  }

  /** Interrupts every run at once and waits for their ends. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const outcomes = [...this.runs].map((run) => {
        run.stop("interrupted", "the host is shutting down", 0);
        return run.outcome;
      });
      await Promise.allSettled(outcomes);
    })();
    return this.closing;
  }

  private measured(taskId: string, ms: number): void {
    const before = this.loadMs.get(taskId);
    this.loadMs.set(taskId, before === undefined ? ms : before + NEWEST_WEIGHT * (ms - before));
  }
}
