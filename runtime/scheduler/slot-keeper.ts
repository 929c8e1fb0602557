import type { Isolation } from "./run-launcher.ts";
import type { LoadedTask } from "../task-file/loaded-task.ts";
import type { RunLifecycle } from "./run-lifecycle.ts";
import { FOLLOW_PATIENCE_MS, pickLane, RunLanes } from "./run-lanes.ts";
import { RunSlots } from "./run-slots.ts";
import type { Clock, Timers } from "./scheduler-types.ts";

export interface SlotKeeperOptions {
  clock: Clock;
  timers: Timers;
  /** Whether a run without a slot may follow another in a lane (the starter's rule). */
  mayFollow(run: RunLifecycle): boolean;
  isolationOf(task: LoadedTask): Isolation;
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

  constructor(
    maxConcurrentRuns: number,
    private readonly options: SlotKeeperOptions,
  ) {
    this.slots = new RunSlots(maxConcurrentRuns);
  }

  setLimit(maxConcurrentRuns: number): void {
    this.slots.setLimit(maxConcurrentRuns);
  }

  /** A claimed run before its instant: a slot, else a standby place. false: neither is free. */
  ahead(run: RunLifecycle): boolean {
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

  /** A run without a slot gets one, or a place in a lane (it may follow another); false: it was settled meanwhile. */
  async slotOrLane(run: RunLifecycle): Promise<boolean> {
    if (this.slots.tryAcquire()) return this.takeSlot(run);
    if (this.options.mayFollow(run)) {
      // Its claim first (known already for an armed run): a lane's runs are launched in the order they join it.
      if (!run.claimKnown) await run.claim.catch(() => null);
      if (run.settled) return false;
      if (this.slots.tryAcquire()) return this.takeSlot(run);
      if (this.join(run)) return true;
    }
    run.waited ??= "slot";
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

  /** Joins the lane with the fewest followers among those of `context` runs with its memory limit whose last run is launched. */
  private join(run: RunLifecycle): boolean {
    const { memoryLimitMb } = run.subject.task.meta;
    const head = pickLane(this.lanes, this.holders, (candidate) => {
      const last = this.lanes.last(candidate);
      return (
        !candidate.settled &&
        candidate.subject.task.meta.memoryLimitMb === memoryLimitMb &&
        this.options.isolationOf(candidate.subject.task) === "context" &&
        last.launched !== null &&
        last.runId !== null
      );
    });
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
