import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { hostEvents } from "./support/fault-host.ts";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";


describe("config/config.yaml edits apply live", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create({ logging: { level: "info" } });
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("applies a valid edit, rejects a bad one and keeps the old config in force", async () => {
    await project.writeTask("tick.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.debug("debug line"); ctx.log.info("info line");' }));
    await project.writeTask("example_extra.ts", taskSource({ schedule: "every(1).seconds", body: "" }));
    await project.start();
    const first = await status(project);
    expect(first.tasks.map((t) => t.id)).toEqual(["tick"]);
    expect(first.host.configWarnings).toEqual([]);

    // A misspelt key is ignored, and said so in status too, not only in the log.
    await project.writeConfig({ logging: { level: "debug" }, tasks: { include_example_tasks: true }, scheduler: { timezone: "Asia/Kolkata", max_concurent_runs: 3 } });
    const reloaded = await waitFor(async () => (await hostEvents(project, "config.reloaded"))[0], { what: "config.reloaded" });
    expect(reloaded.changed).toEqual(expect.arrayContaining(["logging.level", "tasks.include_example_tasks", "scheduler.timezone"]));
    const warned = (await status(project)).host.configWarnings ?? [];
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(/config\.yaml:\d+.*scheduler\.max_concurent_runs/);
    expect((await project.cli(["status"])).stdout).toMatch(/config warnings:\n.*max_concurent_runs/);
    await waitFor(async () => (await status(project)).tasks.some((t) => t.id === "example_extra"), { what: "the example task to load" });
    await waitFor(async () => (await readFile(path.join(project.root, "logs", "tasks.log"), "utf8")).includes("debug line"), { what: "debug lines" });

    // A bad edit: rejected with the key and line; the previous configuration stays.
    await writeFile(path.join(project.root, "config", "config.yaml"), "logging:\n  level: debug\nscheduler:\n  max_concurrent_runs: lots\n");
    const rejected = await waitFor(async () => (await hostEvents(project, "config.rejected"))[0], { what: "config.rejected" });
    expect(String(rejected.error)).toContain("scheduler.max_concurrent_runs");
    expect(String(rejected.error)).toContain("config.yaml:4");
    await writeFile(path.join(project.root, "config", "config.yaml"), "logging: [unclosed\n");
    await waitFor(async () => (await hostEvents(project, "config.rejected")).length >= 2, { what: "the YAML error to be rejected" });
    const at = Date.now();
    await waitFor(async () => finished(await history(project, "example_extra")).some((r) => Date.parse(r.startedAt!) > at), { what: "runs to go on" });

    // Examples off again: unloaded.
    await project.writeConfig({ logging: { level: "info" } });
    await waitFor(async () => !(await status(project)).tasks.some((t) => t.id === "example_extra"), { what: "the example task to unload" });
    // Said until the file no longer has the key (the tasks unload before the reload is committed).
    await waitFor(async () => (await status(project)).host.configWarnings?.length === 0, { what: "the warning to clear" });
  });

  it("switches the tasks directory live: the old tasks go, the new folder's load and are watched", async () => {
    await project.writeTask("old.ts", taskSource({ schedule: "every(1).seconds", body: "" }));
    const other = path.join(project.root, "other-tasks");
    await mkdir(other, { recursive: true });
    await writeFile(path.join(other, "fresh.ts"), taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("fresh one");' }));
    await project.start();
    await project.writeConfig({ tasks: { directory: "other-tasks" } });
    // Loaded and scheduled from the new folder (its entry shows up while it is still being bundled).
    await waitFor(async () => (await status(project)).tasks.map((t) => `${t.id}:${t.state}`).join() === "fresh:scheduled", { what: "the switch to other-tasks" });
    // The new folder is watched: an edit there reloads.
    await writeFile(path.join(other, "fresh.ts"), taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("fresh two");' }));
    await waitFor(async () => finished(await history(project, "fresh")).some((r) => r.output.includes("fresh two")), {
      what: "the edit in the new folder",
      // A reload bundles and inspects the file again: seconds when two other test files load the machine.
      timeoutMs: 30_000,
    });
    // The old folder no longer is.
    await project.writeTask("ignored.ts", taskSource({ schedule: "every(1).seconds", body: "" }));
    await waitFor(async () => finished(await history(project, "fresh")).length >= 3, { what: "more runs" });
    expect((await status(project)).tasks.map((t) => t.id)).toEqual(["fresh"]);
  });

  it("rescans the tasks folder when reload_on_change is turned back on: what changed while unwatched is applied", async () => {
    const hourly = (title: string) => taskSource({ schedule: "every(1).hours", body: "", frontmatter: { title } });
    await project.writeConfig({ tasks: { reload_on_change: false } });
    await project.writeTask("kept.ts", hourly("Kept one"));
    await project.writeTask("gone.ts", hourly("Gone"));
    await project.start();
    const titles = async () => (await status(project)).tasks.map((t) => `${t.id}:${t.title}`).sort().join();
    expect(await titles()).toBe("gone:Gone,kept:Kept one");
    // Unwatched: an added, an edited and a deleted file.
    await project.writeTask("added.ts", hourly("Added"));
    await project.writeTask("kept.ts", hourly("Kept two"));
    await rm(path.join(project.root, "tasks", "gone.ts"));
    await project.writeConfig({ tasks: { reload_on_change: true } });
    const reloaded = await waitFor(async () => (await hostEvents(project, "config.reloaded"))[0], { what: "config.reloaded" });
    expect(reloaded.changed).toEqual(["tasks.reload_on_change"]);
    // Applied by the reload itself (before config.reloaded), not on the files' next edit.
    expect(await titles()).toBe("added:Added,kept:Kept two");
  });

  it("refuses a tasks directory it cannot read, naming the key: the old configuration, tasks and watcher stay in force", async () => {
    await project.writeTask("old.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("old one");' }));
    // A link to itself: listing it fails (ELOOP), as an unreadable folder would.
    await symlink("looping", path.join(project.root, "looping"));
    await project.start();
    await project.writeConfig({ tasks: { directory: "looping" } });
    const rejected = await waitFor(async () => (await hostEvents(project, "config.rejected"))[0], { what: "config.rejected" });
    expect(rejected.key).toBe("tasks.directory");
    expect(String(rejected.error)).toMatch(/tasks\.directory: .*ELOOP/);
    expect((await status(project)).tasks.map((t) => t.id)).toEqual(["old"]);
    // The old folder is still watched.
    await project.writeTask("old.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info("old two");' }));
    await waitFor(async () => finished(await history(project, "old")).some((r) => r.output.includes("old two")), { what: "the edit in the old folder" });
    // What is in force is the old configuration: the next edit changes only what differs from it.
    await project.writeConfig({ logging: { level: "debug" } });
    const reloaded = await waitFor(async () => (await hostEvents(project, "config.reloaded"))[0], { what: "config.reloaded" });
    expect(reloaded.changed).toEqual(["logging.level"]);
  });
});
