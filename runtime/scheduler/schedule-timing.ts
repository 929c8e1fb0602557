import type { ScheduleTiming } from "./decide-tick.ts";
import type { ScheduleState } from "./schedule-book.ts";

/**
 * A schedule's timing as decideTick takes it. Its armed run may go ahead of
 * its instant once its code is loaded and nothing of its task is in flight
 * (`taskBusy`): a run in flight could still write the state it would read,
 * or end before the instant and change what overlap decides.
 */
export function timingOf(state: ScheduleState, leadMs: number, goAheadMs: number, taskBusy: (taskId: string) => boolean): ScheduleTiming {
  return {
    nextRun: state.nextRun,
    armed: state.armed?.subject.scheduledFor ?? null,
    catchUp: state.task.meta.catchUp,
    leadMs,
    heldUntil: state.heldUntil,
    goAheadMs,
    canGoAhead: Boolean(state.armed?.loaded) && state.runs.size === 0 && state.queue.length === 0 && !taskBusy(state.task.id),
  };
}
