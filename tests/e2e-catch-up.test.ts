import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSqlJsStore } from "../runtime/store/sqljs-store.ts";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { duplicateOccurrences, finished, history } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import { readHostLog } from "./support/host-log.ts";

/** Occurrences that pass while the host is down are overdue: catch_up decides what happens. */
describe("catch-up after the host was stopped across boundaries", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create();
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("once runs one catch-up run, skip records skipped runs, all runs each; none runs twice", async () => {
    for (const policy of ["once", "skip", "all"]) {
      await project.writeTask(
        `catch-${policy}.ts`,
        taskSource({ schedule: "every(1).seconds", body: 'ctx.log.info(ctx.trigger);', frontmatter: { catch_up: policy } }),
      );
    }
    let host = await project.start();
    await waitFor(async () => finished(await history(project, "catch-all")).length >= 2, { what: "two runs before the stop" });
    expect(await host.stop()).toBe(0);
    const stoppedAt = Date.now();
    const before = new Map<string, number>();
    for (const policy of ["once", "skip", "all"]) before.set(policy, (await history(project, `catch-${policy}`)).length);

    // Let at least three whole boundaries pass with no host.
    await waitFor(() => Date.now() > stoppedAt + 3500, { timeoutMs: 10_000, what: "three boundaries to pass" });
    const restartedAt = Date.now();
    host = await project.start();
    const readyAt = Date.now();

    const once = await waitFor(async () => {
      const runs = await history(project, "catch-once");
      return runs.some((r) => r.trigger === "catch-up" && r.status === "success") ? runs : null;
    }, { what: "the catch-up run of catch-once" });
    const onceCatchUps = once.filter((r) => r.trigger === "catch-up");
    expect(onceCatchUps).toHaveLength(1);
    // The catch-up stands for the latest missed occurrence.
    expect(Date.parse(onceCatchUps[0]!.scheduledFor!)).toBeGreaterThan(stoppedAt);
    expect(Date.parse(onceCatchUps[0]!.scheduledFor!)).toBeLessThanOrEqual(readyAt + 1000);
    expect(onceCatchUps[0]!.output).toContain("catch-up");
    // ... and says which it stands for: every occurrence since the last one before the stop (issue 10 item 14).
    const covers = onceCatchUps[0]!.covers!;
    const lastBefore = Math.max(...once.filter((r) => r.trigger === "schedule" && Date.parse(r.scheduledFor!) < stoppedAt).map((r) => Date.parse(r.scheduledFor!)));
    expect(covers.count).toBeGreaterThanOrEqual(3);
    expect(Date.parse(covers.from)).toBeLessThanOrEqual(lastBefore + 1000);
    expect(Date.parse(covers.from) + (covers.count - 1) * 1000).toBe(Date.parse(onceCatchUps[0]!.scheduledFor!));

    const skip = await history(project, "catch-skip");
    const skipped = skip.filter((r) => r.status === "skipped");
    expect(skipped.length).toBeGreaterThanOrEqual(3);
    expect(skip.filter((r) => r.trigger === "catch-up" && r.status !== "skipped")).toEqual([]);

    const all = await waitFor(async () => {
      const runs = await history(project, "catch-all");
      const catchUps = runs.filter((r) => r.trigger === "catch-up");
      return catchUps.length >= 3 && catchUps.every((r) => r.status === "success") ? runs : null;
    }, { what: "catch-all's catch-up runs" });
    const allCatchUps = all.filter((r) => r.trigger === "catch-up").reverse();
    // Oldest first, one after another.
    for (let i = 1; i < allCatchUps.length; i++) {
      expect(Date.parse(allCatchUps[i]!.scheduledFor!)).toBeGreaterThan(Date.parse(allCatchUps[i - 1]!.scheduledFor!));
      expect(Date.parse(allCatchUps[i]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(allCatchUps[i - 1]!.finishedAt!));
    }

    // Scheduling resumed on the grid, and nothing ran twice.
    await waitFor(async () => (await history(project, "catch-once")).some((r) => r.trigger === "schedule" && Date.parse(r.scheduledFor!) > restartedAt), {
      what: "a scheduled run after the restart",
    });
    for (const policy of ["once", "skip", "all"]) {
      const runs = await history(project, `catch-${policy}`);
      expect(runs.length).toBeGreaterThan(before.get(policy)!);
      expect(duplicateOccurrences(runs)).toEqual([]);
    }
    await host.stop();
  });
});

describe("a long outage: more missed occurrences than the catch-up cap", () => {
  let project: TempProject;
  beforeEach(async () => {
    project = await TempProject.create();
  });
  afterEach(async () => {
    await project.cleanup();
  });

  it("catches up on the newest: once runs the latest missed occurrence, all the last 100", async () => {
    for (const policy of ["once", "all"]) {
      await project.writeTask(`long-${policy}.ts`, taskSource({ schedule: "every(1).seconds", body: "", frontmatter: { catch_up: policy } }));
    }
    const host = await project.start();
    await waitFor(async () => finished(await history(project, "long-all")).length >= 1, { what: "a first run" });
    expect(await host.stop()).toBe(0);
    // Ten minutes of outage, without waiting ten minutes: the ledger's next runs moved back, and the
    // first life's runs, which fall inside that window, gone (an occurrence has one run at most).
    const store = await openSqlJsStore({ path: path.join(project.root, "data", "scheduler.db"), onWarning: () => {} });
    const outageStart = Math.ceil((Date.now() - 600_000) / 1000) * 1000;
    for (const id of ["long-once", "long-all"]) {
      await store.setNextRun(`${id}#start`, outageStart);
      await store.pruneRuns(id, 0);
    }
    await store.close();

    const startAt = Date.now();
    const again = await project.start();
    const catchUps = async (id: string) => (await history(project, id, 500)).filter((r) => r.trigger === "catch-up");
    const all = await waitFor(async () => {
      const runs = await catchUps("long-all");
      return runs.length >= 100 && runs.every((r) => r.finishedAt) ? runs : null;
    }, { timeoutMs: 60_000, what: "long-all's 100 catch-up runs" });
    expect(all).toHaveLength(100);
    const times = all.map((r) => Date.parse(r.scheduledFor!)).sort((a, b) => a - b);
    // The newest 100, ending at the start, not the first 100 after the outage began.
    expect(times[99]! - times[0]!).toBe(99_000);
    expect(times[99]!).toBeGreaterThan(startAt - 2000);
    expect(times[0]!).toBeGreaterThan(outageStart + 400_000);
    const [once] = await catchUps("long-once");
    expect(Date.parse(once!.scheduledFor!)).toBeGreaterThan(startAt - 2000);
    const log = await readHostLog(project.root);
    expect(log).toMatch(/long-all#start: 100\+ occurrence\(s\) missed since .*only the latest 100 count/);
    await again.stop();
  });
});
