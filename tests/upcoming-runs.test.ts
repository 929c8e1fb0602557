import { describe, expect, it } from "vitest";
import { REST_GAP_MS, REST_IDLE_MS, UpcomingRuns } from "../runtime/run/isolates/upcoming-runs.ts";
import { idleTimeMs, SURPLUS_IDLE_MS } from "../runtime/run/isolates/isolate-pool-options.ts";

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

describe("idleTimeMs", () => {
  const options = (rest: boolean) => ({ idleMs: { context: 90_000, task: 300_000 }, mayRest: () => rest });
  const context = { key: "context:512", mode: "context" as const, memoryLimitMb: 512 };
  it("a core worker rests soon only when its group may; a surplus one goes soon anyway; a task worker keeps its time", () => {
    expect(idleTimeMs(context, false, options(false))).toEqual({ ms: 90_000, resting: false });
    expect(idleTimeMs(context, false, options(true))).toEqual({ ms: REST_IDLE_MS, resting: true });
    expect(idleTimeMs(context, true, options(true))).toEqual({ ms: SURPLUS_IDLE_MS, resting: false });
    expect(idleTimeMs({ key: "task:a", mode: "task", memoryLimitMb: 512, taskId: "a" }, false, options(true))).toEqual({ ms: 300_000, resting: false });
  });
});
