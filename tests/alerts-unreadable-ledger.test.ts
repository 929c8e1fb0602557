/**
 * A missed occurrence is alerted only on what the ledger says: when this host
 * cannot read it (its database is away), whether another host ran the
 * occurrence is not known, and the check is made again later instead of
 * alerting a miss that may not be one (a fleet walkthrough got "missed" alerts
 * for runs that had run).
 */
import { describe, expect, it } from "vitest";
import { FleetDecisions, type DecisionFacts } from "../runtime/alerts/fleet-decisions.ts";
import { PendingOccurrences } from "../runtime/alerts/pending-occurrences.ts";
import { AlertRules } from "../runtime/alerts/alert-rules.ts";
import { resolveAlertsOptions } from "../runtime/config/alerts-options.ts";
import { skipPostgres } from "./support/postgres.ts";
import { useProxiedPgLedger } from "./support/proxied-ledger.ts";

describe("PendingOccurrences.recheck", () => {
  it("makes an occurrence handed out as due, whose fate could not be read, due again at the next check", () => {
    const pending = new PendingOccurrences();
    const occurrence = { taskId: "t", scheduleId: "t#m", title: "T", scheduledFor: 1000 };
    pending.expect(occurrence);
    const [due] = pending.due(100_000, 60_000, () => true);
    expect(due).toMatchObject({ scheduleId: "t#m", scheduledFor: 1000, reason: "overdue" });
    expect(pending.due(105_000, 60_000, () => true)).toEqual([]);
    pending.recheck(due!);
    expect(pending.due(105_000, 60_000, () => true).map((o) => o.scheduledFor)).toEqual([1000]);
    // Settled by its start meanwhile: not due again.
    pending.recheck(due!);
    pending.settle("t#m", 1000);
    expect(pending.due(110_000, 60_000, () => true)).toEqual([]);
  });
});

describe.skipIf(skipPostgres)("FleetDecisions on a ledger it cannot read", () => {
  const proxiedLedger = useProxiedPgLedger();

  it("says the occurrence's fate is not known (null) while the database is away, and what the ledger says once it is back", async () => {
    const { ledger, proxy } = await proxiedLedger();
    const failures: string[] = [];
    const decisions = new FleetDecisions({
      shared: true,
      rules: new AlertRules(() => resolveAlertsOptions({}).options),
      store: ledger,
      recentRuns: (taskId) => ledger.listRuns(taskId, { limit: 50 }),
      failed: (what) => () => failures.push(what),
    });
    const decide = () =>
      new Promise<DecisionFacts>((resolve) =>
        decisions.decide("t", { occurrence: { scheduleId: "t#m", scheduledFor: Date.now() - 120_000 } }, (facts) => {
          resolve(facts);
          return [];
        }),
      );
    await proxy.cut();
    expect((await decide()).occurrenceTaken).toBeNull();
    expect(failures).toContain("reading the runs of t#m");
    await proxy.restore();
    expect((await decide()).occurrenceTaken).toBe(false);
  });
});
