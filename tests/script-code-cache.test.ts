/**
 * V8's code cache beside each task's CommonJS bundle
 * (runtime/task-file/script-code-cache.ts): made when the bundle is written,
 * accepted by the pool's worker threads, never made for a bundle with
 * import(), and a damaged or missing one costs a compile, never a run.
 */
import { existsSync, readFileSync } from "node:fs";
import { unlink, writeFile } from "node:fs/promises";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IsolateKit, taskSource } from "./support/isolate-kit.ts";
import { scriptBundlePath } from "../runtime/task-file/bundle-task.ts";
import { codeCachePath, SCRIPT_WRAP_HEAD } from "../runtime/task-file/script-code-cache.ts";
import { waitFor } from "./support/wait-for.ts";

let kit: IsolateKit;

beforeAll(async () => {
  kit = await IsolateKit.create();
}, 60_000);

afterAll(async () => {
  await kit?.dispose();
});

/** Whether a fresh worker thread compiling `script` accepts its code cache (V8 checks version, flags and source). */
async function acceptedInWorker(script: string): Promise<boolean> {
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
  const worker = new Worker(code, { eval: true, workerData: { script, cache: codeCachePath(script) } });
  const rejected = await new Promise<boolean>((resolve, reject) => worker.once("message", resolve).once("error", reject));
  await worker.terminate();
  return rejected === false;
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
    const launcher = kit.launcher();
    try {
      const run = kit.run(launcher, bundle, { isolation: "context" });
      expect((await run.outcome).status).toBe("success");
      expect(run.text()).toBe("sep /");
      // Nor after its run.
      expect(existsSync(codeCachePath(script))).toBe(false);
    } finally {
      await launcher.close();
    }
  }, 60_000);

  it("a damaged cache is rejected by V8 and rewritten after the run; a missing one is written after the run", async () => {
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
        const cache = codeCachePath(scriptBundlePath(bundle));
        await waitFor(() => existsSync(cache) && readFileSync(cache).length > 100, { timeoutMs: 5_000 });
        expect(await acceptedInWorker(scriptBundlePath(bundle))).toBe(true);
      }
    } finally {
      await launcher.close();
    }
  }, 60_000);
});
