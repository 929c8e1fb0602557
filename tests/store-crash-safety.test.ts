/**
 * kill -9 a real process while it writes the ledger, again and again, and
 * check that every time the file opens and holds a consistent snapshot that
 * never goes backwards. This is what the atomic snapshot write buys.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, expect, it } from "vitest";
import { openSqlJsStore } from "../runtime/store/sqljs-store.ts";

const projectRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const writer = join(projectRoot, "tests", "fixtures", "store-crash-writer.ts");
const ITERATIONS = 10;

let dir: string;
let child: ChildProcess | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "taskhost-crash-"));
});

afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
    await once(child, "exit");
  }
  child = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Starts the writer and resolves once its store is open. */
async function startWriter(dbPath: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ["--import", "tsx", writer, dbPath], {
    cwd: projectRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = proc;
  let stderr = "";
  proc.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve();
    });
    proc.on("exit", (code) => reject(new Error(`writer exited early (code ${code}): ${stderr}`)));
  });
  return proc;
}

it(`survives kill -9 at random moments (${ITERATIONS} times)`, { timeout: 60_000 }, async () => {
  const dbPath = join(dir, "scheduler.db");
  const counts: number[] = [];
  const warnings: string[] = [];

  for (let i = 0; i < ITERATIONS; i++) {
    const proc = await startWriter(dbPath);
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 250));
    proc.kill("SIGKILL");
    await once(proc, "exit");

    const store = await openSqlJsStore({ path: dbPath, onWarning: (m) => warnings.push(m) });
    try {
      const runs = await store.listRuns("crash", { limit: 1_000_000 });
      const { inserted = 0 } = await store.getState("crash");
      // One snapshot: the counter written with each run matches the rows.
      expect(runs.length).toBe(inserted);
      // Ids are dense 1..n (no run lost from the middle), newest first.
      expect(runs.map((r) => r.id)).toEqual(runs.map((_, k) => runs.length - k));
      // The writer updates each run right after inserting it, in the same
      // macrotask, so no snapshot can hold a run still "running".
      expect(await store.listUnfinishedRuns()).toEqual([]);
      counts.push(runs.length);
      if (i > 0) expect(runs.length).toBeGreaterThanOrEqual(counts[i - 1]!);
    } finally {
      await store.close();
    }
  }

  // The file never needed the backup: atomic writes never leave it damaged.
  expect(warnings).toEqual([]);
  expect(counts[counts.length - 1]).toBeGreaterThan(0);
  // Temp files of killed writers were cleaned up by the next open.
  expect((await readdir(dir)).filter((name) => name.includes(".tmp-"))).toEqual([]);
  console.log(`crash-safety: runs on disk after each kill: ${counts.join(", ")}`);
});
