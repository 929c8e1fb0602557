/**
 * Runs that share one run slot, one after another (issue 13: 100 runs due on
 * one second over 16 slots). When every slot is held, a scheduled run may
 * follow a run that holds one: it joins that run's lane, is launched behind
 * the lane's last run (StartOptions.after) with its claim, last look and state
 * read done ahead of its instant, and begins where that run ran as soon as it
 * is over, without a round trip through the host. When the lane's head
 * settles, its slot passes to the next run of the lane instead of being freed.
 * So max_concurrent_runs holds: a lane runs one run at a time.
 *
 * The lanes only keep order; which run may join which lane is the starter's
 * choice (run-starter.ts), and pickLane() the pure part of it.
 */

import { availableParallelism } from "node:os";

/** How many lanes a crowd of short runs is spread over before more slots are taken: one worker per core, and one. */
export const CROWD_LANES = availableParallelism() + 1;

/** Runs a lane holds behind its head, at most, whatever the heap limit (laneDepth). */
export const MAX_LANE_DEPTH = 400;

/**
 * Runs a lane holds behind a head whose worker's heap limit is `memoryLimitMb`:
 * each is a loaded context on that worker (~150-250 KB of its heap, measured),
 * so one per MB keeps them to about a quarter of the limit. Deep enough that a
 * crowd of 1,000 on 3 lanes is loaded before its instant: runs loaded after it
 * cost the host their telling and the worker their load one after another
 * (measured, 1,000 runs due on a minute: last start 2.7 s at 64 deep, 0.2-0.3 s
 * at 400, with the same peak RSS: what runs leave behind in a burst outweighs
 * what waits loaded).
 */
export function laneDepth(memoryLimitMb: number): number {
  return Math.max(1, Math.min(MAX_LANE_DEPTH, Math.floor(memoryLimitMb)));
}

/**
 * A run only joins a lane whose head and last run are short: their tasks' last runs took at
 * most this long (or they have not run yet). A run that lasts makes the runs behind it wait
 * (up to FOLLOW_PATIENCE_MS), so lanes are for short runs.
 */
export const SHORT_RUN_MS = 20;
/**
 * How long past its instant a follower waits on the run ahead of it before it
 * also waits for a slot of its own (that run lasts: a slow task, a fault
 * being timed out), and leaves its lane if it gets one first.
 */
export const FOLLOW_PATIENCE_MS = 100;

export class RunLanes<R> {
  /** Each head's followers, in order. */
  private readonly behind = new Map<R, R[]>();
  /** Each follower's head. */
  private readonly headOf = new Map<R, R>();

  /** The runs of `head`'s lane behind it. */
  followers(head: R): readonly R[] {
    return this.behind.get(head) ?? [];
  }

  /** The lane's last run: the one a run joining it follows. */
  last(head: R): R {
    const followers = this.behind.get(head);
    return followers?.[followers.length - 1] ?? head;
  }

  /** The run directly ahead of a follower (null: it is no follower). */
  ahead(run: R): R | null {
    const head = this.headOf.get(run);
    if (head === undefined) return null;
    const followers = this.behind.get(head)!;
    const at = followers.indexOf(run);
    return at > 0 ? followers[at - 1]! : head;
  }

  isFollower(run: R): boolean {
    return this.headOf.has(run);
  }

  /** `run` joins the end of `head`'s lane. */
  join(run: R, head: R): void {
    let followers = this.behind.get(head);
    if (!followers) this.behind.set(head, (followers = []));
    followers.push(run);
    this.headOf.set(run, head);
  }

  /** The head is over: its first follower is the new head (returned; its slot is the old head's), null when none. */
  pass(head: R): R | null {
    const followers = this.behind.get(head);
    this.behind.delete(head);
    if (!followers || followers.length === 0) return null;
    const next = followers.shift()!;
    this.headOf.delete(next);
    if (followers.length > 0) {
      this.behind.set(next, followers);
      for (const run of followers) this.headOf.set(run, next);
    }
    return next;
  }

  /** A follower leaves its lane (it settled, or got a slot of its own); the runs behind it close up. */
  leave(run: R): void {
    const head = this.headOf.get(run);
    if (head === undefined) return;
    this.headOf.delete(run);
    const followers = this.behind.get(head)!;
    followers.splice(followers.indexOf(run), 1);
    if (followers.length === 0) this.behind.delete(head);
  }
}

/**
 * The lane a run should join: among the heads it may follow (`fits`, the
 * starter's rules) whose lane is not full, the one with the fewest followers
 * (the first such in `heads`' order), so a boundary's runs spread over the
 * slots evenly. null: none.
 */
export function pickLane<R>(lanes: RunLanes<R>, heads: Iterable<R>, fits: (head: R) => boolean, depth = MAX_LANE_DEPTH): R | null {
  let best: R | null = null;
  let fewest = depth;
  for (const head of heads) {
    const count = lanes.followers(head).length;
    if (count < fewest && fits(head)) {
      best = head;
      fewest = count;
      if (count === 0) break;
    }
  }
  return best;
}
