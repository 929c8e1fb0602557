/**
 * The ledger's alerts (issue 15): recordAlert/claimAlert/listAlerts on every backend of
 * tests/support/ledger-backends.ts, durable when the promise resolves.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AlertRow, Ledger } from "../runtime/store/ledger.ts";
import { ledgerBackends, type LedgerUnderTest } from "./support/ledger-backends.ts";

const T0 = 1_700_000_000_000;
const alert = (over: Partial<Omit<AlertRow, "id">> = {}): Omit<AlertRow, "id"> => ({
  at: T0,
  event: "failure",
  taskId: "backup",
  title: "Backup",
  scheduleId: "backup#start",
  runId: 7,
  scheduledFor: null,
  text: "Backup (backup#start) failed: Error: disk full",
  channels: ["ops", "mail"],
  host: "box:1",
  ...over,
});

describe.each(ledgerBackends)("$name ledger: alerts", (backend) => {
  let under: LedgerUnderTest;
  let ledger: Ledger;
  afterAll(() => backend.dispose?.(), 60_000);
  beforeEach(async () => {
    under = await backend.create();
    ledger = await under.open();
  });
  afterEach(async () => {
    await ledger.close();
    await under.dispose();
  });

  it("records alerts and lists them newest first, by task and page; they survive a reopen", async () => {
    const first = await ledger.recordAlert(alert());
    const second = await ledger.recordAlert(alert({ at: T0 + 1000, event: "missed", taskId: "tick", title: "Tick", runId: null, scheduledFor: T0, channels: [] }));
    const third = await ledger.recordAlert(alert({ at: T0 + 2000, event: "recovered" }));
    expect(first).toEqual({ id: expect.any(Number), ...alert() });
    expect(second.id).toBeGreaterThan(first.id);
    expect((await ledger.listAlerts()).map((a) => a.id)).toEqual([third.id, second.id, first.id]);
    expect((await ledger.listAlerts({ taskId: "backup" })).map((a) => a.event)).toEqual(["recovered", "failure"]);
    expect((await ledger.listAlerts({ before: third.id, limit: 1 })).map((a) => a.id)).toEqual([second.id]);
    await ledger.close();
    ledger = await under.open();
    expect(await ledger.listAlerts({ taskId: "tick" })).toEqual([second]);
    expect((await ledger.listAlerts()).length).toBe(3);
  });

  it("claims an alert only when no same alert (task, rule, schedule, occurrence, run) was recorded after the ids seen; at once from many connections, one wins", async () => {
    const missed = alert({ event: "missed", runId: null, scheduledFor: T0 });
    const first = await ledger.claimAlert(missed, 0);
    expect(first).toEqual({ id: expect.any(Number), ...missed });
    expect(await ledger.claimAlert({ ...missed, host: "box:2" }, 0)).toBeNull();
    // Seen already (a read that returned it): a decision after it may repeat it (repeat_after is the rules' call).
    expect(await ledger.claimAlert(missed, first!.id)).toMatchObject({ event: "missed" });
    // The same occurrence missed, said by the host that started it late (with its run): the same alert.
    expect(await ledger.claimAlert({ ...missed, runId: 8 }, 0)).toBeNull();
    // Another occurrence, schedule, rule or task is another alert; so is a failure of another run.
    for (const other of [{ scheduledFor: T0 + 60_000 }, { scheduleId: "backup#other" }, { event: "error" }, { taskId: "tick" }]) {
      expect(await ledger.claimAlert({ ...missed, ...other }, first!.id)).not.toBeNull();
    }
    const failed = await ledger.claimAlert(alert({ runId: 8 }), first!.id);
    expect(await ledger.claimAlert(alert({ runId: 9 }), first!.id)).not.toBeNull();
    expect(await ledger.claimAlert(alert({ runId: 8 }), first!.id)).toBeNull();
    expect(failed).not.toBeNull();
    const seen = Math.max(...(await ledger.listAlerts({ limit: 100 })).map((a) => a.id));
    const error = alert({ event: "error", taskId: "broken", runId: null, scheduleId: null });
    const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => ledger.claimAlert({ ...error, host: `box:${i}` }, seen)));
    expect(claims.filter((c) => c !== null)).toHaveLength(1);
    expect(await ledger.listAlerts({ taskId: "broken" })).toHaveLength(1);
  });

  it("keeps the newest 1,000 alerts of a task", async () => {
    await Promise.all(Array.from({ length: 1003 }, (_, i) => ledger.recordAlert(alert({ at: T0 + i, text: `alert ${i}` }))));
    await ledger.recordAlert(alert({ taskId: "other" }));
    const kept = await ledger.listAlerts({ taskId: "backup", limit: 2000 });
    expect(kept).toHaveLength(1000);
    // Which 3 went: the oldest by insertion (several connections insert these 1,003 in no set order on PostgreSQL).
    if (!backend.fleet) expect(kept.at(-1)!.text).toBe("alert 3");
    expect(new Set(kept.map((a) => a.text)).size).toBe(1000);
    expect(await ledger.listAlerts({ taskId: "other" })).toHaveLength(1);
  });
});
