/**
 * The ledger's files on disk: a last good copy from the first snapshot on
 * (issue 10.13), and modes that keep task output and state private (10.10).
 */
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { openLedger } from "../runtime/store/open-ledger.ts";
import { acquireHostLock } from "../runtime/host/host-lock.ts";

let dir: string;
let dbPath: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "taskhost-files-"));
  dbPath = join(dir, "data", "scheduler.db");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

it("keeps a backup from the first snapshot, so a file damaged in a ledger's first hour does not stop it", async () => {
  const warnings: string[] = [];
  const ledger = await openLedger({ path: dbPath }, { onWarning: (m) => warnings.push(m) });
  await ledger.recordTaskLoad({ id: "t", title: "T", file: "tasks/t.ts", error: null, enabled: true });
  await ledger.close();
  expect((await stat(`${dbPath}.bak`)).size).toBeGreaterThan(0);

  await writeFile(dbPath, "not a database any more");
  const reopened = await openLedger({ path: dbPath }, { onWarning: (m) => warnings.push(m) });
  try {
    // The copy is of the first snapshot: the ledger opens, from that copy, and says so.
    expect(warnings).toEqual([expect.stringContaining(`Started from the backup ${dbPath}.bak`)]);
    await reopened.recordTaskLoad({ id: "t", title: "T", file: "tasks/t.ts", error: null, enabled: true });
  } finally {
    await reopened.close();
  }
});

it("creates the ledger, its journal and backup 0600 and its folder 0700", async () => {
  const old = process.umask(0o022);
  try {
    const ledger = await openLedger({ path: dbPath }, { onWarning: () => {} });
    await ledger.setState("t", "secret", "s3cr3t");
    expect(await modeOf(join(dir, "data"))).toBe(0o700);
    expect(await modeOf(`${dbPath}.journal`)).toBe(0o600);
    await ledger.close();
    expect(await modeOf(dbPath)).toBe(0o600);
    expect(await modeOf(`${dbPath}.bak`)).toBe(0o600);
    expect(await modeOf(`${dbPath}.journal`)).toBe(0o600);
  } finally {
    process.umask(old);
  }
});

it("makes an older, world-readable ledger private on the next open", async () => {
  await (await openLedger({ path: dbPath }, { onWarning: () => {} })).close();
  for (const path of [dbPath, `${dbPath}.bak`, `${dbPath}.journal`]) await chmod(path, 0o644);
  const ledger = await openLedger({ path: dbPath }, { onWarning: () => {} });
  await ledger.setState("t", "k", 1);
  await ledger.close();
  for (const path of [dbPath, `${dbPath}.bak`, `${dbPath}.journal`]) expect(await modeOf(path)).toBe(0o600);
});

it("makes the data folder 0700 when the host lock creates it", async () => {
  const old = process.umask(0o022);
  try {
    const lock = await acquireHostLock(join(dir, "fresh", "taskhost.pid"));
    await lock.release();
    expect(await modeOf(join(dir, "fresh"))).toBe(0o700);
  } finally {
    process.umask(old);
  }
});
