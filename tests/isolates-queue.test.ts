/**
 * Runs queued on a warm worker behind the run it serves (StartOptions.after,
 * issue 13): the worker begins each by itself as the one before it ends, the
 * host can take one back to begin it elsewhere, and a queued run outlives a
 * worker its predecessor took down. Real workers, real task bundles.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { IsolateKit, taskSource, type CollectedRun } from "./support/isolate-kit.ts";
import { waitFor } from "./support/wait-for.ts";

let kit: IsolateKit;
let stamp: string;
let slow: string;
/** Each load of `traced` appends the loading thread's id to this file (a queued run loads on the worker it is queued on). */
let loads: string;
let traced: string;
const dir = mkdtempSync(path.join(os.tmpdir(), "taskhost-queue-"));

beforeAll(async () => {
  kit = await IsolateKit.create();
  stamp = await kit.bundle("stamp", taskSource('const { threadId } = await import("node:worker_threads");\nctx.log.info(String(threadId));'));
  slow = await kit.bundle("slow", taskSource('const { threadId } = await import("node:worker_threads");\nawait new Promise((r) => setTimeout(r, 1500));\nctx.log.info(String(threadId));'));
  loads = path.join(dir, "loads");
  traced = await kit.bundle(
    "traced",
    taskSource(
      'const { threadId } = await import("node:worker_threads");\nctx.log.info(String(threadId));',
      `import { appendFileSync } from "node:fs";\nimport { threadId } from "node:worker_threads";\nappendFileSync(${JSON.stringify(loads)}, threadId + "\\n");`,
    ),
  );
}, 60_000);

afterAll(async () => {
  await kit?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** The threads `traced` was loaded on since the file was last cleared. */
const loadedOn = () => readFileSync(loads, "utf8").trim().split("\n").map(Number);
const clearLoads = () => rmSync(loads, { force: true });

const threadOf = async (run: CollectedRun) => {
  const outcome = await run.outcome;
  expect(outcome.status, outcome.error ?? "").toBe("success");
  return Number(run.text());
};

const booted = async (launcher: ReturnType<IsolateKit["launcher"]>) => {
  launcher.warm(256);
  await waitFor(() => launcher.workers().idleUp > 0, { what: "a booted worker" });
};

it("begins a run started after another on that run's worker, by the worker itself: no round trip through the host", async () => {
  const launcher = kit.launcher({ maxConcurrentRuns: 2 });
  try {
    await booted(launcher);
    const at = Date.now() + 400;
    const first = kit.run(launcher, stamp, { isolation: "context", scheduledFor: at, start: false });
    await first.run.ready;
    const second = kit.run(launcher, stamp, { isolation: "context", scheduledFor: at, start: false, standby: true });
    first.run.start(async () => ({}), { notBefore: at });
    second.run.start(async () => ({}), { notBefore: at, after: first.runId });
    // The host's thread is blocked from before the instant until well after it: the second run
    // can begin on time only if its worker begins it by itself as the first one ends.
    await waitFor(() => Date.now() >= at - 50, { what: "the instant near", intervalMs: 5 });
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    const [a, b] = [await threadOf(first), await threadOf(second)];
    expect(b).toBe(a);
    expect(first.startedAt).toBeGreaterThanOrEqual(at);
    expect(second.startedAt).toBeGreaterThanOrEqual(first.startedAt!);
    expect(second.startedAt! - at).toBeLessThan(300);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("queues a run started after one that has no worker yet behind it as soon as that run has one (a cold pool)", async () => {
  // No worker booted: the first run waits for one. The second must not wait for the first's outcome
  // and then take a worker of its own (a crowd due right after the host started would boot a worker a run).
  const launcher = kit.launcher({ maxConcurrentRuns: 2 });
  try {
    clearLoads();
    const first = kit.run(launcher, slow, { isolation: "context", start: false, standby: true });
    const second = kit.run(launcher, traced, { isolation: "context", start: false, standby: true });
    first.run.start(async () => ({}));
    second.run.start(async () => ({}), { after: first.runId });
    let firstOver = false;
    void first.outcome.then(() => (firstOver = true));
    // Loaded behind the first while it still runs (1.5 s), on its worker.
    await waitFor(() => loadedOn().length === 1, { what: "the second run loaded" });
    expect(firstOver).toBe(false);
    const firstThread = await threadOf(first);
    expect(loadedOn()).toEqual([firstThread]);
    expect(await threadOf(second)).toBe(firstThread);
    expect(second.startedAt!).toBeGreaterThanOrEqual((await first.outcome).finishedAt);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("takes a queued run back when the run ahead of it lasts, and begins it on another worker, once", async () => {
  const launcher = kit.launcher({ maxConcurrentRuns: 2 });
  try {
    await booted(launcher);
    const first = kit.run(launcher, slow, { isolation: "context" });
    await waitFor(() => first.startedAt !== null, { what: "the slow run begun" });
    clearLoads();
    const second = kit.run(launcher, traced, { isolation: "context", start: false, standby: true });
    second.run.start(async () => ({}), { after: first.runId });
    // Queued: it loads on the first run's worker.
    await waitFor(() => loadedOn().length === 1, { what: "the run loaded behind the first" });
    expect(second.run.standAlone?.()).toBe(true);
    const began = await threadOf(second);
    const firstOutcome = first.outcome;
    const firstThread = await threadOf(first);
    // It ended while the first still ran, on another worker, loaded anew there.
    expect(second.startedAt!).toBeLessThan((await firstOutcome).finishedAt);
    expect(loadedOn()).toEqual([firstThread, began]);
    expect(began).not.toBe(firstThread);
    // The first run's worker dropped it: it ran once.
    expect(second.lines).toHaveLength(1);
    // Once begun, it cannot be taken back.
    expect(second.run.standAlone?.()).toBe(false);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("begins the runs queued behind one whose worker had to be killed (timeout) on another worker, still one after another", async () => {
  const loop = await kit.bundle("loop", taskSource("for (;;) {}"));
  const launcher = kit.launcher({ maxConcurrentRuns: 2 });
  try {
    await booted(launcher);
    // The second takes a while: beside it, the third would begin before it ended.
    const tracedSlow = await kit.bundle(
      "traced-slow",
      taskSource(
        'const { threadId } = await import("node:worker_threads");\nawait new Promise((r) => setTimeout(r, 500));\nctx.log.info(String(threadId));',
        `import { appendFileSync } from "node:fs";\nimport { threadId } from "node:worker_threads";\nappendFileSync(${JSON.stringify(loads)}, threadId + "\\n");`,
      ),
    );
    const at = Date.now() + 400;
    const first = kit.run(launcher, loop, { isolation: "context", timeoutSec: 1, scheduledFor: at, start: false });
    await first.run.ready;
    clearLoads();
    const second = kit.run(launcher, tracedSlow, { isolation: "context", scheduledFor: at, start: false, standby: true });
    const third = kit.run(launcher, stamp, { isolation: "context", scheduledFor: at, start: false, standby: true });
    first.run.start(async () => ({}), { notBefore: at });
    second.run.start(async () => ({}), { notBefore: at, after: first.runId });
    third.run.start(async () => ({}), { notBefore: at, after: second.runId });
    // Loaded behind it before its endless loop began.
    await waitFor(() => loadedOn().length === 1, { what: "the run loaded behind the first" });
    const [queuedOn] = loadedOn();
    const ended = await first.outcome;
    expect(ended.status).toBe("timeout");
    const began = await threadOf(second);
    expect(second.startedAt!).toBeGreaterThanOrEqual(ended.finishedAt - 5);
    // The worker went with the looping run: it was loaded anew on another, and ran there.
    expect(began).not.toBe(queuedOn);
    expect(loadedOn()).toEqual([queuedOn, began]);
    // The third (they share one slot) began only once the second was over, not beside it.
    await threadOf(third);
    expect(third.startedAt!).toBeGreaterThanOrEqual((await second.outcome).finishedAt);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("starts a run after a `worker` run once that run's outcome is in (nowhere to queue it)", async () => {
  const launcher = kit.launcher({ maxConcurrentRuns: 2 });
  try {
    await booted(launcher);
    const first = kit.run(launcher, slow, { isolation: "worker" });
    const second = kit.run(launcher, stamp, { isolation: "context", start: false, standby: true });
    second.run.start(async () => ({}), { after: first.runId });
    const ended = await first.outcome;
    expect(ended.status).toBe("success");
    await threadOf(second);
    expect(second.startedAt!).toBeGreaterThanOrEqual(ended.finishedAt);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("a queued run cancelled or stopped never begins, and the run ahead of it and its worker go on", async () => {
  const launcher = kit.launcher({ maxConcurrentRuns: 2 });
  try {
    await booted(launcher);
    const first = kit.run(launcher, slow, { isolation: "context" });
    await waitFor(() => first.startedAt !== null, { what: "the slow run begun" });
    const cancelled = kit.run(launcher, stamp, { isolation: "context", start: false, standby: true });
    cancelled.run.start(async () => ({}), { after: first.runId });
    const stopped = kit.run(launcher, stamp, { isolation: "context", start: false, standby: true });
    stopped.run.start(async () => ({}), { after: cancelled.runId });
    const next = kit.run(launcher, stamp, { isolation: "context", start: false, standby: true });
    next.run.start(async () => ({}), { after: stopped.runId });
    cancelled.run.cancel();
    stopped.run.stop("interrupted", "the host is stopping", 1000);
    expect(await cancelled.outcome).toMatchObject({ status: "interrupted", startedAt: null });
    // Unbegun, like a run stopped while it waits for its instant: the scheduler may hand its occurrence back.
    expect(await stopped.outcome).toMatchObject({ status: "interrupted", error: "the host is stopping", startedAt: null, late: true });
    const firstThread = await threadOf(first);
    // The one behind them begins where they were queued, after the first.
    expect(await threadOf(next)).toBe(firstThread);
    expect(next.startedAt!).toBeGreaterThanOrEqual((await first.outcome).finishedAt - 5);
    expect(cancelled.lines).toHaveLength(0);
    expect(stopped.lines).toHaveLength(0);
  } finally {
    await launcher.close();
  }
}, 60_000);

it("a queued run may start processes: its own over-flag, and those of the run ahead ended before it begins", async () => {
  const spawner = await kit.bundle("spawner", taskSource('const { spawn } = await import("node:child_process");\nconst child = spawn("sleep", ["30"]);\nctx.log.info(String(child.pid));'));
  const spawnsToo = await kit.bundle(
    "spawns-too",
    taskSource(
      // It spawns once the host has surely heard the run ahead of it end (and held that run over).
      'const { execFile } = await import("node:child_process");\nawait new Promise((r) => setTimeout(r, 700));\nawait new Promise((resolve, reject) => execFile("true", (error) => (error ? reject(error) : resolve(null))));\nctx.log.info("spawned");',
    ),
  );
  const launcher = kit.launcher({ maxConcurrentRuns: 2 });
  try {
    await booted(launcher);
    const pair = async (aheadBundle: string, block: boolean) => {
      const at = Date.now() + 400;
      const first = kit.run(launcher, aheadBundle, { isolation: "context", scheduledFor: at, start: false });
      await first.run.ready;
      const second = kit.run(launcher, spawnsToo, { isolation: "context", scheduledFor: at, start: false, standby: true });
      first.run.start(async () => ({}), { notBefore: at });
      second.run.start(async () => ({}), { notBefore: at, after: first.runId });
      if (block) {
        // As in the first test: it begins while the host's thread is blocked, by its worker.
        await waitFor(() => Date.now() >= at - 50, { what: "the instant near", intervalMs: 5 });
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
      }
      expect((await first.outcome).status).toBe("success");
      const outcome = await second.outcome;
      expect(outcome.status, outcome.error ?? "").toBe("success");
      expect(second.text()).toBe("spawned");
      return { first, second, at };
    };
    // The host holds the first run over after the second began: that must not stop the second's spawns.
    const plain = await pair(stamp, true);
    expect(plain.second.startedAt! - plain.at).toBeLessThan(300);
    // The first run's processes are ended before the second begins (its worker waits for the host's word).
    const { first } = await pair(spawner, false);
    expect(() => process.kill(Number(first.text()), 0)).toThrow();
  } finally {
    await launcher.close();
  }
}, 60_000);
