import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { startLocalRegistry, type LocalRegistry } from "./support/local-registry.ts";
import { finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";

const greeter = (deps: string[], extra = "") => `/*
---
dependencies: ${JSON.stringify(deps)}
${extra}
---
*/
import { repeat, every, type TaskContext } from "taskhost";
// @ts-expect-error -- installed per task under data/deps by the host
import greetPkg from "th-fixture-greet";

export default class {
  @repeat(every(1).seconds)
  async start(ctx: TaskContext) { ctx.log.info(greetPkg.greet("test")); }
}
`;

/** A task's npm dependencies are installed for it alone, from the configured registry (a local one here). */
describe("task dependencies", () => {
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

  it("installs each task's own versions, refuses bad specs, and an unknown package fails only its task", async () => {
    await project.writeTask("greet-one.ts", greeter(["th-fixture-greet@^1"]));
    await project.writeTask("greet-two.ts", greeter(["th-fixture-greet@2.0.0"]));
    await project.writeTask("bad-spec.ts", greeter(["git+https://example.com/x.git"]));
    await project.writeTask("bad-flag.ts", greeter(["--registry=http://evil"]));
    await project.writeTask("bad-path.ts", greeter(["../x"]));
    await project.writeTask("missing.ts", greeter(["th-fixture-nope@^1"]));
    const npmEnv = { npm_config_cache: path.join(project.root, "npm-cache"), npm_config_userconfig: path.join(project.root, "npmrc") };
    await project.start([], npmEnv);

    const one = await waitFor(async () => finished(await history(project, "greet-one"))[0], { timeoutMs: 60_000, what: "greet-one to run" });
    const two = await waitFor(async () => finished(await history(project, "greet-two"))[0], { timeoutMs: 60_000, what: "greet-two to run" });
    expect(one.output).toContain("th-fixture-greet 1.0.0");
    expect(two.output).toContain("th-fixture-greet 2.0.0");

    const report = await status(project);
    const byId = new Map(report.tasks.map((t) => [t.id, t]));
    for (const id of ["bad-spec", "bad-flag", "bad-path"]) {
      expect(byId.get(id)!.state).toBe("error");
      expect(byId.get(id)!.error).toMatch(/dependenc/i);
      expect(byId.get(id)!.error).toContain(`tasks/${id}.ts`);
    }
    const missing = await waitFor(async () => {
      const task = (await status(project)).tasks.find((t) => t.id === "missing");
      return task?.state === "error" ? task : null;
    }, { timeoutMs: 60_000, what: "the failed install" });
    expect(missing.error).toContain("404");
    expect(byId.get("greet-one")!.state).toBe("scheduled");
  });
});
