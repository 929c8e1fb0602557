/**
 * FleetMembership on a real PostgreSQL: a survivor takes a silent host over, the
 * silent host learns it when it beats again and re-joins, changes made by one
 * host reach the others, skew is reported, and a database that goes away makes
 * beats fail (reported) without stopping the host, which carries on once it is back.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { isCode } from "../runtime/errors.ts";
import { beatDelay, FleetMembership } from "../runtime/host/fleet-membership.ts";
import type { FleetRecovery, ScheduleState } from "../runtime/store/fleet-ledger.ts";
import { openPgLedger, type PgLedger } from "../runtime/store/pg-ledger.ts";
import { skipPostgres, usePostgres } from "./support/postgres.ts";
import { waitFor } from "./support/wait-for.ts";

const T0 = Date.UTC(2026, 0, 1);

describe("beatDelay", () => {
  it("moves a beat of a second or more to the middle of a second, away from the boundaries schedules fall on", () => {
    const t = Date.UTC(2026, 0, 1, 10, 0, 0, 230);
    expect(t + beatDelay(t, 1500)).toBe(Date.UTC(2026, 0, 1, 10, 0, 2, 500));
    expect(t + beatDelay(t, 1270)).toBe(Date.UTC(2026, 0, 1, 10, 0, 1, 500));
    // Shorter beats (short test leases) keep their interval.
    expect(beatDelay(t, 250)).toBe(250);
  });
});

describe.skipIf(skipPostgres)("fleet membership", () => {
  const pgServer = usePostgres();
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function ledger(url: string, options: { leaseMs?: number; clock?: () => number } = {}): Promise<PgLedger> {
    const l = await openPgLedger({ url, leaseMs: options.leaseMs ?? 1000, clock: options.clock, connectTimeoutMs: 1000, onWarning: () => undefined });
    closers.push(() => l.close());
    return l;
  }

  function member(l: PgLedger, hostId: string, beatIntervalMs = 200, running = () => 0): FleetMembership {
    const m = new FleetMembership({ ledger: l, hostId, running, beatIntervalMs });
    closers.push(() => m.close());
    return m;
  }

  it("a survivor takes a silent host over; the silent host learns it at its next beat and re-joins", async () => {
    const url = await pgServer().createDatabase();
    const [la, lb] = [await ledger(url), await ledger(url)];
    await la.recordTaskLoad({ id: "t", title: "t", file: "tasks/t.ts", error: null, enabled: true });
    await la.ensureSchedule({ id: "t#m", taskId: "t", method: "m", fingerprint: "fp", spec: "x", firstRun: T0, enabled: true });
    // A beats only when told (a frozen process); B every 200 ms.
    const a = member(la, "a", 3_600_000);
    const b = member(lb, "b");
    await a.start();
    await b.start();
    const claim = await la.claimOccurrences({ scheduleId: "t#m", taskId: "t", expectedNext: T0, next: T0 + 1000, fingerprint: "fp", owner: "a", occurrences: [{ scheduledFor: T0, trigger: "schedule" }] });
    const runId = claim.ok ? claim.runIds[0]! : 0;
    await la.recordStart(runId, Date.now());
    const takeovers: FleetRecovery[] = [];
    b.on("takeover", (r) => takeovers.push(r));
    await waitFor(() => takeovers.length > 0, { timeoutMs: 10_000, what: "b to take a over" });
    expect(takeovers[0]).toMatchObject({ deadHosts: ["a"], interrupted: [{ id: runId, status: "interrupted", host: "a" }] });
    expect((await lb.listHosts()).map((h) => h.id)).toEqual(["b"]);

    let lost = 0;
    a.on("lost", () => lost++);
    await a.beat();
    expect(lost).toBe(1);
    expect((await lb.listHosts()).map((h) => h.id).sort()).toEqual(["a", "b"]);
    await a.beat();
    expect(lost).toBe(1);
  });

  it("tells each host what the others changed: a claim, a pause, a reset", async () => {
    const url = await pgServer().createDatabase();
    const [la, lb] = [await ledger(url), await ledger(url)];
    await la.recordTaskLoad({ id: "t", title: "t", file: "tasks/t.ts", error: null, enabled: true });
    await la.ensureSchedule({ id: "t#m", taskId: "t", method: "m", fingerprint: "fp", spec: "x", firstRun: T0, enabled: true });
    await la.registerHost({ id: "a", hostname: "x", pid: 1, startedAt: T0 });
    const b = member(lb, "b");
    const seen: ScheduleState[][] = [];
    b.on("schedules", (changed) => seen.push(changed));
    await b.start();
    await la.claimOccurrences({ scheduleId: "t#m", taskId: "t", expectedNext: T0, next: T0 + 1000, fingerprint: "fp", owner: "a", occurrences: [{ scheduledFor: T0, trigger: "schedule" }] });
    await waitFor(() => seen.flat().some((s) => s.nextRun === T0 + 1000), { what: "b to see a's claim" });
    await la.setPaused("t", true);
    await waitFor(() => seen.flat().some((s) => s.paused), { what: "b to see the pause" });
    // A paused task is never claimed, by any host.
    expect((await lb.claimOccurrences({ scheduleId: "t#m", taskId: "t", expectedNext: T0 + 1000, next: T0 + 2000, fingerprint: "fp", owner: "b", occurrences: [{ scheduledFor: T0 + 1000, trigger: "schedule" }] })).ok).toBe(false);
    await la.setPaused("t", false);
    await la.setNextRun("t#m", T0 + 60_000);
    await waitFor(() => seen.flat().some((s) => s.nextRun === T0 + 60_000 && !s.paused), { what: "b to see the resume and reset" });
  });

  it("reports a clock more than a second off the database's", async () => {
    const url = await pgServer().createDatabase();
    const ahead = await ledger(url, { clock: () => Date.now() + 5000 });
    const m = member(ahead, "fast");
    const skews: number[] = [];
    m.on("skew", (s) => skews.push(s));
    await m.start();
    await waitFor(() => skews.length > 0, { what: "a skew report" });
    expect(skews[0]).toBeLessThan(-4000);
    expect(skews[0]).toBeGreaterThan(-6000);
    expect(m.state().skewMs).toBe(skews[skews.length - 1]);
    expect((await ahead.hostSkews()).get("fast")).toBeLessThan(-4000);
  });

  it("keeps beating through a database outage, reporting each failed beat, and recovers when it is back", async () => {
    const url = new URL(await pgServer().createDatabase());
    // The host reaches the database through a proxy the test can cut.
    const sockets = new Set<net.Socket>();
    let proxy = net.createServer();
    const serve = (port: number) =>
      new Promise<void>((resolve) => {
        proxy = net.createServer((socket) => {
          const upstream = net.connect(Number(url.port), "127.0.0.1");
          sockets.add(socket).add(upstream);
          socket.pipe(upstream).pipe(socket);
          socket.on("error", () => upstream.destroy());
          upstream.on("error", () => socket.destroy());
        });
        proxy.listen(port, "127.0.0.1", () => resolve());
      });
    await serve(0);
    const port = (proxy.address() as net.AddressInfo).port;
    closers.push(async () => {
      const closed = new Promise((resolve) => proxy.close(resolve));
      for (const s of sockets) s.destroy();
      await closed;
    });
    const via = new URL(url);
    via.port = String(port);
    const l = await ledger(via.toString(), { leaseMs: 2000 });
    const m = member(l, "h", 100);
    const errors: unknown[] = [];
    m.on("error", (e) => errors.push(e));
    await m.start();
    const before = m.state().lastBeatAt;
    await waitFor(() => m.state().lastBeatAt > before, { what: "a beat" });

    const closed = new Promise<void>((resolve) => proxy.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
    await waitFor(() => errors.some((e) => isCode(e, "ERR_DB_UNREACHABLE")), { timeoutMs: 10_000, what: "a failed beat" });
    expect(String((errors.find((e) => isCode(e, "ERR_DB_UNREACHABLE")) as Error).message)).not.toContain(decodeURIComponent(url.password));

    await serve(port);
    const cut = Date.now();
    await waitFor(() => m.state().lastBeatAt > cut, { timeoutMs: 15_000, what: "beats again after the outage" });
    expect((await l.listHosts()).map((h) => h.id)).toEqual(["h"]);
  });
});
