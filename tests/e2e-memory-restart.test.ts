import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { duplicateOccurrences, finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";

/** Above max_memory_usage the host restarts itself gracefully; the supervisor's PID stays. */
describe("memory-limit restart", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create({ scheduler: { max_memory_usage: 260, memory_check_interval: 0.5, shutdown_grace: 1 } });
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("restarts the host process, records the cut-off run as interrupted, and resumes with no occurrence twice", async () => {
    await project.writeTask("steady.ts", taskSource({ schedule: "every(1).seconds", body: "" }));
    await project.writeTask(
      "hoarder.ts",
      taskSource({
        schedule: "every(4).seconds",
        // Off-heap memory (not limited by memory_limit): only the host-wide limit catches it.
        body: "if (ctx.state.get('hoarded')) return; ctx.state.set('hoarded', true); const hoard = Buffer.alloc(400 * 1024 * 1024, 1); ctx.log.info('holding', hoard.length); await new Promise((r) => setTimeout(r, 20_000));",
        frontmatter: { timeout: 60 },
      }),
    );
    const host = await project.start();
    const firstHostPid = await host.hostPid();
    // The first run is the one that hoards (later ones see the state flag and return at once).
    const hoarded = await waitFor(async () => finished(await history(project, "hoarder")).findLast((r) => r.status !== "skipped"), {
      timeoutMs: 30_000,
      what: "the hoarding run to end",
    });
    expect(hoarded.status).toBe("interrupted");

    const report = await waitFor(async () => {
      const s = await status(project);
      return s.host.restarts >= 1 ? s : null;
    }, { timeoutMs: 30_000, what: "the restarted host" });
    expect(report.host.pid).toBe(host.pid);
    expect(await host.hostPid()).not.toBe(firstHostPid);

    const log = await readFile(path.join(project.root, "logs", "scheduler.log"), "utf8");
    const restart = log.split("\n").find((line) => line.includes('"event":"memory.restart"'));
    expect(restart).toBeDefined();
    expect(JSON.parse(restart!).rssMb).toBeGreaterThan(260);

    const restartedAt = Date.now();
    await waitFor(async () => finished(await history(project, "steady")).some((r) => Date.parse(r.startedAt!) > restartedAt), {
      what: "scheduling to resume",
    });
    const runs = [...(await history(project, "steady")), ...(await history(project, "hoarder"))];
    expect(duplicateOccurrences(runs)).toEqual([]);
    expect(await host.stop()).toBe(0);
  });
});
