import { appendFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { executeCommand, runSteps, waitForFile, WorkflowError, type StepContext } from "../helpers/index.ts";
import { useTempRoot } from "./fixtures/helpers/project-env.ts";
import { abortReason } from "../runtime/api/abort-reason.ts";

describe("waitForFile", () => {
  let env: Awaited<ReturnType<typeof useTempRoot>>;
  beforeEach(async () => {
    env = await useTempRoot();
  });
  afterEach(async () => {
    await env.dispose();
  });

  it("waits for a file still being written to settle", async () => {
    const file = path.join(env.root, "out.csv");
    // Another process writes a line every 100 ms for ~1.2 s.
    const writer = executeCommand(process.execPath, {
      args: ["-e", `const fs=require("fs");let i=0;const t=setInterval(()=>{fs.appendFileSync(${JSON.stringify(file)},"line "+i+"\\n");if(++i===12)clearInterval(t)},100)`],
    });
    const started = Date.now();
    const settled = await waitForFile("out.csv", { timeout: 10, stableFor: 0.4, pollInterval: 0.05 });
    const written = await writer;
    expect(written.success).toBe(true);
    expect(settled.path).toBe(file);
    expect(settled.size).toBe((await stat(file)).size);
    expect(settled.size).toBe(12 * "line 1\n".length + 2 * 1); // lines 10 and 11 have two digits
    expect(Date.now() - started).toBeGreaterThanOrEqual(1200);
  });

  it("times out with what it saw, and stops when aborted", async () => {
    await expect(waitForFile("never.txt", { timeout: 0.3, pollInterval: 0.05 })).rejects.toThrow(
      "waitForFile: never.txt not ready after 0.3s: it never appeared",
    );
    const file = path.join(env.root, "busy.txt");
    await writeFile(file, "x");
    const busy = setInterval(() => void appendFile(file, "x"), 30);
    try {
      await expect(waitForFile(file, { timeout: 0.4, stableFor: 0.2, pollInterval: 0.05 })).rejects.toThrow(/but was still changing/);
    } finally {
      clearInterval(busy);
    }
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("shutdown")), 100);
    await expect(waitForFile("never.txt", { timeout: 10, signal: controller.signal })).rejects.toThrow("aborted: shutdown");
  });
});

describe("runSteps", () => {
  const calls: string[] = [];
  const step = (name: string, fail = false) => ({
    name,
    run: ({ attempt }: StepContext) => {
      calls.push(`${name}#${attempt}`);
      if (fail) throw new Error(`${name} broke`);
      return `${name} done`;
    },
  });
  beforeEach(() => {
    calls.length = 0;
  });

  it("stops at the first failure and throws with every step's result", async () => {
    const error = await runSteps([step("a"), step("b", true), step("c")]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowError);
    expect((error as Error).message).toBe('workflow failed: step "b": b broke');
    const { result } = error as WorkflowError;
    expect(result.ok).toBe(false);
    expect(result.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([["a", "success", 1], ["b", "failure", 1], ["c", "skipped", 0]]);
    expect(result.steps[0]!.value).toBe("a done");
    expect(calls).toEqual(["a#1", "b#1"]);
  });

  it("goes on after a failure with continueOnFailure, and can return instead of throwing", async () => {
    const result = await runSteps([step("a", true), step("b"), step("c", true), step("d")], { continueOnFailure: true, throwOnFailure: false });
    expect(result.ok).toBe(false);
    expect(result.steps.map((s) => s.status)).toEqual(["failure", "success", "failure", "success"]);
    expect(result.steps[2]!.error).toBe("c broke");
    expect(calls).toEqual(["a#1", "b#1", "c#1", "d#1"]);
  });

  it("skips what is left when the run is aborted, but goes on through a graceful stop of the host (the run has its grace)", async () => {
    for (const [graceful, statuses] of [[false, ["success", "skipped"]], [true, ["success", "success"]]] as const) {
      const controller = new AbortController();
      const stop = { name: "stop", run: () => controller.abort(abortReason("the host is shutting down", graceful)) };
      const result = await runSteps([stop, step("after")], { signal: controller.signal, throwOnFailure: false });
      expect(result.steps.map((s) => s.status), `graceful: ${graceful}`).toEqual(statuses);
    }
  });

  it("retries a step, passes results on, and lets one step fail alone", async () => {
    let tries = 0;
    const result = await runSteps([
      { name: "flaky", retries: 2, retryDelay: 0.01, run: () => (++tries < 3 ? Promise.reject(new Error("not yet")) : 42) },
      { name: "optional", continueOnFailure: true, run: () => { throw new Error("meh"); } },
      { name: "use", run: ({ results }) => (results["flaky"] as number) + 1 },
    ]);
    expect(result.ok).toBe(true);
    expect(result.steps.map((s) => [s.name, s.status, s.attempts, s.value])).toEqual([
      ["flaky", "success", 3, 42],
      ["optional", "failure", 1, undefined],
      ["use", "success", 1, 43],
    ]);
  });
});
