/**
 * What held in issue 10 and must keep holding: a task that throws, exits, loops,
 * hangs, overflows its stack, eats its heap, blocks its thread or floods its output
 * ends as a recorded run (failure or timeout; a flood succeeds, cut short), and
 * nothing else stops: no host restart, and a ticking task runs on.
 */
import path from "node:path";
import { callHost } from "../../runtime/cli/control-client.ts";
import { hostFiles } from "../../runtime/host/host-files.ts";
import type { RunJson } from "../../runtime/host/report-shapes.ts";
import { finished, history, status } from "../../tests/support/history.ts";
import { taskSource } from "../../tests/support/task-sources.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { inProject, type Scenario } from "./adversarial-support.ts";

type End = "failure" | "timeout" | "success";

/** name: [body, the ends that mean it was contained, frontmatter]. */
const FAULTS: Record<string, [string, End[], Record<string, unknown>?]> = {
  throws: ['throw new Error("boom");', ["failure"]],
  "throws-a-string": ['throw "a string";', ["failure"]],
  "throws-null": ["throw null;", ["failure"]],
  "throws-from-a-timer": ['setTimeout(() => { throw new Error("later"); }, 0); await new Promise((r) => setTimeout(r, 500));', ["failure"]],
  "unhandled-rejection": ['void Promise.reject(new Error("nobody listens")); await new Promise((r) => setTimeout(r, 500));', ["failure", "success"]],
  "throws-a-trap": ['throw { get message(): string { throw new Error("trap"); }, toString() { throw new Error("trap"); } };', ["failure"]],
  "exits-3": ["process.exit(3);", ["failure"]],
  "exits-0": ["process.exit(0);", ["failure", "success"]],
  aborts: ["process.abort();", ["failure"]],
  chdir: ['process.chdir("/");', ["failure", "success"]],
  "sync-loop": ["for (;;) {}", ["timeout"], { timeout: 2 }],
  "microtask-loop": ["for (;;) await null;", ["timeout"], { timeout: 2 }],
  "never-settles": ["await new Promise(() => {});", ["timeout"], { timeout: 2 }],
  "atomics-wait": ["Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);", ["timeout"], { timeout: 2 }],
  "stack-overflow": ["const f = (n: number): number => f(n + 1) + 1; f(0);", ["failure"]],
  "huge-array": ["new Array(2 ** 32);", ["failure"]],
  "heap-hog": ["const keep: number[][] = []; for (;;) keep.push(new Array(1e6).fill(1.5));", ["failure"], { memory_limit: 64 }],
  "missing-module": ['await import("no-such-module-" + Date.now());', ["failure"]],
  "log-flood": ['for (let i = 0; i < 200_000; i++) ctx.log.info("flood line " + i);', ["success"]],
  "stdout-flood": ['process.stdout.write("x".repeat(20 * 1024 * 1024));', ["success"]],
  "one-huge-line": ['ctx.log.info("y".repeat(8 * 1024 * 1024));', ["success"]],
  "globals-broken": ["(globalThis as any).setTimeout = undefined; (globalThis as any).Promise = undefined;", ["failure", "success", "timeout"], { timeout: 3 }],
};

export const faultTasks: Scenario = {
  item: "kept",
  attack: "fault tasks",
  run: () =>
    inProject({ scheduler: { max_concurrent_runs: 32 } }, async (project) => {
      for (const [name, [body, , frontmatter]] of Object.entries(FAULTS)) {
        await project.writeTask(`fault-${name}.ts`, taskSource({ schedule: "every(10).minutes", body, frontmatter: { timeout: 60, ...frontmatter } }));
      }
      await project.writeTask("tick.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("tick");' }));
      const host = await project.start();
      const hostPid = await host.hostPid();
      const socket = hostFiles(path.join(project.root, "data")).socket;
      // All at once, each by hand.
      const ends = await Promise.all(
        Object.keys(FAULTS).map(async (name) => {
          const run = await callHost<{ run: RunJson }>(socket, "run", { task: `fault-${name}` }, 180_000).then((answer) => answer.run, () => null);
          return [name, run ?? finished(await history(project, `fault-${name}`))[0] ?? null] as const;
        }),
      );
      const after = Date.now();
      await waitFor(async () => finished(await history(project, "tick")).some((r) => Date.parse(r.startedAt!) > after + 500), { timeoutMs: 30_000, what: "ticks after the faults" });
      const report = await status(project);
      const alive = report.host.running && report.host.restarts === 0 && (await host.hostPid()) === hostPid;
      await host.stop();
      const wrong = ends.filter(([name, run]) => !run || !FAULTS[name]![1].includes(run.status as End)).map(([name, run]) => `${name}: ${run?.status ?? "no record"}`);
      return [
        {
          item: "kept",
          attack: `${ends.length} fault tasks at once: throws, exits, aborts, loops, hangs, Atomics.wait, stack overflow, heap, floods`,
          refused: { ok: ends.length - wrong.length, of: ends.length },
          held: wrong.length === 0 && alive,
          measured: `${wrong.length ? `not contained: ${wrong.join(", ")}; ` : "each ended as a recorded run; "}host ${alive ? "ran on, no restart, ticks went on" : `did NOT run on (restarts ${report.host.restarts})`}`,
        },
      ];
    }),
};
