import { spawnSync } from "node:child_process";
import { readFile, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, TempProject } from "./support/temp-project.ts";
import { startLocalRegistry, type LocalRegistry } from "./support/local-registry.ts";
import { DependencyInstaller } from "../runtime/deps/install-dependencies.ts";

// Issue 11.7: `npm run typecheck` resolves each task's own installed dependencies
// (data/deps/<key>/node_modules), so a task with `dependencies` is checked, not refused.

const task = (body: string) => `/*
---
dependencies: ["th-fixture-typed@1.0.0"]
---
*/
import { repeat, every, type TaskContext } from "taskhost";
import { shout } from "th-fixture-typed";

export default class {
  @repeat(every(1).hours)
  async start(ctx: TaskContext) {
    ${body}
  }
}
`;

describe("npm run typecheck with task dependencies", () => {
  let registry: LocalRegistry;
  let project: TempProject;
  beforeAll(async () => {
    registry = await startLocalRegistry();
    project = await TempProject.create({ dependencies: { registry: registry.url } });
    // The project as a user has it: the repository's tsconfig and node_modules.
    const tsconfig = JSON.parse(await readFile(path.join(REPO, "tsconfig.json"), "utf8")) as { include: string[] };
    tsconfig.include = ["tasks"];
    await writeFile(path.join(project.root, "tsconfig.json"), JSON.stringify(tsconfig));
    await symlink(path.join(REPO, "node_modules"), path.join(project.root, "node_modules"));
    await writeFile(path.join(project.root, "package.json"), JSON.stringify({ name: "p", private: true, type: "module" }));
    await writeFile(path.join(project.root, "npmrc"), "");
    // Installed as the host installs them (same registry, same key).
    const installer = new DependencyInstaller({
      registry: registry.url,
      installTimeoutSec: 60,
      dataDir: path.join(project.root, "data"),
      env: { ...process.env, npm_config_cache: path.join(project.root, "npm-cache"), npm_config_userconfig: path.join(project.root, "npmrc") },
    });
    await installer.ensure(["th-fixture-typed@1.0.0"], { allowScripts: false });
    await installer.close();
  });
  afterAll(async () => {
    await project?.cleanup();
    await registry?.close();
  });

  const typecheck = () =>
    spawnSync(process.execPath, ["--import", "tsx", path.join(REPO, "scripts", "typecheck.ts")], { cwd: project.root, encoding: "utf8", timeout: 240_000 });

  it("passes a task that uses its dependency's types, and names a type error in one that misuses them", async () => {
    await project.writeTask("good.ts", task('const loud: string = shout("hi"); ctx.log.info(loud);'));
    const ok = typecheck();
    expect(ok.status, `${ok.stdout}${ok.stderr}`).toBe(0);

    await project.writeTask("bad.ts", task('const n: number = shout("hi"); ctx.log.info(String(n));'));
    const bad = typecheck();
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/tasks\/bad\.ts\(12,11\): error TS2322: Type 'string' is not assignable to type 'number'/);
    expect(bad.stdout).not.toContain("Cannot find module");
    expect(bad.stdout).not.toContain("good.ts");
    await rm(path.join(project.root, "tasks", "bad.ts"));
  });
});
