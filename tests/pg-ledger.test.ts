/**
 * The PostgreSQL ledger against a real PostgreSQL (scripts/pg-start.sh): what a
 * fleet relies on beyond the shared ledger contract: claims decided in the
 * database when hosts race, leases, a dead host's work taken over, the
 * password kept out of every message.
 */
import net from "node:net";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { isCode } from "../runtime/errors.ts";
import type { FleetRecovery } from "../runtime/store/fleet-ledger.ts";
import { openPgLedger, type PgLedger } from "../runtime/store/pg-ledger.ts";
import { PG_SCHEMA_VERSION } from "../runtime/store/pg-schema.ts";
import { redactUrl } from "../runtime/store/pg-options.ts";
import { skipPostgres, usePostgres } from "./support/postgres.ts";
import { waitFor } from "./support/wait-for.ts";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const SEC = 1000;

describe.skipIf(skipPostgres)("the PostgreSQL ledger", () => {
  const pgServer = usePostgres();
  const open: PgLedger[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((l) => l.close()));
  });

  async function ledgers(n: number, leaseMs = 6000): Promise<PgLedger[]> {
    const url = await pgServer().createDatabase();
    const out: PgLedger[] = [];
    for (let i = 0; i < n; i++) {
      const l = await openPgLedger({ url, leaseMs, onWarning: () => undefined });
      open.push(l);
      out.push(l);
    }
    return out;
  }

  async function host(l: PgLedger, id: string): Promise<void> {
    await l.registerHost({ id, hostname: `machine-${id}`, pid: 1000, startedAt: Date.now() });
  }

  async function task(l: PgLedger, id = "t", fingerprint = "fp1", firstRun: number | null = T0) {
    await l.recordTaskLoad({ id, title: id, file: `tasks/${id}.ts`, error: null, enabled: true });
    return l.ensureSchedule({ id: `${id}#run`, taskId: id, method: "run", fingerprint, spec: "every 1 second", firstRun, enabled: true });
  }

  /** The survivor beats and recovers until it finds a dead host (the other's lease lapsed). */
  function survivorFindsDead(survivor: PgLedger, id: string): Promise<FleetRecovery> {
    return waitFor(
      async (): Promise<FleetRecovery | undefined> => {
        await survivor.beat(id, 0);
        const recovery = await survivor.recoverFleet(id);
        return recovery.deadHosts.length > 0 ? recovery : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: "a dead host" },
    );
  }

  const claim = (owner: string, expectedNext: number, fingerprint = "fp1", scheduleId = "t#run") => ({
    scheduleId,
    taskId: scheduleId.split("#")[0]!,
    expectedNext,
    next: expectedNext + SEC,
    fingerprint,
    owner,
    occurrences: [{ scheduledFor: expectedNext, trigger: "schedule" as const }],
  });

  it("creates its schema once, even when several hosts open an empty database at the same moment", async () => {
    const url = await pgServer().createDatabase();
    const all = await Promise.all([1, 2, 3, 4].map(() => openPgLedger({ url, onWarning: () => undefined })));
    open.push(...all);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query("SELECT value FROM taskhost.meta WHERE key = 'schema_version'");
    await client.end();
    expect(rows).toEqual([{ value: String(PG_SCHEMA_VERSION) }]);
  });

  it("keeps a schedule's next run when a host loads the same version, resets it for a new one, clears it when disabled", async () => {
    const [a, b] = await ledgers(2);
    expect((await task(a, "t", "fp1", T0)).nextRun).toBe(T0);
    // Host B starts later and loads the same file: the fleet's next run stands.
    expect((await task(b, "t", "fp1", T0 + 60 * SEC)).nextRun).toBe(T0);
    expect((await task(b, "t", "fp2", T0 + 60 * SEC)).nextRun).toBe(T0 + 60 * SEC);
    const off = await b.ensureSchedule({ id: "t#run", taskId: "t", method: "run", fingerprint: "fp2", spec: "x", firstRun: T0, enabled: false });
    expect(off.nextRun).toBeNull();
  });

  it("gives each occurrence to exactly one of several hosts claiming it at once", async () => {
    const hosts = await ledgers(3);
    await Promise.all(hosts.map((l, i) => host(l, `h${i}`)));
    await task(hosts[0]!);
    let expected = T0;
    const winners: string[] = [];
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all(hosts.map((l, i) => l.claimOccurrences(claim(`h${i}`, expected))));
      const won = results.flatMap((r, i) => (r.ok ? [`h${i}`] : []));
      expect(won).toHaveLength(1);
      for (const r of results) if (!r.ok) expect(r.current?.nextRun).toBe(expected + SEC);
      winners.push(won[0]!);
      expected += SEC;
    }
    const runs = await hosts[1]!.listRunsBetween(T0, expected);
    expect(runs.map((r) => r.scheduledFor)).toEqual(Array.from({ length: 20 }, (_, i) => T0 + i * SEC));
    expect(new Set(runs.map((r) => r.host))).toEqual(new Set(winners));
  });

  it("lets only a host with the ledger's version of the task claim, and status names the hosts that disagree", async () => {
    const [a, b] = await ledgers(2);
    await host(a, "a");
    await host(b, "b");
    await task(a, "t", "fp2");
    await a.reportLoaded("a", { t: { "t#run": "fp2" } });
    await b.reportLoaded("b", { t: { "t#run": "fp1" } });
    expect((await b.claimOccurrences(claim("b", T0, "fp1"))).ok).toBe(false);
    expect(await a.disagreements()).toEqual([
      { taskId: "t", scheduleId: "t#run", ledger: "fp2", hosts: [{ hostId: "a", fingerprint: "fp2" }, { hostId: "b", fingerprint: "fp1" }] },
    ]);
    expect((await a.claimOccurrences(claim("a", T0, "fp2"))).ok).toBe(true);
  });

  it("refuses a claim from a host whose lease lapsed, and its beat says it was taken over", async () => {
    const [a, b] = await ledgers(2, 1000);
    await host(a, "a");
    await host(b, "b");
    await task(a);
    const first = await a.claimOccurrences(claim("a", T0));
    expect(first.ok).toBe(true);
    const started = first.ok ? first.runIds[0]! : 0;
    await a.recordStart(started, Date.now());
    const second = await a.claimOccurrences(claim("a", T0 + SEC));
    const unstarted = second.ok ? second.runIds[0]! : 0;
    // Host a freezes (no heartbeat); b keeps beating past a's lease.
    const recovery = await survivorFindsDead(b, "b");
    expect(recovery.deadHosts).toEqual(["a"]);
    expect(recovery.interrupted.map((r) => [r.id, r.status, r.host])).toEqual([[started, "interrupted", "a"]]);
    expect(recovery.handedBack).toEqual(["t#run"]);
    expect((await b.getSchedule("t#run"))?.nextRun).toBe(T0 + SEC);
    // a wakes up: its old claim cannot start, its finished run stays interrupted, its claims fail.
    const lostStart = await a.recordStart(unstarted, Date.now()).catch((e: unknown) => e);
    expect(isCode(lostStart, "ERR_CLAIM_LOST")).toBe(true);
    expect((await a.recordEnd(started, { status: "success", finishedAt: Date.now(), error: null }))?.status).toBe("interrupted");
    expect((await a.claimOccurrences(claim("a", T0 + SEC))).ok).toBe(false);
    expect((await a.beat("a", 0)).lost).toBe(true);
    // Re-registered, it is a live host again.
    await host(a, "a");
    expect((await a.claimOccurrences(claim("a", T0 + SEC))).ok).toBe(true);
    // The second survivor's recovery finds nothing more to do.
    expect(await b.recoverFleet("b")).toMatchObject({ deadHosts: [], interrupted: [], handedBack: [], skipped: [] });
  });

  /** Waits until `id`'s lease has lapsed on the database's clock. */
  async function leaseLapsed(url: string, id: string): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await waitFor(
        async () => (await client.query("SELECT taskhost.now_ms() > last_heartbeat + lease_ms AS lapsed FROM taskhost.hosts WHERE id = $1", [id])).rows[0]?.lapsed === true,
        { timeoutMs: 5000, intervalMs: 50, what: `${id}'s lease to lapse` },
      );
    } finally {
      await client.end();
    }
  }

  /** Host a alone on a new database, with a 1 s lease and one claim (not started). */
  async function oneClaim() {
    const url = await pgServer().createDatabase();
    const a = await openPgLedger({ url, leaseMs: 1000, onWarning: () => undefined });
    open.push(a);
    await host(a, "a");
    await task(a);
    const c = await a.claimOccurrences(claim("a", T0));
    return { url, a, id: c.ok ? c.runIds[0]! : 0 };
  }

  it("counts a run in flight for overlap only while its host's lease holds", async () => {
    const { url, a, id } = await oneClaim();
    await a.recordStart(id, Date.now());
    expect((await a.runsInFlight("t#run")).map((r) => [r.runId, r.host])).toEqual([[id, "a"]]);
    await leaseLapsed(url, "a");
    expect(await a.runsInFlight("t#run")).toEqual([]);
  });

  it("refuses the start of a claim whose host's lease lapsed even before a survivor took it over", async () => {
    const { url, a, id } = await oneClaim();
    // a freezes past its lease (on the database's clock); nobody has declared it dead yet.
    await leaseLapsed(url, "a");
    const refused = await a.recordStart(id, Date.now()).catch((e: unknown) => e);
    expect(isCode(refused, "ERR_CLAIM_LOST")).toBe(true);
    // Its beat renews the lease (nobody took it over): the same claim may start now.
    expect((await a.beat("a", 0)).lost).toBe(false);
    await a.recordStart(id, Date.now());
    expect((await a.getRun(id))?.startedAt).not.toBeNull();
  });

  it("records a dead host's unstarted claim skipped (with why) when later occurrences were already claimed", async () => {
    const [a, b] = await ledgers(2, 1000);
    await host(a, "a");
    await host(b, "b");
    await task(a);
    const lost = await a.claimOccurrences(claim("a", T0));
    expect((await b.claimOccurrences(claim("b", T0 + SEC))).ok).toBe(true);
    const recovery = await survivorFindsDead(b, "b");
    expect(recovery.handedBack).toEqual([]);
    expect(recovery.skipped.map((r) => [r.id, r.status])).toEqual([[lost.ok ? lost.runIds[0] : 0, "skipped"]]);
    expect(recovery.skipped[0]!.error).toMatch(/host a, which died before starting it/);
    expect((await b.getSchedule("t#run"))?.nextRun).toBe(T0 + 2 * SEC);
  });

  it("recovers the runs of its own earlier life when a host with a stable id restarts", async () => {
    const [a] = await ledgers(1);
    await host(a, "a");
    await task(a);
    const c = await a.claimOccurrences(claim("a", T0));
    const id = c.ok ? c.runIds[0]! : 0;
    await a.recordStart(id, Date.now());
    await new Promise((r) => setTimeout(r, 5));
    await host(a, "a"); // kill -9, then the same host starts again
    const recovery = await a.recoverFleet("a");
    expect(recovery.interrupted.map((r) => r.id)).toEqual([id]);
    expect(recovery.interrupted[0]!.error).toMatch(/this host stopped/);
  });

  it("gives a claim back on a clean stop only if nobody claimed since, and never twice", async () => {
    const [a, b] = await ledgers(2);
    await host(a, "a");
    await host(b, "b");
    await task(a);
    const c1 = await a.claimOccurrences(claim("a", T0));
    await a.releaseClaim(c1.ok ? c1.runIds[0]! : 0, { handBack: true });
    expect((await a.getSchedule("t#run"))?.nextRun).toBe(T0);
    const c2 = await a.claimOccurrences(claim("a", T0));
    expect((await b.claimOccurrences(claim("b", T0 + SEC))).ok).toBe(true);
    await a.releaseClaim(c2.ok ? c2.runIds[0]! : 0, { handBack: true });
    expect((await a.getSchedule("t#run"))?.nextRun).toBe(T0 + 2 * SEC);
    const runs = await a.listRunsBetween(T0, T0 + 10 * SEC);
    expect(runs.map((r) => [r.scheduledFor, r.status])).toEqual([
      [T0, "skipped"],
      [T0 + SEC, "running"],
    ]);
  });

  it("has a unique key as the backstop: a retry or backfill of an occurrence that has its run is refused, a manual run never", async () => {
    const [a] = await ledgers(1);
    await host(a, "a");
    await task(a);
    await a.claimOccurrences(claim("a", T0));
    // A reset back onto an occurrence that has its run: claiming it again is lost, nothing written.
    await a.setNextRun("t#run", T0);
    expect(await a.claimOccurrences(claim("a", T0))).toMatchObject({ ok: false, current: { nextRun: T0 } });
    expect(await a.listRunsBetween(T0, T0 + 10 * SEC)).toHaveLength(1);
    const base = { taskId: "t", scheduleId: "t#run", scheduledFor: T0, owner: "a" };
    expect(await a.recordRequestedRun({ ...base, trigger: "backfill", attempt: 1 })).toBeNull();
    const retry = await a.recordRequestedRun({ ...base, trigger: "retry", attempt: 2 });
    expect(retry).toBeTypeOf("number");
    expect(await a.recordRequestedRun({ ...base, trigger: "retry", attempt: 2 })).toBeNull();
    expect(await a.recordRequestedRun({ ...base, trigger: "manual", attempt: 1 })).toBeTypeOf("number");
    expect(await a.recordRequestedRun({ ...base, trigger: "manual", attempt: 1 })).toBeTypeOf("number");
  });

  it("keeps catch-up claims in one step: the runs, the skipped ones and the next run together", async () => {
    const [a] = await ledgers(1);
    await host(a, "a");
    await task(a);
    const result = await a.claimOccurrences({
      ...claim("a", T0),
      next: T0 + 10 * SEC,
      occurrences: [
        { scheduledFor: T0, trigger: "catch-up", skipped: "catch_up: once" },
        { scheduledFor: T0 + SEC, trigger: "catch-up", skipped: "catch_up: once" },
        { scheduledFor: T0 + 2 * SEC, trigger: "catch-up", covers: { from: T0, count: 3 } },
      ],
    });
    expect(result.ok && result.runIds.length).toBe(3);
    const runs = await a.listRunsBetween(T0, T0 + 10 * SEC);
    expect(runs.map((r) => [r.status, r.coversCount])).toEqual([
      ["skipped", null],
      ["skipped", null],
      ["running", 3],
    ]);
    expect(result.ok && runs.map((r) => r.id)).toEqual(result.ok && result.runIds);
  });

  it("shares ctx.state, pauses and history between hosts, and never prunes a run in flight", async () => {
    const [a, b] = await ledgers(2);
    await host(a, "a");
    await task(a);
    await a.setState("t", "count", { n: 1 });
    expect(await b.getState("t")).toEqual({ count: { n: 1 } });
    await b.setState("t", "count", undefined);
    expect(await a.getState("t")).toEqual({});
    expect(await b.setPaused("t", true)).toBe(true);
    expect(await a.setPaused("t", true)).toBe(false);
    expect((await a.getTask("t"))?.paused).toBe(true);
    const inFlight = await a.recordRequestedRun({ taskId: "t", scheduleId: null, scheduledFor: T0, trigger: "manual", attempt: 1, owner: "a" });
    await a.recordStart(inFlight!, T0);
    for (let i = 1; i <= 4; i++) {
      const id = await a.recordRequestedRun({ taskId: "t", scheduleId: null, scheduledFor: T0 + i, trigger: "manual", attempt: 1, owner: "a" });
      await a.recordStart(id!, T0 + i);
      await a.recordEnd(id!, { status: "success", finishedAt: T0 + i + 1, error: null, output: `run ${i}` });
    }
    const removed = await b.pruneRuns("t", 2);
    expect(removed).toHaveLength(2);
    expect(await b.getRun(inFlight!)).toMatchObject({ status: "running", host: "a" });
    const history = await b.listRuns("t");
    expect(history.map((r) => r.output)).toEqual(["run 4", "run 3", ""]);
    const snap = await b.statusSnapshot();
    expect(snap.tasks.map((t) => t.id)).toEqual(["t"]);
    expect(snap.hosts.map((h) => h.id)).toEqual(["a"]);
  });

  it("keeps a task another live host still loads when one host's file is removed", async () => {
    const [a, b] = await ledgers(2);
    await host(a, "a");
    await host(b, "b");
    await task(a);
    await a.reportLoaded("a", { t: { "t#run": "fp1" } });
    await b.reportLoaded("b", { t: { "t#run": "fp1" } });
    await b.markTaskRemoved("t", T0);
    expect((await a.getTask("t"))?.removedAt).toBeNull();
    expect(await a.getSchedule("t#run")).toBeDefined();
    await a.reportLoaded("a", {});
    await b.markTaskRemoved("t", T0);
    expect((await a.getTask("t"))?.removedAt).toBe(T0);
    expect(await a.getSchedule("t#run")).toBeUndefined();
  });

  it("measures the clock skew between the host and the database at each beat", async () => {
    const [a] = await ledgers(1);
    await host(a, "a");
    const { skewMs, lost } = await a.beat("a", 0);
    expect(lost).toBe(false);
    // Same machine: the two clocks agree within a few ms (plus scheduling noise under load).
    expect(Math.abs(skewMs)).toBeLessThan(500);
  });

  it("says clearly that the database cannot be reached, without its password, and can wait for it", async () => {
    // A port nobody listens on: bind one, then close it.
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const url = `postgres://taskhost:s3cret-pw@127.0.0.1:${port}/taskhost`;
    const error = (await openPgLedger({ url, connectTimeoutMs: 1000 }).catch((e: unknown) => e)) as Error;
    expect(isCode(error, "ERR_DB_UNREACHABLE")).toBe(true);
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).not.toContain("s3cret-pw");
    expect(redactUrl(url)).toBe(`postgres://taskhost:***@127.0.0.1:${port}/taskhost`);

    // Told to stop while it waits: it gives up with the same clear error.
    const stop = new AbortController();
    const waiting = openPgLedger({ url, waitForDatabase: true, connectTimeoutMs: 1000, signal: stop.signal, onWarning: () => undefined }).catch((e: unknown) => e);
    setTimeout(() => stop.abort(), 300);
    expect(isCode(await waiting, "ERR_DB_UNREACHABLE")).toBe(true);

    // waitForDatabase: it retries (with a warning each time) until the server is there.
    const real = new URL(await pgServer().createDatabase());
    const proxy = net.createServer();
    const warnings: string[] = [];
    const later = new URL(real);
    later.port = String(port);
    const opening = openPgLedger({ url: later.toString(), waitForDatabase: true, connectTimeoutMs: 1000, onWarning: (m) => warnings.push(m) });
    await new Promise((r) => setTimeout(r, 1500));
    proxy.on("connection", (socket) => {
      const upstream = net.connect(Number(real.port), "127.0.0.1");
      socket.pipe(upstream).pipe(socket);
      socket.on("error", () => upstream.destroy());
      upstream.on("error", () => socket.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(port, "127.0.0.1", resolve));
    const ledger = await opening;
    open.push(ledger);
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.join("\n")).not.toContain(decodeURIComponent(real.password));
    expect(await ledger.listTasks()).toEqual([]);
    await ledger.close();
    proxy.close();
  });

  it("waits for a connection its other users hold instead of calling the busy database unreachable; a silent server still times out", async () => {
    const url = await pgServer().createDatabase();
    const ledger = await openPgLedger({ url, poolSize: 1, connectTimeoutMs: 200, onWarning: () => undefined });
    open.push(ledger);
    await host(ledger, "h1");
    // Another session holds task t's alert lock for a second: the first alert holds the pool's
    // only connection waiting for it, the second waits for that connection far past connectTimeoutMs.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    await other.query("SELECT pg_advisory_lock(hashtext('taskhost.alerts:' || 't'))");
    const alert = (i: number) =>
      ledger.recordAlert({ at: T0 + i, event: "failure", taskId: "t", title: "T", scheduleId: null, runId: null, scheduledFor: null, text: `a${i}`, channels: [], host: "h1" });
    const alerts = Promise.all([alert(1), alert(2)]);
    await new Promise((r) => setTimeout(r, 1000));
    await other.query("SELECT pg_advisory_unlock_all()");
    await other.end();
    expect((await alerts).map((a) => a.text)).toEqual(["a1", "a2"]);

    // A server that accepts and never answers: connectTimeoutMs still bounds making a connection.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const error = await openPgLedger({ url: `postgres://taskhost:pw@127.0.0.1:${port}/taskhost`, connectTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(isCode(error, "ERR_DB_UNREACHABLE")).toBe(true);
    silent.close();
  });
});
