import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { planBackfill, rangeInstant } from "../runtime/backfill/backfill-plan.ts";
import { Backfills, type BackfillTarget } from "../runtime/backfill/backfills.ts";
import { BackfillJobFiles } from "../runtime/backfill/backfill-job-files.ts";
import type { BackfillJob } from "../runtime/backfill/backfill-job.ts";
import type { ScheduleSpec } from "../runtime/schedule/schedule-spec.ts";
import { waitFor } from "./support/wait-for.ts";

const HOURLY: ScheduleSpec = { kind: "every", unit: "hour", n: 1, offsetSec: 0 };
const T = (hh: number) => Date.parse(`2026-06-01T${String(hh).padStart(2, "0")}:00:00Z`);
const log = { debug() {}, info() {}, warn() {}, error() {} };

describe("planning a backfill", () => {
  it("takes the occurrences of the range without a run, oldest first, up to max, never the future", () => {
    const plan = planBackfill({ spec: HOURLY, zone: "UTC", window: {}, from: T(0), to: T(10), recorded: new Set([T(1), T(4)]), prunedThrough: null, max: 5, now: T(12) });
    expect(plan).toEqual({ occurrences: [T(0), T(2), T(3), T(5), T(6)], alreadyRun: 2, pruned: 0, more: true, emptyBecause: null });
    const future = planBackfill({ spec: HOURLY, zone: "UTC", window: {}, from: T(8), to: T(20), recorded: new Set(), prunedThrough: null, max: 100, now: T(10) + 1 });
    expect(future.occurrences).toEqual([T(8), T(9), T(10)]);
    expect(() => planBackfill({ spec: HOURLY, zone: "UTC", window: {}, from: T(5), to: T(1), recorded: new Set(), prunedThrough: null, max: 5, now: T(12) })).toThrow(/ends before it starts/);
    expect(() => planBackfill({ spec: HOURLY, zone: "UTC", window: {}, from: T(0), to: T(1), recorded: new Set(), prunedThrough: null, max: 0, now: T(12) })).toThrow(/max must be/);
  });

  it("says why a plan holds nothing: a range already run, still to come, or without an occurrence", () => {
    const plan = (from: number, to: number, recorded: number[] = []) =>
      planBackfill({ spec: HOURLY, zone: "UTC", window: {}, from, to, recorded: new Set(recorded), prunedThrough: null, max: 100, now: T(10) + 1 }).emptyBecause;
    expect(plan(T(2), T(3), [T(2), T(3)])).toBe("every occurrence of the range already has a run");
    expect(plan(T(12), T(20))).toBe("the range is still to come: its occurrences are the scheduler's (a backfill runs only past ones)");
    expect(plan(T(9), T(20), [T(9), T(10)])).toBe(
      "every past occurrence of the range already has a run; the rest of the range is still to come, and its occurrences are the scheduler's (a backfill runs only past ones)",
    );
    expect(plan(T(2) + 1, T(3) - 1)).toBe("the schedule has no occurrence in the range");
    expect(plan(T(10) + 1, T(11) - 1)).toBe(
      "the schedule has no past occurrence in the range; the rest of the range is still to come, and its occurrences are the scheduler's (a backfill runs only past ones)",
    );
    expect(plan(T(2), T(3))).toBeNull();
  });

  it("leaves out the occurrences up to where pruning reached: their runs may be gone, not missing", () => {
    const plan = (recorded: number[], prunedThrough: number | null, max = 100) =>
      planBackfill({ spec: HOURLY, zone: "UTC", window: {}, from: T(0), to: T(6), recorded: new Set(recorded), prunedThrough, max, now: T(12) });
    expect(plan([T(4)], T(2))).toEqual({ occurrences: [T(3), T(5), T(6)], alreadyRun: 1, pruned: 3, more: false, emptyBecause: null });
    expect(plan([], T(2), 2)).toMatchObject({ occurrences: [T(3), T(4)], pruned: 3, more: true });
    expect(plan([T(5), T(6)], T(4)).emptyBecause).toBe(
      "5 occurrence(s) up to 2026-06-01T04:00:00.000Z are older than the task's kept history (database.history_per_task pruned its runs there), " +
        "so whether they ran is not known, and they are not run; the other 2 already have a run",
    );
    expect(plan([], T(9)).emptyBecause).toMatch(/^7 occurrence\(s\) up to 2026-06-01T09:00:00.000Z .* they are not run$/);
    expect(plan([], T(0) - 1).pruned).toBe(0);
  });

  it("reads the range in the schedule's zone unless it carries an offset", () => {
    expect(rangeInstant("2026-06-01T09:00", "Europe/Paris", "--from")).toBe(Date.parse("2026-06-01T07:00:00Z"));
    expect(rangeInstant("2026-06-01T09:00Z", "Europe/Paris", "--from")).toBe(Date.parse("2026-06-01T09:00:00Z"));
    expect(() => rangeInstant("yesterday", "UTC", "--from")).toThrow(/--from "yesterday" is not an ISO date-time/);
  });
});

/**
 * The scheduler's and the ledger's side, standing in for the host: a ledger
 * that records each occurrence once (as recordRequestedRun does), and runs
 * that end when the test says so.
 */
class Host implements BackfillTarget {
  readonly recordedRuns = new Map<number, { runId: number; status: string }>();
  readonly started: number[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private nextId = 1;
  private waiting: Array<() => void> = [];
  hold = false;

  schedule(target: string) {
    if (target !== "job" && target !== "job#run") throw Object.assign(new Error(`no task "${target}"`), { code: "ERR_UNKNOWN_TASK" });
    return { taskId: "job", scheduleId: "job#run", method: "run", spec: HOURLY, zone: "UTC", window: {} };
  }
  async recorded(): Promise<Set<number>> {
    return new Set(this.recordedRuns.keys());
  }
  async prunedThrough(): Promise<number | null> {
    return null;
  }
  async runOccurrence(o: { scheduledFor: number }) {
    if (this.recordedRuns.has(o.scheduledFor)) return null;
    const run = { runId: this.nextId++, status: "running" };
    this.recordedRuns.set(o.scheduledFor, run);
    this.started.push(o.scheduledFor);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (this.hold) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else await new Promise((resolve) => setTimeout(resolve, 5));
    this.inFlight--;
    run.status = run.status === "running" ? "success" : run.status;
    return { runId: run.runId, status: run.status, error: null };
  }
  /** The host dies (kill -9): the next one finds the run in flight recorded, and marks it interrupted. */
  crash(): void {
    for (const run of this.recordedRuns.values()) if (run.status === "running") run.status = "interrupted";
    this.waiting = [];
    this.inFlight = 0;
  }
  /** Lets the run in flight end. */
  releaseOne(): void {
    this.waiting.shift()?.();
  }
  release(): void {
    this.hold = false;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

describe("running backfills", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "th-backfill-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const until = (backfills: Backfills, id: string, state: BackfillJob["state"]) => waitFor(() => backfills.get(id).state === state, { what: `backfill ${state}` });

  it("runs each missing occurrence once, one at a time, oldest first, and reports each step", async () => {
    const host = new Host();
    host.recordedRuns.set(T(2), { runId: 99, status: "success" });
    const backfills = new Backfills({ target: host, files: new BackfillJobFiles(dir), log, now: () => T(23) });
    const seen: number[] = [];
    backfills.on("progress", (job) => seen.push(job.done.length));
    const dry = await backfills.start({ target: "job", from: "2026-06-01T00:00Z", to: "2026-06-01T05:00Z", dryRun: true });
    expect(dry.planned).toHaveLength(5);
    expect(host.started).toEqual([]);
    const job = await backfills.start({ target: "job#run", from: "2026-06-01T00:00Z", to: "2026-06-01T05:00Z" });
    await until(backfills, job.id, "done");
    await waitFor(() => seen.length === 7, { what: "the last report" });
    expect(host.started).toEqual([T(0), T(1), T(3), T(4), T(5)]);
    expect(host.maxInFlight).toBe(1);
    expect(backfills.get(job.id).done.map((s) => s.status)).toEqual(["success", "success", "success", "success", "success"]);
    expect(backfills.get(job.id).alreadyRun).toBe(1);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 5]);
    const onDisk = JSON.parse(await readFile(path.join(dir, `${job.id}.json`), "utf8")) as BackfillJob;
    expect(onDisk.state).toBe("done");
    await expect(backfills.start({ target: "nope", from: "2026-06-01T00:00Z", to: "2026-06-01T05:00Z" })).rejects.toMatchObject({ code: "ERR_UNKNOWN_TASK" });
  });

  it("is cancelled after the run in flight", async () => {
    const host = new Host();
    host.hold = true;
    const backfills = new Backfills({ target: host, files: new BackfillJobFiles(dir), log, now: () => T(23) });
    const job = await backfills.start({ target: "job", from: "2026-06-01T00:00Z", to: "2026-06-01T09:00Z" });
    await waitFor(() => host.started.length === 1, { what: "the first run" });
    // One backfill of a schedule at a time.
    await expect(backfills.start({ target: "job", from: "2026-06-01T10:00Z", to: "2026-06-01T11:00Z" })).rejects.toMatchObject({ code: "ERR_CONFLICT" });
    await backfills.cancel(job.id);
    host.release();
    await until(backfills, job.id, "cancelled");
    expect(host.started).toEqual([T(0)]);
    expect(backfills.get(job.id).done).toHaveLength(1);
  });

  it("resumes after a host restart without running any occurrence twice", async () => {
    const host = new Host();
    host.hold = true;
    const files = new BackfillJobFiles(dir);
    const first = new Backfills({ target: host, files, log, now: () => T(23) });
    const job = await first.start({ target: "job", from: "2026-06-01T00:00Z", to: "2026-06-01T05:00Z" });
    for (const n of [1, 2]) {
      await waitFor(() => host.started.length === n, { what: `run ${n}` });
      host.releaseOne();
    }
    await waitFor(() => host.started.length === 3, { what: "the third run in flight" });
    // The host dies with the third run in flight: the first Backfills never hears of it again.
    await first.close();
    host.crash();
    expect(JSON.parse(await readFile(path.join(dir, `${job.id}.json`), "utf8")).state).toBe("running");

    host.hold = false;
    const second = new Backfills({ target: host, files, log, now: () => T(23) });
    expect(await second.resume()).toBe(1);
    await until(second, job.id, "done");
    // Every occurrence was started exactly once; the interrupted one is not run again.
    expect(host.started).toEqual([T(0), T(1), T(2), T(3), T(4), T(5)]);
    expect(new Set(host.started).size).toBe(host.started.length);
    const steps = second.get(job.id).done.map((s) => `${s.at.slice(11, 13)} ${s.status}`);
    expect(steps.slice(-4)).toEqual(["02 already-run", "03 success", "04 success", "05 success"]);
    await expect(first.start({ target: "job", from: "2026-06-01T00:00Z", to: "2026-06-01T01:00Z" })).rejects.toMatchObject({ code: "ERR_SCHEDULER_STOPPED" });
  });
});
