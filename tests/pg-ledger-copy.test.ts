/**
 * `taskhost ledger copy --to postgres://…`: a real host fills a sql.js ledger,
 * the command copies it into an empty PostgreSQL database, and the PostgreSQL
 * ledger then holds the same tasks, schedules (next runs), runs and alerts (ids) and state.
 */
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { AlertRow } from "../runtime/store/ledger.ts";
import { openLedger } from "../runtime/store/open-ledger.ts";
import { openPgLedger } from "../runtime/store/pg-ledger.ts";
import { skipPostgres, usePostgres } from "./support/postgres.ts";
import { TempProject } from "./support/temp-project.ts";
import { waitFor } from "./support/wait-for.ts";

const TASK = `/*
---
title: Counter
---
*/
import { repeat, every, type TaskContext } from "taskhost";
export default class Counter {
  @repeat(every(1).seconds)
  async tick(ctx: TaskContext) {
    ctx.state.set("count", (ctx.state.get<number>("count") ?? 0) + 1);
    ctx.log.info("tick");
  }
}
`;

describe.skipIf(skipPostgres)("taskhost ledger copy", () => {
  const pgServer = usePostgres();
  let project: TempProject | undefined;
  afterAll(async () => {
    await project?.cleanup();
  });

  it("copies a sql.js ledger into an empty PostgreSQL database, and refuses one that is not empty", async () => {
    project = await TempProject.create({ alerts: { rules: [] } });
    await project.writeTask("counter.ts", TASK);
    const host = await project.start();
    await waitFor(
      async () => {
        const runs = await project!.json<Array<{ status: string }>>(["history", "counter", "--limit", "100"]);
        return runs.filter((r) => r.status === "success").length >= 3;
      },
      { timeoutMs: 30_000, what: "three runs of counter" },
    );
    expect(await host.stop()).toBe(0);
    const before = await project.json<Array<{ id: number; scheduledFor: string; status: string }>>(["history", "counter", "--limit", "100"]);
    const status = await project.json<{ tasks: Array<{ schedules: Array<{ nextRun: string }> }> }>(["status"]);
    // Alerts the host raised (written here, as its alerting would: this host has no channel).
    const file = await openLedger({ path: path.join(project.root, "data", "scheduler.db") }, { onWarning: () => {} });
    const alert = (event: string, channels: string[]): Omit<AlertRow, "id"> => ({
      at: Date.now(), event, taskId: "counter", title: "Counter", scheduleId: "counter#tick", runId: before[0]!.id,
      scheduledFor: Date.parse(before[0]!.scheduledFor), text: `Counter: ${event}`, channels, host: "box:1",
    });
    const alerts = [await file.recordAlert(alert("failure", ["ops", "mail"])), await file.recordAlert(alert("recovered", []))];
    const successes = before.filter((r) => r.status === "success").length;
    // The oldest run pruned (database.history_per_task): how far pruning reached goes along.
    expect(await file.pruneRuns("counter", before.length - 1)).toEqual([before.pop()!.id]);
    const prunedThrough = await file.prunedThrough("counter");
    expect(prunedThrough).not.toBeNull();
    await file.close();

    const url = await pgServer().createDatabase();
    // Already pointed at the fleet's database: the copy still reads this project's sql.js file.
    await project.writeConfig({ database: { url } });
    const copy = await project.cli(["ledger", "copy", "--to", url]);
    expect(copy.stderr).toBe("");
    expect(copy.code).toBe(0);
    expect(copy.stdout).toMatch(new RegExp(`copied 1 tasks, 1 schedules \\(with their next runs\\), ${before.length} runs, 2 alerts and 1 state keys`));
    const password = decodeURIComponent(new URL(url).password);
    expect(copy.stdout).not.toContain(password);

    const ledger = await openPgLedger({ url });
    try {
      const runs = await ledger.listRuns("counter", { limit: 100 });
      expect(runs.map((r) => [r.id, new Date(r.scheduledFor!).toISOString(), r.status])).toEqual(
        before.map((r) => [r.id, r.scheduledFor, r.status]),
      );
      expect(new Date((await ledger.getSchedule("counter#tick"))!.nextRun!).toISOString()).toBe(status.tasks[0]!.schedules[0]!.nextRun);
      expect((await ledger.getState("counter")).count).toBe(successes);
      expect(await ledger.getTask("counter")).toMatchObject({ title: "Counter", file: "tasks/counter.ts", paused: false });
      expect(await ledger.listAlerts()).toEqual([...alerts].reverse());
      expect(await ledger.prunedThrough("counter")).toBe(prunedThrough);
      // New runs and alerts get ids after the copied ones.
      const next = await ledger.recordRequestedRun({ taskId: "counter", scheduleId: null, scheduledFor: Date.now(), trigger: "manual", attempt: 1, owner: "h" });
      expect(next).toBeGreaterThan(Math.max(...before.map((r) => r.id)));
      expect((await ledger.recordAlert(alert("streak", ["ops"]))).id).toBe(alerts[1]!.id + 1);
    } finally {
      await ledger.close();
    }

    // With database.url and no host running, commands read and change the fleet's ledger.
    const fromFleet = await project.json<Array<{ id: number; status: string }>>(["history", "counter", "--limit", "100"]);
    expect(fromFleet.map((r) => [r.id, r.status])).toEqual(before.map((r) => [r.id, r.status]));
    expect(fromFleet.every((r) => "host" in r)).toBe(true);
    expect((await project.cli(["pause", "counter"])).code).toBe(0);
    const fleet = await openPgLedger({ url });
    expect((await fleet.getTask("counter"))?.paused).toBe(true);
    // status --json lists the fleet's live hosts (contract §10).
    await fleet.registerHost({ id: "box-1", hostname: "box", pid: 4242, startedAt: Date.UTC(2026, 0, 1) });
    const fleetStatus = await project.json<{ hosts: Array<Record<string, unknown>>; tasks: Array<{ state: string }> }>(["status"]);
    expect(fleetStatus.hosts).toEqual([
      { id: "box-1", hostname: "box", pid: 4242, startedAt: "2026-01-01T00:00:00.000Z", lastHeartbeat: expect.any(String), running: 0 },
    ]);
    expect(fleetStatus.tasks[0]!.state).toBe("paused");
    await fleet.close();

    const again = await project.cli(["ledger", "copy", "--to", url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is not empty .* Copy only into a new database/);
    expect(again.stderr).not.toContain(password);
    expect(again.stderr).toContain(":***@");
  });
});
