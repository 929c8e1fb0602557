/**
 * The scheduler's pure decisions, at fixed instants: numbers in, decisions out
 * (no timers, ledger or workers). The schedule maths is the real one.
 */
import { describe, expect, it } from "vitest";
import { decideAdmission, shouldDrain } from "../runtime/scheduler/decide-admission.ts";
import { decideRetry } from "../runtime/scheduler/decide-retry.ts";
import { decideStart, type StartInput } from "../runtime/scheduler/decide-start.ts";
import { decideTick, type ScheduleTiming } from "../runtime/scheduler/decide-tick.ts";
import { planCatchUp } from "../runtime/scheduler/plan-catch-up.ts";
import { occurrencesOf } from "../runtime/scheduler/schedule-occurrences.ts";
import { skipMessage } from "../runtime/scheduler/scheduling-policy.ts";
import type { ScheduleSpec } from "../runtime/schedule/schedule-spec.ts";

const T0 = Date.parse("2026-03-02T10:00:00.000Z");
const S = 1000;
const MIN = 60 * S;
const every = (n: number, unit: "second" | "minute"): ScheduleSpec => ({ kind: "every", unit, n, offsetSec: 0 });
const perMinute = occurrencesOf({ spec: every(1, "minute"), zone: "UTC", window: {} });
const perSecond = occurrencesOf({ spec: every(1, "second"), zone: "UTC", window: {} });
const timing = (over: Partial<ScheduleTiming>): ScheduleTiming => ({ nextRun: T0 + MIN, armed: null, catchUp: "once", leadMs: 400, ...over });

describe("decideTick", () => {
  it("waits until the lead time before the next occurrence, then arms it with the one after", () => {
    expect(decideTick(timing({}), T0, perMinute)).toEqual({ steps: [], wakeAt: T0 + MIN - 400 });
    expect(decideTick(timing({}), T0 + MIN - 400, perMinute)).toEqual({ steps: [{ kind: "arm", at: T0 + MIN, next: T0 + 2 * MIN }], wakeAt: T0 + MIN });
  });

  it("a lead time measured longer arms earlier", () => {
    expect(decideTick(timing({ leadMs: 1500 }), T0 + MIN - 1500, perMinute).steps).toEqual([{ kind: "arm", at: T0 + MIN, next: T0 + 2 * MIN }]);
  });

  it("fires an armed occurrence on its instant (a timer a little early waits again)", () => {
    const armed = timing({ armed: T0 + MIN, nextRun: T0 + 2 * MIN });
    expect(decideTick(armed, T0 + MIN - 3, perMinute)).toEqual({ steps: [], wakeAt: T0 + MIN });
    expect(decideTick(armed, T0 + MIN + 5, perMinute)).toEqual({ steps: [{ kind: "fire", late: false }], wakeAt: T0 + 2 * MIN - 400 });
  });

  it("an armed occurrence whose run is loaded (and nothing of its task in flight) fires goAheadMs before its instant; otherwise on it", () => {
    const armed = timing({ armed: T0 + MIN, nextRun: T0 + 2 * MIN, goAheadMs: 50 });
    expect(decideTick(armed, T0 + MIN - 400, perMinute)).toEqual({ steps: [], wakeAt: T0 + MIN - 50 });
    expect(decideTick({ ...armed, canGoAhead: true }, T0 + MIN - 50, perMinute)).toEqual({ steps: [{ kind: "fire", late: false }], wakeAt: T0 + 2 * MIN - 450 });
    expect(decideTick(armed, T0 + MIN - 50, perMinute)).toEqual({ steps: [], wakeAt: T0 + MIN });
    expect(decideTick(armed, T0 + MIN, perMinute).steps).toEqual([{ kind: "fire", late: false }]);
    // Armed its lead time before it may go ahead.
    expect(decideTick(timing({ goAheadMs: 50 }), T0, perMinute).wakeAt).toBe(T0 + MIN - 450);
  });

  it("an armed occurrence slept through: skip records it; once skips it only when a later one was missed too; otherwise it runs as a catch-up", () => {
    const late = T0 + MIN + 30 * S; // a 30 s freeze, the next occurrence not yet due
    expect(decideTick(timing({ armed: T0 + MIN, nextRun: T0 + 2 * MIN, catchUp: "skip" }), late, perMinute).steps).toEqual([{ kind: "skip-armed" }]);
    expect(decideTick(timing({ armed: T0 + MIN, nextRun: T0 + 2 * MIN, catchUp: "once" }), late, perMinute).steps).toEqual([{ kind: "fire", late: true }]);
    expect(decideTick(timing({ armed: T0 + MIN, nextRun: T0 + 2 * MIN, catchUp: "all" }), late, perMinute).steps).toEqual([{ kind: "fire", late: true }]);

    const asleep = T0 + 3 * MIN + 10 * S; // slept through the armed one and two more
    const once = decideTick(timing({ armed: T0 + MIN, nextRun: T0 + 2 * MIN, catchUp: "once" }), asleep, perMinute);
    expect(once.steps.map((s) => s.kind)).toEqual(["skip-armed", "catch-up"]);
    const all = decideTick(timing({ armed: T0 + MIN, nextRun: T0 + 2 * MIN, catchUp: "all" }), asleep, perMinute);
    expect(all.steps.map((s) => s.kind)).toEqual(["fire", "catch-up"]);
    expect(all.steps[0]).toEqual({ kind: "fire", late: true });
  });

  it("a next run more than a second past is caught up; within the second it is armed and fired at once", () => {
    const missed = decideTick(timing({}), T0 + MIN + 1001, perMinute);
    expect(missed.steps).toMatchObject([{ kind: "catch-up", plan: { next: T0 + 2 * MIN } }]);
    expect(missed.wakeAt).toBe(T0 + 2 * MIN - 400);
    expect(decideTick(timing({}), T0 + MIN + 900, perMinute)).toEqual({ steps: [{ kind: "arm", at: T0 + MIN, next: T0 + 2 * MIN }], wakeAt: T0 + MIN });
  });

  it("a schedule with no next run asks for no wake-up", () => {
    expect(decideTick(timing({ nextRun: null }), T0, perMinute)).toEqual({ steps: [], wakeAt: null });
  });
});

describe("planCatchUp", () => {
  it("once: one run for the latest, standing for every occurrence since the first missed", () => {
    const plan = planCatchUp(T0 + MIN, T0 + 5 * MIN + 20 * S, "once", perMinute);
    expect(plan.occurrences).toEqual([{ scheduledFor: T0 + 5 * MIN, skipped: null, covers: { from: T0 + MIN, count: 5 } }]);
    expect(plan.next).toBe(T0 + 6 * MIN);
    expect(plan.missed).toEqual({ first: T0 + MIN, count: 5, countIsFloor: false });
  });

  it("once with a single missed occurrence covers nothing else", () => {
    expect(planCatchUp(T0 + MIN, T0 + MIN + 5 * S, "once", perMinute).occurrences).toEqual([{ scheduledFor: T0 + MIN, skipped: null, covers: null }]);
  });

  it("skip records each skipped; all runs each, oldest first", () => {
    const skip = planCatchUp(T0 + MIN, T0 + 3 * MIN + 1 * S, "skip", perMinute);
    expect(skip.occurrences).toEqual([1, 2, 3].map((m) => ({ scheduledFor: T0 + m * MIN, skipped: "missed", covers: null })));
    const all = planCatchUp(T0 + MIN, T0 + 3 * MIN + 1 * S, "all", perMinute);
    expect(all.occurrences.map((o) => [o.scheduledFor, o.skipped])).toEqual([1, 2, 3].map((m) => [T0 + m * MIN, null]));
  });

  it("more than 100 missed: the newest 100 are kept, the oldest of them stands for the rest, none unaccounted for", () => {
    const now = T0 + 250 * S + 500; // 250 per-second occurrences since T0 + 1 s
    for (const policy of ["all", "skip"] as const) {
      const plan = planCatchUp(T0 + S, now, policy, perSecond);
      expect(plan.occurrences).toHaveLength(100);
      expect(plan.occurrences[0]).toMatchObject({ scheduledFor: T0 + 151 * S, covers: { from: T0 + S, count: 151 } });
      expect(plan.occurrences[99]!.scheduledFor).toBe(T0 + 250 * S);
      expect(plan.occurrences.slice(1).every((o) => o.covers === null)).toBe(true);
      expect(plan.missed.count).toBe(250);
    }
    const once = planCatchUp(T0 + S, now, "once", perSecond);
    expect(once.occurrences).toEqual([{ scheduledFor: T0 + 250 * S, skipped: null, covers: { from: T0 + S, count: 250 } }]);
  });

  it("a week of every-second occurrences counts up to the limit and says the count is a floor", () => {
    const plan = planCatchUp(T0 + S, T0 + 7 * 24 * 3600 * S, "once", perSecond);
    expect(plan.missed.countIsFloor).toBe(true);
    expect(plan.occurrences).toHaveLength(1);
    expect(plan.occurrences[0]!.scheduledFor).toBe(T0 + 7 * 24 * 3600 * S);
  });
});

describe("decideAdmission", () => {
  const admit = (overlap: "skip" | "queue" | "allow" | "replace", inFlight: number, queued = 0, trigger: "schedule" | "catch-up" = "schedule") =>
    decideAdmission({ overlap, trigger, inFlight, queued });

  it("starts when nothing of the schedule is in flight or queued, whatever the policy", () => {
    for (const overlap of ["skip", "queue", "allow", "replace"] as const) expect(admit(overlap, 0)).toEqual({ kind: "start" });
  });

  it("with a run in flight (a run waiting for a slot counts): skip, queue, allow, replace", () => {
    expect(admit("skip", 1)).toEqual({ kind: "skip", code: "overlap" });
    expect(admit("queue", 1)).toEqual({ kind: "queue" });
    expect(admit("allow", 2)).toEqual({ kind: "start" });
    expect(admit("replace", 1)).toEqual({ kind: "replace" });
  });

  it("skip says when the previous run has not begun and only waits for a run slot", () => {
    const skip = (inFlight: number, waitingForSlot: number) => decideAdmission({ overlap: "skip", trigger: "schedule", inFlight, waitingForSlot, queued: 0 });
    expect(skip(1, 1)).toEqual({ kind: "skip", code: "overlap-slot" });
    expect(skip(2, 1)).toEqual({ kind: "skip", code: "overlap" });
    expect(skip(1, 0)).toEqual({ kind: "skip", code: "overlap" });
    expect(skipMessage("overlap-slot", "once")).toMatch(/waiting for a free run slot.*max_concurrent_runs/);
  });

  it("the queue holds 100 at most", () => {
    expect(admit("queue", 1, 99)).toEqual({ kind: "queue" });
    expect(admit("queue", 1, 100)).toEqual({ kind: "skip", code: "queue-full" });
  });

  it("a catch-up run is never skipped for overlap: it queues behind the run in flight", () => {
    expect(admit("skip", 1, 0, "catch-up")).toEqual({ kind: "queue" });
  });

  it("drains one queued occurrence once nothing is in flight, unless stopping", () => {
    expect(shouldDrain(0, 2, false)).toBe(true);
    expect(shouldDrain(1, 2, false)).toBe(false);
    expect(shouldDrain(0, 0, false)).toBe(false);
    expect(shouldDrain(0, 2, true)).toBe(false);
  });
});

describe("decideStart", () => {
  const input = (over: Partial<StartInput>): StartInput => ({
    trigger: "schedule",
    scheduledFor: T0,
    now: T0 + 20,
    catchUp: "once",
    overlap: "skip",
    following: T0 + MIN,
    waited: null,
    stopping: false,
    ...over,
  });

  it("starts an occurrence on time", () => {
    expect(decideStart(input({}))).toEqual({ kind: "start" });
  });

  it("hands the occurrence back when the host is stopping", () => {
    expect(decideStart(input({ stopping: true }))).toEqual({ kind: "release" });
  });

  it("one that waited (queue, or a slot) runs late on purpose; under overlap: allow a slot wait past the next occurrence is skipped", () => {
    expect(decideStart(input({ waited: "queue", now: T0 + 5 * MIN }))).toEqual({ kind: "start" });
    expect(decideStart(input({ waited: "slot", now: T0 + 5 * MIN }))).toEqual({ kind: "start" });
    expect(decideStart(input({ waited: "slot", overlap: "allow", now: T0 + MIN }))).toEqual({ kind: "skip", code: "slot-wait" });
    expect(decideStart(input({ waited: "slot", overlap: "allow", now: T0 + 50 * S }))).toEqual({ kind: "start" });
  });

  it("a freeze right after admission: skip records it, once skips it if the next is due too, otherwise it runs as a catch-up", () => {
    const frozen = { now: T0 + 70 * S };
    expect(decideStart(input({ ...frozen, catchUp: "skip" }))).toEqual({ kind: "skip", code: "missed" });
    expect(decideStart(input({ ...frozen, catchUp: "once" }))).toEqual({ kind: "skip", code: "missed" });
    expect(decideStart(input({ ...frozen, catchUp: "all" }))).toEqual({ kind: "catch-up" });
    expect(decideStart(input({ now: T0 + 30 * S, catchUp: "once" }))).toEqual({ kind: "catch-up" });
    expect(decideStart(input({ now: T0 + 900, catchUp: "skip" }))).toEqual({ kind: "start" });
  });

  it("manual runs, retries and catch-up runs start whenever they get there", () => {
    for (const trigger of ["manual", "retry", "catch-up"] as const) {
      expect(decideStart(input({ trigger, now: T0 + 5 * MIN, waited: "slot", overlap: "allow", catchUp: "skip" }))).toEqual({ kind: "start" });
    }
  });
});

describe("decideRetry", () => {
  const base = { trigger: "schedule" as const, attempt: 1, retryCount: 2, retryDelaySec: 30, now: T0, stopping: false };

  it("retries a failure or a timeout after retry_delay while attempts are left", () => {
    expect(decideRetry({ ...base, status: "failure" })).toEqual({ at: T0 + 30 * S });
    expect(decideRetry({ ...base, status: "timeout", attempt: 2 })).toEqual({ at: T0 + 30 * S });
    expect(decideRetry({ ...base, status: "failure", attempt: 3 })).toBeNull();
  });

  it("never after a success, an interruption, a manual run, or once the host is stopping", () => {
    expect(decideRetry({ ...base, status: "success" })).toBeNull();
    expect(decideRetry({ ...base, status: "interrupted" })).toBeNull();
    expect(decideRetry({ ...base, status: "failure", trigger: "manual" })).toBeNull();
    expect(decideRetry({ ...base, status: "failure", stopping: true })).toBeNull();
  });
});

describe("skipMessage", () => {
  it("names the policy that decided", () => {
    expect(skipMessage("missed", "skip")).toMatch(/catch_up: skip/);
    expect(skipMessage("missed", "once")).toMatch(/catch_up: once/);
    expect(skipMessage("overlap", "once")).toMatch(/overlap: skip/);
    expect(skipMessage("slot-wait", "once")).toMatch(/max_concurrent_runs/);
  });
});
