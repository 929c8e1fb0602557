import { afterEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { hostEvents } from "./support/fault-host.ts";
import { duplicateOccurrences, finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";

const STEADY = taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("alive");' });

/** The first run of `id` that ended (skipped occurrences aside). */
async function firstEnded(project: TempProject, id: string, timeoutMs = 40_000) {
  return waitFor(async () => finished(await history(project, id)).findLast((r) => r.status !== "skipped"), { timeoutMs, what: `a finished run of ${id}` });
}

/**
 * Issues 10.5 and 11.2: a run is held to its own memory_limit, Buffers included, and
 * stopped alone; max_memory_usage holds the host's own share, so a run within its
 * limit never costs a restart; a memory restart says so in the runs it cuts off.
 */
describe("memory", () => {
  let project: TempProject;
  afterEach(async () => {
    await project.cleanup();
  });

  it("stops a run whose Buffers pass its memory_limit, as a failure naming the figures, and nothing else", async () => {
    project = await TempProject.create({ scheduler: { memory_check_interval: 0.5 } });
    await project.writeTask("steady.ts", STEADY);
    await project.writeTask(
      "buffers.ts",
      taskSource({
        schedule: "every(10).minutes",
        body: "const hoard: Buffer[] = []; for (let i = 0; i < 24; i++) { hoard.push(Buffer.alloc(50 * 1024 * 1024, 1)); await new Promise((r) => setTimeout(r, 50)); } ctx.log.info('kept', hoard.length);",
        frontmatter: { memory_limit: 200, timeout: 60 },
      }),
    );
    const host = await project.start();
    const run = await project.cli(["run", "buffers"]);
    expect(run.code).not.toBe(0);
    const ended = await firstEnded(project, "buffers");
    expect(ended.status).toBe("failure");
    expect(ended.error).toMatch(/^the run used \d+ MB of memory \(\d+ MB on its heap, \d+ MB in Buffers and ArrayBuffers\), over its memory_limit of 200 MB, and was stopped$/);
    expect(Number(/used (\d+) MB/.exec(ended.error!)![1])).toBeLessThan(450);

    const report = await status(project);
    expect(report.host.restarts).toBe(0);
    expect((await history(project, "steady")).filter((r) => r.status === "interrupted")).toEqual([]);
    expect(await hostEvents(project, "memory.restart")).toEqual([]);
    expect(await host.stop()).toBe(0);
  });

  it("lets a run hold 420 MB within its default 512 MB limit under the default max_memory_usage (500 MB): no restart", async () => {
    project = await TempProject.create({ scheduler: { memory_check_interval: 0.5 } });
    await project.writeTask("steady.ts", STEADY);
    await project.writeTask(
      "big.ts",
      taskSource({
        schedule: "every(10).minutes",
        // 420 MB in 10-MB steps, the thread free between them to report its memory: filling 420 MB
        // at once took 1.4 s on an idle machine here (slow page faults), over 2 s with the suite
        // running, and a run silent that long is one the host's memory check stops, by design.
        body: "const hold = []; for (let i = 0; i < 42; i++) { hold.push(Buffer.alloc(10 * 1024 * 1024, 1)); await new Promise((r) => setTimeout(r, 0)); } await new Promise((r) => setTimeout(r, 4000)); ctx.log.info('held', hold.length * 10 * 1024 * 1024);",
      }),
    );
    const host = await project.start();
    const run = await project.cli(["run", "big"]);
    const ended = await firstEnded(project, "big");
    expect(run.code, `${run.stdout}${run.stderr}${ended.error ?? ""}`).toBe(0);
    expect(ended.status).toBe("success");
    expect((await status(project)).host.restarts).toBe(0);
    expect(await hostEvents(project, "memory.restart")).toEqual([]);
    expect(await host.stop()).toBe(0);
  });

  it("stops a run that falls silent in a synchronous loop while the host is over max_memory_usage, instead of restarting", async () => {
    project = await TempProject.create({ scheduler: { memory_check_interval: 0.5, max_memory_usage: 400 } });
    await project.writeTask("steady.ts", STEADY);
    await project.writeTask(
      "spins.ts",
      taskSource({
        schedule: "every(10).minutes",
        body: "const hoard: Buffer[] = []; for (let i = 0; i < 10; i++) hoard.push(Buffer.alloc(50 * 1024 * 1024, 1)); for (;;) {}",
        frontmatter: { timeout: 120 },
      }),
    );
    const host = await project.start();
    void project.cli(["run", "spins"]);
    const ended = await firstEnded(project, "spins");
    expect(ended.status).toBe("failure");
    expect(ended.error).toMatch(/^stopped by the host's memory check: the host's memory was \d+ MB, \d+ MB of it not its runs' .*over max_memory_usage \(400 MB\), and this run had not reported its memory for \d+ s/);
    expect((await status(project)).host.restarts).toBe(0);
    expect(await hostEvents(project, "memory.run_stopped")).toHaveLength(1);
    expect(await host.stop()).toBe(0);
  });

  it("restarts when the host's own memory passes max_memory_usage; the run cut off says so with the figures", async () => {
    project = await TempProject.create({ scheduler: { memory_check_interval: 0.5, shutdown_grace: 1 } });
    await project.writeTask("steady.ts", STEADY);
    await project.writeTask(
      "long.ts",
      taskSource({ schedule: "every(1).seconds", body: "await new Promise((r) => setTimeout(r, 30_000));", frontmatter: { timeout: 60 } }),
    );
    const host = await project.start();
    const firstHostPid = await host.hostPid();
    await waitFor(async () => (await history(project, "long")).some((r) => r.status === "running"), { what: "the long run to start" });
    // The host's own share (~100 MB) is now over the limit: a config edit applies at the next sample.
    await project.writeConfig({ scheduler: { memory_check_interval: 0.5, shutdown_grace: 1, max_memory_usage: 20 } });

    const cut = await firstEnded(project, "long");
    // Back to a limit the next host can keep (the one with 20 MB would restart again and again).
    await project.writeConfig({ scheduler: { memory_check_interval: 0.5, shutdown_grace: 1 } });
    expect(cut.status).toBe("interrupted");
    expect(cut.error).toMatch(/^the host restarted \(memory restart: the host's memory was \d+ MB, \d+ MB of it not its runs' \(they reported \d+ MB\), over max_memory_usage \(20 MB\)\)$/);
    const [restart] = await hostEvents(project, "memory.restart");
    expect(restart).toMatchObject({ limitMb: 20 });
    expect(restart!.ownMb as number).toBeGreaterThan(20);
    const restartedPid = await waitFor(
      async () => {
        const pid = await host.hostPid();
        return pid !== firstHostPid && (await status(project)).host.restarts >= 1 && (await hostEvents(project, "host.start")).length >= 2 ? pid : null;
      },
      { timeoutMs: 30_000, what: "a restarted host" },
    );
    const runs = await waitFor(async () => [...(await history(project, "steady")), ...(await history(project, "long"))], { what: "the history" });
    expect(duplicateOccurrences(runs)).toEqual([]);
    expect(restartedPid).not.toBe(firstHostPid);
    expect(await host.stop()).toBe(0);
  });

  it("a max_memory_usage below what the host needs at start: one error naming the key and a ceiling, not a restart every few seconds", async () => {
    project = await TempProject.create({ scheduler: { memory_check_interval: 0.5, max_memory_usage: 20 } });
    await project.writeTask("steady.ts", STEADY);
    const host = await project.start();
    const pid = await host.hostPid();
    const [held] = await waitFor(async () => {
      const events = await hostEvents(project, "memory.limit_too_low");
      return events.length > 0 ? events : null;
    }, { what: "the memory.limit_too_low error", timeoutMs: 30_000 });
    expect(held).toMatchObject({ level: "error", limitMb: 20 });
    expect(held!.ceilingMb as number).toBeGreaterThanOrEqual(Math.round((held!.ownMb as number) * 1.5) - 1);
    expect(JSON.stringify(held)).toContain("config/config.yaml: scheduler.max_memory_usage (20 MB) is below what this host occupies on its own right after starting");
    // Ten more memory checks (one every 0.5 s) while the steady task runs on, on the same host.
    const heldAt = Date.parse(String(held!.time));
    await waitFor(async () => (await history(project, "steady")).filter((r) => r.status === "success" && Date.parse(r.finishedAt!) > heldAt + 5000).length >= 1, {
      what: "runs 5 s after the hold",
      timeoutMs: 30_000,
    });
    expect(await hostEvents(project, "memory.restart")).toEqual([]);
    expect(await hostEvents(project, "memory.limit_too_low")).toHaveLength(1);
    expect(await host.hostPid()).toBe(pid);
    expect((await status(project)).host.restarts).toBe(0);
    expect(await host.stop()).toBe(0);
  });
});
