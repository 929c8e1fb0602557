import type { OverlapPolicy } from "../task-file/task-meta.ts";
import { decideReplacedElsewhere } from "./decide-replaced.ts";
import { graceFor } from "./grace-period.ts";
import type { RunLifecycle } from "./run-lifecycle.ts";

/** This host's runs admitted and not settled (waiting for a slot, loading, running), and what is done to all of them at once. */
export class RunsInFlight {
  private readonly runs = new Set<RunLifecycle>();

  add(run: RunLifecycle): void {
    this.runs.add(run);
  }

  delete(run: RunLifecycle): void {
    this.runs.delete(run);
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

  /** The tasks with a run in flight. */
  tasks(): Set<string> {
    return new Set([...this.runs].map((run) => run.subject.task.id));
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
