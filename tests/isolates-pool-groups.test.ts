/**
 * Two memory_limit groups sharing the pool's cap on `context` workers: a run of
 * one group, with the pool full, gets a worker by retiring an idle one of the
 * other. That retirement used to serve the same waiting run from inside the
 * boot, and the outer serve then took a waiter that was gone: a TypeError that,
 * from the timer that finds a run lasting, ended the host (found by a
 * walkthrough with faulty tasks of two memory limits).
 */
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { IsolatePool } from "../runtime/run/isolates/isolate-pool.ts";
import type { GroupSpec } from "../runtime/run/isolates/isolate-pool-options.ts";
import { PACKAGE_DIR } from "../runtime/runtime-paths.ts";
import { IsolateKit } from "./support/isolate-kit.ts";

let kit: IsolateKit;
beforeAll(async () => {
  kit = await IsolateKit.create();
}, 60_000);
afterAll(async () => {
  await kit?.dispose();
});

const A: GroupSpec = { key: "context:100", mode: "context", memoryLimitMb: 100 };
const B: GroupSpec = { key: "context:512", mode: "context", memoryLimitMb: 512 };

it("a full pool retires another memory limit's idle worker for a waiting run, once, and the run gets one worker", async () => {
  const late: string[] = [];
  const pool = new IsolatePool({
    entryFile: kit.isolates.entryFile,
    apiScript: kit.isolates.apiScript,
    paths: { projectRoot: kit.root, packageDir: PACKAGE_DIR, dataDir: path.join(kit.root, "data"), configFile: path.join(kit.root, "config", "config.yaml") },
    maxContextWorkers: 2,
    maxTaskWorkers: 4,
    idleMs: { context: 60_000, task: 60_000 },
    coreWorkers: 3,
    onLate: (message) => late.push(message),
  });
  try {
    const a1 = await pool.acquire(A); // held by a run
    const b1 = await pool.acquire(B);
    pool.release(b1, true); // idle: the pool is full (2 of 2)
    const a2 = await pool.acquire(A);
    expect(a2).not.toBe(a1);
    expect(a2).not.toBe(b1);
    // Two workers, both A's and both serving: none booted beyond the cap and left over.
    expect(pool.counts()).toMatchObject({ context: 2, idle: 0 });
    expect(late).toEqual([]);
  } finally {
    await pool.close();
  }
});
