/**
 * `enabled: false`: loaded and validated, never scheduled. It has no next run,
 * so nothing about it is overdue, and enabling it (a save, or a restart with
 * the file edited) starts it from now, with no catch-up for the time it was off.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { history, status } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";

describe("a disabled task", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create();
  });
  afterEach(async () => {
    await project.cleanup();
  });

  const source = (enabled: boolean) => taskSource({ schedule: "every(1).seconds", body: "", frontmatter: { enabled } });

  it("has no next run, is never overdue, and starts from now when enabled, live or across a restart", async () => {
    await project.writeTask("off.ts", source(false));
    await project.writeTask("on.ts", taskSource({ schedule: "every(1).seconds", body: "" }));
    let host = await project.start();
    const startedAt = Date.now();
    await waitFor(() => Date.now() > startedAt + 2500, { what: "boundaries to pass" });
    const off = (await status(project)).tasks.find((t) => t.id === "off")!;
    expect(off).toMatchObject({ state: "disabled", schedules: [{ nextRun: null }] });
    // Paused and resumed, it is still disabled: no next run, nothing overdue.
    await project.cli(["pause", "off"]);
    expect((await project.cli(["resume", "off"])).stdout).toContain("its file says `enabled: false`");
    const resumedAt = Date.now();
    await waitFor(() => Date.now() > resumedAt + 1500, { what: "a boundary to pass" });
    expect((await status(project)).tasks.find((t) => t.id === "off")!).toMatchObject({ state: "disabled", schedules: [{ nextRun: null }] });
    expect(await project.json<unknown[]>(["check-overdue"])).toEqual([]);
    expect(await history(project, "off")).toEqual([]);

    // Enabled by a save: it runs on the grid from now on, nothing caught up.
    const enabledAt = Date.now();
    await project.writeTask("off.ts", source(true));
    await waitFor(async () => (await history(project, "off")).some((r) => r.finishedAt), { what: "a run once enabled" });
    const runs = await history(project, "off");
    expect(runs.filter((r) => r.trigger !== "schedule")).toEqual([]);
    expect(runs.every((r) => Date.parse(r.scheduledFor!) > enabledAt)).toBe(true);

    // Disabled again, then enabled while no host runs: the next host starts it from its start.
    await project.writeTask("off.ts", source(false));
    await waitFor(async () => (await status(project)).tasks.find((t) => t.id === "off")!.state === "disabled", { what: "disabled again" });
    expect(await host.stop()).toBe(0);
    const stoppedAt = Date.now();
    // The neighbour's next run as the ledger keeps it: on a busy machine its lead can put it seconds after the stop,
    // and an occurrence less than a second overdue at the start is run, not caught up.
    const onNext = Date.parse((await status(project)).tasks.find((t) => t.id === "on")!.schedules[0]!.nextRun!);
    await waitFor(() => Date.now() > Math.max(stoppedAt, onNext) + 2500, { what: "boundaries to pass with no host" });
    await project.writeTask("off.ts", source(true));
    host = await project.start();
    const restartedAt = Date.now();
    await waitFor(async () => (await history(project, "off")).some((r) => Date.parse(r.scheduledFor!) > restartedAt), { what: "a run after the restart" });
    expect((await history(project, "off")).filter((r) => r.trigger === "catch-up")).toEqual([]);
    // The enabled neighbour did catch up on the same outage: the difference is the disabling.
    const on = await history(project, "on");
    // What the neighbour recorded around the outage, should this ever fail (it did once, in a clean-clone CI, unexplained).
    const around = on
      .filter((r) => Date.parse(r.scheduledFor!) > stoppedAt - 3000)
      .map((r) => `${r.scheduledFor} ${r.trigger} ${r.status}${r.error ? ` (${r.error})` : ""}`)
      .reverse();
    expect(on.some((r) => r.trigger === "catch-up"), `stopped at ${new Date(stoppedAt).toISOString()}, restarted at ${new Date(restartedAt).toISOString()}:\n${around.join("\n")}`).toBe(true);
    await host.stop();
  });

  it("a run in flight when the task is enabled still counts for overlap", async () => {
    const slow = (enabled: boolean) =>
      taskSource({
        schedule: "every(1).seconds",
        body: "await new Promise((r) => setTimeout(r, 3000));",
        frontmatter: { enabled, overlap: "skip", timeout: 10 },
      });
    await project.writeTask("slow.ts", slow(false));
    const host = await project.start();
    // A manual run of the disabled task, still going when the file is enabled.
    const manual = project.cli(["run", "slow"]);
    await waitFor(async () => (await history(project, "slow")).some((r) => r.trigger === "manual" && r.startedAt), { what: "the manual run to start" });
    await project.writeTask("slow.ts", slow(true));
    expect((await manual).code).toBe(0);
    const runs = await history(project, "slow");
    const ran = runs.find((r) => r.trigger === "manual")!;
    // Every occurrence that came due while it ran was skipped, none ran beside it.
    const beside = runs.filter((r) => r.trigger === "schedule" && r.startedAt && Date.parse(r.startedAt) < Date.parse(ran.finishedAt!));
    expect(beside).toEqual([]);
    await waitFor(async () => (await history(project, "slow")).some((r) => r.status === "skipped"), { what: "an occurrence skipped for overlap" });
    await host.stop();
  });
});
