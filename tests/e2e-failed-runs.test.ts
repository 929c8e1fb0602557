import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import type { RunJson } from "../runtime/host/report-shapes.ts";
import { NOT_BEGUN } from "../runtime/run/run-end.ts";

/** Each way a task can go wrong ends as a recorded run; the host and the other tasks carry on. */
describe("failing runs", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create();
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("records throw, reject, process.exit, endless loop and memory blow-up, and keeps running", async () => {
    const every2 = "every(2).seconds";
    await project.writeTask("healthy.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("alive");' }));
    await project.writeTask("throws.ts", taskSource({ schedule: every2, body: 'throw new Error("boom from throws");' }));
    await project.writeTask(
      "rejects.ts",
      taskSource({ schedule: every2, body: 'await new Promise((_, reject) => setTimeout(() => reject(new Error("late rejection")), 10));' }),
    );
    await project.writeTask("exits.ts", taskSource({ schedule: every2, body: 'console.log("bye"); process.exit(3);' }));
    await project.writeTask(
      "loops.ts",
      taskSource({ schedule: "every(3).seconds", body: "for (;;) {}", frontmatter: { timeout: 1 } }),
    );
    await project.writeTask(
      "hangs.ts",
      taskSource({ schedule: "every(3).seconds", body: "await new Promise(() => {});", frontmatter: { timeout: 1 } }),
    );
    await project.writeTask(
      "eats-memory.ts",
      taskSource({
        schedule: every2,
        body: "const hoard: string[][] = []; for (;;) hoard.push(new Array(100_000).fill(String(hoard.length)));",
        frontmatter: { memory_limit: 32, timeout: 30 },
      }),
    );
    await project.start();

    // The first run that ran and ended: on a slow machine a later occurrence may be skipped while it
    // runs, and one whose code could not begin within a second of its start (the machine froze,
    // as a loaded CI did at the host's start) ends unbegun, interrupted, without running.
    const ran = (r: RunJson) => r.status !== "skipped" && !(r.status === "interrupted" && (r.error ?? "").includes(NOT_BEGUN));
    const firstEnded = async (id: string): Promise<RunJson> =>
      waitFor(async () => finished(await history(project, id)).findLast(ran), {
        timeoutMs: 25_000,
        what: `a finished run of ${id}`,
      });

    const thrown = await firstEnded("throws");
    expect(thrown.status, thrown.error ?? "").toBe("failure");
    expect(thrown.error).toContain("boom from throws");
    // Stack traces point at the task file, not the bundle.
    expect(thrown.error).toContain("tasks/throws.ts");

    const rejected = await firstEnded("rejects");
    expect(rejected.status).toBe("failure");
    expect(rejected.error).toContain("late rejection");

    const exited = await firstEnded("exits");
    expect(exited.status).toBe("failure");
    expect(exited.error).toContain("process.exit(3)");
    expect(exited.output).toContain("bye");

    const looped = await firstEnded("loops");
    expect(looped.status).toBe("timeout");
    expect(looped.durationMs).toBeGreaterThanOrEqual(1000);
    expect(looped.durationMs).toBeLessThan(5000);

    const hung = await firstEnded("hangs");
    expect(hung.status).toBe("timeout");

    const ate = await firstEnded("eats-memory");
    expect(ate.status).toBe("failure");
    expect(ate.error).toContain("memory_limit of 32 MB");

    // The host and the healthy task never noticed.
    const healthy = await history(project, "healthy");
    const recent = finished(healthy).filter((r) => Date.parse(r.finishedAt!) > Date.parse(ate.finishedAt!) - 1500);
    expect(recent.length).toBeGreaterThan(0);
    // None failed, timed out or was cut off. (On a loaded 2-core machine, with the endless loop
    // holding a core for a second at a time, a run may outlast its second and the next
    // occurrence be skipped: CI saw one, once.)
    const notSuccess = finished(healthy).filter((r) => r.status !== "success");
    expect(notSuccess.filter((r) => r.status !== "skipped")).toEqual([]);
    expect(notSuccess.length, JSON.stringify(notSuccess)).toBeLessThanOrEqual(2);
    const report = await status(project);
    expect(report.host.running).toBe(true);
    expect(report.tasks.find((t) => t.id === "throws")!.schedules[0]!.lastRun?.status).toBe("failure");
  });
});
