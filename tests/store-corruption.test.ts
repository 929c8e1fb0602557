import { mkdir, mkdtemp, readFile, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ERR_DB_CORRUPT, ERR_DB_READ, ERR_DB_VERSION, openSqlJsStore } from "../runtime/store/sqljs-store.ts";
import type { SqlJsLedger } from "../runtime/store/sqljs-store.ts";

let dir: string;
let dbPath: string;
let warnings: string[];
const open: SqlJsLedger[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "taskhost-corrupt-"));
  dbPath = join(dir, "scheduler.db");
  warnings = [];
});

afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function openStore(): Promise<SqlJsLedger> {
  const store = await openSqlJsStore({ path: dbPath, onWarning: (m) => warnings.push(m) });
  open.push(store);
  return store;
}

/** A good database with `runs` runs of task "t", closed (so also backed up on the next open). */
/** Changes the database file through sql.js directly, as another program (or an older taskhost) would. */
async function editDatabase(statements: string[]): Promise<void> {
  const { default: initSqlJs } = await import("sql.js");
  const SQL = await initSqlJs();
  const db = new SQL.Database(await readFile(dbPath));
  for (const sql of statements) db.run(sql);
  await writeFile(dbPath, db.export());
  db.close();
}

async function writeGoodDatabase(runs: number): Promise<void> {
  const store = await openSqlJsStore({ path: dbPath, onWarning: () => {} });
  await store.upsertTask({ id: "t", title: "T", file: "tasks/t.ts" });
  for (let i = 0; i < runs; i++) {
    await store.insertRun({
      taskId: "t",
      scheduleId: "t#m",
      scheduledFor: i,
      startedAt: i,
      finishedAt: i + 1,
      status: "success",
      attempt: 1,
      trigger: "schedule",
      error: null,
      output: "x".repeat(200),
    });
  }
  await store.close();
}

const damages: [string, () => Promise<void>][] = [
  ["a zero-byte file", () => writeFile(dbPath, new Uint8Array())],
  ["a garbage file", () => writeFile(dbPath, Buffer.from("this is not sqlite at all\n".repeat(400)))],
  [
    "a file truncated mid-page",
    async () => {
      const size = (await readFile(dbPath)).length;
      await truncate(dbPath, Math.floor(size / 2) + 123);
    },
  ],
  [
    "a file truncated on a page boundary",
    async () => {
      const size = (await readFile(dbPath)).length;
      await truncate(dbPath, size - 4096);
    },
  ],
  ["a file cut by one byte", async () => truncate(dbPath, (await readFile(dbPath)).length - 1)],
  ["a file that is only a header", async () => truncate(dbPath, 100)],
];

describe("sqljs store on a damaged file", () => {
  for (const [name, damage] of damages) {
    it(`refuses ${name} without a backup, naming the path`, async () => {
      await writeGoodDatabase(300);
      await rm(`${dbPath}.bak`); // lost too
      await damage();
      const before = await readFile(dbPath);
      const error = await openStore().then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error?.code).toBe(ERR_DB_CORRUPT);
      expect(error?.message).toContain(dbPath);
      expect(error?.message).toMatch(/^taskhost store: .* Restore .*\.bak/);
      // Never started empty over it: the file is untouched.
      expect(await readFile(dbPath)).toEqual(before);
    });

    it(`starts from a good backup for ${name} and warns`, async () => {
      await writeGoodDatabase(300);
      // Opening a good file refreshes <path>.bak.
      await (await openStore()).close();
      open.length = 0;
      await damage();

      const store = await openStore();
      expect(await store.listRuns("t", { limit: 1000 })).toHaveLength(300);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(dbPath);
      expect(warnings[0]).toContain(`${dbPath}.bak`);
      // The damaged file was kept aside and the database file is good again.
      expect((await readdir(dir)).some((n) => n.startsWith("scheduler.db.corrupt-"))).toBe(true);
      await store.close();
      open.length = 0;
      warnings = [];
      const again = await openStore();
      expect(await again.listRuns("t", { limit: 1000 })).toHaveLength(300);
      expect(warnings).toEqual([]);
    });
  }

  it("refuses when the backup is damaged too, saying so", async () => {
    await writeGoodDatabase(10);
    await writeFile(dbPath, "garbage");
    await writeFile(`${dbPath}.bak`, "more garbage");
    await expect(openStore()).rejects.toMatchObject({
      code: ERR_DB_CORRUPT,
      message: expect.stringContaining(`${dbPath}.bak is damaged too`),
    });
  });

  it("starts empty when only the backup exists, but warns", async () => {
    await writeGoodDatabase(5);
    await (await openStore()).close(); // refreshes the backup
    open.length = 0;
    await rm(dbPath);
    const store = await openStore();
    expect(await store.listRuns("t")).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`copy ${dbPath}.bak to ${dbPath}`);
  });

  it("reports a path it cannot read", async () => {
    await mkdir(dbPath);
    await expect(openStore()).rejects.toMatchObject({ code: ERR_DB_READ, message: expect.stringContaining(dbPath) });
  });

  it("brings a database of schema 1 up to date, keeping what it holds", async () => {
    await writeGoodDatabase(2);
    // What an older taskhost wrote: no load columns on tasks, no schema 3, schema_version 1.
    await editDatabase([
      "DROP TABLE pruned_history",
      "DROP TABLE alerts",
      "DROP TABLE hosts",
      "DROP INDEX runs_by_schedule",
      "ALTER TABLE runs DROP COLUMN host",
      "ALTER TABLE runs DROP COLUMN covers_from",
      "ALTER TABLE runs DROP COLUMN covers_count",
      "ALTER TABLE tasks DROP COLUMN error",
      "ALTER TABLE tasks DROP COLUMN enabled",
      "UPDATE meta SET value = '1' WHERE key = 'schema_version'",
    ]);
    const store = await openStore();
    expect(await store.getTask("t")).toMatchObject({ id: "t", error: null, enabled: true });
    expect(await store.listRuns("t")).toHaveLength(2);
    await store.setTaskLoad("t", { error: "broken", enabled: true });
    expect((await store.getTask("t"))!.error).toBe("broken");
  });

  it("brings a schema-2 ledger to schema 3, keeping its history as it was", async () => {
    await writeGoodDatabase(2);
    // What a schema-2 taskhost wrote, including one occurrence recorded twice.
    await editDatabase([
      "DROP TABLE pruned_history",
      "DROP TABLE alerts",
      "DROP TABLE hosts",
      "DROP INDEX runs_by_schedule",
      "ALTER TABLE runs DROP COLUMN host",
      "ALTER TABLE runs DROP COLUMN covers_from",
      "ALTER TABLE runs DROP COLUMN covers_count",
      "INSERT INTO runs (task_id, schedule_id, scheduled_for, status, attempt, trigger) VALUES ('t', 't#m', 1, 'success', 1, 'schedule')",
      "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
    ]);
    const store = await openStore();
    expect((await store.listRuns("t")).map((r) => [r.scheduledFor, r.host, r.coversFrom, r.coversCount])).toEqual([
      [1, null, null, null],
      [1, null, null, null],
      [0, null, null, null],
    ]);
    expect(await store.listHosts()).toEqual([]);
    // A claim never takes an occurrence that has a run, old or new.
    const schedule = await store.ensureSchedule({ id: "t#m", taskId: "t", method: "m", fingerprint: "f", spec: "s", firstRun: 1, enabled: true });
    const claim = { scheduleId: "t#m", taskId: "t", expectedNext: 1, next: 2, fingerprint: "f", owner: "h" };
    expect(await store.claimOccurrences({ ...claim, occurrences: [{ scheduledFor: 1, trigger: "schedule" }] })).toEqual({ ok: false, current: schedule });
    expect(await store.claimOccurrences({ ...claim, occurrences: [{ scheduledFor: 2, trigger: "schedule" }] })).toMatchObject({ ok: true });
  });

  it("refuses a database written by a newer schema", async () => {
    await writeGoodDatabase(1);
    await editDatabase(["UPDATE meta SET value = '999' WHERE key = 'schema_version'"]);
    await expect(openStore()).rejects.toMatchObject({ code: ERR_DB_VERSION, message: expect.stringContaining(dbPath) });
  });
});
