import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { duplicateOccurrences, finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";

describe("a host runs tasks on the clock's boundaries", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create();
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("records aligned occurrences with a small lag, and shows them in status", async () => {
    await project.writeTask("every-second.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("one");' }));
    await project.writeTask(
      "nested/every-two.ts",
      taskSource({ schedule: "every(2).seconds", body: 'ctx.log.info("two", ctx.trigger);', frontmatter: { title: "Every Two" } }),
    );
    const host = await project.start();

    const twos = await waitFor(async () => {
      const runs = finished(await history(project, "nested/every-two"));
      return runs.length >= 3 ? runs : null;
    }, { timeoutMs: 20_000, what: "three runs of nested/every-two" });
    const ones = finished(await history(project, "every-second"));
    expect(ones.length).toBeGreaterThanOrEqual(4);

    for (const [runs, period] of [[ones, 1000], [twos, 2000]] as const) {
      for (const run of runs) {
        expect(run.status).toBe("success");
        expect(Date.parse(run.scheduledFor!) % period).toBe(0);
        const lag = Date.parse(run.startedAt!) - Date.parse(run.scheduledFor!);
        // Generous: the measured figure lives in `npm run bench`.
        expect(lag).toBeGreaterThanOrEqual(0);
        expect(lag).toBeLessThan(1500);
        expect(run.durationMs).toBeGreaterThanOrEqual(0);
      }
      expect(duplicateOccurrences(runs)).toEqual([]);
    }
    expect(twos[0]!.output).toContain("two schedule");
    expect(twos[0]!.scheduleId).toBe("nested/every-two#start");

    const report = await status(project);
    expect(report.host).toMatchObject({ running: true, pid: host.pid, restarts: 0 });
    expect(report.host.rssMb).toBeGreaterThan(10);
    const two = report.tasks.find((t) => t.id === "nested/every-two")!;
    expect(two).toMatchObject({ title: "Every Two", file: "tasks/nested/every-two.ts", state: "scheduled", error: null });
    expect(two.schedules).toHaveLength(1);
    expect(two.schedules[0]!.spec).toBe("every 2 seconds");
    expect(Date.parse(two.schedules[0]!.nextRun!) % 2000).toBe(0);
    expect(Date.parse(two.schedules[0]!.nextRun!)).toBeGreaterThan(Date.now() - 2000);
    expect(two.schedules[0]!.lastRun?.status).toBe("success");

    expect(await host.stop()).toBe(0);
    expect(host.output()).toContain("host.stop");
  });
});
