/**
 * Issue 10 item 8 on a fake clock: the machine sleeps (the clock jumps, timers
 * fire late) with an occurrence armed, admitted, or told to begin. What the
 * sleep made late is handled by catch_up, never run as a late `schedule`.
 */
import { describe, expect, it } from "vitest";
import type { RunRow } from "../runtime/store/ledger.ts";
import { at, harnessPerTest, MIN, S, T0, task, type Harness } from "./support/scheduler-harness.ts";

const make = harnessPerTest();

const brief = (runs: RunRow[]) => runs.map((r) => `${new Date(r.scheduledFor!).toISOString().slice(11, 19)} ${r.trigger} ${r.status}`);

/** A run's trigger as the ledger, the run.start event, the host log and ctx.trigger (the launch that began) say it. */
function triggers(h: Harness, row: RunRow): string[] {
  const event = h.events.find((e) => e.name === "run.start" && (e.info as { runId: number }).runId === row.id)!.info as { trigger: string };
  const logged = h.logs.find((l) => l.fields.event === "run.start" && l.fields.runId === row.id)!.fields;
  const began = h.launcher.runs.find((r) => r.request.runId === row.id && r.startedAt !== null)!;
  return [row.trigger, event.trigger, String(logged.trigger), began.request.trigger];
}

describe("a machine that sleeps (the clock jumps, timers fire late)", () => {
  it("once: the armed occurrence is recorded skipped, one catch-up run stands for the rest", async () => {
    const h = await make({ start: T0 });
    await h.scheduler.setTask(task("sleepy"));
    h.scheduler.start();
    await h.time.advanceTo(at("10:01:59.800"));
    expect(h.scheduler.nextRunOf("sleepy#run")).toBe(at("10:02:00")); // armed
    await h.time.freeze(3.5 * MIN);
    await h.time.advance(S);
    const rows = await h.runs("sleepy");
    expect(brief(rows)).toEqual(["10:01:00 schedule success", "10:02:00 schedule skipped", "10:05:00 catch-up success"]);
    expect(rows[1]!.error).toMatch(/catch_up: once/);
    expect(rows[2]).toMatchObject({ coversFrom: at("10:03:00"), coversCount: 3 });
    expect(h.events.find((e) => e.name === "occurrence.missed")!.info).toMatchObject({ cause: "asleep" });
  });

  it("skip: an armed occurrence found 30 s late is recorded skipped, not run late (issue 10 item 8)", async () => {
    const h = await make({ start: T0 });
    await h.scheduler.setTask(task("skipper", { meta: { catchUp: "skip" } }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:00:59.800"));
    await h.time.freeze(30 * S);
    const rows = await h.runs("skipper");
    expect(brief(rows)).toEqual(["10:01:00 schedule skipped"]);
    expect(rows[0]!.error).toMatch(/catch_up: skip/);
    expect(h.launcher.runs.every((r) => r.startedAt === null)).toBe(true);
  });

  it("once: an armed occurrence found late runs as a catch-up, the same in the log, the event, ctx and the ledger", async () => {
    const h = await make({ start: T0 });
    await h.scheduler.setTask(task("late"));
    h.scheduler.start();
    await h.time.advanceTo(at("10:00:59.800"));
    await h.time.freeze(30 * S);
    const rows = await h.runs("late");
    expect(brief(rows)).toEqual(["10:01:00 catch-up success"]);
    const logged = h.logs.find((l) => l.fields.event === "run.start")!.fields;
    expect(triggers(h, rows[0]!)).toEqual(["catch-up", "catch-up", "catch-up", "catch-up"]);
    expect(logged.lagMs).toBe(29_800);
    // The run pre-warmed as `schedule` was given up, not begun.
    expect(h.launcher.of("late#run").map((r) => [r.request.trigger, r.startedAt !== null])).toEqual([["schedule", false], ["catch-up", true]]);
  });

  it("all: an armed occurrence found 3.5 s late runs as a catch-up, not as a late `schedule`", async () => {
    const h = await make({ start: T0 });
    await h.scheduler.setTask(task("all", { meta: { catchUp: "all" } }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:01:59.750"));
    await h.time.freeze(3500);
    await h.time.advance(S);
    const rows = await h.runs("all");
    expect(brief(rows)).toEqual(["10:01:00 schedule success", "10:02:00 catch-up success"]);
    expect(triggers(h, rows[1]!)).toEqual(["catch-up", "catch-up", "catch-up", "catch-up"]);
  });

  it("all: an armed occurrence found late while the previous run runs is queued behind it, not skipped for overlap", async () => {
    const h = await make({ start: T0 });
    // The 10:01 run is still running when the machine sleeps, just before 10:02.
    h.launcher.plan = (request) => ({ durationMs: request.scheduledFor === at("10:01:00") ? 60_500 : 100 });
    await h.scheduler.setTask(task("busy", { meta: { catchUp: "all" } }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:01:59.800"));
    await h.time.freeze(3.5 * MIN);
    await h.time.advance(5 * S);
    const rows = await h.runs("busy");
    expect(brief(rows)).toEqual(["10:01:00 schedule success", "10:02:00 catch-up success", "10:03:00 catch-up success", "10:04:00 catch-up success", "10:05:00 catch-up success"]);
    // Oldest first, one after another.
    const started = h.launcher.runs.filter((r) => r.startedAt !== null);
    expect(started.map((r) => r.request.scheduledFor)).toEqual([at("10:01:00"), at("10:02:00"), at("10:03:00"), at("10:04:00"), at("10:05:00")]);
  });
});

describe("a freeze right after an occurrence was admitted (issue 10 item 8)", () => {
  /** The claim's write is held back until the clock has jumped: the run is admitted, then the machine sleeps. */
  async function frozenAfterAdmission(catchUp: "skip" | "all") {
    const h = await make({ start: T0 });
    const real = h.ledger.claimOccurrences.bind(h.ledger);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let held = 0;
    h.ledger.claimOccurrences = async (claim) => {
      if (held++ === 0) await gate;
      return real(claim);
    };
    h.launcher.plan = () => ({ durationMs: 100 });
    await h.scheduler.setTask(task("frozen", { meta: { catchUp } }));
    h.scheduler.start();
    // While the claim is held, waiting for the scheduler's writes would wait for it.
    const settle = h.time.settle;
    h.time.settle = async () => {
      for (let i = 0; i < 4; i++) await new Promise((resolve) => setImmediate(resolve));
    };
    await h.time.advanceTo(at("10:01:00.010")); // fired and admitted; its claim not written yet
    expect(h.scheduler.runningCount).toBe(1);
    await h.time.freeze(70 * S);
    release();
    h.time.settle = settle;
    await h.time.advance(2 * S);
    return h;
  }

  it("skip: the admitted occurrence is recorded skipped, not run 70 s late", async () => {
    const h = await frozenAfterAdmission("skip");
    const rows = await h.runs("frozen");
    expect(brief(rows)).toEqual(["10:01:00 schedule skipped", "10:02:00 catch-up skipped"]);
  });

  it("all: it runs as a catch-up, and the occurrence missed meanwhile is caught up after it instead of skipped for overlap", async () => {
    const h = await frozenAfterAdmission("all");
    const rows = await h.runs("frozen");
    expect(brief(rows)).toEqual(["10:01:00 catch-up success", "10:02:00 catch-up success"]);
    expect(triggers(h, rows[0]!)).toEqual(["catch-up", "catch-up", "catch-up", "catch-up"]);
  });
});

describe("a freeze between a run's start and its code beginning (issue 10 item 8)", () => {
  /** The 10:01 run is told to begin; its code has not begun when the machine sleeps for `ms`. */
  async function frozenWhileBeginning(catchUp: "once" | "skip" | "all", ms: number) {
    const h = await make({ start: T0 });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    h.launcher.plan = (request) => ({ durationMs: 100, ...(request.scheduledFor === at("10:01:00") && request.trigger === "schedule" ? { beginsAfter: gate } : {}) });
    await h.scheduler.setTask(task("frozen", { meta: { catchUp } }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:01:00.030"));
    expect(h.launcher.of("frozen#run")[0]!.startedAt).toBeNull();
    await h.time.freeze(ms);
    release();
    await h.time.advance(2 * S);
    return h;
  }

  it("once: its code does not begin 3.5 s late as `schedule`; it runs as a catch-up", async () => {
    const h = await frozenWhileBeginning("once", 3500);
    const rows = await h.runs("frozen");
    expect(brief(rows)).toEqual(["10:01:00 catch-up success"]);
    expect(triggers(h, rows[0]!)).toEqual(["catch-up", "catch-up", "catch-up", "catch-up"]);
    expect(h.logs.some((l) => l.fields.event === "run.not_begun")).toBe(true);
  });

  it("skip: it is recorded skipped, its code never begun", async () => {
    const h = await frozenWhileBeginning("skip", 3500);
    const rows = await h.runs("frozen");
    expect(brief(rows)).toEqual(["10:01:00 schedule skipped"]);
    expect(rows[0]!.error).toMatch(/catch_up: skip/);
    expect(h.launcher.runs.every((r) => r.startedAt === null)).toBe(true);
  });

  it("all: a longer sleep runs it as a catch-up, then the occurrences missed meanwhile, oldest first", async () => {
    const h = await frozenWhileBeginning("all", 2.5 * MIN);
    const rows = await h.runs("frozen");
    expect(brief(rows)).toEqual(["10:01:00 catch-up success", "10:02:00 catch-up success", "10:03:00 catch-up success"]);
  });

  it("a short stall (under a second) is not a freeze: it runs as `schedule`", async () => {
    const h = await frozenWhileBeginning("skip", 500);
    expect(brief(await h.runs("frozen"))).toEqual(["10:01:00 schedule success"]);
  });
});
