import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TempProject, type HostProcess } from "./support/temp-project.ts";
import { finished, history } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import { hostEvents } from "./support/fault-host.ts";
import { processTable } from "./support/process-table.ts";


/** Live processes whose command line carries `marker`. */
const running = (marker: string) => processTable().filter((p) => p.state !== "Z" && p.cmdline.includes(marker));
/** Children of `pid` that died and were never reaped. */
const zombiesOf = (pid: number) => processTable().filter((p) => p.ppid === pid && p.state === "Z");

function task(body: string, frontmatter = "timeout: 30"): string {
  return `/*
---
${frontmatter}
---
*/
import type { TaskContext } from "taskhost";
import { spawn, exec } from "node:child_process";
// No schedule (a manual task): runs come from \`taskhost run\` only, never a boundary the test crosses.
export default class {
  async start(ctx: TaskContext) {
    ${body}
  }
}
`;
}

/** Issue 10.4: what a run started ends, and is reaped, when the run ends. */
describe("processes a run leaves behind", () => {
  let project: TempProject;
  let host: HostProcess;
  afterEach(async () => {
    await project.cleanup();
  });

  async function runAndWait(id: string): Promise<{ status: string; error: string | null }> {
    const result = await project.cli(["run", id]);
    expect(result.stderr).not.toContain("no host");
    return waitFor(async () => finished(await history(project, id)).find((r) => r.trigger === "manual"), { what: `the run of ${id}` });
  }

  it("ends and reaps fire-and-forget children, one that ignores SIGTERM, and a grandchild in the background", async () => {
    project = await TempProject.create();
    await project.writeTask(
      "forget.ts",
      task(`for (let i = 0; i < 5; i++) spawn("sleep", ["901.5"]);
    spawn("sh", ["-c", "trap '' TERM; exec sleep 902.5"]);
    exec("sleep 903.5 &");
    await new Promise((r) => setTimeout(r, 300));`),
    );
    host = await project.start();
    const hostPid = await host.hostPid();
    const run = await runAndWait("forget");
    expect(run.status).toBe("success");
    await waitFor(() => ["901.5", "902.5", "903.5"].every((m) => running(m).length === 0), { timeoutMs: 10_000, what: "no child left running" });
    expect(zombiesOf(hostPid)).toEqual([]);
    expect(await host.stop()).toBe(0);
  });

  it("ends and reaps 200 children of a run that times out", async () => {
    project = await TempProject.create();
    await project.writeTask(
      "many.ts",
      task(`for (let i = 0; i < 200; i++) spawn("sleep", ["904.5"]);
    await new Promise(() => {});`, "timeout: 2"),
    );
    host = await project.start();
    const hostPid = await host.hostPid();
    const run = await runAndWait("many");
    expect(run.status).toBe("timeout");
    await waitFor(() => running("904.5").length === 0, { timeoutMs: 20_000, what: "all 200 ended" });
    expect(zombiesOf(hostPid)).toEqual([]);
    expect(await host.stop()).toBe(0);
  });

  // On a loaded machine a spawn takes tens of milliseconds, and the 200 above outlasted their run:
  // the host killed the groups it knew of, and the loop went on starting more (99 left running).
  it("lets a run that spawns in an endless synchronous loop start nothing once it is over, and ends all it started (context and worker)", async () => {
    // Zombies are counted at each memory check.
    project = await TempProject.create({ scheduler: { memory_check_interval: 0.5 } });
    const loop = (onThrow: string) => `for (;;) {
      try {
        spawn("sleep", ["908.5"]);
      } catch (error) {
        ${onThrow}
      }
      const until = Date.now() + 20;
      while (Date.now() < until) {}
    }`;
    for (const level of ["context", "worker"]) await project.writeTask(`spawns-${level}.ts`, task(loop("throw error;"), `timeout: 1\nisolation: ${level}`));
    // One that swallows the throw: it loops on and answers nothing, so the host ends its children itself.
    await project.writeTask("swallows.ts", task(loop("// on it goes"), "timeout: 1"));
    host = await project.start();
    const hostPid = await host.hostPid();
    for (const level of ["context", "worker"]) {
      expect((await runAndWait(`spawns-${level}`)).status).toBe("timeout");
      // Its spawn threw once the run was over: the loop ended, and the thread ended and reaped every child.
      await waitFor(() => running("908.5").length === 0, { timeoutMs: 20_000, what: `every process the ${level} loop started to end` });
      expect(zombiesOf(hostPid)).toEqual([]);
    }
    expect((await runAndWait("swallows")).status).toBe("timeout");
    await waitFor(() => running("908.5").length === 0, { timeoutMs: 20_000, what: "every process the swallowing loop started to end" });
    // Killed by the host, not reaped by the thread that started them: zombies, and said so in the log.
    const left = zombiesOf(hostPid).length;
    if (left > 0) await waitFor(async () => (await hostEvents(project, "runs.zombies")).some((e) => e.count === left), { what: "runs.zombies in the log" });
    expect(await host.stop()).toBe(0);
  });

  it("under isolation: task, a module-level timer starts no process between runs (it would belong to no run)", async () => {
    project = await TempProject.create();
    const marks = path.join(project.root, "data", "between-runs.txt");
    await project.writeTask(
      "ticker.ts",
      `/*
---
isolation: task
---
*/
import { spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { threadId } from "node:worker_threads";
// Kept between runs under task isolation, and so is this timer. The host's bundle inspector imports
// this module too, to read its schedules, in a thread of its own: each line says whose thread wrote it.
setInterval(() => {
  try {
    spawn("sleep", ["909.5"]);
    appendFileSync(${JSON.stringify(marks)}, \`\${threadId} started\\n\`);
  } catch (error) {
    appendFileSync(${JSON.stringify(marks)}, \`\${threadId} \${(error as { code?: string }).code}\\n\`);
  }
}, 50);
export default class {
  async start() {
    await new Promise((r) => setTimeout(r, 300));
  }
}
`,
    );
    host = await project.start();
    expect((await runAndWait("ticker")).status).toBe("success");
    // The lines of the run's thread: the one that goes on writing (the inspector's thread is gone).
    const runLines = () => {
      const lines = (existsSync(marks) ? readFileSync(marks, "utf8") : "").trimEnd().split("\n").filter(Boolean).map((line) => line.split(" "));
      const thread = lines.at(-1)?.[0];
      return lines.filter(([t]) => t === thread).map(([, what]) => what!);
    };
    // Its spawns during the run were the run's, and ended with it; after it, each one throws.
    await waitFor(() => runLines().join("\n").endsWith("ERR_TASKHOST_RUN_OVER\nERR_TASKHOST_RUN_OVER"), { what: "spawns refused after the run" });
    const lines = runLines();
    expect(lines).toContain("started");
    expect(lines.slice(lines.indexOf("ERR_TASKHOST_RUN_OVER"))).toEqual(lines.slice(lines.indexOf("ERR_TASKHOST_RUN_OVER")).map(() => "ERR_TASKHOST_RUN_OVER"));
    // What the inspector's import started (its timer fired before its thread ended) ended with it, too.
    await waitFor(() => running("909.5").length === 0, { timeoutMs: 10_000, what: "the run's own children to end" });
    expect(await host.stop()).toBe(0);
  });

  it("ends the children of a run stuck in a synchronous loop, and of one that calls process.exit() (zombies measured)", async () => {
    project = await TempProject.create({ scheduler: { memory_check_interval: 0.5 } });
    await project.writeTask(
      "stuck.ts",
      task(`for (let i = 0; i < 20; i++) spawn("sleep", ["905.5"]);
    await new Promise((r) => setTimeout(r, 300));
    for (;;) {}`, "timeout: 1"),
    );
    await project.writeTask(
      "exits.ts",
      task(`for (let i = 0; i < 20; i++) spawn("sleep", ["906.5"]);
    await new Promise((r) => setTimeout(r, 300));
    process.exit(3);`),
    );
    host = await project.start();
    const hostPid = await host.hostPid();
    expect((await runAndWait("stuck")).status).toBe("timeout");
    expect((await runAndWait("exits")).status).toBe("failure");
    await waitFor(() => running("905.5").length + running("906.5").length === 0, { timeoutMs: 15_000, what: "their children to end" });
    // Neither thread turned its loop again; their children were killed (by the host, by the
    // patched process.exit) and dead before the thread was terminated, whose teardown reaps them.
    const zombies = zombiesOf(hostPid);
    console.log(`runs stuck in a synchronous loop or calling process.exit() left ${zombies.length} zombie(s) of their 40 children`);
    expect(zombies).toEqual([]);

    // What remains: a run whose heap limit ends its thread at once. Its children are killed
    // after the thread is gone, so nothing reaps them until the host process exits.
    await project.writeTask(
      "bloats.ts",
      task(`for (let i = 0; i < 5; i++) spawn("sleep", ["907.5"]);
    await new Promise((r) => setTimeout(r, 300));
    const hoard: number[][] = [];
    for (;;) hoard.push(new Array(1e6).fill(1));`, "memory_limit: 64\ntimeout: 30"),
    );
    await waitFor(async () => (await project.cli(["run", "bloats"])).stdout.length >= 0, { what: "the bloating run" });
    await waitFor(() => running("907.5").length === 0, { timeoutMs: 15_000, what: "the bloating run's children to end" });
    const left = zombiesOf(hostPid).length;
    console.log(`a run ended by its heap limit left ${left} zombie(s) of its 5 children`);
    expect(left).toBeLessThanOrEqual(5);
    // What remains is said in the log, for whoever watches the PIDs (systemd's TasksMax).
    if (left > 0) await waitFor(async () => (await hostEvents(project, "runs.zombies")).some((e) => e.count === left), { what: "runs.zombies in the log" });
    expect(await host.stop()).toBe(0);
  });
});
