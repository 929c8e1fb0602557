import path from "node:path";
import { writeFile } from "node:fs/promises";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { startLocalRegistry, type LocalRegistry } from "./support/local-registry.ts";
import { status } from "./support/history.ts";

// Issue 11.17: a JSON import from a dependency (which stays external) and from the
// task's own folder must load and run, as under tsx and Vite.

const TASK = `/*
---
dependencies: ["th-fixture-greet@2.0.0"]
---
*/
import { repeat, every, type TaskContext } from "taskhost";
// @ts-expect-error -- installed per task under data/deps by the host
import pkg from "th-fixture-greet/package.json";
import own from "./_settings.json";

export default class {
  @repeat(every(1).hours)
  async start(ctx: TaskContext) { ctx.log.info(\`dep \${pkg.name}@\${pkg.version}, own \${own.colour}\`); }
}
`;

describe("JSON imports", () => {
  let registry: LocalRegistry;
  let project: TempProject;
  beforeAll(async () => {
    registry = await startLocalRegistry();
  });
  afterAll(async () => {
    await registry.close();
  });
  beforeEach(async () => {
    project = await TempProject.create({ dependencies: { registry: registry.url, install_timeout: 60 } });
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("a dependency's package.json and the task's own JSON file load", async () => {
    await writeFile(path.join(project.root, "tasks", "_settings.json"), JSON.stringify({ colour: "teal" }));
    await project.writeTask("uses-json.ts", TASK);
    const npmEnv = { npm_config_cache: path.join(project.root, "npm-cache"), npm_config_userconfig: path.join(project.root, "npmrc") };
    await writeFile(path.join(project.root, "npmrc"), "");
    await project.start([], npmEnv);
    const task = (await status(project)).tasks.find((t) => t.id === "uses-json")!;
    expect(task.error).toBeNull();
    const run = await project.cli(["run", "uses-json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("dep th-fixture-greet@2.0.0, own teal");
  });
});
