/**
 * What every ledger backend must do (runtime/store/ledger.ts), run against
 * each backend of tests/support/ledger-backends.ts. A lost race is a normal
 * answer; every write is durable when its promise resolves.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Ledger, OccurrenceClaim, ScheduleRow } from "../runtime/store/ledger.ts";
import { ledgerBackends, type LedgerUnderTest } from "./support/ledger-backends.ts";

const projectRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const T0 = 1_700_000_000_000;
const MINUTE = 60_000;

const schedule = (overrides: Partial<Parameters<Ledger["ensureSchedule"]>[0]> = {}) => ({
  id: "t#m",
  taskId: "t",
  method: "m",
  fingerprint: "fp1",
  spec: "every minute",
  firstRun: T0,
  enabled: true,
  ...overrides,
});

const claimOf = (row: ScheduleRow, overrides: Partial<OccurrenceClaim> = {}): OccurrenceClaim => ({
  scheduleId: row.id,
  taskId: row.taskId,
  expectedNext: row.nextRun!,
  next: row.nextRun! + MINUTE,
  fingerprint: row.fingerprint,
  owner: "host-a",
  occurrences: [{ scheduledFor: row.nextRun!, trigger: "schedule" }],
  ...overrides,
});

describe.each(ledgerBackends)("$name ledger", (backend) => {
  let under: LedgerUnderTest;
  let ledger: Ledger;
  const opened: Ledger[] = [];
  afterAll(() => backend.dispose?.(), 60_000);

  const open = async () => {
    const next = await under.open();
    opened.push(next);
    return next;
  };
  /** Closes `ledger` and opens it again: what survives is what was on disk. */
  const reopen = async () => {
    await ledger.close();
    ledger = await open();
    return ledger;
  };
  /** A ledger with task "t" and schedule "t#m" (next run T0). */
  const withSchedule = async () => {
    await ledger.recordTaskLoad({ id: "t", title: "T", file: "tasks/t.ts", error: null, enabled: true });
    return ledger.ensureSchedule(schedule());
  };
  /** Claims the schedule's next occurrence, starts it and ends it `success`; returns its id. */
  const runOnce = async (row: ScheduleRow, at = row.nextRun!) => {
    const claim = await ledger.claimOccurrences(claimOf(row));
    if (!claim.ok) throw new Error("claim lost");
    await ledger.recordStart(claim.runIds[0]!, at + 1);
    await ledger.recordEnd(claim.runIds[0]!, { status: "success", finishedAt: at + 2, error: null, output: "ok" });
    return claim.runIds[0]!;
  };

  beforeEach(async () => {
    under = await backend.create();
    ledger = await open();
  });

  afterEach(async () => {
    for (const each of opened.splice(0)) await each.close();
    await under.dispose();
  });

  it("registers hosts, renews their heartbeat and lets them leave", async () => {
    await ledger.registerHost({ id: "host-a", hostname: "box", pid: 123, startedAt: T0 });
    const { skewMs } = await ledger.heartbeat("host-a", 2);
    expect(Number.isFinite(skewMs)).toBe(true);
    const [host] = await ledger.listHosts();
    expect(host).toMatchObject({ id: "host-a", hostname: "box", pid: 123, startedAt: T0, running: 2 });
    expect(host!.lastHeartbeat).toBeGreaterThan(0);
    await ledger.leaveHost("host-a");
    expect(await ledger.listHosts()).toEqual([]);
  });

  it("records task loads, removal and pausing", async () => {
    expect(await ledger.recordTaskLoad({ id: "t", title: "T", file: "tasks/t.ts", error: null, enabled: true })).toEqual({
      id: "t",
      title: "T",
      file: "tasks/t.ts",
      paused: false,
      removedAt: null,
      error: null,
      enabled: true,
    });
    await ledger.ensureSchedule(schedule());
    expect(await ledger.setPaused("t", true)).toBe(true);
    expect(await ledger.setPaused("t", true)).toBe(false);
    expect(await ledger.setPaused("nope", true)).toBe(false);
    // A broken save keeps the task paused and says why.
    const broken = await ledger.recordTaskLoad({ id: "t", title: "T2", file: "tasks/t.ts", error: "tasks/t.ts:3: boom", enabled: false });
    expect(broken).toMatchObject({ title: "T2", paused: true, error: "tasks/t.ts:3: boom", enabled: false });

    await ledger.markTaskRemoved("t", T0);
    expect(await ledger.getTask("t")).toMatchObject({ removedAt: T0 });
    expect(await ledger.listSchedules("t")).toEqual([]);
    // The file came back.
    expect(await ledger.recordTaskLoad({ id: "t", title: "T", file: "tasks/t.ts", error: null, enabled: true })).toMatchObject({ removedAt: null });
    expect((await ledger.listTasks()).map((t) => t.id)).toEqual(["t"]);
    expect(await ledger.getTask("nope")).toBeUndefined();
  });

  it("ensureSchedule keeps an unchanged next run, whoever set it, and restarts a changed one", async () => {
    const first = await withSchedule();
    expect(first).toEqual({ id: "t#m", taskId: "t", method: "m", fingerprint: "fp1", spec: "every minute", nextRun: T0 });
    // Another host (or this one before a restart) moved it on.
    await ledger.claimOccurrences(claimOf(first));
    const kept = await ledger.ensureSchedule(schedule({ firstRun: T0 + 30 * MINUTE, spec: "every 1 minute" }));
    expect(kept).toMatchObject({ nextRun: T0 + MINUTE, spec: "every 1 minute" });
    expect(await ledger.getSchedule("t#m")).toEqual(kept);
    // A changed fingerprint starts over from the given first run.
    expect(await ledger.ensureSchedule(schedule({ fingerprint: "fp2", firstRun: T0 + 5 * MINUTE }))).toMatchObject({ nextRun: T0 + 5 * MINUTE });
    // Disabled: no next run; enabled again: the first run given (nothing to keep).
    expect(await ledger.ensureSchedule(schedule({ fingerprint: "fp2", enabled: false }))).toMatchObject({ nextRun: null });
    expect(await ledger.ensureSchedule(schedule({ fingerprint: "fp2", firstRun: T0 + 9 * MINUTE }))).toMatchObject({ nextRun: T0 + 9 * MINUTE });
  });

  it("retires schedules whose methods are gone and sets next runs outright", async () => {
    await withSchedule();
    await ledger.ensureSchedule(schedule({ id: "t#x", method: "x" }));
    await ledger.ensureSchedule(schedule({ id: "u#m", taskId: "u" }));
    await ledger.retireSchedules("t", ["t#x"]);
    expect((await ledger.listSchedules()).map((s) => s.id)).toEqual(["t#x", "u#m"]);
    await ledger.setNextRun("t#x", null);
    expect(await ledger.getSchedule("t#x")).toMatchObject({ nextRun: null });
  });

  it("claims an occurrence once: a second claim of the same next run is lost, with the schedule as it stands", async () => {
    const row = await withSchedule();
    const won = await ledger.claimOccurrences(claimOf(row));
    expect(won).toEqual({ ok: true, runIds: [expect.any(Number)] });
    const lost = await ledger.claimOccurrences(claimOf(row, { owner: "host-b" }));
    expect(lost).toEqual({ ok: false, current: { ...row, nextRun: T0 + MINUTE } });
    // Another version of the task never claims.
    const moved = (await ledger.getSchedule("t#m"))!;
    expect(await ledger.claimOccurrences(claimOf(moved, { fingerprint: "fp-other" }))).toMatchObject({ ok: false });
    // Unknown schedule: lost, nothing to show.
    expect(await ledger.claimOccurrences(claimOf(moved, { scheduleId: "t#gone" }))).toEqual({ ok: false, current: null });
    const run = (await ledger.getRun((won as { runIds: number[] }).runIds[0]!))!;
    expect(run).toMatchObject({ taskId: "t", scheduleId: "t#m", scheduledFor: T0, status: "running", startedAt: null, host: "host-a", attempt: 1, trigger: "schedule" });
  });

  it("a claimed occurrence that could not start on time becomes a catch-up, before its start only (issue 10 item 8)", async () => {
    const row = await withSchedule();
    const claim = await ledger.claimOccurrences(claimOf(row));
    const id = (claim as { runIds: number[] }).runIds[0]!;
    await ledger.recordCatchUp(id);
    expect(await ledger.getRun(id)).toMatchObject({ trigger: "catch-up", status: "running", startedAt: null });
    const started = await runOnce((await ledger.getSchedule("t#m"))!);
    await ledger.recordCatchUp(started);
    expect(await ledger.getRun(started)).toMatchObject({ trigger: "schedule" });
  });

  it("lets exactly one of two racing claimants win", async () => {
    const row = await withSchedule();
    const other = under.peer ? await under.peer() : ledger;
    if (other !== ledger) opened.push(other);
    for (let i = 0; i < 10; i++) {
      const current = (await ledger.getSchedule("t#m"))!;
      const results = await Promise.all([
        ledger.claimOccurrences(claimOf(current, { owner: "host-a" })),
        other.claimOccurrences(claimOf(current, { owner: "host-b" })),
      ]);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
    }
    expect(await ledger.listRunsBetween(T0, T0 + 10 * MINUTE)).toHaveLength(10);
    expect((await ledger.getSchedule("t#m"))!.nextRun).toBe(row.nextRun! + 10 * MINUTE);
  });

  it("claims catch-up occurrences with those it skips and what a run covers, atomically", async () => {
    const row = await withSchedule();
    const result = await ledger.claimOccurrences(
      claimOf(row, {
        next: T0 + 10 * MINUTE,
        occurrences: [
          { scheduledFor: T0, trigger: "catch-up", skipped: "skipped: missed (catch_up: once)" },
          { scheduledFor: T0 + 9 * MINUTE, trigger: "catch-up", covers: { from: T0 + MINUTE, count: 9 } },
        ],
      }),
    );
    expect(result.ok).toBe(true);
    const [skipped, run] = await Promise.all((result as { runIds: number[] }).runIds.map((id) => ledger.getRun(id)));
    expect(skipped).toMatchObject({ status: "skipped", error: "skipped: missed (catch_up: once)", coversFrom: null, coversCount: null });
    expect(skipped!.finishedAt).not.toBeNull();
    expect(run).toMatchObject({ status: "running", trigger: "catch-up", coversFrom: T0 + MINUTE, coversCount: 9 });

    // An occurrence that already has a run cannot be claimed again: the whole claim is lost, nothing half-done.
    await ledger.setNextRun("t#m", T0 + 9 * MINUTE);
    const again = await ledger.claimOccurrences(claimOf((await ledger.getSchedule("t#m"))!));
    expect(again).toMatchObject({ ok: false, current: { nextRun: T0 + 9 * MINUTE } });
    expect(await ledger.listRunsBetween(0, Number.MAX_SAFE_INTEGER)).toHaveLength(2);
  });

  it("records requested runs: manual always, a retry or backfill only once per occurrence and attempt", async () => {
    const row = await withSchedule();
    const first = await runOnce(row);
    const request = { taskId: "t", scheduleId: "t#m", scheduledFor: T0, owner: "host-a" };
    const manual = [
      await ledger.recordRequestedRun({ ...request, trigger: "manual", attempt: 1 }),
      await ledger.recordRequestedRun({ ...request, trigger: "manual", attempt: 1 }),
    ];
    expect(manual.every((id) => typeof id === "number" && id > first)).toBe(true);
    const retry = await ledger.recordRequestedRun({ ...request, trigger: "retry", attempt: 2 });
    expect(retry).toEqual(expect.any(Number));
    expect(await ledger.recordRequestedRun({ ...request, trigger: "retry", attempt: 2 })).toBeNull();
    // The occurrence ran: no backfill of it; another one may be backfilled once.
    expect(await ledger.recordRequestedRun({ ...request, trigger: "backfill", attempt: 1 })).toBeNull();
    const backfill = await ledger.recordRequestedRun({ ...request, scheduledFor: T0 - MINUTE, trigger: "backfill", attempt: 1 });
    expect(await ledger.getRun(backfill!)).toMatchObject({ trigger: "backfill", status: "running", host: "host-a", scheduledFor: T0 - MINUTE });
    expect(await ledger.recordRequestedRun({ ...request, scheduledFor: T0 - MINUTE, trigger: "backfill", attempt: 1 })).toBeNull();
  });

  it("releases a claim that never started, handing its occurrence back only when asked", async () => {
    const row = await withSchedule();
    const claimed = (await ledger.claimOccurrences(claimOf(row))) as { runIds: number[] };
    await ledger.releaseClaim(claimed.runIds[0]!, { handBack: false });
    expect(await ledger.getRun(claimed.runIds[0]!)).toBeUndefined();
    expect((await ledger.getSchedule("t#m"))!.nextRun).toBe(T0 + MINUTE);

    const next = (await ledger.getSchedule("t#m"))!;
    const again = (await ledger.claimOccurrences(claimOf(next))) as { runIds: number[] };
    await ledger.releaseClaim(again.runIds[0]!, { handBack: true });
    expect((await ledger.getSchedule("t#m"))!.nextRun).toBe(T0 + MINUTE);
    // It is due again: claimable once more.
    expect((await ledger.claimOccurrences(claimOf((await ledger.getSchedule("t#m"))!))).ok).toBe(true);

    // A next run already earlier (a reset) is kept; a run that started is not released.
    const third = (await ledger.claimOccurrences(claimOf((await ledger.getSchedule("t#m"))!))) as { runIds: number[] };
    await ledger.setNextRun("t#m", T0);
    await ledger.releaseClaim(third.runIds[0]!, { handBack: true });
    expect((await ledger.getSchedule("t#m"))!.nextRun).toBe(T0);
    const started = await runOnce((await ledger.getSchedule("t#m"))!);
    await ledger.releaseClaim(started, { handBack: true });
    expect(await ledger.getRun(started)).toMatchObject({ status: "success" });
  });

  it("records starts and ends, and lists history without claims not started", async () => {
    const row = await withSchedule();
    const done = await runOnce(row);
    expect(await ledger.getRun(done)).toMatchObject({ status: "success", startedAt: T0 + 1, finishedAt: T0 + 2, output: "ok", error: null });
    const pending = (await ledger.claimOccurrences(claimOf((await ledger.getSchedule("t#m"))!))) as { runIds: number[] };
    expect((await ledger.listRuns("t")).map((r) => r.id)).toEqual([done]);
    const ended = await ledger.recordEnd(pending.runIds[0]!, { status: "timeout", startedAt: T0 + MINUTE, finishedAt: T0 + 2 * MINUTE, error: "timed out" });
    expect(ended).toMatchObject({ id: pending.runIds[0], status: "timeout", startedAt: T0 + MINUTE, error: "timed out", output: "" });
    expect((await ledger.listRuns("t")).map((r) => r.id)).toEqual([pending.runIds[0], done]);
    expect(await ledger.recordEnd(999_999, { status: "success", finishedAt: 1, error: null })).toBeUndefined();
  });

  it("lists runs between two instants, oldest first, by occurrence (manual runs by start)", async () => {
    const row = await withSchedule();
    await runOnce(row);
    await runOnce((await ledger.getSchedule("t#m"))!);
    const manual = await ledger.recordRequestedRun({ taskId: "t", scheduleId: "t#m", scheduledFor: T0 + 30 * MINUTE, trigger: "manual", attempt: 1, owner: "a" });
    await ledger.recordStart(manual!, T0 + 90 * MINUTE);
    const all = await ledger.listRunsBetween(T0, T0 + 100 * MINUTE);
    expect(all.map((r) => r.scheduledFor)).toEqual([T0, T0 + MINUTE, T0 + 30 * MINUTE]);
    expect((await ledger.listRunsBetween(T0 + MINUTE, T0 + 90 * MINUTE)).map((r) => r.scheduledFor)).toEqual([T0 + MINUTE]);
    expect(await ledger.listRunsBetween(T0, T0 + 100 * MINUTE, { taskId: "other" })).toEqual([]);
    expect(await ledger.listRunsBetween(T0, T0 + 100 * MINUTE, { scheduleId: "t#m" })).toHaveLength(3);
  });

  it("recovers runs a dead host left running as interrupted", async () => {
    const row = await withSchedule();
    const claimed = (await ledger.claimOccurrences(claimOf(row))) as { runIds: number[] };
    const started = (await ledger.claimOccurrences(claimOf((await ledger.getSchedule("t#m"))!))) as { runIds: number[] };
    await ledger.recordStart(started.runIds[0]!, T0 + MINUTE);
    const done = await runOnce((await ledger.getSchedule("t#m"))!);
    await ledger.registerHost({ id: "host-a", hostname: "box", pid: 1, startedAt: T0 });

    ledger = await reopen();
    if (backend.fleet) {
      // host-a is alive (it just joined): its runs are its own.
      expect(await ledger.recoverRuns("host-b")).toEqual([]);
      await ledger.leaveHost("host-a"); // gone, as when its lease lapsed
      const recovered = await ledger.recoverRuns("host-b");
      expect(recovered.map((r) => [r.id, r.status])).toEqual([[started.runIds[0], "interrupted"]]);
      expect(recovered[0]!.error).toMatch(/while this run was running/);
      // Its claim that never started is given back; later occurrences were claimed since, so it stays recorded as skipped.
      expect(await ledger.getRun(claimed.runIds[0]!)).toMatchObject({ status: "skipped", error: expect.stringMatching(/died before starting it/) });
    } else {
      const recovered = await ledger.recoverRuns("host-b");
      expect(recovered.map((r) => [r.id, r.status])).toEqual([
        [claimed.runIds[0], "interrupted"],
        [started.runIds[0], "interrupted"],
      ]);
      expect(recovered[0]!.error).toMatch(/may not have started/);
      expect(recovered[1]!.error).toMatch(/while this run was running/);
    }
    expect(await ledger.getRun(done)).toMatchObject({ status: "success" });
    expect(await ledger.recoverRuns("host-b")).toEqual([]);
  });

  it("prunes all but the newest runs of a task and returns the ids removed", async () => {
    await withSchedule();
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) ids.push(await runOnce((await ledger.getSchedule("t#m"))!));
    expect(await ledger.pruneRuns("t", 4)).toEqual(ids.slice(0, 2));
    expect(await ledger.pruneRuns("t", 4)).toEqual([]);
    expect((await ledger.listRuns("t")).map((r) => r.id)).toEqual(ids.slice(2).reverse());
    expect(await ledger.pruneRuns("t", 0)).toEqual(ids.slice(2));
    await expect(ledger.pruneRuns("t", -1)).rejects.toMatchObject({ code: "ERR_STORE_ARGUMENT" });
  });

  it("remembers how far pruning reached into a task's occurrences (a manual run's time is none)", async () => {
    await withSchedule();
    expect(await ledger.prunedThrough("t")).toBeNull();
    const occurrences: number[] = [];
    for (let i = 0; i < 4; i++) {
      const row = (await ledger.getSchedule("t#m"))!;
      occurrences.push(row.nextRun!);
      await runOnce(row);
    }
    await ledger.pruneRuns("t", 10);
    expect(await ledger.prunedThrough("t")).toBeNull();
    await ledger.pruneRuns("t", 5);
    // A manual run's time (later than every occurrence here) is no occurrence.
    const manual = await ledger.recordRequestedRun({ taskId: "t", scheduleId: "t#m", scheduledFor: occurrences[3]! + 3_600_000, trigger: "manual", attempt: 1, owner: "a" });
    await ledger.recordEnd(manual!, { status: "success", finishedAt: occurrences[3]! + 3_600_001, error: null, output: "" });
    await ledger.pruneRuns("t", 3);
    expect(await ledger.prunedThrough("t")).toBe(occurrences[1]);
    await ledger.pruneRuns("t", 3);
    expect(await ledger.prunedThrough("t")).toBe(occurrences[1]);
    await ledger.pruneRuns("t", 1);
    expect(await ledger.prunedThrough("t")).toBe(occurrences[3]);
    // A backfill's run of an older occurrence, pruned later, does not move it back.
    const backfill = await ledger.recordRequestedRun({ taskId: "t", scheduleId: "t#m", scheduledFor: occurrences[0]! - 3_600_000, trigger: "backfill", attempt: 1, owner: "a" });
    await ledger.recordEnd(backfill!, { status: "success", finishedAt: occurrences[3]! + 3_600_002, error: null, output: "" });
    await ledger.pruneRuns("t", 0);
    expect(await ledger.prunedThrough("t")).toBe(occurrences[3]);
    expect(await ledger.prunedThrough("other")).toBeNull();
  });

  it("gives everything status needs in one snapshot", async () => {
    const row = await withSchedule();
    await ledger.ensureSchedule(schedule({ id: "t#idle", method: "idle" }));
    const done = await runOnce(row);
    await ledger.claimOccurrences(claimOf((await ledger.getSchedule("t#m"))!)); // a claim is not the last run
    // Nor is a backfill's run of an old occurrence, made after it.
    const backfill = await ledger.recordRequestedRun({ taskId: "t", scheduleId: "t#m", scheduledFor: T0 - 60 * MINUTE, trigger: "backfill", attempt: 1, owner: "host-a" });
    await ledger.recordStart(backfill!, T0 + 10);
    await ledger.recordEnd(backfill!, { status: "success", finishedAt: T0 + 20, error: null });
    await ledger.registerHost({ id: "host-a", hostname: "box", pid: 1, startedAt: T0 });
    const snapshot = await ledger.statusSnapshot();
    expect(snapshot.tasks.map((t) => t.id)).toEqual(["t"]);
    expect(snapshot.schedules.map((s) => [s.id, s.nextRun])).toEqual([
      ["t#idle", T0],
      ["t#m", T0 + 2 * MINUTE],
    ]);
    expect([...snapshot.lastRuns.keys()]).toEqual(["t#m"]);
    expect(snapshot.lastRuns.get("t#m")).toMatchObject({ id: done, status: "success" });
    expect(snapshot.hosts.map((h) => h.id)).toEqual(["host-a"]);
  });

  it("round-trips task state as JSON and refuses what JSON cannot hold", async () => {
    const value = { page: 3, seen: ["a", "b"], nested: { ok: true, none: null }, text: "ü \"quoted\"\n" };
    await ledger.setState("t", "cursor", value);
    await ledger.setState("t", "n", 1);
    await ledger.setState("t", "n", 42);
    await ledger.setState("t", "gone", true);
    await ledger.setState("t", "gone", undefined);
    await ledger.setState("u", "n", 2);
    ledger = await reopen();
    expect(await ledger.getState("t")).toEqual({ cursor: value, n: 42 });
    expect(await ledger.getState("u")).toEqual({ n: 2 });
    expect(await ledger.getState("none")).toEqual({});
    await expect(ledger.setState("t", "f", () => 1)).rejects.toMatchObject({ code: "ERR_STATE_VALUE" });
    await expect(ledger.setState("t", "big", 1n)).rejects.toMatchObject({ code: "ERR_STATE_VALUE" });
  });

  it("answers each state read with what was written last, in key order, and a copy a run may change", async () => {
    await ledger.setState("t", "b", 1);
    const first = await ledger.getState("t");
    expect(first).toEqual({ b: 1 });
    (first as { b: number }).b = 99;
    await ledger.setState("t", "a", { list: [1] });
    const second = await ledger.getState("t");
    expect(Object.keys(second)).toEqual(["a", "b"]);
    expect(second).toEqual({ a: { list: [1] }, b: 1 });
    (second.a as { list: number[] }).list.push(2);
    await ledger.setState("t", "b", undefined);
    expect(await ledger.getState("t")).toEqual({ a: { list: [1] } });
    ledger = await reopen();
    expect(await ledger.getState("t")).toEqual({ a: { list: [1] } });
  });

  it("keeps everything across close and reopen, with no flush", async () => {
    const row = await withSchedule();
    const done = await runOnce(row);
    await ledger.setPaused("t", true);
    await ledger.registerHost({ id: "host-a", hostname: "box", pid: 1, startedAt: T0 });
    await ledger.setState("t", "k", [1, 2]);
    const before = await ledger.statusSnapshot();
    ledger = await reopen();
    expect(await ledger.statusSnapshot()).toEqual(before);
    expect(await ledger.getRun(done)).toMatchObject({ status: "success", host: "host-a" });
    expect(await ledger.getState("t")).toEqual({ k: [1, 2] });
  });

  it("refuses calls after close, and close is idempotent", async () => {
    // Read once before: a state it already read is refused too.
    await ledger.setState("t", "k", 1);
    expect(await ledger.getState("t")).toEqual({ k: 1 });
    await Promise.all([ledger.close(), ledger.close()]);
    await expect(ledger.getTask("t")).rejects.toMatchObject({ code: "ERR_STORE_CLOSED" });
    await expect(ledger.getState("t")).rejects.toMatchObject({ code: "ERR_STORE_CLOSED" });
    await expect(ledger.setPaused("t", true)).rejects.toMatchObject({ code: "ERR_STORE_CLOSED" });
  });

  it("has a claim on disk once it resolved, even if the process is killed with SIGKILL right then", { timeout: 30_000 }, async () => {
    const row = await withSchedule();
    await ledger.close();
    const child = spawn(process.execPath, ["--import", "tsx", join(projectRoot, "tests", "fixtures", "ledger-claim-child.ts"), JSON.stringify(under.location)], {
      cwd: projectRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const claimed = await new Promise<number>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /claimed (\d+)\n/.exec(stdout);
        if (match) {
          child.kill("SIGKILL"); // at once: no timer of the ledger gets to run
          resolve(Number(match[1]));
        }
      });
      child.on("exit", (code) => reject(new Error(`child exited (code ${code}) before claiming: ${stderr}`)));
    });
    await once(child, "close");
    ledger = await open();
    expect(await ledger.getRun(claimed)).toMatchObject({ scheduleId: "t#m", scheduledFor: row.nextRun, status: "running", host: "child" });
    expect((await ledger.getSchedule("t#m"))!.nextRun).toBe(row.nextRun! + MINUTE);
  });
});
