import type { RunTrigger } from "../store/ledger.ts";
import type { CatchUpPolicy, OverlapPolicy } from "../task-file/task-meta.ts";
import { LATE_MS, type SkipCode } from "./scheduling-policy.ts";

export interface StartInput {
  trigger: RunTrigger;
  scheduledFor: number;
  now: number;
  catchUp: CatchUpPolicy;
  overlap: OverlapPolicy;
  /** The schedule's occurrence after this one (from the maths, not from what was claimed); null: none, or no schedule. */
  following: number | null;
  /** What it waited for: its place in the schedule's queue, or a run slot (scheduler.max_concurrent_runs). */
  waited: "queue" | "slot" | null;
  /** The host is stopping. */
  stopping: boolean;
}

export type StartDecision =
  | { kind: "start" }
  /** It runs late, as a catch-up: its trigger becomes `catch-up` (ledger, log, ctx.trigger). */
  | { kind: "catch-up" }
  | { kind: "skip"; code: SkipCode }
  /** Give the occurrence back (the host is stopping): the next host finds it due. */
  | { kind: "release" };

/**
 * An admitted run has its slot and its claim: the last look before its code
 * begins. Only scheduled occurrences are reconsidered:
 * - one that waited is late on purpose and runs: in the queue, or for a slot
 *   (under overlap: skip it is the one the later occurrences were skipped
 *   for). Only under overlap: allow, where every occurrence waits for a slot
 *   of its own, is one skipped once the next is due: the next stands for it,
 *   and running it would push every later run further back;
 * - one whose host froze between its admission and now (more than a second
 *   late without having waited) is what catch_up decides: skip records it
 *   skipped; once skips it when the next occurrence is due too (the catch-up
 *   run stands for it); otherwise it runs as a catch-up, never as a late
 *   `schedule` (issue 10 item 8).
 */
export function decideStart(input: StartInput): StartDecision {
  if (input.stopping) return { kind: "release" };
  if (input.trigger !== "schedule") return { kind: "start" };
  const nextDue = input.following !== null && input.following <= input.now;
  if (input.waited === "slot" && input.overlap === "allow" && nextDue) return { kind: "skip", code: "slot-wait" };
  if (input.waited) return { kind: "start" };
  if (input.now - input.scheduledFor <= LATE_MS) return { kind: "start" };
  if (input.catchUp === "skip" || (input.catchUp === "once" && nextDue)) return { kind: "skip", code: "missed" };
  return { kind: "catch-up" };
}
