import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { readHostLog } from "./support/host-log.ts";

async function loads(project: TempProject): Promise<Array<{ taskId: string; cached: boolean; bundleMs: number }>> {
  const text = await readHostLog(project.root);
  return text
    .split("\n")
    .filter((line) => line.includes('"event":"task.loaded"'))
    .map((line) => JSON.parse(line) as { taskId: string; cached: boolean; bundleMs: number });
}

describe("start-up cost", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create();
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("a restart re-bundles nothing unchanged, and rebuilds what a changed helper touches", async () => {
    await project.writeTask("_shared.ts", "export const word = 'one';\n");
    for (let i = 0; i < 12; i++) {
      await project.writeTask(`t${i}.ts`, taskSource({ schedule: "every(1).minute", body: i < 3 ? "ctx.log.info(word);" : "" }).replace('import {', i < 3 ? 'import { word } from "./_shared.ts";\nimport {' : "import {"));
    }
    let host = await project.start();
    await host.stop();
    const cold = await loads(project);
    expect(cold).toHaveLength(12);
    expect(cold.every((l) => !l.cached)).toBe(true);

    host = await project.start();
    await host.stop();
    const warm = (await loads(project)).slice(12);
    expect(warm).toHaveLength(12);
    expect(warm.filter((l) => !l.cached)).toEqual([]);

    // A helper edited while no host ran: exactly its importers are rebuilt.
    await writeFile(path.join(project.root, "tasks", "_shared.ts"), "export const word = 'two';\n");
    host = await project.start();
    await host.stop();
    const after = (await loads(project)).slice(24);
    expect(after.filter((l) => !l.cached).map((l) => l.taskId).sort()).toEqual(["t0", "t1", "t2"]);
  });
});
