/**
 * Lanes (run-lanes.ts): when every run slot is held, a scheduled `context`
 * run follows a run that holds one, is told to go ahead of its instant like
 * it, begins once that run is over, and takes its slot over; a follower whose
 * run ahead lasts takes a slot of its own when one frees. On a fake clock with
 * a fake launcher that honours StartOptions.after, and a real sql.js ledger.
 */
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { FOLLOW_PATIENCE_MS, laneDepth, MAX_LANE_DEPTH, pickLane, RunLanes } from "../runtime/scheduler/run-lanes.ts";
import { at, every, harnessPerTest, task } from "./support/scheduler-harness.ts";
import type { FakeRun } from "./support/fake-launcher.ts";

const make = harnessPerTest();

/** The most runs whose methods overlapped at any moment. */
function mostAtOnce(runs: FakeRun[], ends: Map<FakeRun, number>): number {
  const points = runs.flatMap((r) => [
    [r.startedAt!, 1],
    [ends.get(r)!, -1],
  ]);
  // An end and a start at the same instant: the end first (a lane's next run begins as the one before ends).
  points.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let now = 0;
  let most = 0;
  for (const [, step] of points) most = Math.max(most, (now += step!));
  return most;
}

describe("RunLanes", () => {
  it("keeps each lane's order, passes the head's place to its first follower, and closes up when one leaves", () => {
    const lanes = new RunLanes<string>();
    lanes.join("b", "a");
    lanes.join("c", "a");
    lanes.join("d", "a");
    expect(lanes.ahead("c")).toBe("b");
    expect(lanes.last("a")).toBe("d");
    lanes.leave("c");
    expect(lanes.ahead("d")).toBe("b");
    expect(lanes.pass("a")).toBe("b");
    expect(lanes.isFollower("b")).toBe(false);
    expect(lanes.ahead("d")).toBe("b");
    expect(lanes.followers("b")).toEqual(["d"]);
    expect(lanes.pass("b")).toBe("d");
    expect(lanes.pass("d")).toBeNull();
    expect(lanes.ahead("d")).toBeNull();
  });

  it("picks the lane with the fewest followers among those that fit, none when every lane is full", () => {
    const lanes = new RunLanes<string>();
    lanes.join("x", "a");
    expect(pickLane(lanes, ["a", "b", "c"], () => true)).toBe("b");
    expect(pickLane(lanes, ["a", "b", "c"], (head) => head !== "b")).toBe("c");
    expect(pickLane(lanes, ["a"], () => true, 1)).toBeNull();
    expect(pickLane(lanes, ["a", "b"], () => false)).toBeNull();
  });
});

describe("the scheduler's lanes", () => {
  it("tells every run of a crowded instant to go ahead of it, two at a time through two slots, each lane's next as the one before ends", async () => {
    // Two `worker` tasks due then too cannot follow: they wait for a slot, which only a lane's end frees.
    const h = await make({ start: at("10:02:13"), maxConcurrentRuns: 2, isolation: (id) => (id.startsWith("w") ? "worker" : "context") });
    h.launcher.plan = () => ({ durationMs: 10 });
    for (let i = 0; i < 8; i++) await h.scheduler.setTask(task(`t${i}`, { spec: every(5, "minute") }));
    for (const id of ["w0", "w1"]) await h.scheduler.setTask(task(id, { spec: every(5, "minute") }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:06:00"));
    const all = h.launcher.runs.filter((r) => r.request.scheduledFor === at("10:05:00"));
    const runs = all.filter((r) => r.request.task.id.startsWith("t"));
    expect(runs).toHaveLength(8);
    // None waited for a slot: all were told ahead of the instant.
    expect(runs.every((r) => r.startAskedAt! < at("10:05:00"))).toBe(true);
    const followers = runs.filter((r) => r.after !== null);
    expect(followers).toHaveLength(6);
    // Two lanes of four, each run after the one before it.
    const ends = new Map(await Promise.all(all.map(async (r) => [r, (await r.outcome).finishedAt] as const)));
    for (const run of followers) {
      const ahead = runs.find((r) => r.request.runId === run.after)!;
      expect(run.startedAt).toBe(ends.get(ahead));
    }
    expect(Math.max(...runs.map((r) => r.startedAt!))).toBe(at("10:05:00") + 30);
    expect(mostAtOnce(all, ends)).toBe(2);
    expect((await h.ledger.listRunsBetween(0, Number.MAX_SAFE_INTEGER, {})).filter((r) => r.status === "success")).toHaveLength(10);
  });

  it("a follower whose run ahead lasts takes the next slot that frees, FOLLOW_PATIENCE_MS past its instant", async () => {
    const h = await make({ start: at("10:02:13"), maxConcurrentRuns: 2, isolation: "context" });
    h.launcher.plan = (request) => ({ durationMs: request.task.id === "long" ? 60_000 : 10 });
    for (const id of ["long", "short", "f1", "f2"]) await h.scheduler.setTask(task(id, { spec: every(5, "minute") }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:05:30"));
    const [long, , f1] = ["long", "short", "f1"].map((id) => h.launcher.of(`${id}#run`)[0]!);
    expect(f1!.after).toBe(long!.request.runId);
    // The other lane was over at +20 ms; f1 waited its patience, then took that slot and began.
    expect(f1!.stoodAlone).toBe(true);
    expect(f1!.startedAt).toBe(at("10:05:00") + FOLLOW_PATIENCE_MS);
    expect(long!.ended).toBe(false);
    expect(h.launcher.running()).toEqual([long]);
  });

  it("a crowd no larger than the slots gets a slot each; a larger one is spread over about as many lanes as cores", async () => {
    const h = await make({ start: at("10:02:13"), maxConcurrentRuns: 8, isolation: "context" });
    h.launcher.plan = () => ({ durationMs: 1 });
    for (let i = 0; i < 5; i++) await h.scheduler.setTask(task(`a${i}`, { spec: every(5, "minute") }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:06:00"));
    const few = h.launcher.runs.filter((r) => r.request.scheduledFor === at("10:05:00"));
    expect(few.map((r) => r.after)).toEqual([null, null, null, null, null]);
    for (let i = 0; i < 15; i++) await h.scheduler.setTask(task(`b${i}`, { spec: every(5, "minute") }));
    await h.time.advanceTo(at("10:11:00"));
    const crowd = h.launcher.runs.filter((r) => r.request.scheduledFor === at("10:10:00"));
    expect(crowd).toHaveLength(20);
    const lanes = Math.min(8, availableParallelism() + 1);
    expect(crowd.filter((r) => r.after === null)).toHaveLength(lanes);
    expect(crowd.every((r) => r.startAskedAt! < at("10:10:00"))).toBe(true);
  });

  it("a lane holds one run per MB of its tasks' memory_limit behind its head (at most MAX_LANE_DEPTH); the rest wait for a slot", async () => {
    expect([laneDepth(512), laneDepth(2048), laneDepth(64), laneDepth(0.5)]).toEqual([400, MAX_LANE_DEPTH, 64, 1]);
    const lanes = availableParallelism() + 1;
    const h = await make({ start: at("10:02:13"), maxConcurrentRuns: lanes, isolation: "context" });
    h.launcher.plan = () => ({ durationMs: 1 });
    // memory_limit 2: lanes of 2 behind each head, told ahead; the others are told as slots pass on.
    for (let i = 0; i < lanes * 3 + 4; i++) await h.scheduler.setTask(task(`m${i}`, { spec: every(5, "minute"), meta: { memoryLimitMb: 2 } }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:06:00"));
    const runs = h.launcher.runs.filter((r) => r.request.scheduledFor === at("10:05:00"));
    expect(runs).toHaveLength(lanes * 3 + 4);
    const aheadOfInstant = runs.filter((r) => r.startAskedAt! < at("10:05:00"));
    expect(aheadOfInstant).toHaveLength(lanes * 3);
    expect(aheadOfInstant.filter((r) => r.after !== null)).toHaveLength(lanes * 2);
    expect(runs.every((r) => r.outcome !== undefined && r.startedAt !== null)).toBe(true);
  });

  it("never follows a run launched ahead for a later instant", async () => {
    const h = await make({ start: at("10:02:13"), maxConcurrentRuns: 2, isolation: "context" });
    // Launched 5 s ahead, the later run holds a slot before the 10:05:00 crowd is armed.
    h.launcher.leadTimeMs = (taskId) => (taskId === "later" ? 5000 : 400);
    h.launcher.plan = () => ({ durationMs: 5 });
    await h.scheduler.setTask(task("later", { spec: { kind: "every", unit: "minute", n: 5, offsetSec: 1 } }));
    for (const id of ["a", "b", "c"]) await h.scheduler.setTask(task(id, { spec: every(5, "minute") }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:05:30"));
    const later = h.launcher.of("later#run")[0]!;
    expect(later.startedAt).toBe(at("10:05:01"));
    const crowd = ["a", "b", "c"].map((id) => h.launcher.of(`${id}#run`)[0]!);
    // b and c follow a (the run due with them), not the later run: they begin right after it.
    expect(crowd.filter((r) => r.after !== null).every((r) => r.after !== later.request.runId)).toBe(true);
    expect(Math.max(...crowd.map((r) => r.startedAt!))).toBeLessThan(at("10:05:00") + 100);
  });

  it("no lanes for `worker` runs: those beyond the slots wait for one and are told on it", async () => {
    const h = await make({ start: at("10:02:13"), maxConcurrentRuns: 2, isolation: "worker" });
    h.launcher.plan = () => ({ durationMs: 10 });
    for (let i = 0; i < 4; i++) await h.scheduler.setTask(task(`t${i}`, { spec: every(5, "minute") }));
    h.scheduler.start();
    await h.time.advanceTo(at("10:06:00"));
    const runs = h.launcher.runs.filter((r) => r.request.scheduledFor === at("10:05:00"));
    expect(runs.every((r) => r.after === null)).toBe(true);
    expect(runs.filter((r) => r.startAskedAt! >= at("10:05:00") + 10)).toHaveLength(2);
  });
});
