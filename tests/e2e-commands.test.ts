import { readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import type { RunJson } from "../runtime/host/report-shapes.ts";
import { isProcessAlive } from "../runtime/util/is-process-alive.ts";

describe("commands against a running host and with none", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create();
    await project.writeTask(
      "counter.ts",
      `/*
---
title: "Counter"
---
*/
import { repeat, every, type TaskContext } from "taskhost";
export default class {
  @repeat(every().day.at("03:00"))
  async start(ctx: TaskContext) {
    const n = (ctx.state.get<number>("n") ?? 0) + 1;
    ctx.state.set("n", n);
    console.log("count", n, ctx.trigger);
  }
  async other(ctx: TaskContext) { ctx.log.warn("other method"); }
}
`,
    );
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("run, history and state work with no host, then through a running host", async () => {
    const first = await project.cli(["run", "counter"]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("count 1 manual");
    const second = await project.json<RunJson>(["run", "counter"]);
    expect(second).toMatchObject({ status: "success", trigger: "manual", taskId: "counter", scheduleId: "counter#start" });
    expect(second.output).toContain("count 2 manual");

    const host = await project.start();
    const third = await project.cli(["run", "counter#other"]);
    expect(third.code).toBe(0);
    expect(third.stdout).toContain("other method");
    const fourth = await project.cli(["run", "counter"]);
    expect(fourth.stdout).toContain("count 3 manual");

    const runs = await history(project, "counter");
    expect(runs.map((r) => r.trigger)).toEqual(["manual", "manual", "manual", "manual"]);
    expect(runs[0]!.id).toBeGreaterThan(runs[1]!.id);
    expect(await project.json<RunJson[]>(["history", "counter", "--limit", "2"])).toHaveLength(2);
    const text = await project.cli(["history", "counter"]);
    expect(text.stdout).toMatch(/success\s+manual/);

    const unknown = await project.cli(["run", "nope"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no task "nope"');
    const badMethod = await project.cli(["run", "counter#missing"]);
    expect(badMethod.code).not.toBe(0);
    expect(badMethod.stderr).toContain('no method "missing"');
    const badLimit = await project.cli(["history", "counter", "--limit", "zero"]);
    expect(badLimit.code).not.toBe(0);

    const again = await project.cli(["start"]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`already running for this project (pid ${host.pid}`);
    // Also with its ledger (and so the lock beside it) moved elsewhere: a second sql.js ledger
    // would run every occurrence again.
    await writeFile(join(project.root, "config", "other.yaml"), "database:\n  path: data-other/scheduler.db\n");
    const other = await project.cli(["start", "--config", "config/other.yaml"]);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain(`already running for this project (pid ${host.pid}, lock ${join(project.root, "data", "project.lock")})`);
    expect(other.stderr).toContain("a sql.js ledger of its own");
    expect(await host.stop()).toBe(0);
    expect(existsSync(join(project.root, "data", "project.lock"))).toBe(false);
  });

  it("a bad config at start is a clear error naming the key and line, and a non-zero exit", async () => {
    await project.writeConfig({ scheduler: { timezone: "UTC", max_concurrent_runs: -2 } });
    const started = Date.now();
    const result = await project.cli(["start"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/config\/config\.yaml:3: .*scheduler\.max_concurrent_runs/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("pause and resume stop and restart scheduling, with and without a host", async () => {
    await project.writeTask("ticker.ts", taskSource({ schedule: "every(1).seconds", body: "" }));
    const host = await project.start();
    await waitFor(async () => finished(await history(project, "ticker")).length >= 1, { what: "a first tick" });
    const paused = await project.cli(["pause", "ticker"]);
    expect(paused).toMatchObject({ code: 0, stdout: expect.stringContaining("paused ticker: it will not be scheduled") });
    const pausedAt = Date.now();
    const again = await project.cli(["pause", "ticker"]);
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining("ticker was already paused; nothing changed") });
    expect((await status(project)).tasks.find((t) => t.id === "ticker")!.state).toBe("paused");
    expect((await project.cli(["status"])).stdout).toMatch(/^ticker +paused +every second +- \(paused\)/m);
    await waitFor(() => Date.now() > pausedAt + 2500, { what: "two boundaries while paused" });
    const whilePaused = (await history(project, "ticker")).filter((r) => Date.parse(r.scheduledFor!) > pausedAt + 500);
    expect(whilePaused).toEqual([]);
    expect(await host.stop()).toBe(0);

    // The pause is in the ledger: a new host keeps it, and resume works with no host.
    const next = await project.start();
    expect((await status(project)).tasks.find((t) => t.id === "ticker")!.state).toBe("paused");
    await next.stop();
    expect((await project.cli(["resume", "ticker"])).code).toBe(0);
    expect((await project.cli(["resume", "ticker"])).stdout).toContain("ticker is not paused; nothing changed");
    const last = await project.start();
    const resumedAt = Date.now();
    await waitFor(async () => (await history(project, "ticker")).some((r) => Date.parse(r.scheduledFor!) > resumedAt), {
      what: "a tick after resume",
    });
    // No catch-up for what was missed on purpose.
    expect((await history(project, "ticker")).filter((r) => r.trigger === "catch-up")).toEqual([]);
    await last.stop();
  });

  it("a paused schedule is not overdue: no next run in status, not listed by check-overdue, through the host and offline", async () => {
    await project.writeTask("ticker.ts", taskSource({ schedule: "every(1).seconds", body: "" }));
    const host = await project.start();
    expect((await project.cli(["pause", "ticker"])).code).toBe(0);
    const pausedAt = Date.now();
    // Its stored next run is in the past by now; resume catches nothing up, so nothing is owed.
    // Overdue means over a second past its next run (LATE_MS), which may be 2 s after the pause.
    await waitFor(() => Date.now() > pausedAt + 3500, { timeoutMs: 10_000, what: "boundaries while paused" });
    expect((await status(project)).tasks.find((t) => t.id === "ticker")!.schedules[0]!.nextRun).toBeNull();
    expect(await project.json<unknown[]>(["check-overdue"])).toEqual([]);
    const text = await project.cli(["check-overdue"]);
    expect(text).toMatchObject({ code: 0, stdout: expect.stringMatching(/^no overdue schedules .*\npaused, not overdue .*: ticker#start\n$/) });
    expect(await host.stop()).toBe(0);
    // Offline, from the ledger, the same.
    expect((await status(project)).tasks.find((t) => t.id === "ticker")!.schedules[0]!.nextRun).toBeNull();
    expect(await project.json<unknown[]>(["check-overdue"])).toEqual([]);
  });

  it("SIGTERM lets a running task finish within shutdown_grace; its signal is aborted", async () => {
    // The run wraps up only once the test has had its answer to `status`: a cold CLI takes
    // seconds on a loaded machine, longer than any fixed wrap-up time the run could take.
    const release = join(project.root, "release");
    await project.writeConfig({ scheduler: { shutdown_grace: 30 } });
    await project.writeTask(
      "slow.ts",
      taskSource({
        schedule: "every(1).seconds",
        body: `ctx.log.info("begin");
    const { existsSync } = await import("node:fs");
    await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => {
      ctx.log.info("aborted");
      const poll = setInterval(() => existsSync(${JSON.stringify(release)}) && (clearInterval(poll), resolve()), 50);
    }));
    ctx.log.info("wrapped up after abort");`,
        frontmatter: { overlap: "skip" },
      }),
    );
    const host = await project.start();
    await waitFor(() => host.output().includes("[slow] begin"), { what: "the slow task to begin" });
    const stopped = host.stop();
    await waitFor(() => host.output().includes("[slow] aborted"), { what: "the run's signal to abort" });
    // While the run gets its grace, the host still answers commands.
    const during = await project.json<{ host: { running: boolean } }>(["status"]);
    expect(during.host.running).toBe(true);
    await writeFile(release, "");
    const releasedAt = Date.now();
    expect(await stopped).toBe(0);
    // The host stops when its run ends, not when the grace does.
    expect(Date.now() - releasedAt).toBeLessThan(15_000);
    const runs = await history(project, "slow");
    const ended = runs.find((r) => r.output.includes("wrapped up after abort"));
    expect(ended?.status).toBe("success");
    expect(runs.filter((r) => r.status === "running")).toEqual([]);
  });

  it("a graceful stop lets a command run by the helpers finish within shutdown_grace, and ends one that outlasts it", async () => {
    // As `taskhost new` writes them: the task's work is one executeCommand.
    const release = join(project.root, "release");
    const pids = join(project.root, "pids");
    await project.writeConfig({ scheduler: { shutdown_grace: 20 } });
    const command = (name: string, script: string) =>
      taskSource({
        schedule: "every(1).hours",
        method: "run",
        body: `const { executeCommand } = await import("taskhost/helpers");
    ctx.log.info("begin");
    const result = await executeCommand("bash", { args: ["-c", ${JSON.stringify(script)}], timeout: 120, logOutput: true });
    if (!result.success) throw new Error(result.error ?? "failed");
    ctx.log.info("${name} finished: " + result.stdout.trim());`,
      });
    await project.writeTask("waits.ts", command("waits", `echo $$ >> ${pids}; echo "waiting as $$"; while [ ! -e ${release} ]; do sleep 0.05; done; echo released`));
    const host = await project.start();
    const run = project.cli(["run", "waits"], 90_000);
    await waitFor(() => host.output().includes("[waits] begin"), { what: "the command to begin" });
    const stopped = host.stop();
    await waitFor(() => host.output().includes('"host.stopping"') || host.output().includes("stopping ("), { what: "the stop to begin" });
    await writeFile(release, "");
    expect(await stopped).toBe(0);
    expect((await run).stdout).toMatch(/waits finished: waiting as \d+\nreleased/);
    const [done] = finished(await history(project, "waits"));
    expect(done).toMatchObject({ status: "success" });

    // One that outlasts the grace is ended with its run, its process group too.
    await rm(release);
    await project.writeConfig({ scheduler: { shutdown_grace: 1 } });
    const again = await project.start();
    const slow = project.cli(["run", "waits"], 90_000);
    await waitFor(async () => (await readFile(pids, "utf8").catch(() => "")).trim().split("\n").length >= 2, { what: "the second command to begin" });
    const pid = Number((await readFile(pids, "utf8")).trim().split("\n")[1]);
    expect(await again.stop()).toBe(0);
    await slow;
    const last = finished(await history(project, "waits"))[0]!;
    expect(last.status).toBe("interrupted");
    // What the command printed before its run was ended is in the run's output (logOutput).
    expect(last.output).toContain(`waiting as ${pid}`);
    await waitFor(() => !isProcessAlive(pid), { what: `the command (pid ${pid}) to be ended` });
  });
});

