/**
 * Issue 13's fault matrix, with real workers and real bundles, under every
 * isolation level: each fault ends as the right status with the right
 * message, and a steady task running beside the faults is neither delayed,
 * failed nor interrupted. Afterwards the launcher still runs tasks at once
 * (killed pool workers were replaced).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IsolateKit, taskSource } from "./support/isolate-kit.ts";
import type { Isolation, RunOutcome } from "../runtime/scheduler/run-launcher.ts";

interface Fault {
  name: string;
  body: string;
  timeoutSec?: number;
  memoryLimitMb?: number;
  expect: (outcome: RunOutcome, text: string) => void;
}

const FAULTS: Fault[] = [
  {
    name: "throws",
    body: 'throw new Error("boom from the task");',
    expect: (o) => {
      expect(o.status).toBe("failure");
      expect(o.error).toMatch(/boom from the task/);
      expect(o.error).toMatch(/tasks\/throws\.ts:\d+/);
    },
  },
  {
    name: "rejects",
    body: 'await new Promise((_, reject) => setTimeout(() => reject(new Error("rejected later")), 10));',
    expect: (o) => {
      expect(o.status).toBe("failure");
      expect(o.error).toMatch(/rejected later/);
    },
  },
  {
    // Left unhandled while the method still runs: the run fails with the message a throw would give,
    // the stack cleaned alike under every level (under worker it was the thread's raw error).
    name: "rejects-unhandled",
    body: 'Promise.reject(new Error("nobody catches me"));\n    await new Promise((r) => setTimeout(r, 2000));',
    expect: (o) => {
      expect(o.status).toBe("failure");
      expect(o.error).toMatch(/^Error: nobody catches me\n\s+at T\.main \(tasks\/rejects-unhandled\.ts:\d+:\d+\)$/);
    },
  },
  {
    // Reading what was thrown throws (issue 10's fault suite): still a failure at once, not a timeout.
    name: "throws-a-trap",
    body: 'throw { get message(): string { throw new Error("trap"); }, toString() { throw new Error("trap"); } };',
    timeoutSec: 5,
    expect: (o) => {
      expect(o.status).toBe("failure");
      expect(o.error).toMatch(/cannot be read/);
    },
  },
  {
    name: "exits",
    body: "process.exit(3);",
    expect: (o) => {
      expect(o.status).toBe("failure");
      expect(o.error).toBe("the task ended its thread with process.exit(3) before finishing");
    },
  },
  {
    name: "sync-loop",
    body: "for (;;) {}",
    timeoutSec: 1,
    expect: (o) => {
      expect(o.status).toBe("timeout");
      expect(o.error).toBe("timed out after 1s");
    },
  },
  {
    name: "async-loop",
    body: "setInterval(() => { const t = Date.now(); while (Date.now() - t < 20) {} }, 0);\nawait new Promise(() => {});",
    timeoutSec: 1,
    expect: (o) => {
      expect(o.status).toBe("timeout");
      expect(o.error).toBe("timed out after 1s");
    },
  },
  {
    name: "heap-hog",
    body: "const keep: number[][] = [];\nfor (;;) keep.push(new Array(100_000).fill(Math.random()));",
    memoryLimitMb: 48,
    timeoutSec: 60,
    expect: (o) => {
      expect(o.status).toBe("failure");
      expect(o.error).toBe("the run exceeded its memory_limit of 48 MB on its heap and was stopped; if it needs more, raise memory_limit in the task's frontmatter");
    },
  },
  {
    // Off the heap: V8's limit does not see it, the memory reports do (issue 10.5).
    name: "buffer-hog",
    body: "const keep: Uint8Array[] = [];\nfor (;;) { keep.push(new Uint8Array(8 * 1024 * 1024).fill(1)); await new Promise((r) => setTimeout(r, 5)); }",
    memoryLimitMb: 48,
    timeoutSec: 60,
    expect: (o) => {
      expect(o.status).toBe("failure");
      expect(o.error).toMatch(/^the run used \d+ MB of memory \(\d+ MB on its heap, \d+ MB in Buffers and ArrayBuffers\), over its memory_limit of 48 MB, and was stopped$/);
    },
  },
  {
    name: "late-rejection",
    body: 'Promise.reject(new Error("nobody waits for me"));\nctx.log.info("returning");',
    expect: (o, text) => {
      expect(o.status).toBe("success");
      expect(text).toMatch(/unhandled rejection after the run returned \(ignored\).*nobody waits for me/s);
    },
  },
  {
    name: "leaks-timers",
    body: 'for (let i = 0; i < 10_000; i++) setTimeout(() => console.log("a leaked timer fired"), 3_600_000);\nctx.log.info("left 10000 timers");',
    expect: (o, text) => {
      expect(o.status).toBe("success");
      expect(text).toContain("left 10000 timers");
    },
  },
];

/** 20 ticks of 50 ms: 1 s of work that a neighbour's fault must not disturb. */
const STEADY = taskSource('for (let i = 0; i < 20; i++) { await new Promise((r) => setTimeout(r, 50)); }\nctx.log.info("steady done");');

let kit: IsolateKit;
const bundles = new Map<string, string>();

beforeAll(async () => {
  kit = await IsolateKit.create();
  for (const fault of FAULTS) bundles.set(fault.name, await kit.bundle(fault.name, taskSource(fault.body)));
  bundles.set("steady", await kit.bundle("steady", STEADY));
}, 60_000);

afterAll(async () => {
  await kit?.dispose();
});

describe.each<Isolation>(["context", "task", "worker"])("isolation: %s", (isolation) => {
  it("records every fault with its status and message, and a neighbour runs undisturbed", async () => {
    const launcher = kit.launcher({ maxConcurrentRuns: FAULTS.length + 2 });
    try {
      const steady = kit.run(launcher, bundles.get("steady")!, { task: "steady", isolation });
      const runs = FAULTS.map((fault) =>
        kit.run(launcher, bundles.get(fault.name)!, { task: fault.name, isolation, timeoutSec: fault.timeoutSec, memoryLimitMb: fault.memoryLimitMb }),
      );
      const outcomes = await Promise.all(runs.map((r) => r.outcome));
      FAULTS.forEach((fault, i) => {
        try {
          fault.expect(outcomes[i]!, runs[i]!.text());
        } catch (error) {
          throw new Error(`${fault.name} under ${isolation}: ${(error as Error).message}\noutcome: ${JSON.stringify(outcomes[i])}`);
        }
      });
      expect(runs.find((r) => r.text().includes("a leaked timer fired"))).toBeUndefined();
      const steadyOutcome = await steady.outcome;
      expect(steadyOutcome.status).toBe("success");
      expect(steady.text()).toContain("steady done");
      // 1 s of work; a loaded 2-core machine may stretch it, a neighbour's fault must not (the faults last up to 2.5 s).
      expect(steadyOutcome.finishedAt - steadyOutcome.startedAt!).toBeLessThan(2_400);

      // The level still serves runs, and promptly: dead pool workers were replaced.
      const after = kit.run(launcher, bundles.get("steady")!, { task: "steady", isolation });
      expect((await after.outcome).status).toBe("success");
    } finally {
      await launcher.close();
    }
    expect(launcher.workers().context + launcher.workers().task).toBe(0);
  }, 90_000);
});

describe("ctx.signal under context", () => {
  it("aborts on timeout; a run that honours it ends as timed out and leaves its worker to the next run", async () => {
    const honours = await kit.bundle(
      "honours",
      taskSource(
        'const { threadId } = await import("node:worker_threads");\nctx.log.info(String(threadId));\nawait new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));\nctx.log.info("aborted: " + (ctx.signal.reason as Error).message);',
      ),
    );
    const launcher = kit.launcher({ maxConcurrentRuns: 1 });
    try {
      const first = kit.run(launcher, honours, { isolation: "context", timeoutSec: 1 });
      const outcome = await first.outcome;
      expect(outcome.status).toBe("timeout");
      expect(outcome.error).toBe("timed out after 1s");
      expect(first.lines.map((l) => l.line)).toContain("aborted: timed out after 1s");
      const second = kit.run(launcher, bundles.get("steady")!, { task: "steady", isolation: "context" });
      expect((await second.outcome).status).toBe("success");
      const again = kit.run(launcher, honours, { isolation: "context", timeoutSec: 1 });
      await again.outcome;
      // Not killed: the same thread served the run after it.
      expect(again.lines[0]!.line).toBe(first.lines[0]!.line);
    } finally {
      await launcher.close();
    }
  }, 60_000);
});

describe("a freeze between start() and the method's beginning (issue 10 item 8)", () => {
  it.each<Isolation>(["context", "task"])("%s: the method does not begin after its deadline; the worker serves the next run", async (isolation) => {
    const launcher = kit.launcher({ maxConcurrentRuns: 1 });
    try {
      const steady = bundles.get("steady")!;
      const late = kit.run(launcher, steady, { task: "steady", isolation, start: false });
      // The host stalls 3 s between start() and its go: far past a deadline of 100 ms, which counts from
      // when the code finished loading (on a loaded machine loading alone can take a few hundred ms).
      late.run.start(() => new Promise((resolve) => setTimeout(() => resolve({}), 3000)), { lateAfterMs: 100 });
      expect(await late.outcome).toMatchObject({ status: "interrupted", startedAt: null, late: true });
      expect(late.startedAt).toBeNull();
      const next = kit.run(launcher, steady, { task: "steady", isolation });
      expect((await next.outcome).status).toBe("success");
    } finally {
      await launcher.close();
    }
  }, 60_000);
});
