import type { RunRow, RunTrigger } from "../store/ledger.ts";
import type { LoadedTask, TaskSchedule } from "../task-file/loaded-task.ts";
import type { LaunchedRun, RunOutcome } from "./run-launcher.ts";
import type { SkipCode } from "./scheduling-policy.ts";

/**
 * claimed → waiting → started → ended, or released:
 * - claimed: its occurrence is taken in the ledger (or the claim is on its
 *   way); armed ahead of its instant, or queued behind the previous run;
 * - waiting: admitted; waits for a run slot, its claim and its code to load;
 * - started: its code was told to begin;
 * - ended: its end (or its skip) is what the ledger records;
 * - released: it never ran and its claim is given back, lost or unwritten.
 */
export type RunPhase = "claimed" | "waiting" | "started" | "ended" | "released";

/** What a run is of. */
export interface RunSubject {
  task: LoadedTask;
  scheduleId: string;
  method: string;
  scheduledFor: number;
  trigger: RunTrigger;
  attempt: number;
}

/** How a run's life ended: every path ends in exactly one of these, through settle(). */
export type Settlement =
  /** Its code ran (or tried to): the outcome is recorded. */
  | { kind: "ran"; outcome: RunOutcome }
  /** It did not run, and is recorded skipped (`recorded`: its claim already said so). */
  | { kind: "skipped"; code: SkipCode; reason: string; recorded?: boolean }
  /** It never started; its claim is given back (`handBack`: its occurrence is due again). */
  | { kind: "released"; handBack: boolean }
  /** Another host claimed the occurrence first: a normal outcome. */
  | { kind: "lost" }
  /** Its claim could not be written: it must not start (it could run twice after a crash). */
  | { kind: "unclaimed"; error: unknown };

/**
 * Which run slot a run holds: one of max_concurrent_runs, a standby launch ahead of a slot, a
 * place in a lane behind a run holding one (run-lanes.ts: it takes that slot over), or none.
 */
export type SlotHold = "held" | "standby" | "follows" | null;

export interface LifecycleHooks {
  /** Frees the run's slot, or withdraws it from the wait for one. */
  freeSlot(run: RunLifecycle): void;
  /** Carries the settlement out (ledger, log, events, what follows); resolves with the recorded row. */
  settled(run: RunLifecycle, settlement: Settlement): Promise<RunRow | undefined>;
}

/** One run's life; the scheduler holds one per occurrence (or manual run, or retry) it deals with. */
export class RunLifecycle {
  private current: RunPhase = "claimed";
  /** Known once the claim is written. */
  runId: number | null = null;
  /** Resolves with the run id once the claim is durable; null: lost to another host; rejects: not written. */
  readonly claim: Promise<number | null>;
  launched: LaunchedRun | null = null;
  slot: SlotHold = null;
  /** Launched ahead of its instant, its code is loaded and waits for start(). */
  loaded = false;
  /** Its start is in the ledger already (recorded before its code began: a shared ledger). */
  startRecorded = false;
  /** What it waited for, if anything: its place in the queue, or a run slot (late on purpose, not asleep). */
  waited: "queue" | "slot" | null = null;
  /** Claimed as `schedule`, it became a catch-up (the machine slept); the ledger's row still says `schedule`. */
  retriggered = false;
  /**
   * Resolves once the host has done what it can to start it now: it was told to go (its state
   * read, its go on its way to its code), or it waits for a slot or in its schedule's queue, or
   * it settled (crowd-lead.ts measures what telling a crowd costs).
   */
  readonly told: Promise<void>;
  private markTold: () => void = () => {};
  /** Resolves once its settlement is carried out, with the row as recorded (none when nothing was). */
  readonly recorded: Promise<RunRow | undefined>;
  private markRecorded: (row: RunRow | undefined) => void = () => {};

  /** How many runs were due at its instant when it was armed (1 for a run not armed). */
  crowd = 1;
  /** Whether the claim has resolved (runId then says how), so no await is needed to read it. */
  claimKnown = false;

  constructor(
    readonly subject: RunSubject,
    claim: Promise<number | null>,
    private readonly hooks: LifecycleHooks,
  ) {
    this.claim = claim.then((id) => {
      this.claimKnown = true;
      return (this.runId = id);
    });
    // A claim that fails is dealt with where the run would start or is settled.
    this.claim.catch(() => {});
    this.recorded = new Promise((resolve) => (this.markRecorded = resolve));
    this.told = new Promise((resolve) => (this.markTold = resolve));
  }

  /** Its state was read for its start (its go is on its way), or it waits for a slot. */
  wasTold(): void {
    this.markTold();
  }

  get phase(): RunPhase {
    return this.current;
  }

  /** Admitted and not over: waiting for a slot, loading, or running. Counts as "the previous run" for overlap. */
  get inFlight(): boolean {
    return this.current === "waiting" || this.current === "started";
  }

  get settled(): boolean {
    return this.current === "ended" || this.current === "released";
  }

  /**
   * A scheduled occurrence that cannot start on time (slept through) runs as
   * a catch-up: its trigger changes before its code is loaded with it.
   */
  becomeCatchUp(): void {
    if (this.subject.trigger !== "schedule") return;
    this.subject.trigger = "catch-up";
    this.retriggered = true;
    this.dropLaunch();
  }

  /** claimed → waiting */
  admit(): void {
    this.move("claimed", "waiting");
  }

  /** waiting → started (again, for one launched anew after it could not begin on time) */
  begin(): void {
    if (this.current !== "started") this.move("waiting", "started");
  }

  /** Back in line behind the previous run (still claimed): its slot and loaded code are let go meanwhile. */
  park(): void {
    if (this.current !== "claimed") throw new Error(`taskhost scheduler: cannot queue a run that is ${this.current}`);
    this.waited = "queue";
    this.markTold();
    this.dropLaunch();
    this.hooks.freeSlot(this);
  }

  /**
   * Ends the run's life, once: whatever held it (slot, loaded code) is let
   * go, and the settlement is carried out. Later calls do nothing (false).
   */
  settle(settlement: Settlement): boolean {
    if (this.settled) return false;
    const ran = settlement.kind === "ran" || settlement.kind === "skipped";
    this.current = ran ? "ended" : "released";
    if (settlement.kind !== "ran") this.dropLaunch();
    this.launched = null;
    this.markTold();
    this.hooks.freeSlot(this);
    void this.hooks.settled(this, settlement).then(this.markRecorded, () => this.markRecorded(undefined));
    return true;
  }

  private dropLaunch(): void {
    this.launched?.cancel();
    this.launched = null;
    this.loaded = false;
  }

  private move(from: RunPhase, to: RunPhase): void {
    if (this.current !== from) throw new Error(`taskhost scheduler: a run cannot go from ${this.current} to ${to}`);
    this.current = to;
  }
}

/** The subject of a schedule's own occurrence (on its clock, or caught up). */
export function subjectOf(state: { task: LoadedTask; schedule: TaskSchedule }, scheduledFor: number, trigger: "schedule" | "catch-up"): RunSubject {
  return { task: state.task, scheduleId: state.schedule.id, method: state.schedule.method, scheduledFor, trigger, attempt: 1 };
}
