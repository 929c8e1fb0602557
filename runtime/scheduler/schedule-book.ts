import type { Ledger, OccurrenceClaim } from "../store/ledger.ts";
import type { LoadedTask, TaskSchedule } from "../task-file/loaded-task.ts";
import type { RunLifecycle } from "./run-lifecycle.ts";
import type { Emit } from "./run-recorder.ts";
import { occurrencesOf, type Occurrences } from "./schedule-occurrences.ts";
import type { Clock, HostLog } from "./scheduler-types.ts";
import { ScheduleClaims } from "./schedule-claims.ts";

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
  /** Claims sent so far: a read of the ledger made while one was on its way is older than its answer. */
  claims: number;
  /**
   * The ledger refused this host's claim and nothing else explains it (a shared
   * ledger: its task paused by another host, this host's lease lapsed), or it
   * holds another version of the schedule: not claimed until then (Infinity:
   * until the ledger's row is seen to change). null: not held.
   */
  heldUntil: number | null;
}

/** A schedule as another writer of the ledger left it (what a host of a fleet sees at each heartbeat). */
export interface ScheduleHint {
  id: string;
  nextRun: number | null;
  fingerprint: string;
  paused: boolean;
}

export interface ScheduleReset {
  scheduleId: string;
  taskId: string;
  /** The zone its times are read in (commands show them on that clock). */
  zone: string;
  before: number | null;
  after: number | null;
}

/** A schedule whose next run passed unrun: what check-overdue lists (the next start catches it up). */
export interface OverdueSchedule {
  scheduleId: string;
  taskId: string;
  zone: string;
  nextRun: number;
  catchUp: string;
  paused: boolean;
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

  private readonly claims: ScheduleClaims;

  constructor(private readonly options: ScheduleBookOptions) {
    this.claims = new ScheduleClaims({ ...options, isCurrent: (state) => this.states.get(state.schedule.id) === state });
  }

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
      // A new schedule counts from when scheduling starts, not from when its file loaded (a cold
      // start with many files must not find its own new schedules overdue): until start() it has
      // no next run, so a book that never starts (an offline command) leaves it to the next host.
      const row = await ledger.ensureSchedule({
        id: schedule.id,
        taskId: task.id,
        method: schedule.method,
        fingerprint: schedule.fingerprint,
        spec: schedule.text,
        firstRun: enabled && this.startedAt !== null ? occurrences.after(clock.now()) : null,
        enabled,
      });
      if (enabled && !known && this.startedAt === null) this.fresh.add(schedule.id);
      // Runs still going on the old version count for overlap until they end.
      const runs = new Set(existing ? [...existing.runs] : []);
      this.states.set(schedule.id, {
        task,
        schedule,
        occurrences,
        nextRun: enabled ? row.nextRun : null,
        armed: null,
        queue: [],
        runs,
        claiming: Promise.resolve(),
        claims: 0,
        heldUntil: null,
      });
    }
    await ledger.retireSchedules(task.id, keep);
    await pausing;
    this.options.wake();
  }

  /** Unschedules a task; returns its schedules' runs admitted and not yet begun (the caller settles them). */
  removeTask(taskId: string): RunLifecycle[] {
    this.tasks.delete(taskId);
    const unbegun: RunLifecycle[] = [];
    for (const [id, state] of this.states) {
      if (state.task.id !== taskId) continue;
      for (const run of state.runs) if (run.phase === "waiting") unbegun.push(run);
      this.drop(id, state);
    }
    return unbegun;
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
      for (const state of this.statesOf(taskId)) {
        state.heldUntil = null;
        if (state.task.meta.enabled) writes.push(this.moveNextRun(state, state.occurrences.after(now)));
      }
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
      resets.push({ scheduleId: id, taskId: state.task.id, zone: state.schedule.zone, before, after });
      if (options.dryRun) continue;
      this.unarm(state);
      if (state.heldUntil !== Infinity) state.heldUntil = null;
      writes.push(this.moveNextRun(state, after));
    }
    await Promise.all(writes);
    if (!options.dryRun) this.options.wake();
    return resets;
  }

  overdue(before: number): OverdueSchedule[] {
    const out: OverdueSchedule[] = [];
    for (const [id, state] of this.states) {
      const next = this.nextRunOf(id);
      if (next != null && next < before) {
        out.push({ scheduleId: id, taskId: state.task.id, zone: state.schedule.zone, nextRun: next, catchUp: state.task.meta.catchUp, paused: this.paused.has(state.task.id) });
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
   * Another writer of the ledger changed these schedules (claimed, paused,
   * resumed, reset, loaded another version). Those that differ from what this
   * book holds are read again, once this host's own claims of them have
   * answered, and the ledger's word is taken. Resolves once done.
   */
  changedElsewhere(hints: readonly ScheduleHint[]): Promise<void> {
    const rereads: Promise<void>[] = [];
    for (const hint of hints) {
      const state = this.states.get(hint.id);
      if (!state) continue;
      const differs =
        hint.nextRun !== state.nextRun ||
        hint.paused !== this.paused.has(state.task.id) ||
        hint.fingerprint !== state.schedule.fingerprint ||
        (state.heldUntil ?? 0) > this.options.clock.now();
      if (differs) rereads.push(this.reread(state));
    }
    return Promise.all(rereads).then(() => undefined);
  }

  /** Reads every schedule again (this host learnt its claims were taken over). */
  rereadAll(): Promise<void> {
    return Promise.all([...this.states.values()].map((state) => this.reread(state))).then(() => undefined);
  }

  private async reread(state: ScheduleState): Promise<void> {
    const { ledger } = this.options;
    const id = state.schedule.id;
    await state.claiming;
    const sent = state.claims;
    const [row, taskRow] = await Promise.all([ledger.getSchedule(id), ledger.getTask(state.task.id)]);
    // Reloaded meanwhile, or a claim went out: its answer is newer than this read.
    if (this.states.get(id) !== state || state.claims !== sent) return;
    if (taskRow) this.adoptPaused(state.task.id, taskRow.paused);
    if (!row) return;
    if (row.fingerprint !== state.schedule.fingerprint) {
      state.heldUntil = Infinity;
      return;
    }
    state.heldUntil = null;
    if (state.task.meta.enabled && row.nextRun !== state.nextRun) state.nextRun = row.nextRun;
    this.options.wake();
  }

  /** A pause or resume made by another writer: taken over without writing it again. */
  private adoptPaused(taskId: string, paused: boolean): void {
    if (paused === this.paused.has(taskId)) return;
    if (paused) {
      this.paused.add(taskId);
      for (const state of this.statesOf(taskId)) this.unarm(state);
    } else this.paused.delete(taskId);
    this.options.emit("task.paused", { taskId, paused });
  }

  /** Takes occurrences in the ledger and moves the schedule's next run on (see ScheduleClaims). */
  claim(state: ScheduleState, expected: number, next: number | null, occurrences: OccurrenceClaim["occurrences"], owner: string): Promise<Array<number | null>> {
    return this.claims.claim(state, expected, next, occurrences, owner);
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
