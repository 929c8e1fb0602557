/**
 * TASKHOST_CPU_PROFILE: a host started with it writes a V8 CPU profile of its
 * main thread when it stops (what `npm run bench -- --profile` reads), and a
 * host started without it writes none.
 */
import { mkdir, readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";

describe("TASKHOST_CPU_PROFILE", () => {
  let project: TempProject;
  afterEach(async () => {
    await project?.cleanup();
  });

  it("makes the host write a CPU profile of its main thread when it stops, and nothing without it", async () => {
    project = await TempProject.create();
    await project.writeTask("hello.ts", taskSource({ schedule: "every(1).hours", body: 'ctx.log.info("hi");' }));
    const folder = path.join(project.root, "profiles");
    await mkdir(folder);

    const plain = await project.start();
    expect(await plain.stop()).toBe(0);
    expect(await readdir(folder)).toEqual([]);

    const profiled = await project.start([], { TASKHOST_CPU_PROFILE: folder });
    expect(await profiled.stop()).toBe(0);
    const files = await readdir(folder);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/\.cpuprofile$/);
    const profile = JSON.parse(await readFile(path.join(folder, files[0]!), "utf8")) as { nodes: Array<{ callFrame: { url: string } }> };
    // The host's own code is in it: the profile is of the host, not of the supervisor.
    expect(profile.nodes.some((node) => /start-host|compose/.test(node.callFrame.url))).toBe(true);
  });
});
