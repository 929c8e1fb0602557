import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { finished, history } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";

const SECRETS = {
  TASKHOST_DASHBOARD_TOKEN: "dashboard-secret-7f3a9c",
  // Any TASKHOST_* variable is kept from tasks; TASKHOST_DATABASE_URL itself would make this
  // host a PostgreSQL fleet member (the fleet tests check runs never see it).
  TASKHOST_WEBHOOK_SECRET: "webhook-secret-41be",
  TASKHOST_SMTP_PASSWORD: "smtp-secret-c0ffee",
};

/** Issue 10.9: no taskhost secret reaches task code, its children, or its dependencies' install scripts. */
describe("secrets in the host's environment", () => {
  let project: TempProject;
  afterEach(async () => {
    await project.cleanup();
  });

  it("are not in a run's process.env, nor in executeCommand's or a raw spawn's children, nor at import time", async () => {
    project = await TempProject.create();
    await project.writeTask(
      "leaky.ts",
      `import { repeat, every, type TaskContext } from "taskhost";
import { executeCommand } from "taskhost/helpers";
import { spawnSync } from "node:child_process";
console.log("import:", JSON.stringify(process.env));
export default class {
  @repeat(every().second)
  async start(ctx: TaskContext) {
    ctx.log.info("env:", JSON.stringify(process.env));
    const viaHelper = await executeCommand("env");
    ctx.log.info("helper child:", viaHelper.stdout.replace(/\\n/g, " "));
    ctx.log.info("raw child:", spawnSync("sh", ["-c", "env"], { encoding: "utf8" }).stdout.replace(/\\n/g, " "));
  }
}
`,
    );
    const host = await project.start([], SECRETS);
    const run = await waitFor(async () => finished(await history(project, "leaky")).find((r) => r.status === "success"), {
      timeoutMs: 30_000,
      what: "a run of the leaky task",
    });
    // What task code still sees: where the project is.
    expect(run.output).toContain(`"TASKHOST_PROJECT_ROOT":"${project.root}"`);
    expect(run.output).toContain(`TASKHOST_PROJECT_ROOT=${project.root}`);
    expect(run.output).toMatch(/raw child:.*TASKHOST_PROJECT_ROOT=/);
    const tasksLog = await readFile(path.join(project.root, "logs", "tasks.log"), "utf8");
    for (const secret of Object.values(SECRETS)) {
      expect(run.output).not.toContain(secret);
      expect(tasksLog).not.toContain(secret);
    }
    expect(await host.stop()).toBe(0);
  });
});
