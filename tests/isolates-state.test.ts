/**
 * What a run leaves behind under `context` reaches no later run, of the same
 * task or another, in the same pool worker: globals, a patched built-in
 * prototype, a pending timer, a module-level variable, a process listener,
 * process.env (also as process.loadEnvFile() sets it).
 * Under `task` the module-level variable persists (documented: that is the
 * level's point), and each run still gets a fresh class instance.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IsolateKit, taskSource } from "./support/isolate-kit.ts";

const POLLUTER = taskSource(
  `
  const { threadId } = await import("node:worker_threads");
  ctx.log.info(JSON.stringify({
    thread: threadId,
    count: ++count,
    instanceRuns: ++this.runs,
    leak: (globalThis as any).leak ?? null,
    patched: typeof (Array.prototype as any).leaked,
    listeners: process.listenerCount("beforeExit"),
    env: process.env.TH_LEAK ?? null,
    dotenv: process.env.TH_DOTENV ?? null,
  }));
  (globalThis as any).leak = "from an earlier run";
  process.env.TH_LEAK = "set by an earlier run";
  (Array.prototype as any).leaked = () => "patched";
  setTimeout(() => console.log("LEAKED TIMER FIRED"), 200);
  process.on("beforeExit", () => {});
  `,
  "let count = 0;",
).replace("export default class T {", "export default class T {\n  runs = 0;");

/** Changes process.env only through Node's C++ side (process.loadEnvFile), never through the process.env object. */
const DOTENV = taskSource(`
  const { writeFileSync } = await import("node:fs");
  const file = process.env.TASKHOST_DATA_DIR + "/leak.env";
  writeFileSync(file, "TH_DOTENV=loaded by an earlier run\\n");
  process.loadEnvFile(file);
  const { threadId } = await import("node:worker_threads");
  ctx.log.info(JSON.stringify({ thread: threadId, dotenv: process.env.TH_DOTENV ?? null }));
`);

const OBSERVER = taskSource(`
  const { threadId } = await import("node:worker_threads");
  ctx.log.info(JSON.stringify({
    thread: threadId,
    leak: (globalThis as any).leak ?? null,
    patched: typeof (Array.prototype as any).leaked,
    listeners: process.listenerCount("beforeExit"),
    env: process.env.TH_LEAK ?? null,
    dotenv: process.env.TH_DOTENV ?? null,
  }));
  await new Promise((r) => setTimeout(r, 300));
`);

let kit: IsolateKit;
let polluter: string;
let observer: string;
let dotenv: string;

beforeAll(async () => {
  kit = await IsolateKit.create();
  polluter = await kit.bundle("polluter", POLLUTER);
  observer = await kit.bundle("observer", OBSERVER);
  dotenv = await kit.bundle("dotenv", DOTENV);
}, 60_000);

afterAll(async () => {
  await kit?.dispose();
});

async function report(run: ReturnType<IsolateKit["run"]>): Promise<Record<string, unknown>> {
  const outcome = await run.outcome;
  expect(outcome.status, outcome.error ?? "").toBe("success");
  const line = run.lines.find((l) => l.line.startsWith("{"));
  return JSON.parse(line!.line) as Record<string, unknown>;
}

describe("isolation: context", () => {
  it("gives every run of any task a clean slate in the same pool worker", async () => {
    // One run at a time plus a spare: consecutive runs reuse the warmest worker.
    const launcher = kit.launcher({ maxConcurrentRuns: 1 });
    try {
      const runs = [];
      const reports = [];
      for (const bundle of [polluter, polluter, observer, polluter, dotenv, observer]) {
        const task = bundle === polluter ? "polluter" : bundle === dotenv ? "dotenv" : "observer";
        const run = kit.run(launcher, bundle, { task, isolation: "context" });
        runs.push(run);
        reports.push(await report(run));
      }
      expect(new Set(reports.map((r) => r.thread)).size).toBe(1);
      // The file's variable was there for the run that loaded it, and only for it.
      expect(reports[4]).toMatchObject({ dotenv: "loaded by an earlier run" });
      reports.splice(4, 1);
      for (const r of reports) {
        expect(r.leak).toBeNull();
        expect(r.patched).toBe("undefined");
        expect(r.listeners).toBe(0);
        expect(r.env).toBeNull();
        expect(r.dotenv).toBeNull();
      }
      expect(reports.filter((r) => "count" in r).map((r) => [r.count, r.instanceRuns])).toEqual([[1, 1], [1, 1], [1, 1]]);
      expect(runs.some((r) => r.text().includes("LEAKED TIMER FIRED"))).toBe(false);
    } finally {
      await launcher.close();
    }
  }, 60_000);
});

describe("isolation: task", () => {
  it("keeps the module between a task's runs, with a fresh instance each run", async () => {
    const launcher = kit.launcher({ maxConcurrentRuns: 1 });
    try {
      const reports = [];
      for (let i = 0; i < 3; i++) reports.push(await report(kit.run(launcher, polluter, { task: "polluter", isolation: "task" })));
      expect(reports.map((r) => r.count)).toEqual([1, 2, 3]);
      expect(reports.map((r) => r.instanceRuns)).toEqual([1, 1, 1]);
      expect(new Set(reports.map((r) => r.thread)).size).toBe(1);
      // Another task has its own worker and sees nothing of it.
      const other = await report(kit.run(launcher, observer, { task: "observer", isolation: "task" }));
      expect(other.thread).not.toBe(reports[0]!.thread);
      expect(other.leak).toBeNull();
      expect(other.patched).toBe("undefined");
    } finally {
      await launcher.close();
    }
  }, 60_000);
});
