import type { Isolation } from "./run-launcher.ts";
import type { LoadedTask } from "../task-file/loaded-task.ts";
import type { RunLifecycle } from "./run-lifecycle.ts";
import { CROWD_LANES, FOLLOW_PATIENCE_MS, laneDepth, pickLane, RunLanes } from "./run-lanes.ts";
import { RunSlots } from "./run-slots.ts";
import type { Clock, Timers } from "./scheduler-types.ts";

export interface SlotKeeperOptions {
  clock: Clock;
  timers: Timers;
  /** Whether a run without a slot may follow another in a lane (the starter's rule). */
  mayFollow(run: RunLifecycle): boolean;
  isolationOf(task: LoadedTask): Isolation;
  /** Whether the task's runs are short (run-lanes.ts SHORT_RUN_MS). */
  short(taskId: string): boolean;
  /**
   * Lanes a crowd of short runs is spread over before more slots are taken: about the cores
   * (one worker each), since short runs drain fastest through few workers. Default CROWD_LANES.
   */
  lanes?: number;
}

/**
 * Who holds which of the max_concurrent_runs slots (run-slots.ts), and the
 * lanes of runs that share one, one after another (run-lanes.ts). Every run
 * leaves through free(): a head's slot passes to its lane's next run.
 */
export class SlotKeeper {
  private readonly slots: RunSlots;
  private readonly lanes = new RunLanes<RunLifecycle>();
  /** Runs holding a slot (the heads of lanes), in the order they got it. */
  private readonly holders = new Set<RunLifecycle>();
  /** Followers' FOLLOW_PATIENCE_MS timers. */
  private readonly patience = new Map<RunLifecycle, unknown>();
  private readonly lanesWanted: number;

  constructor(
    maxConcurrentRuns: number,
    private readonly options: SlotKeeperOptions,
  ) {
    this.slots = new RunSlots(maxConcurrentRuns);
    this.lanesWanted = options.lanes ?? CROWD_LANES;
  }

  setLimit(maxConcurrentRuns: number): void {
    this.slots.setLimit(maxConcurrentRuns);
  }

  /** A claimed run before its instant: a slot, else a standby place. false: neither is free, or it had better follow. */
  ahead(run: RunLifecycle): boolean {
    if (this.preferLane(run)) return false;
    if (this.slots.tryAcquire()) this.hold(run);
    else if (this.slots.tryStandby()) run.slot = "standby";
    else return false;
    return true;
  }

  /** The run a follower follows now (the one ahead of it in its lane). */
  runAhead(run: RunLifecycle): RunLifecycle | null {
    return this.lanes.ahead(run);
  }

  /** Frees a settled run's slot (or passes it to the next run of its lane), or withdraws it from the wait for one. */
  free(run: RunLifecycle): void {
    this.clearPatience(run);
    if (run.slot === "held") {
      this.holders.delete(run);
      // The next run of its lane takes the slot over: it may have begun already, where this one ran.
      const next = this.lanes.pass(run);
      if (next) {
        this.clearPatience(next);
        this.slots.withdraw(next);
        this.hold(next);
      } else this.slots.release();
    } else {
      if (run.slot === "standby") this.slots.releaseStandby();
      if (run.slot === "follows") this.lanes.leave(run);
      this.slots.withdraw(run);
    }
    run.slot = null;
  }

  /**
   * A run without a slot gets one, or a place in a lane (it may follow another); false: it was
   * settled meanwhile. `true` at once when it needs no wait: a lane's runs are started in the
   * order they join it, each behind the one before, with no turn of the loop in between.
   */
  slotOrLane(run: RunLifecycle): true | Promise<boolean> {
    if (this.options.mayFollow(run) && run.claimKnown && this.follow(run)) return true;
    if (this.slots.tryAcquire()) return this.takeSlot(run);
    return this.waitForSlot(run);
  }

  /** A lane it fits when enough are open, else a free slot, else any lane it fits. */
  private follow(run: RunLifecycle): boolean {
    if (this.preferLane(run) && this.join(run)) return true;
    if (this.slots.tryAcquire()) return this.takeSlot(run);
    return this.join(run);
  }

  private async waitForSlot(run: RunLifecycle): Promise<boolean> {
    if (this.options.mayFollow(run) && !run.claimKnown) {
      // Its claim first: a lane's runs are launched in the order they join it.
      await run.claim.catch(() => null);
      if (run.settled) return false;
      if (this.follow(run)) return true;
    }
    run.waited ??= "slot";
    run.wasTold();
    if (!(await this.slots.acquire(run))) return false; // withdrawn: it was settled meanwhile
    if (run.settled) {
      this.slots.release();
      return false;
    }
    return this.takeSlot(run);
  }

  private takeSlot(run: RunLifecycle): true {
    if (run.slot === "standby") this.slots.releaseStandby();
    this.hold(run);
    return true;
  }

  private hold(run: RunLifecycle): void {
    run.slot = "held";
    this.holders.add(run);
  }

  /**
   * Whether a run that may follow should rather join a lane than take a free slot: its instant has
   * more runs due than there are slots (a crowd drains fastest through a few workers; a run that
   * can have a slot and a worker of its own begins on its instant, not after others), and enough
   * lanes it fits are open.
   */
  private preferLane(run: RunLifecycle): boolean {
    if (run.crowd <= this.slots.limit || !this.options.mayFollow(run)) return false;
    let open = 0;
    for (const head of this.holders) if (this.fits(run, head) && ++open >= this.lanesWanted) return true;
    return false;
  }

  /**
   * A `context` run with its memory limit holds the slot, due no later than `run` (not one launched
   * ahead for a later instant), the lane has room, its head and last run are short, and the last is launched.
   */
  private fits(run: RunLifecycle, head: RunLifecycle): boolean {
    const last = this.lanes.last(head);
    return (
      !head.settled &&
      head.subject.scheduledFor <= run.subject.scheduledFor &&
      last.subject.scheduledFor <= run.subject.scheduledFor &&
      this.lanes.followers(head).length < laneDepth(head.subject.task.meta.memoryLimitMb) &&
      head.subject.task.meta.memoryLimitMb === run.subject.task.meta.memoryLimitMb &&
      this.options.isolationOf(head.subject.task) === "context" &&
      this.options.short(head.subject.task.id) &&
      this.options.short(last.subject.task.id) &&
      last.launched !== null &&
      last.runId !== null
    );
  }

  /** Joins the lane with the fewest followers among those it fits. */
  private join(run: RunLifecycle): boolean {
    const head = pickLane(this.lanes, this.holders, (candidate) => this.fits(run, candidate));
    if (!head) return false;
    if (run.slot === "standby") this.slots.releaseStandby();
    run.slot = "follows";
    this.lanes.join(run, head);
    this.awaitPatience(run);
    return true;
  }

  /**
   * Past its instant by FOLLOW_PATIENCE_MS, a follower still in its lane (the run ahead of it
   * lasts) waits for a slot of its own as well; if it gets one first and has not begun, it
   * leaves its lane and begins as soon as it can.
   */
  private awaitPatience(run: RunLifecycle): void {
    const now = this.options.clock.now();
    const timer = this.options.timers.setTimeout(
      () => {
        this.patience.delete(run);
        if (run.slot !== "follows") return;
        void this.slots.acquire(run).then((got) => {
          if (!got) return;
          if (run.slot !== "follows" || !(run.launched?.standAlone?.() ?? false)) return this.slots.release();
          this.lanes.leave(run);
          this.hold(run);
        });
      },
      Math.max(0, run.subject.scheduledFor - now) + FOLLOW_PATIENCE_MS,
    );
    this.patience.set(run, timer);
  }

  private clearPatience(run: RunLifecycle): void {
    if (!this.patience.has(run)) return;
    this.options.timers.clearTimeout(this.patience.get(run));
    this.patience.delete(run);
  }
}
