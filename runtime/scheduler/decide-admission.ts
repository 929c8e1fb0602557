import type { OverlapPolicy } from "../task-file/task-meta.ts";
import { QUEUE_LIMIT, type SkipCode } from "./scheduling-policy.ts";

export interface AdmissionInput {
  overlap: OverlapPolicy;
  trigger: "schedule" | "catch-up";
  /**
   * Runs of this schedule admitted and not ended: waiting for a run slot,
   * loading or running. A run waiting for a slot is "the previous run" too
   * (issue 10 item 3).
   */
  inFlight: number;
  /** Of those, how many have not begun and wait for a run slot. */
  waitingForSlot?: number;
  /** Occurrences queued behind them (overlap: queue, or catch-up runs). */
  queued: number;
}

export type Admission =
  | { kind: "start" }
  | { kind: "queue" }
  | { kind: "skip"; code: SkipCode }
  /** Stop the runs in flight (overlap: replace), then start. */
  | { kind: "replace" };

/**
 * An occurrence is due: does it start, wait, or not run? The overlap policy
 * decides while a previous run is in flight. Catch-up runs are never skipped
 * for overlap: catch_up says they run, so under overlap: skip they queue
 * behind the run in flight (a freeze must not turn `catch_up: all` into
 * skips, issue 10 item 8).
 */
export function decideAdmission({ overlap, trigger, inFlight, waitingForSlot = 0, queued }: AdmissionInput): Admission {
  if (inFlight === 0 && queued === 0) return { kind: "start" };
  const queue = (): Admission => (queued >= QUEUE_LIMIT ? { kind: "skip", code: "queue-full" } : { kind: "queue" });
  switch (overlap) {
    case "skip":
      if (trigger === "catch-up") return queue();
      // The message says which: a run that waits for a slot has not been running at all.
      return { kind: "skip", code: inFlight > 0 && waitingForSlot === inFlight ? "overlap-slot" : "overlap" };
    case "queue":
      return queue();
    case "allow":
      return { kind: "start" };
    case "replace":
      return { kind: "replace" };
  }
}

/** A run of the schedule ended or left: the first queued occurrence starts once none is in flight. */
export function shouldDrain(inFlight: number, queued: number, stopping: boolean): boolean {
  return !stopping && inFlight === 0 && queued > 0;
}
