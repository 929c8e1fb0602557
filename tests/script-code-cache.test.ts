/**
 * V8's code caches beside each task's CommonJS bundle
 * (runtime/task-file/script-code-cache.ts): made when the bundle is written
 * and again after its first run (warm), accepted by the pool's worker
 * threads, never made for a bundle with import(), and a damaged or missing
 * one costs a compile, never a run.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { unlink, writeFile } from "node:fs/promises";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IsolateKit, taskSource } from "./support/isolate-kit.ts";
import { scriptBundlePath } from "../runtime/task-file/bundle-task.ts";
import { codeCachePath, SCRIPT_WRAP_HEAD, warmCodeCachePath } from "../runtime/task-file/script-code-cache.ts";
import { waitFor } from "./support/wait-for.ts";

let kit: IsolateKit;

beforeAll(async () => {
  kit = await IsolateKit.create();
}, 60_000);

afterAll(async () => {
  await kit?.dispose();
});

/** Whether a fresh worker thread compiling `script` accepts its code cache `cache` (V8 checks version, flags and source). */
async function acceptedInWorker(script: string, cache = codeCachePath(script)): Promise<boolean> {
  const code = `
    const vm = require("node:vm");
    const fs = require("node:fs");
    const { parentPort, workerData } = require("node:worker_threads");
    const source = ${JSON.stringify(SCRIPT_WRAP_HEAD)} + fs.readFileSync(workerData.script, "utf8") + "\\n})";
    const compiled = new vm.Script(source, {
      filename: workerData.script,
      cachedData: fs.readFileSync(workerData.cache),
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    parentPort.postMessage(compiled.cachedDataRejected);`;
  const worker = new Worker(code, { eval: true, workerData: { script, cache } });
  const rejected = await new Promise<boolean>((resolve, reject) => worker.once("message", resolve).once("error", reject));
  await worker.terminate();
  return rejected === false;
}

/**
 * Runs a fresh task in `launcher` (one worker) and waits for its warm cache: the worker's idle
 * pass writes what it has queued in order, so anything queued before this probe is written by then.
 */
async function afterIdleSaves(launcher: ReturnType<IsolateKit["launcher"]>, name: string): Promise<void> {
  const probe = await kit.bundle(name, taskSource(`ctx.log.info("${name}");`));
  expect((await kit.run(launcher, probe, { isolation: "context" }).outcome).status).toBe("success");
  await waitFor(() => existsSync(warmCodeCachePath(scriptBundlePath(probe))), { timeoutMs: 5_000, what: "the probe's warm cache" });
}

describe("code cache of task bundles", () => {
  it("is written with the bundle, and a worker thread accepts it", async () => {
    const script = scriptBundlePath(await kit.bundle("cached", taskSource('ctx.log.info("ran");')));
    expect(existsSync(codeCachePath(script))).toBe(true);
    expect(await acceptedInWorker(script)).toBe(true);
  }, 60_000);

  it("is not made for a bundle with import() (Node 20 would drop its loader), and the task's import() works", async () => {
    const bundle = await kit.bundle("dynamic", taskSource('const { sep } = await import("node:path");\nctx.log.info(`sep ${sep}`);'));
    const script = scriptBundlePath(bundle);
    expect(existsSync(codeCachePath(script))).toBe(false);
    const launcher = kit.launcher({ maxConcurrentRuns: 1, coreWorkers: 1 });
    try {
      const run = kit.run(launcher, bundle, { isolation: "context" });
      expect((await run.outcome).status).toBe("success");
      expect(run.text()).toBe("sep /");
      // Nor after its run.
      await afterIdleSaves(launcher, "probe-dynamic");
      expect(existsSync(codeCachePath(script))).toBe(false);
      expect(existsSync(warmCodeCachePath(script))).toBe(false);
    } finally {
      await launcher.close();
    }
  }, 60_000);

  it("after a first run, a warm cache covering what the run compiled is written once the worker is idle, and read first from then on", async () => {
    const script = scriptBundlePath(await kit.bundle("warm", taskSource('const days = [1, 2, 3].map((d) => d * 2);\nctx.log.info(`days ${days}`);')));
    const warm = warmCodeCachePath(script);
    let launcher = kit.launcher();
    try {
      const run = kit.run(launcher, script.replace(/\.cjs$/, ".mjs"), { isolation: "context" });
      expect((await run.outcome).status).toBe("success");
      await waitFor(() => existsSync(warm), { timeoutMs: 5_000, what: "the warm code cache" });
      // It holds the functions compiled lazily by the run (the class, its method, esbuild's helpers), which the one made with the bundle does not.
      expect(readFileSync(warm).length).toBeGreaterThan(readFileSync(codeCachePath(script)).length * 1.5);
      expect(await acceptedInWorker(script, warm)).toBe(true);
    } finally {
      await launcher.close();
    }
    // A new worker reads the warm cache (accepted), so it does not write it again.
    const written = statSync(warm).mtimeMs;
    launcher = kit.launcher({ maxConcurrentRuns: 1, coreWorkers: 1 });
    try {
      const run = kit.run(launcher, script.replace(/\.cjs$/, ".mjs"), { isolation: "context" });
      expect((await run.outcome).status).toBe("success");
      expect(run.text()).toBe("days 2,4,6");
      await afterIdleSaves(launcher, "probe-warm");
      expect(statSync(warm).mtimeMs).toBe(written);
    } finally {
      await launcher.close();
    }
  }, 60_000);

  it("a damaged cache is rejected by V8 and a warm one written after the run; a missing one too", async () => {
    const damaged = await kit.bundle("damaged", taskSource('ctx.log.info("damaged ran");'));
    const missing = await kit.bundle("missing", taskSource('ctx.log.info("missing ran");'));
    await writeFile(codeCachePath(scriptBundlePath(damaged)), Buffer.from("not a code cache at all"));
    await unlink(codeCachePath(scriptBundlePath(missing)));
    const launcher = kit.launcher();
    try {
      for (const [bundle, text] of [[damaged, "damaged ran"], [missing, "missing ran"]] as const) {
        const run = kit.run(launcher, bundle, { isolation: "context" });
        const outcome = await run.outcome;
        expect(outcome.status, outcome.error ?? "").toBe("success");
        expect(run.text()).toBe(text);
        const cache = warmCodeCachePath(scriptBundlePath(bundle));
        await waitFor(() => existsSync(cache) && readFileSync(cache).length > 100, { timeoutMs: 5_000 });
        expect(await acceptedInWorker(scriptBundlePath(bundle), cache)).toBe(true);
      }
    } finally {
      await launcher.close();
    }
  }, 60_000);
});
