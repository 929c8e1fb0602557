/**
 * When the next `context` run of each memory-limit group is expected, from the
 * next occurrences the scheduler tells (RunLauncher.expect) and those of the
 * scheduled runs launched: the pool's core workers stay warm between
 * boundaries a few seconds apart, and rest (retire, giving their ~8.5 MB each
 * back) between boundaries a minute or more apart, to be booted again
 * WAKE_AHEAD_MS before the next one (the launcher's wake timer).
 *
 * Measured (`npm run bench`, idle, 100 tasks due every minute, host alone, 2
 * cores): resting takes the host's mean RSS from 128 to 101-107 MB for ~0.2 %
 * of a core in boots.
 */

/** Boundaries at least this far apart let the core workers rest in between. */
export const REST_GAP_MS = 45_000;
/**
 * How long before a rested group's next run its core workers boot again: a boot
 * takes 50-150 ms of wall time on 2 cores, more on a loaded machine, and the
 * runs due load into the booted workers ahead of their instant.
 */
export const WAKE_AHEAD_MS = 1_000;
/** An occurrence this far past without a newer one noted is forgotten (a paused or removed task). */
const STALE_MS = 5_000;

export class UpcomingRuns {
  /** group key -> schedule id -> its next occurrence (epoch ms). */
  private readonly byGroup = new Map<string, Map<string, number>>();

  constructor(
    private readonly now: () => number = Date.now,
    /** REST_GAP_MS; tests give a shorter one. */
    private readonly restGapMs = REST_GAP_MS,
  ) {}

  /** A schedule's next occurrence (told by the scheduler, or by a scheduled run's launch); true: it changed. */
  note(groupKey: string, scheduleId: string, nextOccurrence: number | null | undefined): boolean {
    let schedules = this.byGroup.get(groupKey);
    if (nextOccurrence == null) return schedules?.delete(scheduleId) ?? false;
    if (schedules?.get(scheduleId) === nextOccurrence) return false;
    if (!schedules) this.byGroup.set(groupKey, (schedules = new Map()));
    schedules.set(scheduleId, nextOccurrence);
    return true;
  }

  /** A task's schedules are gone (removed, renamed). */
  forgetTask(taskId: string): void {
    for (const schedules of this.byGroup.values()) {
      for (const id of schedules.keys()) if (id.startsWith(`${taskId}#`)) schedules.delete(id);
    }
  }

  /** The group's next expected run (epoch ms), null when none is known. */
  nextAt(groupKey: string): number | null {
    const schedules = this.byGroup.get(groupKey);
    if (!schedules) return null;
    const now = this.now();
    let next = Infinity;
    for (const [id, at] of schedules) {
      if (at < now - STALE_MS) schedules.delete(id);
      else next = Math.min(next, at);
    }
    return next === Infinity ? null : next;
  }

  /**
   * Whether the group's workers may rest now: its next expected run is at least
   * REST_GAP_MS away. False when nothing is known (no schedule told yet).
   */
  mayRest(groupKey: string): boolean {
    const next = this.nextAt(groupKey);
    return next !== null && next - this.now() >= this.restGapMs;
  }

  /**
   * When to boot a resting group's core workers again: WAKE_AHEAD_MS before its
   * next expected run (null: none known, or too soon to rest at all).
   */
  wakeAt(groupKey: string): number | null {
    const next = this.nextAt(groupKey);
    return next !== null && next - this.now() >= this.restGapMs ? next - WAKE_AHEAD_MS : null;
  }
}
