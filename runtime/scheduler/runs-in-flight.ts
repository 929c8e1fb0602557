import type { OverlapPolicy } from "../task-file/task-meta.ts";
import { decideReplacedElsewhere } from "./decide-replaced.ts";
import { graceFor } from "./grace-period.ts";
import type { RunLifecycle } from "./run-lifecycle.ts";

/** This host's runs admitted and not settled (waiting for a slot, loading, running), and what is done to all of them at once. */
export class RunsInFlight {
  private readonly runs = new Set<RunLifecycle>();
  /** Runs in flight per task, so the clock loop asks in O(1) (hasTask). */
  private readonly perTask = new Map<string, number>();

  add(run: RunLifecycle): void {
    if (this.runs.has(run)) return;
    this.runs.add(run);
    const id = run.subject.task.id;
    this.perTask.set(id, (this.perTask.get(id) ?? 0) + 1);
  }

  delete(run: RunLifecycle): void {
    if (!this.runs.delete(run)) return;
    const id = run.subject.task.id;
    const left = (this.perTask.get(id) ?? 1) - 1;
    if (left > 0) this.perTask.set(id, left);
    else this.perTask.delete(id);
  }

  get size(): number {
    return this.runs.size;
  }

  /**
   * Every one ends: one not started is given back (its occurrence due again), one running is
   * stopped with `reason` (ctx.signal, then killed after its grace). Returns them all.
   */
  letGo(reason: string, graceMs: (run: RunLifecycle) => number, completedCounts = false): RunLifecycle[] {
    const runs = [...this.runs];
    for (const run of runs) {
      if (run.phase === "waiting") run.settle({ kind: "released", handBack: true });
      else run.launched?.stop("interrupted", reason, graceMs(run), completedCounts);
    }
    return runs;
  }

  /** How many runs of the task are in flight. */
  countOf(taskId: string): number {
    return this.perTask.get(taskId) ?? 0;
  }

  /** Whether a run of the task is in flight. */
  hasTask(taskId: string): boolean {
    return this.perTask.has(taskId);
  }

  /** Those whose code runs now, of tasks with this overlap policy. */
  runningWith(overlap: OverlapPolicy): RunLifecycle[] {
    return [...this.runs].filter((run) => run.phase === "started" && run.subject.task.meta.overlap === overlap);
  }

  /** overlap: replace across hosts: stops those whose schedule has a newer occurrence in flight on another host (`elsewhere`). */
  replacedElsewhere(elsewhere: ReadonlyArray<{ scheduleId: string; scheduledFor: number | null }>): void {
    const here = this.runningWith("replace").map((run) => ({ run, scheduleId: run.subject.scheduleId, scheduledFor: run.subject.scheduledFor, overlap: "replace" }));
    for (const { run } of decideReplacedElsewhere(here, elsewhere)) {
      run.launched?.stop("interrupted", "replaced by a newer occurrence on another host (overlap: replace)", graceFor(run.subject.task.meta.timeoutSec));
    }
  }
}
