import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ERR_DB_WRITE,
  ERR_STATE_VALUE,
  ERR_STORE_ARGUMENT,
  ERR_STORE_CLOSED,
  ERR_STORE_OPTIONS,
  openSqlJsStore,
  resolveSqlJsStoreOptions,
} from "../runtime/store/sqljs-store.ts";
import type { SqlJsLedger as Store } from "../runtime/store/sqljs-store.ts";
import { parseJournal } from "../runtime/store/store-journal.ts";
import { newRun } from "./fixtures/store-runs.ts";
import { waitFor } from "./support/wait-for.ts";

let dir: string;
let dbPath: string;
const open: Store[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "taskhost-store-"));
  dbPath = join(dir, "data", "scheduler.db");
});

afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function openStore(extra: { flushDelayMs?: number; backupIntervalMs?: number } = {}): Promise<Store> {
  const store = await openSqlJsStore({ path: dbPath, onWarning: () => {}, ...extra });
  open.push(store);
  return store;
}

let copies = 0;
/**
 * Opens a copy of the files as they are on disk now, while the store that
 * writes them stays open (it holds the file's writer lock).
 */
async function onDiskCopy(): Promise<Store> {
  const copyDir = join(dir, `copy-${++copies}`);
  await mkdir(copyDir);
  for (const suffix of ["", ".journal"]) {
    await copyFile(`${dbPath}${suffix}`, join(copyDir, `scheduler.db${suffix}`)).catch(() => undefined);
  }
  const store = await openSqlJsStore({ path: join(copyDir, "scheduler.db"), onWarning: () => {} });
  open.push(store);
  return store;
}

/** Closes `store` and opens the same file again: what survives is what was on disk. */
async function reopen(store: Store): Promise<Store> {
  await store.close();
  return openStore();
}

const run = newRun;

describe("sqljs store", () => {
  it("creates the file (and its directory) on open", async () => {
    await openStore();
    expect((await stat(dbPath)).size).toBeGreaterThan(0);
  });

  it("round-trips tasks, schedules, runs and state through close/reopen", async () => {
    let store = await openStore();
    await store.upsertTask({ id: "reports/daily", title: "Daily", file: "tasks/reports/daily.ts" });
    await store.setPaused("reports/daily", true);
    await store.setTaskLoad("reports/daily", { error: "tasks/reports/daily.ts:3:1: Unexpected }", enabled: false });
    await store.upsertSchedule({
      id: "reports/daily#start",
      taskId: "reports/daily",
      method: "start",
      fingerprint: '{"kind":"every"}',
      spec: "every 5 minutes",
      nextRun: 1_700_000_300_000,
    });
    const first = run();
    const id = await store.insertRun(first);
    await store.updateRun(id, { status: "failure", finishedAt: 1_700_000_001_234, error: "boom", output: "line 1\nline 2" });
    await store.setState("reports/daily", "cursor", { page: 3, seen: ["a", "b"], ok: true, none: null });

    store = await reopen(store);
    expect(await store.getTask("reports/daily")).toEqual({
      id: "reports/daily",
      title: "Daily",
      file: "tasks/reports/daily.ts",
      paused: true,
      removedAt: null,
      error: "tasks/reports/daily.ts:3:1: Unexpected }",
      enabled: false,
    });
    expect(await store.getSchedule("reports/daily#start")).toEqual({
      id: "reports/daily#start",
      taskId: "reports/daily",
      method: "start",
      fingerprint: '{"kind":"every"}',
      spec: "every 5 minutes",
      nextRun: 1_700_000_300_000,
    });
    expect(await store.getRun(id)).toEqual({
      id,
      ...first,
      status: "failure",
      finishedAt: 1_700_000_001_234,
      error: "boom",
      output: "line 1\nline 2",
    });
    expect(await store.getState("reports/daily")).toEqual({ cursor: { page: 3, seen: ["a", "b"], ok: true, none: null } });
  });

  it("upserts keep paused, update fields, and setNextRun/removeSchedule persist", async () => {
    let store = await openStore();
    await store.upsertTask({ id: "a", title: "A", file: "tasks/a.ts" });
    await store.setPaused("a", true);
    await store.upsertTask({ id: "a", title: "A2", file: "tasks/a2.ts" });
    expect(await store.getTask("a")).toMatchObject({ title: "A2", file: "tasks/a2.ts", paused: true });

    const schedule = { id: "a#x", taskId: "a", method: "x", fingerprint: "f1", spec: "every minute", nextRun: 5 };
    await store.upsertSchedule(schedule);
    await store.upsertSchedule({ ...schedule, id: "a#y", method: "y" });
    await store.upsertSchedule({ id: "b#z", taskId: "b", method: "z", fingerprint: "f", spec: "s", nextRun: null });
    await store.upsertSchedule({ ...schedule, fingerprint: "f2" });
    await store.setNextRun("a#x", null);
    await store.removeSchedule("a#y");

    store = await reopen(store);
    expect(await store.listSchedules("a")).toEqual([{ ...schedule, fingerprint: "f2", nextRun: null }]);
    expect((await store.listSchedules()).map((s) => s.id)).toEqual(["a#x", "b#z"]);
    expect(await store.getSchedule("a#y")).toBeUndefined();
    expect(await store.getTask("nope")).toBeUndefined();
  });

  it("lists removed tasks without their schedules, and upsertTask clears removedAt unless given", async () => {
    let store = await openStore();
    await store.upsertTask({ id: "a", title: "A", file: "tasks/a.ts" });
    await store.upsertTask({ id: "b", title: "B", file: "tasks/b.ts" });
    await store.upsertSchedule({ id: "b#z", taskId: "b", method: "z", fingerprint: "f", spec: "s", nextRun: 5 });
    await store.upsertSchedule({ id: "a#x", taskId: "a", method: "x", fingerprint: "f", spec: "s", nextRun: 5 });
    const kept = await store.insertRun(run({ taskId: "b", scheduleId: "b#z" }));
    await store.markTaskRemoved("b", 1234);
    await store.upsertTask({ id: "c", title: "C", file: "tasks/c.ts", removedAt: 99 });

    store = await reopen(store);
    expect((await store.listTasks()).map((t) => [t.id, t.removedAt])).toEqual([
      ["a", null],
      ["b", 1234],
      ["c", 99],
    ]);
    // Its schedules went with it (a file that comes back starts afresh); its history stayed.
    expect((await store.listSchedules()).map((s) => s.id)).toEqual(["a#x"]);
    expect((await store.listRuns("b")).map((r) => r.id)).toEqual([kept]);
    await store.upsertTask({ id: "b", title: "B", file: "tasks/b.ts" });
    expect((await store.getTask("b"))!.removedAt).toBeNull();
  });

  it("leaves claimed occurrences that have not started out of a task's runs", async () => {
    const store = await openStore();
    const started = await store.insertRun(run());
    const skipped = await store.insertRun(run({ startedAt: null, status: "skipped", finishedAt: 9 }));
    const claimed = await store.insertRun(run({ startedAt: null })); // armed 0.4 s before its time
    expect((await store.listRuns("reports/daily")).map((r) => r.id)).toEqual([skipped, started]);
    // It is still a claim a crashed host must account for.
    expect((await store.listUnfinishedRuns()).map((r) => r.id)).toEqual([started, claimed]);
  });

  it("lists runs newest first with limit, before and scheduleId", async () => {
    let store = await openStore();
    const ids: number[] = [];
    for (let i = 0; i < 120; i++) {
      ids.push(await store.insertRun(run({ scheduleId: i % 2 === 0 ? "t#even" : "t#odd", taskId: "t", scheduledFor: i })));
    }
    await store.insertRun(run({ taskId: "other" }));
    store = await reopen(store);

    const firstPage = await store.listRuns("t");
    expect(firstPage).toHaveLength(50);
    expect(firstPage[0]!.id).toBe(ids[119]);
    expect(firstPage.map((r) => r.id)).toEqual([...ids].reverse().slice(0, 50));

    const pages: number[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await store.listRuns("t", { limit: 7, before });
      if (page.length === 0) break;
      pages.push(...page.map((r) => r.id));
      before = page[page.length - 1]!.id;
    }
    expect(pages).toEqual([...ids].reverse());

    const odd = await store.listRuns("t", { scheduleId: "t#odd", limit: 3 });
    expect(odd.map((r) => r.scheduledFor)).toEqual([119, 117, 115]);
    expect((await store.lastRun("t#even"))!.scheduledFor).toBe(118);
    expect(await store.lastRun("t#none")).toBeUndefined();

    await expect(store.listRuns("t", { limit: 0 })).rejects.toMatchObject({ code: ERR_STORE_ARGUMENT });
  });

  it("prunes all but the newest runs of one task", async () => {
    let store = await openStore();
    const ids: number[] = [];
    for (let i = 0; i < 10; i++) ids.push(await store.insertRun(run({ taskId: "a", scheduledFor: i })));
    for (let i = 0; i < 3; i++) await store.insertRun(run({ taskId: "b", scheduleId: "b#x", scheduledFor: i }));

    expect(await store.pruneRuns("a", 4)).toEqual(ids.slice(0, 6));
    expect(await store.pruneRuns("a", 4)).toEqual([]);
    expect(await store.pruneRuns("b", 100)).toEqual([]);
    store = await reopen(store);
    expect((await store.listRuns("a")).map((r) => r.id)).toEqual(ids.slice(6).reverse());
    expect(await store.listRuns("b")).toHaveLength(3);

    // Ids are never reused after pruning, so "before" cursors stay meaningful.
    const next = await store.insertRun(run({ taskId: "a" }));
    expect(next).toBeGreaterThan(Math.max(...ids));
    expect(await store.pruneRuns("b", 0)).toHaveLength(3);
    await expect(store.pruneRuns("a", -1)).rejects.toMatchObject({ code: ERR_STORE_ARGUMENT });
  });

  it("shrinks the file after pruning (free pages are not kept)", async () => {
    let store = await openStore();
    for (let i = 0; i < 500; i++) await store.insertRun(run({ taskId: "a", output: "x".repeat(2000) }));
    store = await reopen(store); // close() writes a snapshot
    const full = (await stat(dbPath)).size;
    await store.pruneRuns("a", 10);
    store = await reopen(store);
    expect((await stat(dbPath)).size).toBeLessThan(full / 10);
  });

  it("deletes a run", async () => {
    const store = await openStore();
    const id = await store.insertRun(run());
    await store.deleteRun(id);
    await store.deleteRun(id);
    expect(await store.getRun(id)).toBeUndefined();
  });

  it("sets, replaces and deletes state values as JSON", async () => {
    let store = await openStore();
    await store.setState("a", "n", 1);
    await store.setState("a", "s", "text");
    await store.setState("a", "list", [1, { x: [2] }]);
    await store.setState("a", "gone", true);
    await store.setState("b", "n", 2);
    await store.setState("a", "n", 42);
    await store.setState("a", "gone", undefined);
    await store.setState("a", "never-there", undefined);

    store = await reopen(store);
    expect(await store.getState("a")).toEqual({ n: 42, s: "text", list: [1, { x: [2] }] });
    expect(await store.getState("b")).toEqual({ n: 2 });
    expect(await store.getState("c")).toEqual({});

    await expect(store.setState("a", "f", () => 1)).rejects.toMatchObject({ code: ERR_STATE_VALUE });
    await expect(store.setState("a", "big", 1n)).rejects.toMatchObject({ code: ERR_STATE_VALUE });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(store.setState("a", "cyclic", cyclic)).rejects.toMatchObject({ code: ERR_STATE_VALUE });
  });

  it("lists runs left running (by a host that died)", async () => {
    let store = await openStore();
    const a = await store.insertRun(run({ taskId: "a" }));
    const b = await store.insertRun(run({ taskId: "b" }));
    const c = await store.insertRun(run({ taskId: "c" }));
    await store.updateRun(b, { status: "success", finishedAt: 5 });
    store = await reopen(store);
    expect((await store.listUnfinishedRuns()).map((r) => r.id)).toEqual([a, c]);
  });

  it("persists writes within flushDelayMs without an explicit flush", async () => {
    const store = await openStore({ flushDelayMs: 20 });
    await store.upsertTask({ id: "later", title: "L", file: "tasks/later.ts" });
    // The timer's flush appends to the journal; nobody calls flush().
    await waitFor(async () => (await stat(`${dbPath}.journal`).catch(() => undefined))?.size, { what: "the delayed flush" });
    // What is on disk has it.
    const other = await onDiskCopy();
    expect(await other.getTask("later")).toBeDefined();
  });

  it("group-commits the ledger's writes of the same moment: one journal append, each promise resolved once it is on disk", async () => {
    const store = await openStore({ flushDelayMs: 60_000 });
    const journal = `${dbPath}.journal`;
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.setState("t", `k${i}`, i)));
    const first = parseJournal(await readFile(journal));
    expect(first.entries).toHaveLength(20);
    expect(first.entries.filter((e) => e.commit)).toHaveLength(1);
    // A write of a later moment is a flush of its own.
    await store.setState("t", "later", true);
    expect(parseJournal(await readFile(journal)).entries.filter((e) => e.commit)).toHaveLength(2);
  });

  it("serialises concurrent flushes and loses no write made during a flush", async () => {
    const store = await openStore({ flushDelayMs: 0 });
    const flushes: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      await store.insertRun(run({ scheduledFor: i }));
      flushes.push(store.flush());
    }
    await Promise.all(flushes);
    const other = await onDiskCopy();
    expect(await other.listRuns("reports/daily", { limit: 100 })).toHaveLength(50);
    // No temp files left behind.
    expect((await readdir(join(dir, "data"))).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });

  it("rejects flush() when the file cannot be written, retries in the background, and recovers", async () => {
    const warnings: string[] = [];
    const store = await openSqlJsStore({ path: dbPath, flushDelayMs: 10, onWarning: (m) => warnings.push(m) });
    open.push(store);
    await rm(join(dir, "data"), { recursive: true });
    await store.insertRun(run());
    await expect(store.flush()).rejects.toMatchObject({ code: ERR_DB_WRITE, message: expect.stringContaining(dbPath) });
    await store.insertRun(run());
    await waitFor(() => warnings.some((m) => m.includes("Retrying in")), { what: "the background retry's warning" });
    await mkdir(join(dir, "data"));
    await store.flush();
    const other = await onDiskCopy();
    expect(await other.listRuns("reports/daily")).toHaveLength(2);
  });

  it("close is idempotent and later calls reject clearly", async () => {
    const store = await openStore();
    await store.insertRun(run());
    await Promise.all([store.close(), store.close()]);
    await store.close();
    await expect(store.getRun(1)).rejects.toMatchObject({ code: ERR_STORE_CLOSED });
    await expect(store.insertRun(run())).rejects.toThrow(/closed/);
    await expect(store.flush()).rejects.toMatchObject({ code: ERR_STORE_CLOSED });
    const again = await openStore();
    expect(await again.getRun(1)).toBeDefined();
  });

  it("validates and freezes options", () => {
    expect(() => resolveSqlJsStoreOptions({ path: "relative/x.db" })).toThrow(expect.objectContaining({ code: ERR_STORE_OPTIONS }));
    expect(() => resolveSqlJsStoreOptions({ path: "/x.db", flushDelayMs: -1 })).toThrow(/flushDelayMs/);
    expect(() => resolveSqlJsStoreOptions({ path: "/x.db", journalMaxBytes: -1 })).toThrow(/"journalMaxBytes" must be a number of bytes/);
    expect(() => resolveSqlJsStoreOptions({ path: "/x.db", snapshotIntervalMs: Number.NaN })).toThrow(/snapshotIntervalMs/);
    expect(() => resolveSqlJsStoreOptions({ path: "/x.db", journalMaxBytes: "8MB" as unknown as number })).toThrow(/journalMaxBytes/);
    const resolved = resolveSqlJsStoreOptions({ path: "/x.db" });
    expect(resolved).toMatchObject({
      path: "/x.db",
      backupPath: "/x.db.bak",
      journalPath: "/x.db.journal",
      flushDelayMs: 200,
      backupIntervalMs: 3_600_000,
      journalMaxBytes: 8 * 1024 * 1024,
      snapshotIntervalMs: 300_000,
    });
    expect(Object.isFrozen(resolved)).toBe(true);
  });
});
