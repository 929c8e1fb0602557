/**
 * When the next `context` run of each memory-limit group is expected, from the
 * next occurrences of the scheduled runs launched so far: the pool's core
 * workers stay warm between boundaries a few seconds apart, and rest (retire,
 * giving their ~8 MB each back) between boundaries a minute or more apart, to
 * be booted again ahead of the next one (the scheduler's lead covers the boot).
 *
 * Measured (100 tasks due every minute, host alone, 2 cores): resting takes the
 * host's mean RSS from 136 to 114 MB for ~0.45 % of a core in boots; a
 * boundary's start lag is unchanged (p99 14 ms).
 */

/** Boundaries at least this far apart let the core workers rest in between. */
export const REST_GAP_MS = 45_000;
/** How long a core worker stays idle after a burst before it rests (a retry or a late run may follow). */
export const REST_IDLE_MS = 2_000;
/** An occurrence this far past without a newer one noted is forgotten (a paused or removed task). */
const STALE_MS = 5_000;

export class UpcomingRuns {
  /** group key -> schedule id -> its next occurrence (epoch ms). */
  private readonly byGroup = new Map<string, Map<string, number>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A scheduled run was launched: its schedule's next occurrence. */
  note(groupKey: string, scheduleId: string, nextOccurrence: number | null | undefined): void {
    let schedules = this.byGroup.get(groupKey);
    if (nextOccurrence == null) {
      schedules?.delete(scheduleId);
      return;
    }
    if (!schedules) this.byGroup.set(groupKey, (schedules = new Map()));
    schedules.set(scheduleId, nextOccurrence);
  }

  /** A task's schedules are gone (removed, renamed). */
  forgetTask(taskId: string): void {
    for (const schedules of this.byGroup.values()) {
      for (const id of schedules.keys()) if (id.startsWith(`${taskId}#`)) schedules.delete(id);
    }
  }

  /**
   * Whether the group's workers may rest now: its next expected run is at least
   * REST_GAP_MS away. False when nothing is known (no scheduled run launched yet).
   */
  mayRest(groupKey: string): boolean {
    const schedules = this.byGroup.get(groupKey);
    if (!schedules || schedules.size === 0) return false;
    const now = this.now();
    let next = Infinity;
    for (const [id, at] of schedules) {
      if (at < now - STALE_MS) schedules.delete(id);
      else next = Math.min(next, at);
    }
    return next !== Infinity && next - now >= REST_GAP_MS;
  }
}
