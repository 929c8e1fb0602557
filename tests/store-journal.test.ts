/**
 * The write-ahead journal of the sql.js store: a flush appends only what
 * changed; opening replays the journal onto the snapshot, skipping what the
 * snapshot already holds and stopping at anything damaged. A "crash" here is
 * a copy of the files taken while the store is still open (nothing closed,
 * nothing snapshotted on the way out), opened as the next host would.
 */
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqlJsStore, type SqlJsStoreOptions } from "../runtime/store/sqljs-store.ts";
import { encodeBatch, parseJournal } from "../runtime/store/store-journal.ts";
import type { Mutation } from "../runtime/store/store-mutations.ts";
import type { NewRun } from "../runtime/store/store-mutations.ts";
import type { SqlJsLedger as Store } from "../runtime/store/sqljs-store.ts";
import { newRun } from "./fixtures/store-runs.ts";
import { waitFor } from "./support/wait-for.ts";

let dir: string;
let dbPath: string;
let journalPath: string;
let warnings: string[];
const open: Store[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "taskhost-journal-"));
  dbPath = join(dir, "live", "scheduler.db");
  journalPath = `${dbPath}.journal`;
  warnings = [];
});

afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** Background flushes and snapshots are kept out of the way unless a test asks for them. */
async function openStore(path = dbPath, extra: Partial<SqlJsStoreOptions> = {}): Promise<Store> {
  const store = await openSqlJsStore({ path, flushDelayMs: 60_000, onWarning: (m) => warnings.push(m), ...extra });
  open.push(store);
  return store;
}

let crashes = 0;
/** The files as a kill -9 would leave them right now; returns the copy's database path. */
async function crashCopy(): Promise<string> {
  crashes += 1;
  const target = join(dir, `crash-${crashes}`);
  await mkdir(target);
  for (const name of await readdir(join(dir, "live"))) await copyFile(join(dir, "live", name), join(target, name));
  return join(target, "scheduler.db");
}

/** A run that started (listRuns leaves out occurrences only claimed). */
function run(overrides: Partial<NewRun> = {}): NewRun {
  return newRun({ taskId: "t", scheduleId: "t#m", startedAt: 1005, ...overrides });
}

/** Everything a store holds, for comparing two of them. */
async function dump(store: Store) {
  const tasks = await store.listTasks();
  const runs = await Promise.all(["t", "u"].map((id) => store.listRuns(id, { limit: 1000 })));
  const states = await Promise.all(["t", "u"].map((id) => store.getState(id)));
  return { tasks, schedules: await store.listSchedules(), runs, states };
}

/** One mutation of every kind, ending with run ids 1..5 of which 1 (pruned) and 5 (deleted) are gone. */
async function writeEverything(store: Store): Promise<void> {
  await store.upsertTask({ id: "t", title: "T", file: "tasks/t.ts" });
  await store.upsertTask({ id: "u", title: "U", file: "tasks/u.ts" });
  await store.setPaused("t", true);
  await store.setTaskLoad("t", { error: "tasks/t.ts:1:1: broken", enabled: false });
  await store.markTaskRemoved("u", 99);
  await store.upsertSchedule({ id: "t#m", taskId: "t", method: "m", fingerprint: "f", spec: "every second", nextRun: 1 });
  await store.upsertSchedule({ id: "u#m", taskId: "u", method: "m", fingerprint: "f", spec: "daily", nextRun: 2 });
  await store.setNextRun("t#m", 5000);
  await store.removeSchedule("u#m");
  for (let i = 0; i < 4; i++) await store.insertRun(run({ scheduledFor: 1000 * i, output: `ü ${i}\n"quoted"` }));
  await store.updateRun(2, { status: "success", startedAt: 2001, finishedAt: 2002, output: "done" });
  await store.pruneRuns("t", 3);
  const last = await store.insertRun(run({ taskId: "u", scheduleId: null }));
  await store.deleteRun(last);
  await store.setState("t", "n", { deep: [1, 2] });
  await store.setState("t", "gone", true);
  await store.setState("t", "gone", undefined);
}

describe("sqljs store journal", () => {
  it("a flush appends to the journal and leaves the snapshot file alone", async () => {
    const store = await openStore();
    await store.upsertTask({ id: "t", title: "T", file: "tasks/t.ts" });
    await store.flush();
    const snapshot = await stat(dbPath);
    const before = (await stat(journalPath)).size;
    await store.insertRun(run({ output: "x".repeat(100) }));
    await store.flush();
    const after = await stat(dbPath);
    expect([after.ino, after.mtimeMs, after.size]).toEqual([snapshot.ino, snapshot.mtimeMs, snapshot.size]);
    const grown = (await stat(journalPath)).size - before;
    expect(grown).toBeGreaterThan(100);
    expect(grown).toBeLessThan(600);
    // A flush with nothing new writes nothing.
    await store.flush();
    expect((await stat(journalPath)).size - before).toBe(grown);
  });

  it("replays every kind of change after a crash without close, to the same ids", async () => {
    const store = await openStore();
    await writeEverything(store);
    await store.flush();
    const crashed = await crashCopy();

    // The snapshot alone has none of it: what comes back came from the journal.
    const snapshotOnly = join(dir, "snapshot-only");
    await mkdir(snapshotOnly);
    await copyFile(crashed, join(snapshotOnly, "scheduler.db"));
    expect(await (await openStore(join(snapshotOnly, "scheduler.db"))).listTasks()).toEqual([]);

    const recovered = await openStore(crashed);
    expect(await dump(recovered)).toEqual(await dump(store));
    expect((await recovered.listRuns("t")).map((r) => r.id)).toEqual([4, 3, 2]);
    // AUTOINCREMENT moved past the deleted run 5 in the replay too.
    expect(await recovered.insertRun(run())).toBe(6);
    expect(await store.insertRun(run())).toBe(6);
    expect(warnings).toEqual([]);
    // Opening absorbed the journal into a new snapshot.
    expect((await stat(`${crashed}.journal`)).size).toBe(0);
  });

  it("keeps what flushed before a torn last append, ignoring the torn part with a warning", async () => {
    const store = await openStore();
    await store.insertRun(run({ output: "flushed" }));
    await store.flush();
    const whole = await readFile(journalPath);
    await store.insertRun(run({ output: "torn" }));
    await store.setState("t", "torn", 1);
    await store.flush();
    const full = await readFile(journalPath);

    // Cut anywhere inside the second flush: it is ignored as a whole.
    for (const cut of [whole.length + 5, full.length - 40, full.length - 1]) {
      await writeFile(journalPath, full.subarray(0, cut));
      warnings = [];
      const crashed = await openStore(await crashCopy());
      expect((await crashed.listRuns("t")).map((r) => r.output)).toEqual(["flushed"]);
      expect(await crashed.getState("t")).toEqual({});
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain("incomplete end");
      expect(warnings[0]).toContain("scheduler.db.journal");
    }

    // Whole lines but without the flush's closing entry (the last line lost): also ignored.
    const lines = full.subarray(whole.length).toString().split("\n").filter(Boolean);
    expect(lines).toHaveLength(2);
    await writeFile(journalPath, Buffer.concat([whole, Buffer.from(`${lines[0]}\n`)]));
    warnings = [];
    const crashed = await openStore(await crashCopy());
    expect(await crashed.listRuns("t")).toHaveLength(1);
    expect(warnings).toEqual([expect.stringContaining("incomplete end")]);
  });

  it("stops at a damaged entry in the middle, never applying later ones out of order, and keeps the journal", async () => {
    const store = await openStore();
    for (const output of ["one", "two", "three"]) {
      await store.insertRun(run({ output }));
      await store.flush();
    }
    const journal = await readFile(journalPath);
    const second = journal.indexOf("two");
    journal[second] = "T".charCodeAt(0); // the checksum no longer matches
    await writeFile(journalPath, journal);

    const crashedPath = await crashCopy();
    const crashed = await openStore(crashedPath);
    expect((await crashed.listRuns("t")).map((r) => r.output)).toEqual(["one"]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/damaged at byte \d+ \(checksum mismatch\)/);
    expect(warnings[0]).toContain("ignored 1 entries after it");
    const kept = (await readdir(join(crashedPath, ".."))).filter((n) => n.startsWith("scheduler.db.journal.corrupt-"));
    expect(kept).toHaveLength(1);
  });

  it("skips journal entries the snapshot already holds (crash between snapshot and emptying the journal)", async () => {
    const store = await openStore();
    await store.upsertTask({ id: "t", title: "T", file: "tasks/t.ts" });
    for (let i = 0; i < 3; i++) await store.insertRun(run({ scheduledFor: i }));
    await store.updateRun(1, { output: "once" });
    await store.pruneRuns("t", 2);
    await store.flush();
    const stale = await readFile(journalPath);
    expect(parseJournal(stale).entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    await store.close(); // snapshot at entry 6, journal emptied
    open.length = 0;
    expect((await stat(journalPath)).size).toBe(0);

    // The journal as it was before the snapshot, plus one entry written by hand after it.
    const later: Mutation = { op: "setState", taskId: "t", key: "after", json: "7" };
    await writeFile(journalPath, Buffer.concat([stale, encodeBatch([{ seq: 7, mutationJson: JSON.stringify(later) }])]));
    const reopened = await openStore();
    // Replaying entries 1-6 again would re-insert runs 1-3 (or fail on their ids) and prune again.
    expect((await reopened.listRuns("t")).map((r) => r.id)).toEqual([3, 2]);
    expect(await reopened.getState("t")).toEqual({ after: 7 });
    expect(warnings).toEqual([]);
    expect(await reopened.insertRun(run())).toBe(4);
  });

  it("does not replay a journal that does not continue the snapshot", async () => {
    const store = await openStore();
    await store.insertRun(run());
    await store.close(); // snapshot at entry 1
    open.length = 0;
    // Entry 3 after a snapshot at 1: entry 2 is missing (e.g. the database is an older copy).
    const entry: Mutation = { op: "setState", taskId: "t", key: "k", json: "1" };
    await writeFile(journalPath, encodeBatch([{ seq: 3, mutationJson: JSON.stringify(entry) }]));
    const reopened = await openStore();
    expect(await reopened.getState("t")).toEqual({});
    expect(warnings).toEqual([expect.stringContaining("entry 3 (byte 0) does not follow entry 1")]);
    expect((await readdir(join(dir, "live"))).some((n) => n.startsWith("scheduler.db.journal.corrupt-"))).toBe(true);
  });

  it("does not replay the journal of a deleted database onto a new one", async () => {
    const store = await openStore();
    await store.insertRun(run());
    await store.flush();
    const crashed = await crashCopy();
    await unlink(crashed); // a user's "start fresh", with the journal left behind
    await rm(`${crashed}.bak`, { force: true });
    const fresh = await openStore(crashed);
    expect(await fresh.listRuns("t")).toEqual([]);
    expect(warnings).toEqual([expect.stringContaining("was not replayed")]);
    expect((await readdir(join(crashed, ".."))).some((n) => n.startsWith("scheduler.db.journal.orphan-"))).toBe(true);
  });

  it("writes a snapshot once the journal reaches journalMaxBytes, without making flush() wait for it", async () => {
    const store = await openStore(dbPath, { journalMaxBytes: 4096 });
    const snapshot = await stat(dbPath);
    let flushes = 0;
    // The atomic replace gives the snapshot file a new inode.
    while ((await stat(dbPath)).ino === snapshot.ino) {
      await store.insertRun(run({ output: "x".repeat(500) }));
      await store.flush();
      flushes += 1;
      if (flushes > 200) throw new Error("no snapshot after 200 flushes");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(flushes).toBeGreaterThan(3);
    // The rename lands before the journal is emptied: wait for the second half
    // (nothing appends any more, so it must reach a size below the threshold).
    await waitFor(async () => (await stat(journalPath)).size < 4096, { timeoutMs: 10_000, what: "the snapshot to empty the journal" });
    const crashed = await openStore(await crashCopy());
    expect(await crashed.listRuns("t", { limit: 100 })).toHaveLength(flushes);
  });

  it("writes a snapshot once the journal holds entries older than snapshotIntervalMs", async () => {
    const store = await openStore(dbPath, { snapshotIntervalMs: 50 });
    await store.insertRun(run());
    await store.flush();
    expect((await stat(journalPath)).size).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 80));
    await store.insertRun(run());
    await store.flush(); // appends, finds the journal old, and a snapshot follows
    await waitFor(async () => (await stat(journalPath)).size === 0, { timeoutMs: 10_000, what: "the snapshot to empty the journal" });
    expect(await (await openStore(await crashCopy())).listRuns("t")).toHaveLength(2);
  });

  it("snapshots on every flush with journalMaxBytes 0", async () => {
    const store = await openStore(dbPath, { journalMaxBytes: 0 });
    const before = await stat(dbPath);
    await store.insertRun(run());
    await store.flush();
    expect((await stat(journalPath)).size).toBe(0);
    expect((await stat(dbPath)).ino).not.toBe(before.ino);
  });

  it("close() leaves a snapshot and an empty journal", async () => {
    const store = await openStore();
    await writeEverything(store);
    await store.flush();
    const expected = await dump(store);
    await store.close();
    open.length = 0;
    expect((await stat(journalPath)).size).toBe(0);
    await unlink(journalPath);
    expect(await dump(await openStore())).toEqual(expected);
  });

  it("falls back to a snapshot when the journal file was removed under it", async () => {
    const store = await openStore();
    await store.insertRun(run());
    await store.flush();
    await unlink(journalPath);
    await store.insertRun(run());
    await store.flush();
    expect(warnings).toEqual([expect.stringContaining("writing a full snapshot instead")]);
    // A new journal took its place and takes the next flush.
    await store.insertRun(run());
    await store.flush();
    expect(parseJournal(await readFile(journalPath)).entries.map((e) => e.seq)).toEqual([3]);
    expect(await (await openStore(await crashCopy())).listRuns("t")).toHaveLength(3);
  });
});
