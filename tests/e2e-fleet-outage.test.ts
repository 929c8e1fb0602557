/**
 * Two real hosts on one PostgreSQL ledger lose their database for longer than
 * their lease (each reaches it through its own TCP proxy, cut and restored: a
 * real network outage), and get it back one after the other. A run that ended
 * meanwhile is recorded as it ended, not left `running` or called
 * interrupted; the host back first does not take the other for dead; and the
 * occurrence due during the outage runs as soon as the database is back, not
 * when the next one comes (found by a fleet walkthrough).
 */
import { afterAll, describe, expect, it } from "vitest";
import { openPgLedger, type PgLedger } from "../runtime/store/pg-ledger.ts";
import { fleetProject, type FleetMember } from "./support/fleet-hosts.ts";
import { readHostLog } from "./support/host-log.ts";
import { startHttpReceiver, type HttpReceiver } from "./support/receivers.ts";
import type { StatusJson } from "../runtime/host/report-shapes.ts";
import { hostEvents } from "./support/fault-host.ts";
import { skipPostgres, usePostgres } from "./support/postgres.ts";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy.ts";
import { taskSource } from "./support/task-sources.ts";
import { waitFor } from "./support/wait-for.ts";

// Host b is back 1 s after host a: host a must not judge it for a lease (5 s), a wide margin on a loaded machine.
const LEASE_SEC = 5;
const TOKEN = "outage-metrics-token";
const until = (t: number, what: string) => waitFor(() => Date.now() >= t, { timeoutMs: Math.max(0, t - Date.now()) + 5000, intervalMs: 20, what });

describe.skipIf(skipPostgres)("a database outage longer than the lease, under two hosts", () => {
  const pgServer = usePostgres();
  const members: FleetMember[] = [];
  const proxies: TcpProxy[] = [];
  let ledger: PgLedger | undefined;
  let pings: HttpReceiver | undefined;
  afterAll(async () => {
    await pings?.close();
    for (const proxy of proxies) await proxy.restore();
    for (const m of members) await m.project.cleanup();
    for (const proxy of proxies) await proxy.close();
    await ledger?.close();
  });

  it("records a run that ended meanwhile as it ended, takes no healthy host for dead, and runs the missed occurrence once the database is back", async () => {
    const url = await pgServer().createDatabase();
    ledger = await openPgLedger({ url, leaseMs: LEASE_SEC * 1000, onWarning: () => undefined });
    const tasks = {
      "slow.ts": taskSource({ schedule: "every(10).seconds", body: "await new Promise((r) => setTimeout(r, 8000));", frontmatter: { timeout: 60 } }),
      "half.ts": taskSource({ schedule: "every(30).seconds", body: 'ctx.log.info("half");' }),
    };
    pings = await startHttpReceiver();
    for (const name of ["a", "b"]) {
      const proxy = await startTcpProxy(Number(new URL(url).port));
      proxies.push(proxy);
      // Host a is watched from outside: its heartbeat_url, and /metrics.
      const watched = name === "a" ? { alerts: { heartbeat_url: `${pings.url}/host` }, metrics: { enabled: true, token: TOKEN }, dashboard: { enabled: false, port: 0 } } : {};
      const project = await fleetProject(proxy.via(url), LEASE_SEC, tasks, watched);
      const host = await project.start([], { TASKHOST_HEARTBEAT_INTERVAL: "0.5" });
      const row = await waitFor(async () => (await ledger!.listHosts()).find((h) => h.pid === host.pid), { timeoutMs: 30_000, what: `${name} in the ledger` });
      members.push({ name, project, host, id: row.id });
    }
    const [pa, pb] = proxies as [TcpProxy, TcpProxy];
    const a = members[0]!;
    const metricsUrl = await waitFor(async () => {
      const line = (await readHostLog(a.project.root)).split("\n").find((l) => l.includes('"dashboard.start"'));
      return line ? `${(JSON.parse(line) as { url: string }).url.replace(/\/$/, "")}/metrics` : null;
    }, { what: "a's metrics server" });
    const ledgerUp = async () => /^taskhost_ledger_up (\d)/m.exec(await (await fetch(metricsUrl, { headers: { authorization: `Bearer ${TOKEN}` } })).text())?.[1];
    expect(await ledgerUp()).toBe("1");

    // A run of slow at :20 or :50, in flight: the outage begins before it ends and covers half's :00 or :30.
    const slow = await waitFor(
      async () => (await ledger!.runsInFlight("slow#start")).find((r) => (r.scheduledFor ?? 0) % 30_000 === 20_000 && Date.now() - r.startedAt < 3000),
      { timeoutMs: 60_000, what: "a run of slow#start at :20 or :50 in flight" },
    );
    const boundary = slow.scheduledFor! + 10_000;
    await until(slow.scheduledFor! + 6500, "the outage");
    await Promise.all([pa.cut(), pb.cut()]);
    const cutAt = Date.now();
    // Meanwhile host a says so: status from memory naming the database, /metrics, and a silent heartbeat.
    await waitFor(async () => (await ledgerUp()) === "0", { timeoutMs: 5000, what: "taskhost_ledger_up 0" });
    const status = await a.project.cli(["status", "--json"]);
    expect(status.code, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout) as StatusJson;
    expect(report.host).toMatchObject({ running: true, database: { state: "unreachable", code: "ERR_DB_UNREACHABLE" } });
    expect(report.tasks.map((t) => t.id)).toEqual(["half", "slow"]);
    expect((await a.project.cli(["status"])).stdout).toContain("DATABASE UNREACHABLE (ERR_DB_UNREACHABLE)");
    await until(boundary + 4000, "host a's way back");
    // From its first failed beat on (and a ping already on its way), host a's heartbeat is silent.
    const [failedBeat] = await hostEvents(a.project, "fleet.beat_failed");
    const silent = pings.requests.filter((r) => r.path === "/host" && r.at > Date.parse(String(failedBeat!.time)) + 600);
    await pa.restore();
    const backAt = Date.now();
    await until(boundary + 5000, "host b's way back");
    await pb.restore();
    expect(silent.map((r) => r.at - cutAt), "heartbeats while the database was away").toEqual([]);
    await waitFor(async () => (await ledgerUp()) === "1" && pings!.requests.some((r) => r.path === "/host" && r.at > backAt), { what: "ledger_up 1 and a heartbeat again" });

    // The run ended during the outage: recorded as it ended once the database answers.
    const ended = await waitFor(
      async () => {
        const run = await ledger!.getRun(slow.runId);
        return run && run.status !== "running" ? run : null;
      },
      { timeoutMs: 20_000, what: `run ${slow.runId}'s end` },
    );
    expect(ended).toMatchObject({ status: "success", error: null });

    // Half's occurrence due during the outage ran soon after, not at the next one 30 s later.
    const half = await waitFor(
      async () => (await ledger!.listRunsBetween(boundary, boundary + 1, { scheduleId: "half#start" })).find((r) => r.status === "success"),
      { timeoutMs: 30_000, what: "half's occurrence of the outage, run" },
    );
    expect(half.startedAt! - backAt, "started after the database came back").toBeLessThan(12_000);

    // Nobody was taken for dead: no interrupted run, no host told it was taken over.
    const all = await ledger.listRunsBetween(0, Date.now() + 60_000, {});
    expect(all.filter((r) => r.status === "interrupted").map((r) => `${r.scheduleId} ${r.error}`)).toEqual([]);
    for (const m of members) expect(await hostEvents(m.project, "fleet.lost"), m.name).toEqual([]);
    expect((await ledger.listHosts()).length).toBe(2);
    for (const m of members) expect(await m.host!.stop()).toBe(0);
  });
});
