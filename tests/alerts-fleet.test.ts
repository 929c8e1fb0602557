/**
 * Alerts of two hosts on one PostgreSQL ledger (contract §10, §11): two
 * alerting wirings (A and B), each with its own connection to one database,
 * fed by stand-in schedulers as the hosts' schedulers would feed them, with the
 * runs claimed, started and ended in the real ledger. The rules must count
 * the fleet's runs and alerts, not one host's.
 */
import { EventEmitter } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { startAlerting, type Alerting } from "../runtime/alerts/start-alerting.ts";
import type { AlertingTask } from "../runtime/alerts/alerting-ports.ts";
import { resolveAlertsOptions } from "../runtime/config/alerts-options.ts";
import { openLedger } from "../runtime/store/open-ledger.ts";
import type { AlertRow, Ledger } from "../runtime/store/ledger.ts";
import type { HostLog } from "../runtime/scheduler/scheduler-types.ts";
import { TASK_META_DEFAULTS } from "../runtime/task-file/task-meta.ts";
import { skipPostgres, usePostgres } from "./support/postgres.ts";
import { waitFor } from "./support/wait-for.ts";

const log: HostLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const TASK = "sync";
const SCHEDULE = "sync#tick";

interface Host {
  id: string;
  ledger: Ledger;
  scheduler: EventEmitter & { nextRunOf(id: string): number | null; isPaused(): boolean; runningCount: number };
  alerting: Alerting;
}

describe.skipIf(skipPostgres)("alerts of a fleet on one PostgreSQL ledger", () => {
  const pg = usePostgres();
  const hosts: Host[] = [];
  const catalogs = new Map<string, EventEmitter>();
  afterEach(async () => {
    for (const h of hosts.splice(0)) {
      h.alerting.close();
      await h.ledger.close();
    }
  });

  /** Hosts A and B on a fresh database, both loaded the task; `next` is what each scheduler says is next. */
  const fleet = async (alertsYaml: Record<string, unknown>, next: () => number | null = () => null) => {
    const url = await pg().createDatabase();
    const task: AlertingTask = { id: TASK, title: "Sync", error: null, loaded: { meta: { ...TASK_META_DEFAULTS, title: "Sync" }, schedules: [{ id: SCHEDULE }] } };
    const alerts = resolveAlertsOptions({ channels: {}, ...alertsYaml }).options;
    for (const id of ["A", "B"]) {
      const ledger = await openLedger({ path: "/nonexistent/unused.db", url, leaseSec: 30 }, { onWarning: () => {} });
      await ledger.registerHost({ id, hostname: id, pid: 1, startedAt: Date.now() });
      await ledger.recordTaskLoad({ id: TASK, title: "Sync", file: "tasks/sync.ts", error: null, enabled: true });
      const scheduler = Object.assign(new EventEmitter(), { nextRunOf: next, isPaused: () => false, runningCount: 0 });
      const catalog = Object.assign(new EventEmitter(), { entries: new Map([[TASK, task]]), get: (t: string) => (t === TASK ? task : undefined) });
      catalogs.set(id, catalog);
      const alerting = startAlerting({
        scheduler, catalog, store: ledger, metrics: null,
        config: () => ({ alerts, notifications: { notifyOnFailure: false } }),
        sharedLedger: true,
        host: { id, hostname: id }, dashboardUrl: () => null, runJson: (run) => ({ ...run }),
        recentRuns: (taskId) => ledger.listRuns(taskId, { limit: 50 }),
        log, watchIntervalMs: 50,
      });
      hosts.push({ id, ledger, scheduler, alerting });
    }
    return hosts as [Host, Host];
  };

  /** The occurrence at `at`: claimed by `host` in the ledger and started there (run.start), as its scheduler would. */
  const claimAndStart = async (host: Host, at: number, startedAt = at) => {
    const schedule = await host.ledger.ensureSchedule({ id: SCHEDULE, taskId: TASK, method: "tick", fingerprint: "f1", spec: "every minute", firstRun: at, enabled: true });
    const claim = await host.ledger.claimOccurrences({
      scheduleId: SCHEDULE, taskId: TASK, expectedNext: schedule.nextRun!, next: at + 60_000, fingerprint: "f1", owner: host.id,
      occurrences: [{ scheduledFor: at, trigger: "schedule" }],
    });
    if (!claim.ok) throw new Error(`claim of ${at} lost`);
    const runId = claim.runIds[0]!;
    await host.ledger.recordStart(runId, startedAt);
    host.scheduler.emit("run.start", { runId, taskId: TASK, scheduleId: SCHEDULE, scheduledFor: at, trigger: "schedule", attempt: 1, startedAt });
    return runId;
  };

  /** The occurrence at `at` runs on `host` and ends with `status`; resolves once that host's alerting decided. */
  const run = async (host: Host, at: number, status: "success" | "failure") => {
    const runId = await claimAndStart(host, at);
    const error = status === "failure" ? "Error: upstream 502" : null;
    await host.ledger.recordEnd(runId, { status, startedAt: at, finishedAt: at + 500, error, output: "" });
    host.scheduler.emit("run.end", { runId, taskId: TASK, scheduleId: SCHEDULE, scheduledFor: at, trigger: "schedule", attempt: 1, status, startedAt: at, finishedAt: at + 500, error, output: "", retryAt: null });
    await host.alerting.idle();
  };

  const alertsOf = async (ledger: Ledger): Promise<AlertRow[]> => (await ledger.listAlerts({ limit: 100 })).reverse();

  it("failures alternating between the hosts: one failure alert within repeat_after, the streak at the 3rd in a row, recovered from the other host", async () => {
    const [a, b] = await fleet({ rules: ["failure", "streak", "recovered"], failure_streak: 3, repeat_after: 3600 });
    const t0 = Date.parse("2026-03-02T12:28:00Z");
    for (let i = 0; i < 5; i++) await run(i % 2 === 0 ? a : b, t0 + i * 60_000, "failure");
    // Without the fleet's view: a failure alert from B at the 2nd failure too, and the streak only at
    // the 5th (A's 3rd), saying "3 times in a row".
    expect((await alertsOf(a.ledger)).map((x) => [x.event, x.host, x.text])).toEqual([
      ["failure", "A", "Sync (sync#tick) failed: Error: upstream 502"],
      ["streak", "A", "Sync failed 3 times in a row; last: Error: upstream 502"],
    ]);
    // A success on B answers A's alerts; the next failure (on A) is a new incident and alerts at once.
    await run(b, t0 + 5 * 60_000, "success");
    await run(a, t0 + 6 * 60_000, "failure");
    expect((await alertsOf(b.ledger)).slice(2).map((x) => [x.event, x.host])).toEqual([["recovered", "B"], ["failure", "A"]]);
  }, 60_000);

  it("missed: the host that lost the claim raises nothing when the other host started the occurrence; one that no host starts is alerted", async () => {
    const first = Date.now() + 400;
    let next = first;
    // A grace a loaded machine cannot overrun between the occurrence's time and A's start (with 1 s,
    // a CI run saw A's own start come late, and alert as it should).
    const [a] = await fleet({ rules: ["missed"], missed_grace: 3, repeat_after: 0 }, () => next);
    // Both hosts expect `first`; A wins the claim and starts it on time, B never hears of it.
    await waitFor(() => Date.now() >= first, { what: "the occurrence's time" });
    await claimAndStart(a, first, Date.now());
    // Well past missed_grace: B's overdue check has run many times (without the fix: "has not started 3.1s after its time" from B).
    await new Promise((resolve) => setTimeout(resolve, 5000));
    await Promise.all(hosts.map((h) => h.alerting.idle()));
    expect(await alertsOf(a.ledger)).toEqual([]);
    // The next occurrence starts nowhere: that is a miss, and the hosts say so.
    next = Date.now() + 200;
    const missed = await waitFor(async () => { const list = await alertsOf(a.ledger); return list.length ? list : null; }, { timeoutMs: 20_000, what: "a missed alert" });
    expect(missed[0]).toMatchObject({ event: "missed", scheduleId: SCHEDULE, scheduledFor: next, text: expect.stringContaining("has not started") });
    // Both hosts expected it and found it overdue at the same moment: one of them alerted.
    await Promise.all(hosts.map((h) => h.alerting.idle()));
    expect((await alertsOf(a.ledger)).filter((x) => x.event === "missed" && x.scheduledFor === next)).toHaveLength(1);
  }, 60_000);

  it("a broken task file both hosts load at once raises one error alert, from one host", async () => {
    const [a] = await fleet({ rules: ["error"], repeat_after: 3600 });
    const broken: AlertingTask = { id: TASK, title: "Sync", error: "tasks/sync.ts:3: Expected \";\" but found \"}\"", loaded: null };
    // Each read the ledger before either recorded: without the claim, both alerted.
    for (let round = 0; round < 5; round++) {
      const task = { ...broken, id: `${TASK}-${round}` };
      await Promise.all(hosts.map(async (h) => catalogs.get(h.id)!.emit("entry.changed", task)));
      await Promise.all(hosts.map((h) => h.alerting.idle()));
      const errors = (await alertsOf(a.ledger)).filter((x) => x.taskId === task.id);
      expect(errors.map((x) => x.event)).toEqual(["error"]);
    }
  }, 60_000);
});
