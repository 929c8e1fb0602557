/**
 * kill -9 a real process while it writes the ledger, again and again, and
 * check that every time the file opens and holds a consistent state that
 * never goes backwards and has every run a resolved flush() covered. This is
 * what the atomic snapshot write and the fsynced journal buy.
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

/** Starts the writer and resolves once its store is open; `lastFlushed()` is the newest run it reported durable. */
async function startWriter(dbPath: string): Promise<{ proc: ChildProcess; lastFlushed: () => number }> {
  const proc = spawn(process.execPath, ["--import", "tsx", writer, dbPath], {
    cwd: projectRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = proc;
  let stderr = "";
  proc.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  let stdout = "";
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes("ready\n")) resolve();
    });
    proc.on("exit", (code) => reject(new Error(`writer exited early (code ${code}): ${stderr}`)));
  });
  const lastFlushed = () => Math.max(0, ...[...stdout.matchAll(/^flushed (\d+)$/gm)].map((m) => Number(m[1])));
  return { proc, lastFlushed };
}

it(`survives kill -9 at random moments (${ITERATIONS} times)`, { timeout: 60_000 }, async () => {
  const dbPath = join(dir, "scheduler.db");
  const counts: number[] = [];
  const flushed: number[] = [];
  const warnings: string[] = [];

  for (let i = 0; i < ITERATIONS; i++) {
    const { proc, lastFlushed } = await startWriter(dbPath);
    // Kill at a random moment of activity: after its first durable flush (a loaded CI
    // machine may take longer than the whole random window to get there).
    const deadline = Date.now() + 20_000;
    while (lastFlushed() === 0 && proc.exitCode == null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 250));
    proc.kill("SIGKILL");
    await once(proc, "close"); // all its stdout read
    flushed.push(lastFlushed());

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
      // No run a resolved flush() covered was lost.
      expect(runs.length).toBeGreaterThanOrEqual(flushed[i]!);
      if (flushed[i]! > 0) expect(await store.getRun(flushed[i]!)).toBeDefined();
      counts.push(runs.length);
      if (i > 0) expect(runs.length).toBeGreaterThanOrEqual(counts[i - 1]!);
    } finally {
      await store.close();
    }
  }

  // The file never needed the backup: atomic writes never leave it damaged.
  // The only thing a kill may leave is a journal append cut short (never reported as flushed).
  expect(warnings.filter((m) => !m.includes("incomplete end"))).toEqual([]);
  expect(counts[counts.length - 1]).toBeGreaterThan(0);
  // Temp files of killed writers were cleaned up by the next open.
  expect((await readdir(dir)).filter((name) => name.includes(".tmp-"))).toEqual([]);
  expect(flushed[flushed.length - 1]).toBeGreaterThan(0);
  console.log(`crash-safety: runs on disk after each kill: ${counts.join(", ")}; last flushed run ids: ${flushed.join(", ")}`);
  if (warnings.length > 0) console.log(`crash-safety: ${warnings.length} torn journal end(s) ignored`);
});
