import type { Ledger, OccurrenceClaim } from "../store/ledger.ts";
import type { LoadedTask, TaskSchedule } from "../task-file/loaded-task.ts";
import type { RunLifecycle } from "./run-lifecycle.ts";
import type { Emit } from "./run-recorder.ts";
import { occurrencesOf, type Occurrences } from "./schedule-occurrences.ts";
import type { Clock, HostLog } from "./scheduler-types.ts";

/** One schedule as the scheduler holds it. */
export interface ScheduleState {
  task: LoadedTask;
  schedule: TaskSchedule;
  occurrences: Occurrences;
  /** The next occurrence not claimed yet (null: none left, or the task is disabled). */
  nextRun: number | null;
  /** Claimed ahead of its instant. */
  armed: RunLifecycle | null;
  /** Claimed, waiting behind the run in flight (overlap: queue, catch-up runs). */
  queue: RunLifecycle[];
  /** In flight: admitted and not settled; carried over when the schedule is reloaded. */
  runs: Set<RunLifecycle>;
  /** The last claim sent: each claim expects the next run the one before left, so they go in order. */
  claiming: Promise<unknown>;
}

export interface ScheduleReset {
  scheduleId: string;
  taskId: string;
  before: number | null;
  after: number | null;
}

export interface ScheduleBookOptions {
  ledger: Ledger;
  log: HostLog;
  clock: Clock;
  /** Gives back a claimed run of a schedule that goes, pauses or is reset (its occurrence is not due again). */
  release(run: RunLifecycle): void;
  emit: Emit;
  /** Something changed that the clock loop should look at now. */
  wake(): void;
}

/**
 * The loaded tasks and their schedules: which exist, their next runs, what is
 * paused. Keeps the ledger's schedules in step when tasks load, pause, resume
 * or are reset.
 */
export class ScheduleBook {
  private readonly states = new Map<string, ScheduleState>();
  private readonly tasks = new Map<string, LoadedTask>();
  private readonly paused = new Set<string>();
  /** Schedules first seen before start(): their next run is counted from start(). */
  private readonly fresh = new Set<string>();
  private startedAt: number | null = null;

  constructor(private readonly options: ScheduleBookOptions) {}

  task(id: string): LoadedTask | undefined {
    return this.tasks.get(id);
  }

  state(scheduleId: string): ScheduleState | undefined {
    return this.states.get(scheduleId);
  }

  /** The schedules the clock loop looks at: enabled and not paused. */
  *schedulable(): Iterable<ScheduleState> {
    for (const state of this.states.values()) if (state.task.meta.enabled && !this.paused.has(state.task.id)) yield state;
  }

  async setTask(task: LoadedTask, paused: boolean | undefined): Promise<void> {
    const { ledger, clock } = this.options;
    this.tasks.set(task.id, task);
    const pausing = paused === undefined ? Promise.resolve() : this.setPaused(task.id, paused);
    const keep = task.schedules.map((s) => s.id);
    for (const [id, state] of this.states) if (state.task.id === task.id && !keep.includes(id)) this.drop(id, state);
    const enabled = task.meta.enabled;
    for (const schedule of task.schedules) {
      const existing = this.states.get(schedule.id);
      if (existing && existing.schedule.fingerprint === schedule.fingerprint && existing.task.meta.enabled === enabled) {
        existing.task = task;
        existing.schedule = schedule;
        continue;
      }
      if (existing) this.drop(schedule.id, existing);
      const occurrences = occurrencesOf(schedule);
      const before = await ledger.getSchedule(schedule.id);
      const known = before != null && before.fingerprint === schedule.fingerprint && before.nextRun != null;
      // A disabled task has no next run, so enabling it starts from now: what fell due while it
      // was off was not missed (like a paused one's), and check-overdue does not list it.
      const row = await ledger.ensureSchedule({
        id: schedule.id,
        taskId: task.id,
        method: schedule.method,
        fingerprint: schedule.fingerprint,
        spec: schedule.text,
        firstRun: enabled ? occurrences.after(clock.now()) : null,
        enabled,
      });
      // A new schedule counts from when scheduling starts, not from when its file loaded
      // (a cold start with many files must not find its own new schedules overdue).
      if (enabled && !known && this.startedAt === null) this.fresh.add(schedule.id);
      // Runs still going on the old version count for overlap until they end.
      const runs = new Set(existing ? [...existing.runs] : []);
      this.states.set(schedule.id, { task, schedule, occurrences, nextRun: enabled ? row.nextRun : null, armed: null, queue: [], runs, claiming: Promise.resolve() });
    }
    await ledger.retireSchedules(task.id, keep);
    await pausing;
    this.options.wake();
  }

  removeTask(taskId: string): void {
    this.tasks.delete(taskId);
    for (const [id, state] of this.states) if (state.task.id === taskId) this.drop(id, state);
  }

  isPaused(taskId: string): boolean {
    return this.paused.has(taskId);
  }

  /** Resolves once a resumed task's next runs are recorded. */
  setPaused(taskId: string, paused: boolean): Promise<void> {
    if (paused === this.paused.has(taskId)) return Promise.resolve();
    const writes: Promise<void>[] = [];
    if (paused) {
      this.paused.add(taskId);
      for (const state of this.statesOf(taskId)) this.unarm(state);
    } else {
      this.paused.delete(taskId);
      // Resuming starts afresh from now: what was missed while paused was missed on purpose.
      const now = this.options.clock.now();
      // A disabled task stays without a next run until its file enables it.
      for (const state of this.statesOf(taskId)) if (state.task.meta.enabled) writes.push(this.moveNextRun(state, state.occurrences.after(now)));
    }
    this.options.emit("task.paused", { taskId, paused });
    return Promise.all(writes).then(() => undefined);
  }

  nextRunOf(scheduleId: string): number | null {
    const state = this.states.get(scheduleId);
    if (!state) return null;
    return state.armed ? state.armed.subject.scheduledFor : state.nextRun;
  }

  /** Next runs recomputed on the aligned grid from now; `futureOnly`: only those already past. */
  async reset(select: (scheduleId: string, taskId: string) => boolean, options: { futureOnly: boolean; dryRun: boolean }): Promise<ScheduleReset[]> {
    const now = this.options.clock.now();
    const resets: ScheduleReset[] = [];
    const writes: Promise<void>[] = [];
    for (const [id, state] of this.states) {
      // A disabled task has no next run to reset (enabling it starts from now anyway).
      if (!select(id, state.task.id) || !state.task.meta.enabled) continue;
      const before = this.nextRunOf(id);
      if (options.futureOnly && (before == null || before > now)) continue;
      const after = state.occurrences.after(now);
      resets.push({ scheduleId: id, taskId: state.task.id, before, after });
      if (options.dryRun) continue;
      this.unarm(state);
      writes.push(this.moveNextRun(state, after));
    }
    await Promise.all(writes);
    if (!options.dryRun) this.options.wake();
    return resets;
  }

  overdue(before: number): Array<{ scheduleId: string; taskId: string; nextRun: number; catchUp: string; paused: boolean }> {
    const out = [];
    for (const [id, state] of this.states) {
      const next = this.nextRunOf(id);
      if (next != null && next < before) {
        out.push({ scheduleId: id, taskId: state.task.id, nextRun: next, catchUp: state.task.meta.catchUp, paused: this.paused.has(state.task.id) });
      }
    }
    return out;
  }

  /** Scheduling begins: schedules first seen before now count from now. Resolves once recorded. */
  start(): Promise<void> {
    const now = this.options.clock.now();
    this.startedAt = now;
    const writes: Promise<void>[] = [];
    for (const id of this.fresh) {
      const state = this.states.get(id);
      // Reloaded as disabled since it was added: it has no next run.
      if (state?.task.meta.enabled) writes.push(this.moveNextRun(state, state.occurrences.after(now)));
    }
    this.fresh.clear();
    return Promise.all(writes).then(() => undefined);
  }

  /** Why occurrences from `first` on were missed: before this host started, or while it ran. */
  causeOfMiss(first: number): "host-down" | "asleep" {
    return this.startedAt !== null && first >= this.startedAt ? "asleep" : "host-down";
  }

  /**
   * Takes occurrences in the ledger and moves the schedule's next run on from
   * `expected` to `next`: here at once, in the ledger if no other host did
   * first. Resolves with each occurrence's run id, in order; null for one
   * another host (or an earlier life) took. Claims of one schedule go out in
   * order: each expects the next run the one before left.
   */
  claim(state: ScheduleState, expected: number, next: number | null, occurrences: OccurrenceClaim["occurrences"], owner: string): Promise<Array<number | null>> {
    state.nextRun = next;
    const claimed = state.claiming.then(() => this.claimInOrder(state, expected, next, occurrences, owner));
    state.claiming = claimed.catch(() => {});
    return claimed;
  }

  private async claimInOrder(state: ScheduleState, expected: number, next: number | null, occurrences: OccurrenceClaim["occurrences"], owner: string) {
    const { ledger, log } = this.options;
    const { schedule, task } = state;
    const send = (list: OccurrenceClaim["occurrences"]) =>
      ledger.claimOccurrences({ scheduleId: schedule.id, taskId: task.id, expectedNext: expected, next, fingerprint: schedule.fingerprint, owner, occurrences: list });
    let result = await send(occurrences);
    if (result.ok) return result.runIds;
    const none = occurrences.map(() => null);
    const current = result.current;
    if (current?.nextRun !== expected || current.fingerprint !== schedule.fingerprint) {
      // Another host moved the schedule on (or it changed): its next run is what the ledger says,
      // unless this one moved on since (reloaded, reset).
      if (this.states.get(schedule.id) === state && state.nextRun === next) {
        state.nextRun = current?.nextRun ?? null;
        this.options.wake();
      }
      return none;
    }
    // The ledger still expects the same next run: some of these occurrences are recorded already
    // (its next run was moved back, the clock stepped back). Claim the others; the next run moves on.
    const at = occurrences.map((o) => o.scheduledFor);
    const recorded = await ledger.listRunsBetween(Math.min(...at), Math.max(...at) + 1, { scheduleId: schedule.id });
    const taken = new Set(recorded.filter((r) => r.trigger !== "manual" && r.attempt === 1).map((r) => r.scheduledFor));
    const left = occurrences.filter((o) => !taken.has(o.scheduledFor));
    log.warn(
      { event: "claim.taken", scheduleId: schedule.id, occurrences: occurrences.length - left.length },
      `${schedule.id}: ${occurrences.length - left.length} occurrence(s) already have a run in the ledger; each runs at most once`,
    );
    if (left.length === 0) {
      await ledger.setNextRun(schedule.id, next);
      return none;
    }
    result = await send(left);
    if (!result.ok) return none;
    const ids = new Map(left.map((o, i) => [o.scheduledFor, result.ok ? result.runIds[i]! : null]));
    return occurrences.map((o) => ids.get(o.scheduledFor) ?? null);
  }

  /** Every run claimed and not admitted (armed, queued), taken out: the host is stopping. */
  takeClaimed(): RunLifecycle[] {
    const claimed: RunLifecycle[] = [];
    for (const state of this.states.values()) {
      if (state.armed) claimed.push(state.armed);
      claimed.push(...state.queue.splice(0));
      state.armed = null;
    }
    return claimed;
  }

  private *statesOf(taskId: string): Iterable<ScheduleState> {
    for (const state of this.states.values()) if (state.task.id === taskId) yield state;
  }

  private moveNextRun(state: ScheduleState, next: number | null): Promise<void> {
    state.nextRun = next;
    return this.options.ledger.setNextRun(state.schedule.id, next);
  }

  private unarm(state: ScheduleState): void {
    const { armed } = state;
    state.armed = null;
    if (armed) this.options.release(armed);
  }

  private drop(id: string, state: ScheduleState): void {
    this.unarm(state);
    for (const queued of state.queue.splice(0)) this.options.release(queued);
    this.states.delete(id);
    this.fresh.delete(id);
  }
}
