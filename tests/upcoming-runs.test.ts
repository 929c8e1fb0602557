import { describe, expect, it } from "vitest";
import { REST_GAP_MS, UpcomingRuns, WAKE_AHEAD_MS } from "../runtime/run/isolates/upcoming-runs.ts";
import { idleTimeMs, REST_IDLE_MS, SURPLUS_IDLE_MS } from "../runtime/run/isolates/isolate-pool-options.ts";
import { IdleTimers } from "../runtime/run/isolates/idle-timers.ts";

const T0 = Date.parse("2026-12-01T10:00:00Z");

describe("UpcomingRuns (whether a context group's core workers may rest)", () => {
  it("rests when the next run expected is at least REST_GAP_MS away, not when nothing is known", () => {
    let now = T0;
    const upcoming = new UpcomingRuns(() => now);
    expect(upcoming.mayRest("context:512")).toBe(false);
    upcoming.note("context:512", "a#start", T0 + 60_000);
    expect(upcoming.mayRest("context:512")).toBe(true);
    expect(upcoming.mayRest("context:64")).toBe(false);
    now = T0 + 60_000 - REST_GAP_MS + 1;
    expect(upcoming.mayRest("context:512")).toBe(false);
  });

  it("takes the earliest schedule of the group; a schedule without a next occurrence drops out", () => {
    const upcoming = new UpcomingRuns(() => T0);
    upcoming.note("g", "a#start", T0 + 60_000);
    upcoming.note("g", "b#start", T0 + 5_000);
    expect(upcoming.mayRest("g")).toBe(false);
    upcoming.note("g", "b#start", null);
    expect(upcoming.mayRest("g")).toBe(true);
  });

  it("forgets an occurrence long past (a paused task) and a removed task's schedules", () => {
    let now = T0;
    const upcoming = new UpcomingRuns(() => now);
    upcoming.note("g", "paused#start", T0 + 1_000);
    upcoming.note("g", "sparse#start", T0 + 120_000);
    expect(upcoming.mayRest("g")).toBe(false);
    now = T0 + 1_000 + 5_001;
    expect(upcoming.mayRest("g")).toBe(true);
    upcoming.note("g", "soon#run", now + 1_000);
    upcoming.forgetTask("soon");
    expect(upcoming.mayRest("g")).toBe(true);
  });
});

describe("UpcomingRuns.wakeAt", () => {
  it("is WAKE_AHEAD_MS before the next run of a group that may rest, null otherwise", () => {
    const upcoming = new UpcomingRuns(() => T0);
    expect(upcoming.wakeAt("g")).toBeNull();
    upcoming.note("g", "a#start", T0 + 60_000);
    expect(upcoming.wakeAt("g")).toBe(T0 + 60_000 - WAKE_AHEAD_MS);
    upcoming.note("g", "b#start", T0 + 10_000);
    expect(upcoming.wakeAt("g")).toBeNull();
  });
});

describe("IdleTimers", () => {
  it("retires an idle worker when its time is up; hasten brings a later time forward, never a sooner one back", async () => {
    const retired: string[] = [];
    // As the pool does: an expired worker retires, which clears it.
    const timers: IdleTimers<string> = new IdleTimers<string>((worker) => {
      retired.push(worker);
      timers.clear(worker);
    });
    timers.arm("late", 60_000);
    timers.arm("soon", 50);
    timers.hasten(["late", "soon"], 200);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(retired).toEqual(["soon"]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(retired).toEqual(["soon", "late"]);
    timers.arm("handed-out", 50);
    timers.clear("handed-out");
    expect(timers.oldest(() => true)).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(retired).toEqual(["soon", "late"]);
  });
});

describe("idleTimeMs", () => {
  const options = (rest: boolean) => ({ idleMs: { context: 90_000, task: 300_000 }, mayRest: () => rest });
  const context = { key: "context:512", mode: "context" as const, memoryLimitMb: 512 };
  it("a core worker rests soon only when its group may; a surplus one goes soon anyway, sooner when the group rests; a task worker keeps its time", () => {
    expect(idleTimeMs(context, false, options(false))).toEqual({ ms: 90_000, resting: false });
    expect(idleTimeMs(context, false, options(true))).toEqual({ ms: REST_IDLE_MS, resting: true });
    expect(idleTimeMs(context, true, options(false))).toEqual({ ms: SURPLUS_IDLE_MS, resting: false });
    expect(idleTimeMs(context, true, options(true))).toEqual({ ms: REST_IDLE_MS, resting: true });
    expect(idleTimeMs({ key: "task:a", mode: "task", memoryLimitMb: 512, taskId: "a" }, false, options(true))).toEqual({ ms: 300_000, resting: false });
  });
});
