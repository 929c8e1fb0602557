/**
 * `status` with no host running reads the ledger: it shows each task as the
 * last host left it, error and disabled ones included, not all as scheduled.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";

describe("status with no host running", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create();
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("shows the states and errors the last host saw", async () => {
    await project.writeTask("good.ts", taskSource({ schedule: "every(1).hours", body: "" }));
    await project.writeTask("off.ts", taskSource({ schedule: "every(1).hours", body: "", frontmatter: { enabled: false } }));
    await project.writeTask("held.ts", taskSource({ schedule: "every(1).hours", body: "" }));
    await project.writeTask("broken.ts", taskSource({ schedule: "every(1).hours", body: "const = ;" }));
    await project.writeTask("later-broken.ts", taskSource({ schedule: "every(1).seconds", body: "" }));
    const host = await project.start();
    expect((await project.cli(["pause", "held"])).code).toBe(0);
    // Broken after it loaded: this host keeps its previous version running; the next start will not.
    await waitFor(async () => (await history(project, "later-broken")).length > 0, { what: "a run of later-broken" });
    await project.writeTask("later-broken.ts", taskSource({ schedule: "every(1).seconds", body: "const = ;" }));
    await waitFor(async () => (await status(project)).tasks.find((t) => t.id === "later-broken")!.state === "error", { what: "later-broken to break" });
    const live = await status(project);
    expect(await host.stop()).toBe(0);
    const stoppedAt = Date.now();

    const offline = await status(project);
    expect(offline.host.running).toBe(false);
    const states = (report: typeof live) => Object.fromEntries(report.tasks.map((t) => [t.id, [t.state, t.error]]));
    expect(states(offline)).toEqual(states(live));
    // Its schedule will not run on the next start (the file does not load): not listed, not overdue.
    expect(offline.tasks.find((t) => t.id === "later-broken")!.schedules).toEqual([]);
    await waitFor(() => Date.now() > stoppedAt + 2500, { what: "boundaries to pass with no host" });
    expect(await project.json<unknown[]>(["check-overdue"])).toEqual([]);
    expect(states(offline)).toMatchObject({
      good: ["scheduled", null],
      off: ["disabled", null],
      held: ["paused", null],
      broken: ["error", expect.stringMatching(/^tasks\/broken\.ts:\d+:\d+: /)],
    });
    const text = await project.cli(["status"]);
    expect(text.stdout).toMatch(/^broken +error/m);
    expect(text.stdout).toContain("error in broken:");
    expect(offline.host.configError).toBeNull();

    // The file broken with no host: the same host fields a running one gives, configError saying why.
    await writeFile(path.join(project.root, "config", "config.yaml"), "scheduler:\n  max_concurrent_runs: -3\n");
    const broken = await status(project);
    expect(broken.host.configError).toMatchObject({ file: "config/config.yaml", error: expect.stringMatching(/config\/config\.yaml:2.*max_concurrent_runs/) });
    // Said of the host a start would make, not of one running.
    expect((await project.cli(["status"])).stdout).toMatch(/CONFIG INVALID: config\/config\.yaml is invalid since .*; a host started now runs on the last good configuration/);
  });
});
