/**
 * The WorkerLauncher (isolation `worker`): real bundles run in real worker
 * threads behind the RunLauncher port.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkerLauncher } from "../runtime/run/worker-launcher.ts";
import type { RunRequest } from "../runtime/scheduler/run-launcher.ts";
import { bundleTask } from "../runtime/task-file/bundle-task.ts";
import { prepareToolchain } from "../runtime/run/prepare-toolchain.ts";
import type { Toolchain } from "../runtime/task-file/toolchain.ts";
import { REPO } from "./support/temp-project.ts";

let root: string;
let toolchain: Toolchain;
let launcher: WorkerLauncher;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "taskhost-launcher-"));
  await mkdir(path.join(root, "tasks"));
  toolchain = await prepareToolchain(path.join(root, "data", "cache"));
  launcher = new WorkerLauncher({ entryFile: toolchain.entryFile });
});

afterAll(async () => {
  await launcher.close();
  await toolchain.inspector.dispose();
  await rm(root, { recursive: true, force: true });
});

/** Bundles a task whose method `run(ctx)` has `body`. */
async function bundle(name: string, body: string, prelude = ""): Promise<string> {
  const file = path.join(root, "tasks", `${name}.ts`);
  const code = `import type { TaskContext } from "taskhost";\n${prelude}\nexport default class T { async run(ctx: TaskContext) { ${body} } }\n`;
  await writeFile(file, code);
  const built = await bundleTask({ file, code, projectRoot: root, outDir: path.join(root, "bundles"), external: [], apiModuleUrl: toolchain.apiModule.url });
  return built.path;
}

function request(bundlePath: string, over: Partial<RunRequest> = {}): RunRequest {
  return {
    runId: 1,
    task: { id: "t", title: "T" },
    bundlePath,
    scheduleId: "t#run",
    method: "run",
    scheduledFor: Date.now(),
    attempt: 1,
    trigger: "manual",
    timeoutSec: 30,
    memoryLimitMb: 64,
    isolation: "worker",
    ...over,
  };
}

function recordingSink() {
  const seen = { started: [] as number[], lines: [] as string[], state: [] as Array<[string, unknown, boolean]> };
  return { seen, sink: { started: (at: number) => seen.started.push(at), log: (_: string, line: string) => seen.lines.push(line), state: (k: string, v: unknown, d: boolean) => seen.state.push([k, v, d]) } };
}

describe("WorkerLauncher", () => {
  it("runs the method once started: start, lines, state writes and a success", async () => {
    const file = await bundle("ok", 'console.log("out"); ctx.log.info("via ctx"); ctx.state.set("n", 1);');
    const { seen, sink } = recordingSink();
    const run = launcher.launch(request(file), sink);
    await run.ready;
    expect(seen.started).toEqual([]); // loaded, waiting for start()
    run.start(async () => ({}));
    const outcome = await run.outcome;
    expect(outcome).toMatchObject({ status: "success", error: null });
    expect(outcome.startedAt).toBe(seen.started[0]);
    expect(seen.lines).toEqual(expect.arrayContaining(["out", "via ctx"]));
    expect(seen.state).toEqual([["n", 1, false]]);
  });

  it("reads the task's state once its code is loaded, right before the method begins (issue 11 item 13)", async () => {
    const file = await bundle("reads-state", 'ctx.log.info(`n=${ctx.state.get("n")}`);');
    const { seen, sink } = recordingSink();
    let n = 0;
    let readAt = 0;
    const run = launcher.launch(request(file), sink);
    let readyAt = 0;
    void run.ready.then(() => (readyAt = performance.now()));
    run.start(async () => {
      readAt = performance.now();
      return { n };
    });
    // A run that ended after this one was started (and before its code loaded) wrote n = 1.
    n = 1;
    expect((await run.outcome).status).toBe("success");
    expect(seen.lines).toContain("n=1");
    expect(readAt).toBeGreaterThanOrEqual(readyAt);
  });

  it("a throw or process.exit() ends the run as a failure", async () => {
    const throws = await bundle("throws", 'throw new Error("boom");');
    const exits = await bundle("exits", "process.exit(4);");
    const [a, b] = [launcher.launch(request(throws), recordingSink().sink), launcher.launch(request(exits), recordingSink().sink)];
    for (const run of [a, b]) run.start(async () => ({}));
    expect(await a.outcome).toMatchObject({ status: "failure", error: expect.stringMatching(/boom/) });
    expect(await b.outcome).toMatchObject({ status: "failure", error: expect.stringMatching(/process\.exit\(4\)/) });
  });

  it("times out: ctx.signal aborts, the run is killed after its grace, status timeout", async () => {
    const file = await bundle("hangs", "await new Promise(() => {});");
    const run = launcher.launch(request(file, { timeoutSec: 1 }), recordingSink().sink);
    run.start(async () => ({}));
    const outcome = await run.outcome;
    expect(outcome).toMatchObject({ status: "timeout", error: "timed out after 1s" });
    expect(outcome.finishedAt - outcome.startedAt!).toBeGreaterThanOrEqual(1000);
  });

  it("waiting for its boundary once loaded is not the run's time; a load that runs out of time never starts the method", async () => {
    const quick = await bundle("quick", "await new Promise((r) => setTimeout(r, 200));");
    const early = launcher.launch(request(quick, { timeoutSec: 1 }), recordingSink().sink);
    await early.ready;
    await new Promise((resolve) => setTimeout(resolve, 1500)); // launched well ahead of its boundary
    early.start(async () => ({}));
    expect((await early.outcome).status).toBe("success");

    const slowLoad = await bundle("slow-load", 'ctx.log.info("ran");', "const until = Date.now() + 3000; while (Date.now() < until) {}");
    const { seen, sink } = recordingSink();
    const late = launcher.launch(request(slowLoad, { timeoutSec: 1 }), sink);
    late.start(async () => ({}));
    expect(await late.outcome).toMatchObject({ status: "timeout", startedAt: null });
    expect(seen.lines).not.toContain("ran");
  });

  it("a shutdown's stop lets a run that completes within its grace succeed", async () => {
    const file = await bundle("graceful", 'await new Promise((r) => ctx.signal.addEventListener("abort", r)); ctx.log.info("finished after abort");');
    const { seen, sink } = recordingSink();
    const run = launcher.launch(request(file), sink);
    run.start(async () => ({}));
    await waitForStart(seen);
    run.stop("interrupted", "the host is shutting down", 5000, true);
    expect((await run.outcome).status).toBe("success");
  });

  it("cancel() gives up a run that never started; after start() it does nothing", async () => {
    const file = await bundle("never", 'ctx.log.info("ran");');
    const cancelled = launcher.launch(request(file), recordingSink().sink);
    cancelled.cancel();
    expect(await cancelled.outcome).toMatchObject({ status: "interrupted", error: "cancelled before it started", startedAt: null });
    const started = launcher.launch(request(file), recordingSink().sink);
    started.start(async () => ({}));
    started.cancel();
    expect((await started.outcome).status).toBe("success");
  });

  it("a method that would begin after its deadline (the machine froze) does not: the outcome says late (issue 10 item 8)", async () => {
    const file = await bundle("too-late", 'ctx.log.info("ran");');
    const { seen, sink } = recordingSink();
    const run = launcher.launch(request(file), sink);
    await run.ready;
    // The host stalls 300 ms between start() and its go: past a deadline of 100 ms.
    run.start(() => new Promise((resolve) => setTimeout(() => resolve({}), 300)), { lateAfterMs: 100 });
    expect(await run.outcome).toMatchObject({ status: "interrupted", startedAt: null, late: true });
    expect(seen.started).toEqual([]);
    expect(seen.lines).not.toContain("ran");
    const onTime = launcher.launch(request(file), recordingSink().sink);
    onTime.start(async () => ({}), { lateAfterMs: 5000 });
    expect(await onTime.outcome).toMatchObject({ status: "success" });
  });

  it("a run whose state cannot be read fails without starting its method", async () => {
    const file = await bundle("state-fails", 'ctx.log.info("ran");');
    const { seen, sink } = recordingSink();
    const run = launcher.launch(request(file), sink);
    run.start(async () => {
      throw new Error("ledger unreadable");
    });
    expect(await run.outcome).toMatchObject({ status: "failure", error: expect.stringMatching(/state could not be read \(ledger unreadable\)/) });
    expect(seen.started).toEqual([]);
  });

  it("measures each task's load time for its lead time (400 ms before any load, within 150 ms–3 s)", async () => {
    const fresh = new WorkerLauncher({ entryFile: toolchain.entryFile });
    try {
      expect(fresh.leadTimeMs("measured", "worker")).toBe(400);
      const file = await bundle("measured", "");
      const run = fresh.launch(request(file, { task: { id: "measured", title: "m" } }), recordingSink().sink);
      await run.ready;
      const lead = fresh.leadTimeMs("measured", "worker");
      expect(lead).toBeGreaterThanOrEqual(150);
      expect(lead).toBeLessThanOrEqual(3000);
      expect(fresh.leadTimeMs("other", "worker")).toBe(400);
      run.cancel();
      await run.outcome;
    } finally {
      await fresh.close();
    }
  });

  it("close() interrupts every run and refuses new ones", async () => {
    const closing = new WorkerLauncher({ entryFile: toolchain.entryFile });
    const file = await bundle("long", "await new Promise(() => {});");
    const { seen, sink } = recordingSink();
    const run = closing.launch(request(file), sink);
    run.start(async () => ({}));
    await waitForStart(seen);
    await closing.close();
    expect((await run.outcome).status).toBe("interrupted");
    expect(() => closing.launch(request(file), sink)).toThrow(/stopping/);
  });

  it("runs ended by their worker's error leave no timer behind: the process exits at once, not after their 300 s timeout (issue 10 item 2)", async () => {
    // The error overtakes the worker's queued `started` message; that message must not arm a timeout.
    const file = await bundle("throws-later", "setTimeout(() => { throw new Error('thrown from a timer'); }, 0); await new Promise(() => {});");
    const child = spawn(
      process.execPath,
      ["--import", pathToFileURL(path.join(REPO, "node_modules", "tsx", "dist", "esm", "index.mjs")).href, path.join(REPO, "tests", "fixtures", "error-runs.ts"), toolchain.entryFile, file, "15", "300"],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const reported = await waitUntil(() => out.includes("\n"), 60_000);
    expect(reported, "the runs' outcomes").toBe(true);
    expect(JSON.parse(out)).toEqual(Array(15).fill("failure"));
    const at = Date.now();
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code, `exited ${Date.now() - at} ms after the outcomes`).toBe(0);
  });
});


async function waitForStart(seen: { started: number[] }): Promise<void> {
  expect(await waitUntil(() => seen.started.length > 0, 15_000), "the run started").toBe(true);
}

/** Polls a condition until it holds or the deadline passes. */
async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}
