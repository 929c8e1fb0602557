import type { CatchUpPolicy } from "../task-file/task-meta.ts";
import { planCatchUp, type CatchUpPlan } from "./plan-catch-up.ts";
import type { Occurrences } from "./schedule-occurrences.ts";
import { LATE_MS } from "./scheduling-policy.ts";

/** A schedule's timing as the coordinator holds it. */
export interface ScheduleTiming {
  /** The next occurrence not claimed yet; null when none is left. */
  nextRun: number | null;
  /** The occurrence claimed ahead of its instant (its run loading); null when none is. */
  armed: number | null;
  catchUp: CatchUpPolicy;
  /** How long before it may go (its instant, or goAheadMs before) an occurrence is claimed and its run launched. */
  leadMs: number;
  /** The ledger refused this host a claim of it (a shared ledger): nothing is claimed before then (Infinity: until re-read). */
  heldUntil?: number | null;
  /**
   * How long before its instant the armed occurrence may fire (its run is
   * told to go, and begins on the instant), if `canGoAhead`: its code is
   * loaded and nothing of its task is in flight. Otherwise it fires on the instant.
   */
  goAheadMs?: number;
  canGoAhead?: boolean;
}

export type TickStep =
  /**
   * The armed occurrence's instant has come (or it goes ahead of it: see
   * goAheadMs): admit it (overlap decides whether it starts). `late`: it was slept through and runs as a catch-up (trigger
   * `catch-up`, never skipped for overlap).
   */
  | { kind: "fire"; late: boolean }
  /** The armed occurrence was missed while the host was asleep: record it skipped (reason `missed`). */
  | { kind: "skip-armed" }
  /** Claim the next occurrence now and launch its run, so its code starts on the instant. */
  | { kind: "arm"; at: number; next: number | null }
  /** Occurrences from the stored next run up to now were missed: claim them as the plan says. */
  | { kind: "catch-up"; plan: CatchUpPlan };

export interface TickDecision {
  /** In order. */
  steps: TickStep[];
  /** When this schedule next needs a look; null: never by itself. */
  wakeAt: number | null;
}

/**
 * What one schedule needs at `now`. A timer can fire a little early or very
 * late (suspend, clock step, overload): every decision is taken from `now`,
 * never from when the timer was meant to fire.
 *
 * An armed occurrence found more than a second late was slept through: under
 * catch_up: skip it is recorded skipped; under once it is skipped only if a
 * later occurrence was missed too (the catch-up run stands for both);
 * otherwise it runs late, as a catch-up (issue 10 item 8).
 */
export function decideTick(timing: ScheduleTiming, now: number, occurrences: Occurrences): TickDecision {
  const steps: TickStep[] = [];
  const { armed, catchUp, leadMs, heldUntil = null, goAheadMs = 0, canGoAhead = false } = timing;
  // Loaded by the time it may go ahead of its instant.
  const armLead = leadMs + goAheadMs;
  if (heldUntil !== null && heldUntil > now && armed === null) return { steps, wakeAt: Number.isFinite(heldUntil) ? heldUntil : null };
  let next = timing.nextRun;
  if (armed !== null) {
    if (now < armed - goAheadMs) return { steps, wakeAt: armed - goAheadMs };
    if (now < armed && !canGoAhead) return { steps, wakeAt: armed };
    const late = now - armed > LATE_MS;
    const laterMissed = next !== null && next <= now - LATE_MS;
    steps.push(late && (catchUp === "skip" || (catchUp === "once" && laterMissed)) ? { kind: "skip-armed" } : { kind: "fire", late });
  }
  if (next === null) return { steps, wakeAt: null };
  if (next <= now - LATE_MS) {
    const plan = planCatchUp(next, now, catchUp, occurrences);
    steps.push({ kind: "catch-up", plan });
    next = plan.next;
  } else if (next - now <= armLead) {
    steps.push({ kind: "arm", at: next, next: occurrences.after(next) });
    return { steps, wakeAt: next - goAheadMs };
  }
  return { steps, wakeAt: next === null ? null : next - armLead };
}
