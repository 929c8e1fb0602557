import { mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { status } from "./support/history.ts";
import { hostEvents } from "./support/fault-host.ts";
import { waitFor } from "./support/wait-for.ts";

const SOURCE = taskSource({ schedule: "every(10).minutes", body: 'ctx.log.info("tick");' });

/** Issue 10.15: nothing in the tasks directory is skipped without a word. */
describe("quiet refusals in the tasks directory", () => {
  let project: TempProject;
  afterEach(async () => {
    await project.cleanup();
  });

  it("lists a symlinked task file as an error saying why, reports a loop once, and says a linked folder is not followed", async () => {
    project = await TempProject.create();
    await mkdir(path.join(project.root, "elsewhere"));
    await writeFile(path.join(project.root, "elsewhere", "real.ts"), SOURCE);
    await project.writeTask("plain.ts", SOURCE);
    await symlink("../elsewhere/real.ts", path.join(project.root, "tasks", "linked.ts"));
    await symlink("self.ts", path.join(project.root, "tasks", "self.ts"));
    await symlink(".", path.join(project.root, "tasks", "loopdir"));
    const host = await project.start();

    const report = await status(project);
    const byId = Object.fromEntries(report.tasks.map((t) => [t.id, t]));
    expect(byId.plain?.state).toBe("scheduled");
    expect(byId.linked).toMatchObject({ state: "error" });
    expect(byId.linked!.error).toMatch(/^tasks\/linked\.ts is a symbolic link \(to \.\.\/elsewhere\/real\.ts\); taskhost loads only regular files/);
    expect(byId.self!.error).toMatch(/symbolic link \(to self\.ts, which loops back on itself\)/);

    // A link made while the host runs is refused the same way.
    await symlink("../elsewhere/real.ts", path.join(project.root, "tasks", "later.ts"));
    await waitFor(async () => (await status(project)).tasks.find((t) => t.id === "later")?.error?.includes("symbolic link"), {
      what: "the new link listed as an error",
    });

    const skipped = await hostEvents(project, "tasks.skipped");
    expect(skipped.map((e) => e.msg)).toEqual([expect.stringMatching(/^loopdir in the tasks directory is a symbolic link to a folder, which taskhost does not follow/)]);
    // The loop through loopdir/ used to log one ELOOP line per level.
    const watchErrors = await hostEvents(project, "watch.error");
    expect(watchErrors.length).toBeLessThanOrEqual(1);
    expect(await host.stop()).toBe(0);
  });

  it("warns when tasks.directory does not exist", async () => {
    project = await TempProject.create({ tasks: { directory: "no/such/tasks" } });
    const host = await project.start();
    const skipped = await hostEvents(project, "tasks.skipped");
    expect(skipped.map((e) => e.msg)).toEqual([
      `tasks.directory ${project.root}/no/such/tasks does not exist, so no task is loaded; create it, or fix tasks.directory in the config file`,
    ]);
    expect(await host.stop()).toBe(0);
  });
});
