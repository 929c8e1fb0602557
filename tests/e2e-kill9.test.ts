import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { duplicateOccurrences, finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";

/** kill -9 at random moments: the ledger always opens, and no occurrence ever runs twice. */
describe("a host killed with SIGKILL during activity", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create();
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("leaves a ledger that opens, with no occurrence run twice", async () => {
    await project.writeTask("fast.ts", taskSource({ schedule: "every(1).seconds", body: 'ctx.state.set("n", (ctx.state.get<number>("n") ?? 0) + 1);' }));
    await project.writeTask(
      "slow.ts",
      taskSource({ schedule: "every(1).seconds", body: "await new Promise((r) => setTimeout(r, 700));", frontmatter: { overlap: "allow" } }),
    );
    let total = 0;
    for (let round = 0; round < 4; round++) {
      const host = await project.start();
      // Let it get busy, then kill it at a random moment (before, on or after a boundary).
      await waitFor(async () => finished(await history(project, "fast")).length > total, { what: `activity in round ${round}` });
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 900)));
      await host.kill9();
      // The next command reads the ledger directly: it must open. (One cold CLI per round: a
      // duplicate stays in the ledger, so the last check, over both tasks, would see it too.)
      const fast = await history(project, "fast");
      expect(duplicateOccurrences(fast)).toEqual([]);
      total = finished(fast).length;
    }
    const host = await project.start();
    await waitFor(async () => finished(await history(project, "fast")).length > total, { what: "runs after the last restart" });
    const fast = await history(project, "fast");
    const slow = await history(project, "slow");
    expect(duplicateOccurrences([...fast, ...slow])).toEqual([]);
    // Runs the kills cut off are recorded as interrupted, never left "running".
    const cut = [...fast, ...slow].filter((r) => r.status === "interrupted");
    for (const run of cut) expect(run.error).toMatch(/host stopped/);
    expect([...fast, ...slow].filter((r) => r.status === "running").length).toBeLessThanOrEqual(3);
    expect((await status(project)).host.running).toBe(true);
    await host.stop();
    // Five cold host starts and four cold CLI processes (the offline history).
  }, 180_000);
});
