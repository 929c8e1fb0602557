/**
 * The pooled bundle inspector: real bundles imported in real workers. Many
 * files share a few workers, yet a bundle that exits, throws, loops or leaves
 * a rejection behind at import fails alone and never takes its neighbours down.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleTask } from "../runtime/task-file/bundle-task.ts";
import { prepareToolchain } from "../runtime/run/prepare-toolchain.ts";
import type { Toolchain } from "../runtime/task-file/toolchain.ts";
import { createBundleInspector, ERR_INSPECTOR_STOPPED } from "../runtime/run/bundle-inspector.ts";
import { inspectBundle } from "../runtime/run/inspect-bundle.ts";
import { waitFor } from "./support/wait-for.ts";
import { processTable } from "./support/process-table.ts";

let root: string;
let toolchain: Toolchain;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "taskhost-inspector-"));
  await mkdir(path.join(root, "tasks"));
  toolchain = await prepareToolchain(path.join(root, "data", "cache"));
});

afterAll(async () => {
  await toolchain.inspector.dispose();
  await rm(root, { recursive: true, force: true });
});

/** Bundles a task whose top level runs `prelude`, with one `every(n).minutes` method. */
async function bundle(name: string, n: number, prelude = ""): Promise<string> {
  const file = path.join(root, "tasks", `${name}.ts`);
  const code =
    `import { repeat, every, type TaskContext } from "taskhost";\n${prelude}\n` +
    `export default class T { @repeat(every(${n}).minutes) tick(ctx: TaskContext) { ctx.log.info("${name}"); } }\n`;
  await writeFile(file, code);
  const built = await bundleTask({ file, code, projectRoot: root, outDir: path.join(root, "bundles"), external: [], apiModuleUrl: toolchain.apiModule.url });
  return built.path;
}

const minutes = (result: { schedules: Array<{ spec: unknown }> }) => (result.schedules[0]?.spec as { n: number } | undefined)?.n;

describe("bundle inspector", () => {
  it("reads each of many bundles' own schedules with a few workers", async () => {
    const paths = await Promise.all(Array.from({ length: 60 }, (_, i) => bundle(`many-${i}`, i + 1)));
    const inspector = createBundleInspector({ entryFile: toolchain.entryFile, maxWorkers: 2, batchSize: 16 });
    try {
      const results = await Promise.all(paths.map((p) => inspector.inspect(p)));
      expect(results.map(minutes)).toEqual(paths.map((_, i) => i + 1));
      expect(results[0]!.methods).toEqual(["tick"]);
    } finally {
      await inspector.dispose();
    }
  });

  it("blames only the bundle that exits, throws or loops at import, and not the one after a stray rejection", async () => {
    const good = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => bundle(`good-${n}`, n)));
    const exits = await bundle("exits", 7, "process.exit(3);");
    const throws = await bundle("throws", 8, 'throw new Error("broken at import");');
    const loops = await bundle("loops", 9, "for (;;) {}");
    const rejects = await bundle("rejects", 10, 'Promise.reject(new Error("nobody caught me"));');
    const inspector = createBundleInspector({ entryFile: toolchain.entryFile, maxWorkers: 1, batchSize: 32, timeoutMs: 2000 });
    try {
      // One worker, the bad ones between good ones: each bad one kills or stalls the worker the good ones share.
      const order = [good[0]!, exits, good[1]!, throws, good[2]!, loops, good[3]!, rejects, good[4]!, good[5]!];
      const settled = await Promise.allSettled(order.map((p) => inspector.inspect(p)));
      const outcome = settled.map((s) => (s.status === "fulfilled" ? minutes(s.value) : (s.reason as Error).message));
      expect(outcome[0]).toBe(1);
      expect(outcome[1]).toMatch(/process\.exit\(3\)/);
      expect(outcome[2]).toBe(2);
      expect(outcome[3]).toMatch(/broken at import/);
      expect(outcome[4]).toBe(3);
      expect(outcome[5]).toMatch(/did not finish within 2s/);
      expect(outcome[6]).toBe(4);
      // A stray rejection at import is its run's to fail, later: its schedules are read, and so are the next ones'.
      expect(outcome[7]).toBe(10);
      expect(outcome.slice(8)).toEqual([5, 6]);
      for (const s of settled) if (s.status === "rejected") expect(s.reason).toMatchObject({ code: "ERR_TASK_IMPORT" });
    } finally {
      await inspector.dispose();
    }
  });

  // A task's top level runs here as it does in a run (a module-level timer fires while the worker
  // is still up): what it starts is ended with the inspection, as a run's children are with the run.
  // Untracked, a module-level timer's `sleep` outlived the inspector's thread (a CI flake of
  // faults-run-children's module-level timer test, whose sleeps were left running).
  it("ends the processes a bundle's top level starts while it is inspected, pooled or alone", async () => {
    const marker = `910.${process.pid}5`;
    const running = () => processTable().filter((p) => p.state !== "Z" && p.cmdline.includes(marker));
    const spawns = await bundle("spawns", 16, `import { spawn } from "node:child_process"; spawn("sleep", ["${marker}"]);`);
    try {
      const inspector = createBundleInspector({ entryFile: toolchain.entryFile, maxWorkers: 1 });
      expect(minutes(await inspector.inspect(spawns))).toBe(16);
      await inspector.dispose();
      expect(minutes(await inspectBundle({ entryFile: toolchain.entryFile }, spawns))).toBe(16);
      await waitFor(() => running().length === 0, { timeoutMs: 5000, what: "the sleeps the imports started to end" });
    } finally {
      for (const { pid } of running()) process.kill(pid, "SIGKILL");
    }
  });

  it("does not blame a bundle for an earlier one's leftovers in the same worker", async () => {
    const polluter = await bundle("polluter", 12, "(globalThis as any).__polluted = true;");
    const victim = await bundle("victim", 13, 'if ((globalThis as any).__polluted) throw new Error("victim sees the polluter\'s global");');
    const inspector = createBundleInspector({ entryFile: toolchain.entryFile, maxWorkers: 1 });
    try {
      const [a, b] = await Promise.all([inspector.inspect(polluter), inspector.inspect(victim)]);
      expect([minutes(a), minutes(b)]).toEqual([12, 13]);
    } finally {
      await inspector.dispose();
    }
  });

  it("rejects what is still queued on dispose, and a second dispose is harmless", async () => {
    const slow = await bundle("slow", 11, "const until = Date.now() + 1500; while (Date.now() < until) {}");
    const inspector = createBundleInspector({ entryFile: toolchain.entryFile, maxWorkers: 1 });
    const pending = [inspector.inspect(slow), inspector.inspect(slow)].map((p) => p.then(() => "done", (e: Error) => e.message));
    await inspector.dispose();
    await inspector.dispose();
    expect(await Promise.all(pending)).toEqual([expect.stringMatching(/inspector was stopped/), expect.stringMatching(/inspector was stopped/)]);
    await expect(inspector.inspect(slow)).rejects.toThrow(/stopped/);
  });

  it("ends an inspection retried alone when disposed, with a code that does not blame the task", async () => {
    const marker = path.join(root, "imports.log");
    const first = await bundle("first", 14);
    // Fails after its neighbour, so it is read again alone; each import leaves a line in `marker`.
    const slowBreak = await bundle(
      "slow-break",
      15,
      `import { appendFileSync } from "node:fs"; appendFileSync(${JSON.stringify(marker)}, "import\\n");` +
        ' const until = Date.now() + 4000; while (Date.now() < until) {} throw new Error("broken, slowly");',
    );
    const inspector = createBundleInspector({ entryFile: toolchain.entryFile, maxWorkers: 1, timeoutMs: 20_000 });
    const results = [inspector.inspect(first), inspector.inspect(slowBreak)].map((p) => p.then(() => "ok", (e: { code?: string }) => e.code));
    expect(await results[0]).toBe("ok");
    await waitFor(async () => (await readFile(marker, "utf8").catch(() => "")).split("\n").length > 2, { what: "the solo import", timeoutMs: 20_000 });
    const disposedAt = Date.now();
    await inspector.dispose();
    expect(await results[1]).toBe(ERR_INSPECTOR_STOPPED);
    expect(Date.now() - disposedAt).toBeLessThan(2000);
  });
});
