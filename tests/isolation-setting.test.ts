/**
 * The `isolation` frontmatter field and the `scheduler.isolation` config key:
 * validated like every other field (a wrong value names the file and line),
 * shown per task in `status --json`, and live: editing either changes what
 * status shows without a restart.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseTaskFile } from "../runtime/task-file/parse-task-file.ts";
import { loadConfigFile } from "../runtime/config/load-config-file.ts";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";

const withFrontmatter = (lines: string) => `/*\n---\ntitle: x\n${lines}\n---\n*/\nexport default class {}\n`;

describe("isolation: validation", () => {
  it("reads context, task and worker (any case), defaults to null (the config's), and refuses anything else at its line", () => {
    expect(parseTaskFile(withFrontmatter("isolation: Task"), "tasks/a.ts", { zone: "UTC" }).meta.isolation).toBe("task");
    expect(parseTaskFile(withFrontmatter("timeout: 5"), "tasks/a.ts", { zone: "UTC" }).meta.isolation).toBeNull();
    expect(() => parseTaskFile(withFrontmatter("timeout: 5\nisolation: sandbox"), "tasks/a.ts", { zone: "UTC" })).toThrow(
      /^tasks\/a\.ts:5.*isolation.*one of context, task, worker/,
    );
  });

  it("scheduler.isolation defaults to context and names the file and line of a wrong value", async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), "th-isolation-config-"));
    try {
      const file = path.join(root, "config.yaml");
      await writeFile(file, "scheduler:\n  timezone: UTC\n");
      expect(loadConfigFile(file, root, {}).config.scheduler.isolation).toBe("context");
      await writeFile(file, "scheduler:\n  isolation: worker\n");
      expect(loadConfigFile(file, root, {}).config.scheduler.isolation).toBe("worker");
      await writeFile(file, "scheduler:\n  timezone: UTC\n  isolation: vm\n");
      expect(() => loadConfigFile(file, root, {})).toThrow(/config\.yaml:3: config key scheduler\.isolation must be one of context, task, worker, got "vm"/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe("isolation: status and live reload", () => {
  let project: TempProject;
  afterEach(async () => {
    await project?.cleanup();
  });

  it("shows each task's isolation and follows edits of the config and of the task", async () => {
    project = await TempProject.create({ scheduler: { isolation: "context" } });
    await project.writeTask("plain.ts", taskSource({ schedule: "every(1).hours", body: "" }));
    await project.writeTask("own.ts", taskSource({ schedule: "every(1).hours", body: "", frontmatter: { isolation: "task" } }));
    // Top-level await: no CommonJS form, so its runs get a worker whatever the default, and status says so.
    await project.writeTask("tla.ts", `${taskSource({ schedule: "every(1).hours", body: "" })}\nawait Promise.resolve(0);\n`);
    // Never loaded (its code does not compile): status says what its frontmatter asks for, not the default.
    await project.writeTask("broken.ts", `${taskSource({ schedule: "every(1).hours", body: "", frontmatter: { isolation: "task" } })}\nconst = ;\n`);
    const host = await project.start();
    const brokenRunsAt = async () => (await status(project)).tasks.find((t) => t.id === "broken");
    expect(await brokenRunsAt()).toMatchObject({ state: "error", isolation: "task" });
    const isolationOf = async () =>
      Object.fromEntries((await status(project)).tasks.filter((t) => t.id !== "tla" && t.id !== "broken").map((t) => [t.id, (t as { isolation?: string }).isolation]));
    const tlaRunsAt = async () => (await status(project)).tasks.find((t) => t.id === "tla")?.isolation;
    expect(await isolationOf()).toEqual({ own: "task", plain: "context" });
    expect(await tlaRunsAt()).toBe("worker");

    await project.writeConfig({ scheduler: { isolation: "worker" } });
    await waitFor(async () => (await isolationOf()).plain === "worker", { what: "the new default in status" });
    expect((await isolationOf()).own).toBe("task");

    await project.writeTask("own.ts", taskSource({ schedule: "every(1).hours", body: "", frontmatter: { isolation: "context" } }));
    await waitFor(async () => (await isolationOf()).own === "context", { what: "the task's new isolation in status" });

    // With no host running, status says the same (from the files and the config).
    await host.stop();
    expect(await isolationOf()).toEqual({ own: "context", plain: "worker" });
    await project.writeTask("own.ts", taskSource({ schedule: "every(1).hours", body: "", frontmatter: { isolation: "task" } }));
    expect(await isolationOf()).toEqual({ own: "task", plain: "worker" });
  }, 90_000);
});
