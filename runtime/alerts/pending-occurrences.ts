import type { MissedOccurrence } from "./alert-rules.ts";
import { occurrenceKey } from "./alert-rules.ts";

interface Pending {
  taskId: string;
  scheduleId: string;
  title: string;
  scheduledFor: number;
}

/**
 * Occurrences the scheduler said were next, not yet seen to start: the
 * "overdue" side of the missed rule (a run stuck waiting for a slot or a
 * claim, a loop that stalled). Pure bookkeeping; the wiring samples the
 * scheduler's next runs and asks `due()` on a timer.
 */
export class PendingOccurrences {
  private readonly pending = new Map<string, Pending>();
  /** Occurrences that started or were accounted for (bounded: only recent ones matter). */
  private readonly settled = new Set<string>();

  expect(occurrence: Pending): void {
    const key = occurrenceKey(occurrence.scheduleId, occurrence.scheduledFor);
    if (this.settled.has(key) || this.pending.has(key)) return;
    this.pending.set(key, occurrence);
  }

  /** It started, was skipped or was reported missed: no longer pending. */
  settle(scheduleId: string, scheduledFor: number): void {
    const key = occurrenceKey(scheduleId, scheduledFor);
    this.pending.delete(key);
    this.settled.add(key);
    if (this.settled.size > 10_000) this.settled.delete(this.settled.values().next().value!);
  }

  /** One `due()` handed out whose fate could not be read: due again at the next check. */
  recheck(occurrence: Pending): void {
    const key = occurrenceKey(occurrence.scheduleId, occurrence.scheduledFor);
    this.settled.delete(key);
    this.pending.set(key, { taskId: occurrence.taskId, scheduleId: occurrence.scheduleId, title: occurrence.title, scheduledFor: occurrence.scheduledFor });
  }

  /** Forgets a task's expected occurrences (it reloaded: another spec may have moved them); the next sample expects anew. */
  dropTask(taskId: string): void {
    for (const [key, p] of this.pending) if (p.taskId === taskId) this.pending.delete(key);
  }

  /**
   * Those whose time plus the grace has passed, taken out. An occurrence of a
   * task that cannot run now (paused, disabled, removed) is dropped, not due.
   */
  due(now: number, graceMs: number, schedulable: (taskId: string, scheduleId: string) => boolean): MissedOccurrence[] {
    const out: MissedOccurrence[] = [];
    for (const [key, p] of this.pending) {
      if (!schedulable(p.taskId, p.scheduleId)) {
        this.pending.delete(key);
        continue;
      }
      if (now - p.scheduledFor <= graceMs) continue;
      this.pending.delete(key);
      this.settled.add(key);
      out.push({ ...p, reason: "overdue" });
    }
    return out;
  }
}
