import { rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import { readHostLog } from "./support/host-log.ts";

async function hostEvents(project: TempProject, event: string): Promise<Array<Record<string, unknown>>> {
  const text = await readHostLog(project.root);
  return text
    .split("\n")
    .filter((line) => line.includes(`"event":"${event}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const taskState = async (project: TempProject, id: string) => (await status(project)).tasks.find((t) => t.id === id);

describe("hot reload of task files", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create();
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("adds, edits, breaks, fixes, renames and deletes a task while the host runs", async () => {
    await project.start();
    // Add.
    const file = await project.writeTask("live.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("version one");' }));
    await waitFor(async () => finished(await history(project, "live")).some((r) => r.output.includes("version one")), { what: "version one to run" });

    // Edit: the next runs use the new code, the schedule kept its grid.
    await writeFile(file, taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("version two");' }));
    await waitFor(async () => finished(await history(project, "live")).some((r) => r.output.includes("version two")), { what: "version two to run" });

    // Break it: the previous version keeps running and the task shows the error with file:line.
    await writeFile(file, taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("version three") +;' }));
    const broken = await waitFor(async () => {
      const task = await taskState(project, "live");
      return task?.state === "error" ? task : null;
    }, { what: "the error state" });
    expect(broken.error).toMatch(/tasks\/live\.ts:\d+:\d+/);
    const brokenAt = Date.now();
    await waitFor(async () => finished(await history(project, "live")).some((r) => Date.parse(r.startedAt!) > brokenAt && r.output.includes("version two")), {
      what: "version two to keep running while the file is broken",
    });
    // `taskhost run` runs that version too, and says so: its success is not the edit's.
    const manual = await project.cli(["run", "live"]);
    expect(manual.code).toBe(0);
    expect(manual.stdout).toContain("version two");
    expect(manual.stderr).toMatch(/note: tasks\/live\.ts does not load now, so this ran the previous version, which the host keeps until the file is fixed:\n {2}.*tasks\/live\.ts:\d+:\d+/);

    // Fix it: the error clears.
    await writeFile(file, taskSource({ schedule: "every(2).seconds", body: 'ctx.log.info("version four");' }));
    await waitFor(async () => (await taskState(project, "live"))?.state === "scheduled", { what: "the error to clear" });
    const fixed = await taskState(project, "live");
    expect(fixed!.error).toBeNull();
    expect(fixed!.schedules[0]!.spec).toBe("every 2 seconds");
    await waitFor(async () => finished(await history(project, "live")).some((r) => r.output.includes("version four")), { what: "version four" });

    // Rename: the old id goes (its history stays), the new one runs.
    await rename(file, path.join(project.root, "tasks", "renamed.ts"));
    await waitFor(async () => {
      const report = await status(project);
      return !report.tasks.some((t) => t.id === "live") && report.tasks.some((t) => t.id === "renamed");
    }, { what: "the rename" });
    await waitFor(async () => finished(await history(project, "renamed")).length > 0, { what: "a run of the renamed task" });
    expect((await history(project, "live")).length).toBeGreaterThan(0);

    // Delete.
    await rm(path.join(project.root, "tasks", "renamed.ts"));
    await waitFor(async () => !(await status(project)).tasks.some((t) => t.id === "renamed"), { what: "the removal" });
    expect((await hostEvents(project, "task.removed")).map((e) => e.taskId)).toEqual(expect.arrayContaining(["live", "renamed"]));
    // Its history and its log lines stay readable.
    const logs = await project.cli(["logs", "renamed"]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain("version four");
    expect((await project.cli(["logs", "never-was"])).stderr).toContain('no task "never-was"');
  });

  it("a run in flight finishes on its old code; a burst of writes gives one reload", async () => {
    const file = await project.writeTask(
      "long.ts",
      taskSource({ schedule: "every(2).seconds", body: 'ctx.log.info("old start"); await new Promise((r) => setTimeout(r, 1200)); ctx.log.info("old end");', frontmatter: { timeout: 10 } }),
    );
    await project.start();
    await waitFor(async () => (await history(project, "long")).some((r) => r.status === "running" && r.startedAt != null), { what: "a run in flight" });
    const loadsBefore = (await hostEvents(project, "task.loaded")).length;
    // Truncate-then-write, several writes in a burst: the final content wins, loaded once.
    for (let i = 0; i < 5; i++) {
      await writeFile(file, "");
      await writeFile(file, taskSource({ schedule: "every(2).seconds", body: `ctx.log.info("new ${i}");` }));
    }
    await waitFor(async () => finished(await history(project, "long")).some((r) => r.output.includes("new 4")), { what: "the final version to run" });
    const inFlight = finished(await history(project, "long")).find((r) => r.output.includes("old start"));
    expect(inFlight?.status).toBe("success");
    expect(inFlight?.output).toContain("old end");
    const loads = (await hostEvents(project, "task.loaded")).slice(loadsBefore);
    expect(loads).toHaveLength(1);
    expect((await hostEvents(project, "task.error")).length).toBe(0);
    expect(finished(await history(project, "long")).some((r) => /new [0-3]/.test(r.output))).toBe(false);
  });

  it("a helper edit reloads only the tasks that import it", async () => {
    await project.writeTask("_greeting.ts", 'export const greeting = "hello";\n');
    const importer = (name: string) => `import { repeat, every, type TaskContext } from "taskhost";
import { greeting } from "./_greeting.ts";
export default class { @repeat(every(1).seconds) async start(ctx: TaskContext) { ctx.log.info(greeting, "${name}"); } }
`;
    await project.writeTask("uses-a.ts", importer("a"));
    await project.writeTask("uses-b.ts", importer("b"));
    await project.writeTask("loner.ts", taskSource({ schedule: "every(1).seconds", body: "" }));
    await project.start();
    const before = (await hostEvents(project, "task.loaded")).length;
    await project.writeTask("_greeting.ts", 'export const greeting = "bonjour";\n');
    await waitFor(async () => finished(await history(project, "uses-a")).some((r) => r.output.includes("bonjour a")), { what: "uses-a to see the new helper" });
    await waitFor(async () => finished(await history(project, "uses-b")).some((r) => r.output.includes("bonjour b")), { what: "uses-b to see the new helper" });
    const reloaded = (await hostEvents(project, "task.loaded")).slice(before).map((e) => e.taskId);
    expect(reloaded.sort()).toEqual(["uses-a", "uses-b"]);
  });
});
