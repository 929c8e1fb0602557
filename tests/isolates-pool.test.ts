/**
 * The isolate pool's life cycle with real workers: a spare takes a killed
 * worker's place, workers are recycled after their run budget, idle workers
 * retire, and `task` keeps warm workers only for the most recent tasks.
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { IsolateKit, taskSource } from "./support/isolate-kit.ts";
import { waitFor } from "./support/wait-for.ts";
import { SATURATED_GROW_AFTER_MS, type GroupSpec } from "../runtime/run/isolates/isolate-pool-options.ts";
import { IsolatePool } from "../runtime/run/isolates/isolate-pool.ts";
import { REST_IDLE_MS } from "../runtime/run/isolates/isolate-pool-options.ts";
import { WAKE_AHEAD_MS } from "../runtime/run/isolates/upcoming-runs.ts";
import { PACKAGE_DIR } from "../runtime/runtime-paths.ts";

const THREAD = taskSource('const { threadId } = await import("node:worker_threads");\nctx.log.info(String(threadId));');

let kit: IsolateKit;
let thread: string;

beforeAll(async () => {
  kit = await IsolateKit.create();
  thread = await kit.bundle("thread", THREAD);
}, 60_000);

afterAll(async () => {
  await kit?.dispose();
});

const threadOf = async (run: ReturnType<IsolateKit["run"]>) => {
  const outcome = await run.outcome;
  expect(outcome.status, outcome.error ?? "").toBe("success");
  return Number(run.text());
};

it("replaces a worker its run took down with the spare started ahead, and never exceeds slots + 1", async () => {
  const launcher = kit.launcher({ maxConcurrentRuns: 1 });
  const exits = await kit.bundle("exits", taskSource("process.exit(9);"));
  try {
    const first = await threadOf(kit.run(launcher, thread, { isolation: "context" }));
    await waitFor(() => launcher.workers().idle === 2, { what: "a warm worker and a spare" });
    expect((await kit.run(launcher, exits, { isolation: "context" }).outcome).status).toBe("failure");
    // The dead worker's place is taken at once: the spare, already booted, is ready for the next run, and a new spare boots behind it.
    await waitFor(() => launcher.workers().context === 2 && launcher.workers().idle === 2, { what: "the dead worker replaced" });
    const after = await threadOf(kit.run(launcher, thread, { isolation: "context" }));
    expect(after).not.toBe(first);
    expect(launcher.workers().context).toBe(2);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("gives the runs of a task due every second a worker each, so a boundary's runs start together; not those of a task due once a minute", async () => {
  const launcher = kit.launcher({ maxConcurrentRuns: 8, coreWorkers: 2 });
  const tasks = ["a", "b", "c", "d", "e", "f"];
  const wave = (scheduledFor: number, period: number, start = true) =>
    tasks.map((task) => kit.run(launcher, thread, { isolation: "context", task, scheduledFor, nextOccurrence: scheduledFor + period, start }));
  try {
    const base = Math.ceil(Date.now() / 60_000) * 60_000;
    // Once a minute: the runs drain through the core workers.
    for (const run of wave(base, 60_000)) await threadOf(run);
    // (Fewer than a worker each: on a loaded machine a run may look held long enough for one more.)
    expect(launcher.workers().context).toBeLessThan(tasks.length);
    // Every second: as many workers as runs launched ahead of the boundary, booted for the
    // boundaries after it (this one's runs do not wait for boots: the core workers free up sooner).
    for (const run of wave(base + 60_000, 1000)) await threadOf(run);
    expect(launcher.workers().context).toBeGreaterThanOrEqual(tasks.length);
    await waitFor(() => launcher.workers().idleUp >= tasks.length, { what: "the workers booted" });
    const next = wave(base + 61_000, 1000, false);
    for (const { run } of next) run.start(async () => ({}));
    const threads = await Promise.all(next.map(threadOf));
    expect(new Set(threads).size).toBe(tasks.length);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("loads a context run ahead of its start when a worker is idle, so only its method is left for the boundary", async () => {
  const loud = await kit.bundle("loud", taskSource('ctx.log.info("ran");', 'console.log("loaded");'));
  const launcher = kit.launcher({ maxConcurrentRuns: 2 });
  try {
    launcher.warm(256);
    await waitFor(() => launcher.workers().idleUp > 0, { what: "a booted worker" });
    const run = kit.run(launcher, loud, { isolation: "context", start: false });
    await waitFor(() => run.text().includes("loaded"), { what: "the task loaded before its start" });
    expect(run.text()).not.toContain("ran");
    run.run.start(async () => ({}));
    expect((await run.outcome).status).toBe("success");
    expect(run.text()).toBe("loaded\nran");
  } finally {
    await launcher.close();
  }
}, 60_000);

it("recycles a worker after its run budget", async () => {
  const launcher = kit.launcher({ maxConcurrentRuns: 1, recycle: { runs: 3, heapGrowthBytes: 1e12 } });
  try {
    const threads = [];
    for (let i = 0; i < 4; i++) threads.push(await threadOf(kit.run(launcher, thread, { isolation: "context" })));
    expect(threads[0]).toBe(threads[2]);
    expect(threads[3]).not.toBe(threads[0]);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("replaces a worker whose run left big Buffers behind, so their memory goes with it and is not the host's", async () => {
  const hoard = await kit.bundle("hoard", taskSource('const { threadId } = await import("node:worker_threads");\nconst kept = Buffer.alloc(100 * 1024 * 1024, 1);\nctx.log.info(String(threadId + kept.length * 0));'));
  const launcher = kit.launcher({ maxConcurrentRuns: 1 });
  try {
    const first = await threadOf(kit.run(launcher, thread, { isolation: "context" }));
    expect(await threadOf(kit.run(launcher, thread, { isolation: "context" }))).toBe(first);
    expect(await threadOf(kit.run(launcher, hoard, { isolation: "context" }))).toBe(first);
    // 100 MB of garbage Buffers is over the 64 MB budget: the next run gets another worker.
    expect(await threadOf(kit.run(launcher, thread, { isolation: "context" }))).not.toBe(first);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("collects a worker's garbage once its runs are quiet, so what a run left is not kept in the host", async () => {
  const MB = 1024 * 1024;
  // 32 arrays of 1 MB each and a 16-MB Buffer, dropped with the run's context.
  const litter = await kit.bundle(
    "litter",
    taskSource(
      'const { threadId } = await import("node:worker_threads");\nglobalThis.junk = Array.from({ length: 32 }, () => new Array(131_072).fill(1.5));\nglobalThis.bytes = Buffer.alloc(16 * 1024 * 1024, 1);\nctx.log.info(String(threadId));',
    ),
  );
  const seesGc = await kit.bundle("sees-gc", taskSource('const { threadId } = await import("node:worker_threads");\nctx.log.info(`${threadId} ${typeof globalThis.gc}`);'));
  const launcher = kit.launcher({ maxConcurrentRuns: 1 });
  try {
    const litterThread = await threadOf(kit.run(launcher, litter, { isolation: "context" }));
    expect(launcher.workers().retainedBytes).toBeGreaterThan(40 * MB);
    await waitFor(() => launcher.workers().retainedBytes < 24 * MB, { what: "the worker's garbage collected" });
    // The worker switched --expose-gc on and off to collect: the contexts it makes afterwards have no gc().
    const after = kit.run(launcher, seesGc, { isolation: "context" });
    expect((await after.outcome).status).toBe("success");
    expect(after.text()).toBe(`${litterThread} undefined`);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("retires idle workers of both levels", async () => {
  const launcher = kit.launcher({ idleMs: { context: 300, task: 300 } });
  try {
    await threadOf(kit.run(launcher, thread, { isolation: "context" }));
    await threadOf(kit.run(launcher, thread, { isolation: "task", task: "thread" }));
    expect(launcher.workers().task).toBe(1);
    await waitFor(() => launcher.workers().context + launcher.workers().task === 0, { what: "idle workers retired" });
  } finally {
    await launcher.close();
  }
}, 60_000);

it("rests the core workers between sparse boundaries and boots them again ahead of the next; keeps them between frequent ones", async () => {
  // Boundaries 6 s or more apart count as sparse here (45 s in a host). The default idle time (90 s) would keep every worker through this test.
  const launcher = kit.launcher({ coreWorkers: 2, restGapMs: 6_000 });
  try {
    const now = Date.now();
    await threadOf(kit.run(launcher, thread, { isolation: "context", task: "often", scheduledFor: now, nextOccurrence: now + 3_000 }));
    await new Promise((resolve) => setTimeout(resolve, REST_IDLE_MS + 1_000));
    expect(launcher.workers().context).toBeGreaterThan(0);
    // Now the next run expected is the sparse task's, 12 s off (the frequent one's schedule ended).
    const next = Date.now() + 12_000;
    await threadOf(kit.run(launcher, thread, { isolation: "context", task: "sparse", scheduledFor: now, nextOccurrence: next }));
    await threadOf(kit.run(launcher, thread, { isolation: "context", task: "often", scheduledFor: now + 3_000 }));
    await waitFor(() => launcher.workers().context === 0, { timeoutMs: REST_IDLE_MS + 5_000, what: "the core workers to rest" });
    // Booted again WAKE_AHEAD_MS before that run, not by it.
    await waitFor(() => launcher.workers().idleUp === 2, { timeoutMs: 15_000, what: "the core workers booted ahead of the next run" });
    expect(Date.now()).toBeLessThan(next);
    expect(Date.now()).toBeGreaterThan(next - WAKE_AHEAD_MS - 1_000);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("boots a group's workers ahead of the first run the scheduler expects of it, not before", async () => {
  const launcher = kit.launcher({ coreWorkers: 2, restGapMs: 6_000 });
  try {
    const first = Date.now() + 4_000;
    launcher.expect({ taskId: "first", scheduleId: "first#run", isolation: "context", bundlePath: thread, memoryLimitMb: 256, at: first });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(launcher.workers().context).toBe(0);
    await waitFor(() => launcher.workers().idleUp === 2, { timeoutMs: 10_000, what: "the workers booted ahead of the first run" });
    expect(Date.now()).toBeLessThan(first);
    expect(Date.now()).toBeGreaterThan(first - WAKE_AHEAD_MS - 1_000);
    // A group expected sooner than it was boots sooner: a run told at once boots at once.
    launcher.expect({ taskId: "soon", scheduleId: "soon#run", isolation: "context", bundlePath: thread, memoryLimitMb: 128, at: Date.now() + 60_000 });
    launcher.expect({ taskId: "soon", scheduleId: "soon#run", isolation: "context", bundlePath: thread, memoryLimitMb: 128, at: Date.now() + 500 });
    await waitFor(() => launcher.workers().idleUp === 4, { timeoutMs: 5_000, what: "the other group's workers booted at once" });
  } finally {
    await launcher.close();
  }
}, 60_000);

it("boots nothing for a task removed before its first run", async () => {
  const launcher = kit.launcher({ coreWorkers: 2 });
  try {
    const first = Date.now() + 2_000;
    launcher.expect({ taskId: "gone", scheduleId: "gone#run", isolation: "context", bundlePath: thread, memoryLimitMb: 256, at: first });
    await new Promise((resolve) => setTimeout(resolve, 100));
    launcher.forgetTask("gone");
    await new Promise((resolve) => setTimeout(resolve, first - Date.now() + 500));
    expect(launcher.workers().context).toBe(0);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("boots no context worker for a task whose bundle has no CommonJS form: its runs get a worker of their own", async () => {
  const tla = await kit.bundle("tla", taskSource("", "await Promise.resolve();"));
  const launcher = kit.launcher({ coreWorkers: 2 });
  try {
    const first = Date.now() + 1_500;
    launcher.expect({ taskId: "tla", scheduleId: "tla#run", isolation: "context", bundlePath: tla, memoryLimitMb: 256, at: first });
    await new Promise((resolve) => setTimeout(resolve, first - Date.now() + 500));
    expect(launcher.workers().context).toBe(0);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("rests workers kept for a cadence that ended once the scheduler tells it the next runs are far off, and boots them ahead of those runs", async () => {
  const launcher = kit.launcher({ coreWorkers: 2, restGapMs: 6_000 });
  try {
    launcher.warm(256);
    await waitFor(() => launcher.workers().idleUp === 2, { what: "the workers booted at start" });
    // Far-off runs of another memory limit, or of another level, are not this group's.
    const expected = { taskId: "sparse", scheduleId: "sparse#run", isolation: "context", bundlePath: thread, memoryLimitMb: 256 } as const;
    launcher.expect({ ...expected, scheduleId: "other#run", memoryLimitMb: 128, at: Date.now() + 60_000 });
    launcher.expect({ ...expected, scheduleId: "own#run", isolation: "task", at: Date.now() + 60_000 });
    await new Promise((resolve) => setTimeout(resolve, REST_IDLE_MS + 1_000));
    expect(launcher.workers().idleUp).toBe(2);
    // The schedule's next occurrence is now 12 s off: no burst has ended, yet they rest.
    const next = Date.now() + 12_000;
    launcher.expect({ ...expected, at: next });
    await waitFor(() => launcher.workers().context === 0, { timeoutMs: REST_IDLE_MS + 3_000, what: "the workers booted at start to rest" });
    await waitFor(() => launcher.workers().idleUp === 2, { timeoutMs: 15_000, what: "the core workers booted ahead of the first run" });
    expect(Date.now()).toBeLessThan(next);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("a run told due sooner than the one a group's workers rest for boots them again ahead of it", async () => {
  const launcher = kit.launcher({ coreWorkers: 2, restGapMs: 6_000 });
  try {
    launcher.warm(256);
    await waitFor(() => launcher.workers().idleUp === 2, { what: "the workers booted" });
    const expected = { taskId: "t", scheduleId: "t#run", isolation: "context", bundlePath: thread, memoryLimitMb: 256 } as const;
    launcher.expect({ ...expected, at: Date.now() + 30_000 });
    // Told before their rest is over: they still retire (no run came), and boot again for this one.
    const soon = Date.now() + 6_000;
    await new Promise((resolve) => setTimeout(resolve, 100));
    launcher.expect({ ...expected, at: soon });
    await waitFor(() => launcher.workers().context === 0, { timeoutMs: REST_IDLE_MS + 3_000, what: "the workers to rest" });
    await waitFor(() => launcher.workers().idleUp === 2, { timeoutMs: 8_000, what: "the workers booted ahead of the sooner run" });
    expect(Date.now()).toBeLessThan(soon);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("keeps task workers warm for the most recent tasks only", async () => {
  // max_concurrent_runs 1: at most 8 warm task workers.
  const launcher = kit.launcher({ maxConcurrentRuns: 1 });
  try {
    for (let i = 0; i < 10; i++) await threadOf(kit.run(launcher, thread, { isolation: "task", task: `t${i}` }));
    expect(launcher.workers().task).toBeLessThanOrEqual(8);
    // The most recent task is still warm: its next run is in the same thread.
    const a = await threadOf(kit.run(launcher, thread, { isolation: "task", task: "t9" }));
    const b = await threadOf(kit.run(launcher, thread, { isolation: "task", task: "t9" }));
    expect(a).toBe(b);
  } finally {
    await launcher.close();
  }
}, 60_000);

const COUNTER = taskSource(
  'counted++;\nawait new Promise((r) => setTimeout(r, 200));\nconst { threadId } = await import("node:worker_threads");\nctx.log.info(`${threadId} ${counted}`);',
  "let counted = 0;",
);

it("task: a run loaded ahead while the task's worker serves a run waits for it, and sees the module state the run before left", async () => {
  const launcher = kit.launcher({ maxConcurrentRuns: 4 });
  const counter = await kit.bundle("counter", COUNTER);
  try {
    const first = kit.run(launcher, counter, { isolation: "task", task: "counter" });
    await waitFor(() => first.startedAt !== null, { what: "the first run began" });
    // Loaded ahead of its start (as a scheduled run is): no second worker, its load waits for the first run's end.
    const next = kit.run(launcher, counter, { isolation: "task", task: "counter", start: false, scheduledFor: Date.now() + 60_000 });
    expect((await first.outcome).status).toBe("success");
    await next.run.ready;
    expect(launcher.workers().task).toBe(1);
    next.run.start(async () => ({}));
    const outcome = await next.outcome;
    expect(outcome.status, outcome.error ?? "").toBe("success");
    const [thread, count] = first.text().split(" ");
    expect(next.text()).toBe(`${thread} ${Number(count) + 1}`);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("task: runs told to go while another run of the task is running get a worker each, with a module state of its own (as AWS Lambda's concurrent invocations)", async () => {
  const launcher = kit.launcher({ maxConcurrentRuns: 4 });
  const counter = await kit.bundle("counter-concurrent", COUNTER);
  try {
    const runs = [1, 2].map(() => kit.run(launcher, counter, { isolation: "task", task: "concurrent" }));
    await waitFor(() => runs.every((run) => run.startedAt !== null), { what: "both runs began", timeoutMs: 10_000 });
    const seen: string[] = [];
    for (const run of runs) {
      const outcome = await run.outcome;
      expect(outcome.status, outcome.error ?? "").toBe("success");
      seen.push(run.text());
    }
    expect(new Set(seen.map((line) => line.split(" ")[0])).size, seen.join(", ")).toBe(2);
    expect(seen.map((line) => line.split(" ")[1])).toEqual(["1", "1"]);
    // A later run reuses one of them, with its state.
    const later = kit.run(launcher, counter, { isolation: "task", task: "concurrent" });
    expect((await later.outcome).status).toBe("success");
    expect(later.text().split(" ")[1]).toBe("2");
  } finally {
    await launcher.close();
  }
}, 60_000);

it("task: a run launched ahead without a run slot does not hold its task's worker from a run that is due", async () => {
  const launcher = kit.launcher({ maxConcurrentRuns: 1 });
  const counter = await kit.bundle("counter-standby", COUNTER);
  try {
    const waiting = kit.run(launcher, counter, { isolation: "task", task: "standby", standby: true, start: false, scheduledFor: Date.now() + 60_000 });
    await waiting.run.ready;
    // The due run holds the one slot: were the worker held by the standby run, it would wait for it forever.
    const due = kit.run(launcher, counter, { isolation: "task", task: "standby" });
    const outcome = await due.outcome;
    expect(outcome.status, outcome.error ?? "").toBe("success");
    waiting.run.start(async () => ({}));
    expect((await waiting.outcome).status).toBe("success");
    const [dueThread, dueCount] = due.text().split(" ");
    expect(waiting.text()).toBe(`${dueThread} ${Number(dueCount) + 1}`);
    expect(launcher.workers().task).toBe(1);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("drains short runs through its core workers and grows only for runs that hold theirs", async () => {
  const launcher = kit.launcher({ maxConcurrentRuns: 8, coreWorkers: 2 });
  const long = await kit.bundle("long", taskSource('await new Promise((r) => setTimeout(r, 1500));\nctx.log.info("long done");'));
  try {
    const short = Array.from({ length: 24 }, () => kit.run(launcher, thread, { isolation: "context" }));
    for (const run of short) await threadOf(run);
    const threads = new Set(short.map((r) => r.text()));
    expect(threads.size).toBeLessThanOrEqual(3);
    // Three runs that each hold a worker for 1.5 s: the third does not wait for the first to end
    // (it waits for a look at 40 ms and a boot, slow on a loaded machine).
    const held = [0, 1, 2].map(() => kit.run(launcher, long, { isolation: "context" }));
    const outcomes = await Promise.all(held.map((r) => r.outcome));
    expect(outcomes.map((o) => o.status)).toEqual(["success", "success", "success"]);
    const starts = outcomes.map((o) => o.startedAt!);
    expect(Math.max(...starts) - Math.min(...starts)).toBeLessThan(1_000);
    expect(launcher.workers().context).toBeGreaterThanOrEqual(3);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("while the host's own threads saturate the cores, grows only for a run that has held its worker for SATURATED_GROW_AFTER_MS", async () => {
  // The reading is an input of the pool's decision (core-load.test.ts tests the reading itself).
  const launcher = kit.launcher({ maxConcurrentRuns: 8, coreWorkers: 2, coreLoad: { sample: () => {}, saturated: () => true } });
  const long = await kit.bundle("long-saturated", taskSource('await new Promise((r) => setTimeout(r, 3000));\nctx.log.info("long done");'));
  try {
    // Both core workers booted first: a boot is not a run that lasts.
    await Promise.all([0, 1].map(() => kit.run(launcher, thread, { isolation: "context" }).outcome));
    const launchedAt = Date.now();
    const held = [0, 1, 2].map(() => kit.run(launcher, long, { isolation: "context" }));
    // It boots a third worker while the first two still run (each for 3 s), but not at 40 ms (the
    // unsaturated test above does): 250 ms after the two were handed out at the soonest.
    await waitFor(() => launcher.workers().context >= 3, { timeoutMs: 2_500, intervalMs: 5, what: "a third worker" });
    expect(Date.now() - launchedAt).toBeGreaterThanOrEqual(SATURATED_GROW_AFTER_MS - 5);
    const outcomes = await Promise.all(held.map((r) => r.outcome));
    expect(outcomes.map((o) => o.status)).toEqual(["success", "success", "success"]);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("context: a run handed a worker still booting holds it from the boot on, however slow the boot; a run waiting behind it gets a worker of its own", async () => {
  // A boot slower than both looks at a held worker (40 and 250 ms after the hand-out), as on a
  // loaded machine: the worker's entry waits 600 ms (without using a core) before the real one.
  const entry = path.join(kit.root, "slow-boot-entry.mjs");
  await writeFile(entry, `Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600);\nawait import(${JSON.stringify(pathToFileURL(kit.isolates.entryFile).href)});\n`);
  const launcher = kit.launcher({ maxConcurrentRuns: 4, coreWorkers: 1, isolates: { ...kit.isolates, entryFile: entry } });
  const long = await kit.bundle("long-slow-boot", taskSource('await new Promise((r) => setTimeout(r, 8000));\nctx.log.info("long done");'));
  try {
    const launchedAt = Date.now();
    const held = kit.run(launcher, long, { isolation: "context" });
    let heldOver = false;
    void held.outcome.then(() => (heldOver = true));
    const next = kit.run(launcher, thread, { isolation: "context" });
    await threadOf(next);
    // Two slow boots one after the other (~1.3 s); not the 8 s the long run holds its worker.
    expect(heldOver).toBe(false);
    expect(Date.now() - launchedAt).toBeLessThan(6_000);
    expect((await held.outcome).status).toBe("success");
  } finally {
    await launcher.close();
  }
}, 60_000);

const STAMP = taskSource("ctx.log.info(String(Date.now()));");

it.each(["context", "task", "worker"] as const)("%s: a run told to go ahead of its instant (notBefore) begins on it, not before", async (isolation) => {
  const stamp = await kit.bundle(`stamp-${isolation}`, STAMP);
  const launcher = kit.launcher({ maxConcurrentRuns: 2 });
  try {
    const run = kit.run(launcher, stamp, { isolation, start: false });
    await run.run.ready;
    const instant = Date.now() + 300;
    run.run.start(async () => ({}), { notBefore: instant, lateAfterMs: 3000 });
    const outcome = await run.outcome;
    expect(outcome.status, outcome.error ?? "").toBe("success");
    expect(run.startedAt).toBeGreaterThanOrEqual(instant);
    expect(Number(run.text())).toBeGreaterThanOrEqual(instant);
    // Generous: on time means within the first milliseconds (1-3 ms alone here), but with the whole
    // suite on 2 cores a worker's timer has fired 254 ms, and once 796 ms, late; a begin that waited
    // for anything but its instant would be later still (and beyond lateAfterMs it would not begin at all).
    expect(run.startedAt! - instant).toBeLessThan(1500);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("context: a run cancelled while it waits for its instant never begins, and its worker serves the next run", async () => {
  const stamp = await kit.bundle("stamp-cancel", STAMP);
  const launcher = kit.launcher({ maxConcurrentRuns: 1 });
  try {
    launcher.warm(256);
    await waitFor(() => launcher.workers().idleUp > 0, { what: "a booted worker" });
    const run = kit.run(launcher, stamp, { isolation: "context", start: false });
    await run.run.ready;
    const instant = Date.now() + 400;
    let stateRead: Promise<Record<string, unknown>> | undefined;
    run.run.start(() => (stateRead = Promise.resolve({})), { notBefore: instant });
    await stateRead; // its go is posted once the state is read: the cancel follows it to a worker that waits
    run.run.cancel();
    expect((await run.outcome).error).toBe("cancelled before it started");
    await waitFor(() => Date.now() > instant + 200 && launcher.workers().idleUp > 0, { what: "its instant passed, the worker free" });
    expect(run.text()).toBe("");
    const next = kit.run(launcher, stamp, { isolation: "context" });
    expect((await next.outcome).status).toBe("success");
  } finally {
    await launcher.close();
  }
}, 60_000);

it("context: workers waiting for their runs' instant are not runs that last: the pool boots no worker for a run due with them", async () => {
  const stamp = await kit.bundle("stamp-hold", STAMP);
  const launcher = kit.launcher({ maxConcurrentRuns: 8, coreWorkers: 2 });
  try {
    launcher.warm(256);
    await waitFor(() => launcher.workers().idleUp === 2, { what: "two booted workers" });
    const instant = Date.now() + 400;
    const ahead = [0, 1].map(() => kit.run(launcher, stamp, { isolation: "context", start: false }));
    for (const run of ahead) await run.run.ready;
    for (const run of ahead) run.run.start(async () => ({}), { notBefore: instant });
    // Due on the same instant, with no worker idle: it waits for one of theirs instead of a boot (~50-100 ms of CPU).
    const third = kit.run(launcher, stamp, { isolation: "context" });
    // Until the instant the two wait, which is no run that lasts. (After it, a run held up 40 ms by a busy
    // machine may rightly make the pool grow, so the count is taken just before.)
    await waitFor(() => Date.now() >= instant - 20, { what: "just before the instant", intervalMs: 5 });
    expect(launcher.workers().context).toBe(2);
    const outcomes = await Promise.all([...ahead, third].map((r) => r.outcome));
    expect(outcomes.map((o) => o.status)).toEqual(["success", "success", "success"]);
    expect(Math.min(...outcomes.map((o) => o.startedAt!))).toBeGreaterThanOrEqual(instant);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("an idle worker's memory is in the host's memory book with what its last run left, and leaves it with the worker", async () => {
  const { runMemoryBook } = await import("../runtime/run/run-memory-book.ts");
  const stamp = await kit.bundle("stamp-book", STAMP);
  const launcher = kit.launcher({ maxConcurrentRuns: 1 });
  const idle = () => runMemoryBook.runs().filter((entry) => entry.idle);
  try {
    const run = kit.run(launcher, stamp, { isolation: "context" });
    expect((await run.outcome).status).toBe("success");
    await waitFor(() => idle().length === 1, { what: "the worker's idle entry" });
    expect(idle()[0]!.last!.heapTotal).toBeGreaterThan(0);
    // Serving a run, it is the run's entry that counts it.
    const next = kit.run(launcher, stamp, { isolation: "context", start: false });
    await next.run.ready;
    expect(idle()).toHaveLength(0);
    next.run.start(async () => ({}));
    await next.outcome;
  } finally {
    await launcher.close();
  }
  expect(idle()).toHaveLength(0);
}, 60_000);

it.each(["context", "worker"] as const)("%s: a run stopped while it waits for its instant ends at once, unbegun, without waiting out the grace", async (isolation) => {
  const stamp = await kit.bundle(`stamp-stop-${isolation}`, STAMP);
  const launcher = kit.launcher({ maxConcurrentRuns: 1 });
  try {
    launcher.warm(256);
    await waitFor(() => launcher.workers().idleUp > 0, { what: "a booted worker" });
    const run = kit.run(launcher, stamp, { isolation, start: false });
    await run.run.ready;
    let stateRead: Promise<Record<string, unknown>> | undefined;
    run.run.start(() => (stateRead = Promise.resolve({})), { notBefore: Date.now() + 2000 });
    await stateRead; // a context run's go is posted once its state is read
    const asked = Date.now();
    run.run.stop("interrupted", "the host is shutting down", 30_000, true);
    const outcome = await run.outcome;
    expect([outcome.status, outcome.error, outcome.startedAt]).toEqual(["interrupted", "the host is shutting down", null]);
    expect(Date.now() - asked).toBeLessThan(1500);
    expect(run.text()).toBe("");
  } finally {
    await launcher.close();
  }
}, 60_000);

it("context: a run stopped with grace after its code began, before the host heard it was loaded, gets its grace (a shutdown at a boundary)", async () => {
  // Seen in CI: the first run of a fresh host (loaded at its start, no worker idle) was recorded
  // interrupted at once by a stop that came while its code ran: the host had not yet read `ready`.
  const loading = path.join(kit.root, "loading-mark");
  const began = path.join(kit.root, "began-mark");
  const source = taskSource(
    `writeFileSync(${JSON.stringify(began)}, "");\nawait new Promise((r) => setTimeout(r, 300));\nctx.log.info("finished within its grace");`,
    `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(loading)}, "");\nconst until = Date.now() + 1000;\nwhile (Date.now() < until) {}`,
  );
  const slowLoad = await kit.bundle("slow-load", source);
  const launcher = kit.launcher({ maxConcurrentRuns: 2 });
  try {
    const run = kit.run(launcher, slowLoad, { isolation: "context" });
    await waitFor(() => existsSync(loading), { intervalMs: 5, what: "its load to begin" });
    // The host's thread hears nothing from here until the stop: `ready` and `started` stay queued.
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + 20_000;
    while (!existsSync(began) && Date.now() < deadline) Atomics.wait(cell, 0, 0, 2);
    run.run.stop("interrupted", "the host is stopping", 5000, true);
    const outcome = await run.outcome;
    expect(outcome.status, outcome.error ?? "").toBe("success");
    expect(run.text()).toContain("finished within its grace");
  } finally {
    await launcher.close();
  }
}, 60_000);

/**
 * Two memory_limit groups sharing the pool's cap on `context` workers: a run of
 * one group, with the pool full, gets a worker by retiring an idle one of the
 * other. That retirement used to serve the same waiting run from inside the
 * boot, and the outer serve then took a waiter that was gone: a TypeError that,
 * from the timer that finds a run lasting, ended the host (found by a
 * walkthrough with faulty tasks of two memory limits).
 */
const A: GroupSpec = { key: "context:100", mode: "context", memoryLimitMb: 100 };
const B: GroupSpec = { key: "context:512", mode: "context", memoryLimitMb: 512 };

it("a full pool retires another memory limit's idle worker for a waiting run, once, and the run gets one worker", async () => {
  const late: string[] = [];
  const pool = new IsolatePool({
    entryFile: kit.isolates.entryFile,
    apiScript: kit.isolates.apiScript,
    paths: { projectRoot: kit.root, packageDir: PACKAGE_DIR, dataDir: path.join(kit.root, "data"), configFile: path.join(kit.root, "config", "config.yaml") },
    maxContextWorkers: 2,
    maxTaskWorkers: 4,
    idleMs: { context: 60_000, task: 60_000 },
    coreWorkers: 3,
    onLate: (message) => late.push(message),
  });
  try {
    const a1 = await pool.acquire(A); // held by a run
    const b1 = await pool.acquire(B);
    pool.release(b1, true); // idle: the pool is full (2 of 2)
    const a2 = await pool.acquire(A);
    expect(a2).not.toBe(a1);
    expect(a2).not.toBe(b1);
    // Two workers, both A's and both serving: none booted beyond the cap and left over.
    expect(pool.counts()).toMatchObject({ context: 2, idle: 0 });
    expect(late).toEqual([]);
  } finally {
    await pool.close();
  }
});
