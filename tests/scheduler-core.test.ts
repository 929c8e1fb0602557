/**
 * The scheduler (the coordinator) on a fake clock with a fake launcher and a
 * real sql.js ledger: what runs when, and what the ledger records, in
 * milliseconds of real time.
 */
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import type { RunRow } from "../runtime/store/ledger.ts";
import { GO_AHEAD_MS } from "../runtime/scheduler/scheduling-policy.ts";
import { at, every, harnessPerTest, MIN, S, T0, task, withScheduler } from "./support/scheduler-harness.ts";

const make = harnessPerTest();

const brief = (runs: RunRow[]) => runs.map((r) => `${new Date(r.scheduledFor!).toISOString().slice(11, 19)} ${r.trigger} ${r.status}${r.attempt > 1 ? ` #${r.attempt}` : ""}`);

describe("the clock loop", () => {
  it("runs each occurrence on its aligned instant, launched the launcher's lead time ahead of the time it may go ahead", async () => {
    const h = await make({ start: at("10:02:13") });
    h.launcher.lead = 1500;
    await h.scheduler.setTask(task("five", { spec: every(5, "minute") }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:10:30"));
    const runs = h.launcher.of("five#run");
    expect(runs.map((r) => [r.request.scheduledFor, r.launchedAt, r.startedAt])).toEqual([
      [at("10:05:00"), at("10:05:00") - 1500 - GO_AHEAD_MS, at("10:05:00")],
      [at("10:10:00"), at("10:10:00") - 1500 - GO_AHEAD_MS, at("10:10:00")],
    ]);
    const rows = await h.runs("five");
    expect(brief(rows)).toEqual(["10:05:00 schedule success", "10:10:00 schedule success"]);
    expect(rows.every((r) => r.host === "host-a")).toBe(true);
    expect(h.scheduler.nextRunOf("five#run")).toBe(at("10:15:00"));
  });

  it("a run loaded ahead is told to go GO_AHEAD_MS before its instant and begins on it; while a run of its task is in flight, on the instant", async () => {
    const h = await make({ start: at("10:02:13") });
    // The manual run ends 20 ms before 10:04:00, after the scheduled run would have been told ahead.
    h.launcher.plan = (request) => ({ durationMs: request.trigger === "manual" ? 30 * S - 20 : 0 });
    await h.scheduler.setTask(task("quick", { spec: every(1, "minute") }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:03:30"));
    const [first] = h.launcher.of("quick#run");
    expect([first!.startAskedAt, first!.notBefore, first!.startedAt]).toEqual([at("10:03:00") - GO_AHEAD_MS, at("10:03:00"), at("10:03:00")]);
    expect((await h.runs("quick")).map((r) => r.startedAt)).toEqual([at("10:03:00")]);
    // Its task's state may change until the manual run in flight ends: the next one is told on its instant.
    expect(h.time.now()).toBe(at("10:03:30"));
    await h.scheduler.startNow("quick");
    await h.time.advanceTo(at("10:04:30"));
    const second = h.launcher.of("quick#run").find((r) => r.request.scheduledFor === at("10:04:00"));
    expect([second!.startAskedAt, second!.startedAt]).toEqual([at("10:04:00"), at("10:04:00")]);
  });

  it("arms the runs of a crowded instant earlier, by how many are due then times the measured costs of arming and telling one", async () => {
    const h = await make({ start: at("10:02:13"), maxConcurrentRuns: 64 });
    h.launcher.lead = 1500;
    for (let i = 0; i < 50; i++) await h.scheduler.setTask(task(`crowd${i}`, { spec: every(5, "minute") }));
    await h.scheduler.setTask(task("alone", { spec: every(7, "minute") }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:10:30"));
    const first = h.launcher.runs.filter((r) => r.request.scheduledFor === at("10:05:00"));
    expect(first).toHaveLength(50);
    // Before any measurement a run is taken to cost 1 ms to arm: 49 others may come first. They are also
    // told to go earlier: 2 ms to tell each (three times over), and 2 ms a load queued on each of the lanes.
    const tellAhead = Math.round(49 * 2 * 3 + Math.ceil(50 / (availableParallelism() + 1)) * 2);
    expect(new Set(first.map((r) => r.launchedAt))).toEqual(new Set([at("10:05:00") - 1500 - GO_AHEAD_MS - 49 - tellAhead]));
    expect(first.every((r) => r.startedAt === at("10:05:00"))).toBe(true);
    // On the fake clock arming took no time: the next crowd is armed less early.
    const second = h.launcher.runs.filter((r) => r.request.scheduledFor === at("10:10:00"));
    expect(second).toHaveLength(50);
    expect(Math.min(...second.map((r) => r.launchedAt))).toBeGreaterThan(at("10:10:00") - 1500 - GO_AHEAD_MS - 49 - tellAhead);
    // A run alone on its instant keeps the launcher's lead.
    expect(h.launcher.of("alone#run").map((r) => r.launchedAt)).toEqual([at("10:09:00") - 1500 - GO_AHEAD_MS]);
  });

  it("a crowd's runs that load later than their lead said are told to go as each loads, not on the instant", async () => {
    // A bench finding: 1 boundary in 10 of 100 every-second runs began ~30 ms late, all of them, because their
    // loads came in after the crowd's go-ahead had begun and only the base GO_AHEAD_MS was checked then.
    const h = await make({ start: at("10:02:13"), maxConcurrentRuns: 64 });
    h.launcher.lead = 400;
    h.launcher.plan = () => ({ durationMs: 0, loadMs: 500 });
    for (let i = 0; i < 20; i++) await h.scheduler.setTask(task(`slow${i}`, { spec: every(5, "minute") }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:05:30"));
    const runs = h.launcher.runs.filter((r) => r.request.scheduledFor === at("10:05:00"));
    expect(runs).toHaveLength(20);
    // Armed 400 + 19 + the crowd's go-ahead (tellAhead, as above) ahead; loaded 500 ms later, still ahead of the instant.
    const tellAhead = Math.round(19 * 2 * 3 + Math.ceil(20 / (availableParallelism() + 1)) * 2);
    const loadedAt = at("10:05:00") - 400 - GO_AHEAD_MS - 19 - tellAhead + 500;
    expect(loadedAt).toBeLessThan(at("10:05:00") - GO_AHEAD_MS);
    expect(runs.map((r) => r.startAskedAt)).toEqual(runs.map(() => loadedAt));
    expect(runs.every((r) => r.startedAt === at("10:05:00"))).toBe(true);
  });

  it("a failure around one schedule is logged and the others keep running", async () => {
    const h = await make({ start: T0 });
    const lead = h.launcher.leadTimeMs.bind(h.launcher);
    h.launcher.leadTimeMs = (taskId, isolation) => {
      if (taskId === "bad") throw new Error("no lead time for you");
      return lead(taskId, isolation);
    };
    await h.scheduler.setTask(task("bad"));
    await h.scheduler.setTask(task("good"));
    h.scheduler.start();
    await h.time.advanceTo(at("10:02:10"));
    expect(brief(await h.runs("good"))).toEqual(["10:01:00 schedule success", "10:02:00 schedule success"]);
    expect(h.logs.some((l) => l.level === "error" && /tick of bad#run failed: no lead time for you/.test(l.message))).toBe(true);
  });

  it("a new schedule counts from start(), not from when its file loaded", async () => {
    const h = await make({ start: T0 });
    await h.scheduler.setTask(task("late-start"));
    await h.time.advance(10 * MIN); // a slow cold start: no run, no catch-up for it
    h.scheduler.start();
    await h.time.advance(MIN);
    expect(brief(await h.runs("late-start"))).toEqual(["10:11:00 schedule success"]);
  });

  it("a new schedule has no next run in the ledger until start(), so a scheduler that never starts (an offline command) leaves it to the next host", async () => {
    const h = await make({ start: T0 });
    await h.scheduler.setTask(task("fresh"));
    expect((await h.ledger.getSchedule("fresh#run"))!.nextRun).toBeNull();
    expect(h.scheduler.overdueSchedules()).toEqual([]);
    await h.time.advance(10 * MIN);
    h.scheduler.start();
    await h.scheduler.idle();
    expect((await h.ledger.getSchedule("fresh#run"))!.nextRun).toBe(at("10:11:00"));
  });
});

describe("overlap", () => {
  it("skip: an occurrence due while the previous run runs is recorded skipped, with a run.skipped event", async () => {
    const h = await make({ start: T0 });
    h.launcher.plan = () => ({ durationMs: 90 * S });
    await h.scheduler.setTask(task("slow"));
    h.scheduler.start();
    await h.time.advanceTo(at("10:04:00"));
    const rows = await h.runs("slow");
    expect(brief(rows)).toEqual(["10:01:00 schedule success", "10:02:00 schedule skipped", "10:03:00 schedule running", "10:04:00 schedule skipped"]);
    expect(rows[1]!.error).toMatch(/overlap: skip/);
    expect(h.events.filter((e) => e.name === "run.skipped").map((e) => (e.info as { code: string }).code)).toEqual(["overlap", "overlap"]);
  });

  it("queue: occurrences wait and run one after another; the queue holds 100, then skips", async () => {
    const h = await make({ start: T0 });
    h.launcher.plan = () => ({ durationMs: 90 * S });
    await h.scheduler.setTask(task("queued", { meta: { overlap: "queue" } }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:05:10"));
    expect(brief(await h.runs("queued"))).toEqual([
      "10:01:00 schedule success",
      "10:02:00 schedule success",
      "10:03:00 schedule running",
      "10:04:00 schedule running",
      "10:05:00 schedule running",
    ]);
    // Queued ones let go of their pre-loaded code meanwhile, and are loaded again when their turn comes.
    const started = h.launcher.of("queued#run").filter((r) => r.startedAt !== null);
    expect(started.map((r) => [r.request.scheduledFor, r.startedAt])).toEqual([
      [at("10:01:00"), at("10:01:00")],
      [at("10:02:00"), at("10:02:30")],
      [at("10:03:00"), at("10:04:00")],
    ]);
    expect(h.launcher.running()).toHaveLength(1);

    const full = await make({ start: T0 });
    full.launcher.plan = () => ({ durationMs: Infinity });
    await full.scheduler.setTask(task("full", { spec: every(1, "second"), meta: { overlap: "queue" } }));
    full.scheduler.start();
    await full.time.advance(103 * S);
    const rows = await full.runs("full");
    expect(rows.filter((r) => r.status === "running")).toHaveLength(101); // 1 running + 100 queued
    expect(rows.filter((r) => r.status === "skipped").map((r) => r.error)).toEqual([expect.stringMatching(/100 occurrences already queued/), expect.stringMatching(/100 occurrences already queued/)]);
    expect(full.launcher.running()).toHaveLength(1);
  });

  it("allow: runs overlap", async () => {
    const h = await make({ start: T0 });
    h.launcher.plan = () => ({ durationMs: 150 * S });
    await h.scheduler.setTask(task("free", { meta: { overlap: "allow" } }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:03:10"));
    expect(h.launcher.running().map((r) => r.request.scheduledFor)).toEqual([at("10:01:00"), at("10:02:00"), at("10:03:00")]);
  });

  it("replace: the run in flight is stopped (interrupted after its grace) and the new one starts", async () => {
    const h = await make({ start: T0 });
    h.launcher.plan = () => ({ durationMs: Infinity });
    await h.scheduler.setTask(task("newest", { meta: { overlap: "replace", timeoutSec: 8 } }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:02:05"));
    const [first, second] = h.launcher.of("newest#run");
    expect(first!.stopped).toMatchObject({ status: "interrupted", reason: expect.stringMatching(/replaced by a newer occurrence/), graceMs: 2000 });
    expect(second!.startedAt).toBe(at("10:02:00"));
    expect(brief(await h.runs("newest"))).toEqual(["10:01:00 schedule interrupted", "10:02:00 schedule running"]);
  });

  it("a run waiting for a run slot counts as the previous run (issue 10 item 3)", async () => {
    const h = await make({ start: T0, maxConcurrentRuns: 2 });
    h.launcher.plan = (r) => ({ durationMs: r.task.id === "victim" ? 2500 : 4000 });
    await h.scheduler.setTask(task("victim", { spec: every(1, "second") }));
    for (const id of ["busy-a", "busy-b", "busy-c"]) await h.scheduler.setTask(task(id, { spec: every(3, "second") }));
    h.scheduler.start();
    await h.time.advance(30 * S);
    const victims = h.launcher.of("victim#run").filter((r) => r.startedAt !== null);
    // Never two of its runs at once, whatever the slots did.
    for (let i = 1; i < victims.length; i++) {
      const previous = await h.ledger.getRun(victims[i - 1]!.request.runId);
      expect(victims[i]!.startedAt!, `run ${i} started before run ${i - 1} ended`).toBeGreaterThanOrEqual(previous!.finishedAt!);
    }
    const skipped = (await h.runs("victim")).filter((r) => r.status === "skipped");
    expect(skipped.some((r) => /overlap: skip/.test(r.error!))).toBe(true);
  });
});

describe("run slots (max_concurrent_runs)", () => {
  it("runs beyond the limit wait for a slot and start as soon as one frees", async () => {
    const h = await make({ start: T0, maxConcurrentRuns: 2 });
    h.launcher.plan = () => ({ durationMs: 20 * S });
    for (const id of ["a", "b", "c"]) await h.scheduler.setTask(task(id));
    h.scheduler.start();
    await h.time.advanceTo(at("10:01:05"));
    expect(h.launcher.running()).toHaveLength(2);
    expect(h.scheduler.runningCount).toBe(3);
    await h.time.advanceTo(at("10:01:25"));
    const starts = h.launcher.runs.map((r) => r.startedAt).sort();
    expect(starts).toEqual([at("10:01:00"), at("10:01:00"), at("10:01:20")]);
  });

  it("overlap: skip — the run that waited for a slot runs once it gets one; the occurrences meanwhile were skipped for it", async () => {
    const h = await make({ start: T0, maxConcurrentRuns: 1 });
    h.launcher.plan = (r) => ({ durationMs: r.trigger === "manual" ? 100 * S : 1 * S });
    await h.scheduler.setTask(task("hog", { spec: every(1, "hour") }));
    await h.scheduler.setTask(task("starved"));
    h.scheduler.start();
    await h.scheduler.startNow("hog");
    await h.time.advanceTo(at("10:02:15"));
    const rows = await h.runs("starved");
    expect(brief(rows)).toEqual(["10:01:00 schedule success", "10:02:00 schedule skipped"]);
    // The run before it had not begun: the reason says it waited for a slot, not that it ran long.
    expect(rows[1]!.error).toBe("skipped: the previous run was still waiting for a free run slot (scheduler.max_concurrent_runs; overlap: skip)");
    expect(h.launcher.of("starved#run")[0]!.startedAt).toBe(at("10:02:10"));
  });

  it("overlap: allow — one that waited for a slot until its next occurrence was due is skipped; the next stands for it", async () => {
    const h = await make({ start: T0, maxConcurrentRuns: 1 });
    h.launcher.plan = (r) => ({ durationMs: r.trigger === "manual" ? 100 * S : 1 * S });
    await h.scheduler.setTask(task("hog", { spec: every(1, "hour") }));
    await h.scheduler.setTask(task("piled", { meta: { overlap: "allow" } }));
    h.scheduler.start();
    await h.scheduler.startNow("hog");
    await h.time.advanceTo(at("10:02:15"));
    const rows = await h.runs("piled");
    expect(brief(rows)).toEqual(["10:01:00 schedule skipped", "10:02:00 schedule success"]);
    expect(rows[0]!.error).toMatch(/waited for a free run slot/);
  });
});

describe("retries", () => {
  it("a failure is retried after retry_delay until retry_count is spent; run.end says when", async () => {
    const h = await make({ start: T0 });
    h.launcher.plan = () => ({ durationMs: 1 * S, status: "failure", error: "boom" });
    await h.scheduler.setTask(task("flaky", { spec: every(1, "hour"), meta: { retryCount: 2, retryDelaySec: 30 } }));
    h.scheduler.start();
    await h.time.advanceTo(at("11:05:00"));
    const rows = await h.runs("flaky");
    expect(brief(rows)).toEqual(["11:00:00 schedule failure", "11:00:00 retry failure #2", "11:00:00 retry failure #3"]);
    expect(h.launcher.runs.map((r) => r.startedAt)).toEqual([at("11:00:00"), at("11:00:31"), at("11:01:02")]);
    const ends = h.events.filter((e) => e.name === "run.end").map((e) => (e.info as { retryAt: number | null }).retryAt);
    expect(ends).toEqual([at("11:00:31"), at("11:01:02"), null]);
    // tasks.log says so, beside the task's own lines.
    const [first, second, third] = rows.map((r) => r.id);
    expect(h.taskLines.filter((l) => l.startsWith("error"))).toEqual([
      `error [flaky] run ${first} failed: boom; retrying at ${new Date(at("11:00:31")).toISOString()}`,
      `error [flaky] run ${second} failed: boom; retrying at ${new Date(at("11:01:02")).toISOString()}`,
      `error [flaky] run ${third} failed: boom`,
    ]);
  });

  it("a manual run is not retried", async () => {
    const h = await make({ start: T0 });
    h.launcher.plan = () => ({ durationMs: 1 * S, status: "failure" });
    await h.scheduler.setTask(task("manual", { spec: every(1, "hour"), meta: { retryCount: 3, retryDelaySec: 1 } }));
    h.scheduler.start();
    const { done } = await h.scheduler.startNow("manual");
    await h.time.advance(10 * S);
    expect((await done).status).toBe("failure");
    expect(await h.runs("manual")).toHaveLength(1);
  });
});

describe("history_per_task", () => {
  it("a task keeps no more runs than history_per_task (below 20: pruned after each run), skipped ones included", async () => {
    const h = await make({ start: T0, historyPerTask: 3 });
    h.launcher.plan = () => ({ durationMs: 90 * S });
    await h.scheduler.setTask(task("slow"));
    h.scheduler.start();
    // A run every other minute, the minutes between skipped (overlap: skip): 10 rows recorded in all.
    await h.time.advanceTo(at("10:10:00"));
    await h.scheduler.idle();
    expect(brief(await h.runs("slow"))).toEqual(["10:08:00 schedule skipped", "10:09:00 schedule running", "10:10:00 schedule skipped"]);
  });
});

/** A host ran `spec` until 10:02:30, stopped, and the next one starts `downFor` later. */
async function afterOutage(catchUp: "once" | "skip" | "all", downFor: number, spec = every(1, "minute")) {
  const a = await make({ start: T0 });
  await a.scheduler.setTask(task("t", { spec, meta: { catchUp } }));
  a.scheduler.start();
  await a.time.advanceTo(at("10:02:30"));
  await a.scheduler.stop(0);
  await a.time.advance(downFor);
  const b = withScheduler({ dir: a.dir, ledger: a.ledger, time: a.time, ownsLedger: false, owner: "host-b" });
  make.beside(b, a);
  await b.scheduler.recoverUnfinished();
  await b.scheduler.setTask(task("t", { spec, meta: { catchUp } }));
  b.scheduler.start();
  await b.time.advance(1 * S);
  return b;
}

/** Every occurrence from the first run to the last is a run, a skip, or inside a run's `covers` (issue 10 item 14). */
function unaccounted(rows: RunRow[], occurrences: number[]): number[] {
  const recorded = new Set(rows.map((r) => r.scheduledFor));
  const covered = (t: number) => rows.some((r) => r.coversFrom != null && r.coversFrom <= t && t <= r.scheduledFor!);
  return occurrences.filter((t) => !recorded.has(t) && !covered(t));
}

const minutesBetween = (from: number, to: number) => Array.from({ length: (to - from) / MIN + 1 }, (_, i) => from + i * MIN);

describe("catch-up after the host was down", () => {
  it("once: one catch-up run for the latest missed occurrence, standing for all 180, then back on the grid", async () => {
    const b = await afterOutage("once", 3 * 60 * MIN);
    await b.time.advanceTo(at("13:04:10"));
    const rows = await b.runs("t");
    expect(brief(rows)).toEqual(["10:01:00 schedule success", "10:02:00 schedule success", "13:02:00 catch-up success", "13:03:00 schedule success", "13:04:00 schedule success"]);
    expect(rows[2]).toMatchObject({ coversFrom: at("10:03:00"), coversCount: 180, host: "host-b" });
    expect(unaccounted(rows, minutesBetween(at("10:01:00"), at("13:04:00")))).toEqual([]);
    const missed = b.events.find((e) => e.name === "occurrence.missed")!.info;
    expect(missed).toMatchObject({ first: at("10:03:00"), count: 180, policy: "once", cause: "host-down" });
  });

  it("skip: the newest 100 are recorded skipped, the oldest of them covering the older ones", async () => {
    const b = await afterOutage("skip", 3 * 60 * MIN);
    const rows = await b.runs("t");
    const skipped = rows.filter((r) => r.status === "skipped");
    expect(skipped).toHaveLength(100);
    expect(skipped.every((r) => r.trigger === "catch-up" && /catch_up: skip/.test(r.error!))).toBe(true);
    expect(skipped[0]).toMatchObject({ scheduledFor: at("11:23:00"), coversFrom: at("10:03:00"), coversCount: 81 });
    expect(rows.filter((r) => r.status !== "skipped" && r.trigger === "catch-up")).toEqual([]);
    expect(unaccounted(rows, minutesBetween(at("10:01:00"), at("13:02:00")))).toEqual([]);
  });

  it("all: the newest 100 run one after another, oldest first", async () => {
    const b = await afterOutage("all", 3 * 60 * MIN);
    b.launcher.plan = () => ({ durationMs: 100 });
    await b.time.advance(30 * S);
    const catchUps = (await b.runs("t")).filter((r) => r.trigger === "catch-up");
    expect(catchUps).toHaveLength(100);
    expect(catchUps.every((r) => r.status === "success")).toBe(true);
    const starts = b.launcher.runs.filter((r) => r.request.trigger === "catch-up").map((r) => r.request.scheduledFor);
    expect(starts).toEqual([...starts].sort((x, y) => x - y));
    expect(starts[0]).toBe(at("11:23:00"));
  });

  it("a few missed under all: each runs, none skipped for overlap", async () => {
    const b = await afterOutage("all", 3 * MIN);
    await b.time.advance(5 * S);
    expect(brief(await b.runs("t"))).toEqual([
      "10:01:00 schedule success",
      "10:02:00 schedule success",
      "10:03:00 catch-up success",
      "10:04:00 catch-up success",
      "10:05:00 catch-up success",
    ]);
  });
});

describe("occurrences already recorded", () => {
  it("are not run again when the next run was moved back over them, and the schedule moves on", async () => {
    const a = await make({ start: T0 });
    await a.scheduler.setTask(task("again", { meta: { catchUp: "all" } }));
    a.scheduler.start();
    await a.time.advanceTo(at("10:03:30"));
    await a.scheduler.stop(0);
    await a.ledger.setNextRun("again#run", at("10:01:00")); // by hand, or a clock that stepped back
    const b = withScheduler({ dir: a.dir, ledger: a.ledger, time: a.time, ownsLedger: false, owner: "host-b" });
    make.beside(b, a);
    await b.scheduler.setTask(task("again", { meta: { catchUp: "all" } }));
    b.scheduler.start();
    await b.time.advanceTo(at("10:05:10"));
    expect(brief(await b.runs("again"))).toEqual(["10:01:00 schedule success", "10:02:00 schedule success", "10:03:00 schedule success", "10:04:00 schedule success", "10:05:00 schedule success"]);
    expect(b.logs.filter((l) => l.fields.event === "claim.taken")).toHaveLength(1);
  });
});

describe("pause, resume, reset, disabled", () => {
  it("a paused task does not run; resumed, it starts afresh from now without catching up", async () => {
    const h = await make({ start: T0 });
    await h.scheduler.setTask(task("p"));
    h.scheduler.start();
    await h.time.advanceTo(at("10:01:59.900")); // armed
    await h.scheduler.setPaused("p", true);
    expect(h.scheduler.isPaused("p")).toBe(true);
    await h.time.advanceTo(at("10:05:30"));
    // The armed claim was given back, not left behind.
    expect(brief(await h.runs("p"))).toEqual(["10:01:00 schedule success"]);
    await h.scheduler.setPaused("p", false);
    expect((await h.ledger.getSchedule("p#run"))!.nextRun).toBe(at("10:06:00"));
    await h.time.advanceTo(at("10:06:10"));
    expect(brief(await h.runs("p"))).toEqual(["10:01:00 schedule success", "10:06:00 schedule success"]);
    expect(h.events.filter((e) => e.name === "task.paused").map((e) => (e.info as { paused: boolean }).paused)).toEqual([true, false]);
  });

  it("reset: next runs recomputed from now, an armed claim given back, overdue ones listed first", async () => {
    const h = await make({ start: T0 });
    await h.scheduler.setTask(task("r", { spec: every(1, "hour") }));
    await h.scheduler.setPaused("r", true);
    h.scheduler.start();
    await h.time.advanceTo(at("12:30:00"));
    expect(h.scheduler.overdueSchedules()).toEqual([{ scheduleId: "r#run", taskId: "r", zone: "UTC", nextRun: at("11:00:00"), catchUp: "once", paused: true }]);
    const dry = await h.scheduler.resetSchedules(() => true, { futureOnly: true, dryRun: true });
    expect(dry).toEqual([{ scheduleId: "r#run", taskId: "r", zone: "UTC", before: at("11:00:00"), after: at("13:00:00") }]);
    expect(h.scheduler.nextRunOf("r#run")).toBe(at("11:00:00"));
    await h.scheduler.resetSchedules(() => true, { futureOnly: false, dryRun: false });
    expect((await h.ledger.getSchedule("r#run"))!.nextRun).toBe(at("13:00:00"));
    expect(h.scheduler.overdueSchedules()).toEqual([]);
  });

  it("a disabled task has no next run and never runs; enabled, it starts from now", async () => {
    const h = await make({ start: T0 });
    await h.scheduler.setTask(task("off", { meta: { enabled: false } }));
    h.scheduler.start();
    await h.time.advance(5 * MIN);
    expect(h.scheduler.nextRunOf("off#run")).toBeNull();
    expect((await h.ledger.getSchedule("off#run"))!.nextRun).toBeNull();
    expect(await h.runs("off")).toEqual([]);
    await h.scheduler.setTask(task("off"));
    expect(h.scheduler.nextRunOf("off#run")).toBe(at("10:06:00"));
    await h.time.advanceTo(at("10:06:10"));
    expect(brief(await h.runs("off"))).toEqual(["10:06:00 schedule success"]);
  });
});

describe("telling the launcher what is coming", () => {
  it("tells each schedule's next occurrence once it is known and as it moves on; not a paused task's", async () => {
    const h = await make({ start: T0, isolation: "context" });
    await h.scheduler.setTask(task("a", { meta: { memoryLimitMb: 128 } }));
    await h.scheduler.setTask(task("held"), { paused: true });
    h.scheduler.start();
    await h.time.advanceTo(at("10:00:31"));
    const told = () => h.launcher.expected.map((e) => `${e.scheduleId} ${new Date(e.at).toISOString().slice(11, 19)} ${e.isolation} ${e.memoryLimitMb}`);
    expect(new Set(told())).toEqual(new Set(["a#run 10:01:00 context 128"]));
    await h.time.advanceTo(at("10:02:30"));
    expect(new Set(told())).toEqual(new Set(["a#run 10:01:00 context 128", "a#run 10:02:00 context 128", "a#run 10:03:00 context 128"]));
  });
});

describe("reload", () => {
  it("a schedule changed while its run is in flight: the run finishes, counts for overlap, and its end lets the new schedule's queue run", async () => {
    const h = await make({ start: T0 });
    h.launcher.plan = () => ({ durationMs: 100 * S });
    await h.scheduler.setTask(task("re", { meta: { overlap: "queue" } }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:01:10"));
    await h.scheduler.setTask(task("re", { spec: every(30, "second"), meta: { overlap: "queue" } }));
    await h.time.advanceTo(at("10:02:45"));
    expect(brief(await h.runs("re"))).toEqual(["10:01:00 schedule success", "10:01:30 schedule running", "10:02:00 schedule running", "10:02:30 schedule running"]);
    expect(h.launcher.running().map((r) => r.request.scheduledFor)).toEqual([at("10:01:30")]);
    expect(h.launcher.running()[0]!.startedAt).toBe(at("10:02:40"));
  });

  it("an unchanged schedule keeps its next run; a removed task's runs in flight finish", async () => {
    const h = await make({ start: T0 });
    h.launcher.plan = () => ({ durationMs: 30 * S });
    await h.scheduler.setTask(task("keep"));
    h.scheduler.start();
    await h.time.advanceTo(at("10:01:10"));
    await h.scheduler.setTask(task("keep"));
    expect(h.scheduler.nextRunOf("keep#run")).toBe(at("10:02:00"));
    expect(h.launcher.forgotten).toEqual([]);
    h.scheduler.removeTask("keep");
    // What the launcher measured of the task goes with it (a host lives through months of task files).
    expect(h.launcher.forgotten).toEqual(["keep"]);
    await h.time.advanceTo(at("10:03:00"));
    expect(brief(await h.runs("keep"))).toEqual(["10:01:00 schedule success"]);
  });

  it("a removed task's run that had not begun (it waited for a run slot) is skipped, not started on the removed code", async () => {
    const h = await make({ start: T0, maxConcurrentRuns: 1 });
    h.launcher.plan = (r) => ({ durationMs: r.trigger === "manual" ? 100 * S : 1 * S });
    await h.scheduler.setTask(task("hog", { spec: every(1, "hour") }));
    await h.scheduler.setTask(task("gone"));
    h.scheduler.start();
    await h.scheduler.startNow("hog");
    await h.time.advanceTo(at("10:01:10"));
    expect(brief(await h.runs("gone"))).toEqual(["10:01:00 schedule running"]);
    h.scheduler.removeTask("gone");
    await h.time.advanceTo(at("10:03:00"));
    const rows = await h.runs("gone");
    expect(brief(rows)).toEqual(["10:01:00 schedule skipped"]);
    expect(rows[0]!.error).toBe("skipped: its task file was removed before it began");
    expect(h.launcher.of("gone#run").filter((r) => r.startedAt !== null)).toEqual([]);
  });
});

describe("shutdown", () => {
  it("hands armed and queued claims back, lets runs finish within the grace, and leaves no timer", async () => {
    const h = await make({ start: T0 });
    h.launcher.plan = () => ({ durationMs: 150 * S, honoursAbort: true });
    await h.scheduler.setTask(task("long", { meta: { overlap: "queue" } }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:02:59.800")); // 10:01 running, 10:02 queued, 10:03 armed
    expect(brief(await h.runs("long"))).toEqual(["10:01:00 schedule running", "10:02:00 schedule running", "10:03:00 schedule running"]);
    const stopping = h.scheduler.stop(10 * S);
    await h.time.advance(0);
    await stopping;
    const rows = await h.runs("long");
    expect(brief(rows)).toEqual(["10:01:00 schedule success"]); // completed in its grace
    expect(h.launcher.of("long#run")[0]!.stopped).toMatchObject({ reason: "the host is shutting down", completedCounts: true });
    expect((await h.ledger.getSchedule("long#run"))!.nextRun).toBe(at("10:02:00")); // due again for the next host
    expect(h.time.pending).toBe(0);
    await expect(h.scheduler.startNow("long")).rejects.toMatchObject({ code: "ERR_SCHEDULER_STOPPED" });
  });
});

describe("two schedulers on one ledger", () => {
  it("each occurrence runs once: the other's claim is lost, logged at debug, and it moves on", async () => {
    const a = await make({ start: T0 });
    const b = withScheduler({ dir: a.dir, ledger: a.ledger, time: a.time, ownsLedger: false, owner: "host-b" });
    make.beside(b, a);
    for (const h of [a, b]) await h.scheduler.setTask(task("shared"));
    a.scheduler.start();
    b.scheduler.start();
    await a.time.advanceTo(at("10:05:10"));
    const rows = await a.runs("shared");
    expect(brief(rows)).toEqual(["10:01:00", "10:02:00", "10:03:00", "10:04:00", "10:05:00"].map((t) => `${t} schedule success`));
    expect(a.launcher.runs.length + b.launcher.runs.length).toBe(5);
    const lost = [...a.logs, ...b.logs].filter((l) => l.fields.event === "claim.lost");
    expect(lost.length).toBeGreaterThan(0);
    expect(lost.every((l) => l.level === "debug")).toBe(true);
    expect([...a.logs, ...b.logs].filter((l) => l.level === "error")).toEqual([]);
  });
});

describe("manual runs", () => {
  it("records the run and gives its id at once, its row when done; an unknown task or method is refused", async () => {
    const h = await make({ start: T0 });
    h.launcher.plan = () => ({ durationMs: 5 * S, writes: { n: 1 } });
    await h.scheduler.setTask(task("m", { spec: every(1, "hour"), methods: ["run", "other"] }));
    h.scheduler.start();
    const { runId, done } = await h.scheduler.startNow("m");
    await h.time.advance(6 * S);
    expect(await done).toMatchObject({ id: runId, status: "success", trigger: "manual" });
    expect(await h.ledger.getState("m")).toEqual({ n: 1 });
    await expect(h.scheduler.startNow("nope")).rejects.toMatchObject({ code: "ERR_UNKNOWN_TASK" });
    await expect(h.scheduler.startNow("m", "missing")).rejects.toMatchObject({ code: "ERR_UNKNOWN_METHOD" });
  });

  it("a run's state is read after the state writes of the run before it have landed", async () => {
    const h = await make({ start: T0 });
    h.launcher.plan = () => ({ durationMs: S, writes: { n: 1 } });
    await h.scheduler.setTask(task("s", { spec: every(1, "hour") }));
    h.scheduler.start();
    const first = await h.scheduler.startNow("s");
    await h.time.advance(S); // the first ends: its write is on its way
    const second = await h.scheduler.startNow("s");
    await h.time.advance(2 * S);
    await first.done;
    await second.done;
    expect(h.launcher.runs[1]!.stateSeen).toEqual({ n: 1 });
  });
});
