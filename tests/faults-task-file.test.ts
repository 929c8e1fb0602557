import { rm } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { duplicateOccurrences, finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import type { RunJson } from "../runtime/host/report-shapes.ts";
import { hostEvents } from "./support/fault-host.ts";

const slowBody = (word: string) =>
  `ctx.log.info("${word} begins"); await new Promise((r) => setTimeout(r, 1500)); ctx.log.info("${word} ends");`;

/** A task's file deleted or rewritten while one of its runs is in flight. */
describe("task files changing under a running run", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create();
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("lets the run finish as it began, then unschedules the deleted task and runs the edited one's new code", async () => {
    await project.writeTask("healthy.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("alive");' }));
    const doomed = await project.writeTask("doomed.ts", taskSource({ schedule: "every(2).seconds", body: slowBody("doomed") }));
    await project.writeTask("edited.ts", taskSource({ schedule: "every(2).seconds", body: slowBody("v1") }));
    await project.start();

    const running = async (id: string): Promise<RunJson> =>
      waitFor(async () => (await history(project, id)).find((r) => r.status === "running" && r.startedAt != null), {
        timeoutMs: 20_000,
        what: `a run of ${id} in flight`,
      });

    const doomedRun = await running("doomed");
    await rm(doomed);
    await waitFor(async () => (await hostEvents(project, "task.removed")).some((e) => e.taskId === "doomed"), { what: "doomed to be removed" });
    const removedAt = Date.now();

    const editedRun = await running("edited");
    await project.writeTask("edited.ts", taskSource({ schedule: "every(2).seconds", body: slowBody("v2") }));

    // The runs in flight end as they began: with their own code, recorded as successes.
    const doomedEnd = await waitFor(async () => finished(await history(project, "doomed")).find((r) => r.id === doomedRun.id), {
      what: "the doomed run to end",
    });
    expect(doomedEnd.status, doomedEnd.error ?? "").toBe("success");
    expect(doomedEnd.output).toContain("doomed ends");
    const editedEnd = await waitFor(async () => finished(await history(project, "edited")).find((r) => r.id === editedRun.id), {
      what: "the edited run to end",
    });
    expect(editedEnd.status, editedEnd.error ?? "").toBe("success");
    expect(editedEnd.output).toContain("v1 ends");

    // The edited task goes on with its new code.
    const v2 = await waitFor(async () => finished(await history(project, "edited")).find((r) => r.output.includes("v2 ends")), {
      timeoutMs: 20_000,
      what: "a run of the new version",
    });
    expect(v2.status).toBe("success");

    // The deleted one is gone from status, keeps its history, and ran nothing after removal.
    const report = await status(project);
    expect(report.host.running).toBe(true);
    expect(report.tasks.map((t) => t.id)).not.toContain("doomed");
    const doomedRuns = await history(project, "doomed");
    expect(doomedRuns.filter((r) => r.startedAt != null && Date.parse(r.startedAt) > removedAt)).toEqual([]);
    expect(doomedRuns.some((r) => r.status === "running")).toBe(false);

    const edited = await history(project, "edited");
    expect(edited.filter((r) => r.status !== "success" && r.status !== "running" && r.status !== "skipped")).toEqual([]);
    expect(duplicateOccurrences([...edited, ...doomedRuns])).toEqual([]);
    const healthy = finished(await history(project, "healthy"));
    expect(healthy.length).toBeGreaterThanOrEqual(3);
    expect(healthy.every((r) => r.status === "success")).toBe(true);
  });
});
