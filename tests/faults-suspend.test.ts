import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject, descendants } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { duplicateOccurrences, finished, history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";

/** The machine sleeps: SIGSTOP freezes the host (and its workers) across boundaries, SIGCONT wakes it. */
describe("a host suspended with SIGSTOP and resumed with SIGCONT", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create();
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("runs exactly one catch-up run per catch_up: once schedule, then resumes on the grid", async () => {
    const ids = ["once-a", "once-b"];
    for (const id of ids) {
      await project.writeTask(`${id}.ts`, taskSource({ schedule: "every(1).seconds", body: "ctx.log.info(ctx.trigger);", frontmatter: { catch_up: "once" } }));
    }
    const host = await project.start();
    await waitFor(async () => (await Promise.all(ids.map(async (id) => finished(await history(project, id)).length >= 2))).every(Boolean), {
      what: "runs before the suspend",
    });
    // Just before a boundary, when its occurrence is already claimed and its worker warm.
    await waitFor(() => Date.now() % 1000 > 750, { intervalMs: 5, what: "the moment before a boundary" });
    // The whole tree, as a suspend would: supervisor and host.
    const frozen = [host.pid, ...descendants(host.pid)];
    for (const pid of frozen) process.kill(pid, "SIGSTOP");
    const stoppedAt = Date.now();
    await waitFor(() => Date.now() > stoppedAt + 3500, { timeoutMs: 10_000, what: "three boundaries to pass" });
    for (const pid of frozen.reverse()) process.kill(pid, "SIGCONT");
    const resumedAt = Date.now();

    for (const id of ids) {
      // Back on the grid: a scheduled run well after the wake-up.
      await waitFor(async () => (await history(project, id)).some((r) => r.trigger === "schedule" && Date.parse(r.scheduledFor!) > resumedAt + 1000 && r.status === "success"), {
        what: `${id} back on the grid`,
      });
      const runs = await history(project, id);
      const window = runs.filter((r) => Date.parse(r.scheduledFor!) > stoppedAt && Date.parse(r.scheduledFor!) < resumedAt);
      // The occurrence claimed just before the freeze is recorded as skipped, never run late on its own.
      for (const run of window.filter((r) => r.status === "skipped")) expect(run.error).toMatch(/catch_up: once/);
      // Exactly one run stands for all the occurrences the suspend swallowed: the catch-up, for the latest.
      const missed = window.filter((r) => r.status !== "skipped");
      expect(missed.map((r) => `${r.scheduledFor} ${r.trigger} ${r.status}`), id).toHaveLength(1);
      expect(missed[0]!.trigger).toBe("catch-up");
      expect(missed[0]!.status).toBe("success");
      expect(Date.parse(missed[0]!.scheduledFor!)).toBeGreaterThan(resumedAt - 1000);
      expect(runs.filter((r) => r.trigger === "catch-up")).toHaveLength(1);
      expect(duplicateOccurrences(runs)).toEqual([]);
    }
    expect((await status(project)).host.running).toBe(true);
    expect(await host.stop()).toBe(0);
  });
});
