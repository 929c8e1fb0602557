/**
 * Three real hosts (`taskhost start`, each in its own project folder with the
 * same task files) on one PostgreSQL ledger, for about a minute of
 * every(1).seconds tasks: one is kill -9'ed mid-run, one SIGSTOPped for longer
 * than its lease and then resumed; then a total outage and a restart. Judged
 * from the ledger and from the markers the task code writes at each execution
 * (which host ran which occurrence, independent of the ledger).
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { StatusJson } from "../runtime/host/report-shapes.ts";
import type { RunRow } from "../runtime/store/ledger.ts";
import { openPgLedger, type PgLedger } from "../runtime/store/pg-ledger.ts";
import { fleetProject, markerTask, memberPids, readMarkers, startMember, type FleetMember } from "./support/fleet-hosts.ts";
import { skipPostgres, usePostgres } from "./support/postgres.ts";
import { waitFor } from "./support/wait-for.ts";

const LEASE_SEC = 3;
const SCHEDULES = ["alpha#tick", "beta#tick"];
const SOAK_MS = Number(process.env.TASKHOST_FLEET_SOAK_MS ?? 60_000);
const SEC = 1000;

/** Waits until the wall clock reaches `t` (the scenario's timeline), polling like waitFor. */
const until = (t: number, what: string) => waitFor(() => Date.now() >= t, { timeoutMs: Math.max(0, t - Date.now()) + 5000, intervalMs: 20, what });

describe.skipIf(skipPostgres)("a fleet of three real hosts on one PostgreSQL ledger", () => {
  const pgServer = usePostgres();
  let members: FleetMember[] = [];
  let ledger: PgLedger | undefined;
  let markers = "";
  afterAll(async () => {
    for (const m of members) await m.project.cleanup();
    await ledger?.close();
    if (markers) await rm(markers, { recursive: true, force: true });
  });

  async function runsOf(scheduleId: string): Promise<RunRow[]> {
    const all = await ledger!.listRunsBetween(0, Date.now() + 60_000, { scheduleId });
    return all.filter((r) => r.trigger === "schedule" || r.trigger === "catch-up");
  }

  /** One of `among` with a run that started a moment ago and has not ended (mid-run). */
  async function midRun(among: FleetMember[]) {
    const runs = await ledger!.runsInFlight();
    const run = runs.find((r) => among.some((m) => m.id === r.host) && Date.now() - r.startedAt < 150);
    return run && { run, member: among.find((m) => m.id === run.host)! };
  }

  it("runs each occurrence once through a kill -9, a freeze past the lease, and a total outage", async () => {
    const url = await pgServer().createDatabase();
    ledger = await openPgLedger({ url, leaseMs: LEASE_SEC * SEC, onWarning: () => undefined });
    markers = await mkdtemp(path.join(os.tmpdir(), "th-markers-"));
    const tasks = { "alpha.ts": markerTask(markers), "beta.ts": markerTask(markers) };
    for (let i = 0; i < 3; i++) {
      const project = await fleetProject(url, LEASE_SEC, tasks);
      members.push({ name: path.basename(project.root), project, host: null, id: "" });
    }
    members = await Promise.all(members.map((m) => startMember(m, ledger!)));
    expect(new Set(members.map((m) => m.id)).size).toBe(3);
    const soakStart = Date.now();

    // Any host's status lists the three (contract §10).
    const status = await members[2]!.project.json<StatusJson>(["status"]);
    expect(status.hosts.map((h) => h.id).sort()).toEqual(members.map((m) => m.id).sort());

    // kill -9 a host (supervisor and host) while one of its runs is in flight: A.
    await until(soakStart + SOAK_MS * 0.15, "the kill");
    const { run: killedRun, member: a } = await waitFor(() => midRun(members), { timeoutMs: 30_000, intervalMs: 10, what: "a run in flight" });
    await a.host!.kill9();
    const killedAt = Date.now();

    // SIGSTOP another (supervisor and host) mid-run for longer than its lease, then SIGCONT: B.
    await until(soakStart + SOAK_MS * 0.4, "the freeze");
    const { run: frozenRun, member: b } = await waitFor(() => midRun(members.filter((m) => m !== a)), { timeoutMs: 30_000, intervalMs: 10, what: "a run in flight on a survivor" });
    const c = members.find((m) => m !== a && m !== b)!;
    const frozen = memberPids(b);
    for (const pid of frozen) process.kill(pid, "SIGSTOP");
    const frozenAt = Date.now();
    await until(frozenAt + 2 * LEASE_SEC * SEC + SEC, "the freeze to outlast the lease");
    for (const pid of frozen.reverse()) process.kill(pid, "SIGCONT");
    const wokeAt = Date.now();
    await waitFor(() => / warn  fleet\.lost /.test(b.host!.output()), { timeoutMs: 15_000, what: "host B to learn it was taken over" });

    // Total outage: the two left stop cleanly across several boundaries, then all three start again.
    await until(soakStart + SOAK_MS, "the end of the soak");
    expect(await b.host!.stop()).toBe(0);
    expect(await c.host!.stop()).toBe(0);
    const outageFrom = Date.now();
    // Where each schedule stands as the fleet goes down: a host claims a little ahead of an instant (its lead, longer
    // on a busy machine) and hands an unbegun claim back as it stops, so the first occurrence no host ran can be a
    // second or more after the last stop.
    const stoodAt = new Map<string, number>();
    for (const id of SCHEDULES) stoodAt.set(id, (await ledger.getSchedule(id))!.nextRun!);
    await until(Math.max(outageFrom, ...stoodAt.values()) + 4500, "the outage");
    members = await Promise.all(members.map((m) => startMember(m, ledger!)));
    const restartAt = Date.now();
    await waitFor(
      async () => {
        for (const id of SCHEDULES) if (!(await runsOf(id)).some((r) => r.scheduledFor! >= restartAt && r.trigger === "schedule" && r.status === "success")) return false;
        return true;
      },
      { timeoutMs: 60_000, what: "every schedule back on its grid after the restart" },
    );
    for (const m of members) expect(await m.host!.stop()).toBe(0);

    // --- judged from the ledger -------------------------------------------------------------
    const ids = new Set(members.map((m) => m.id));
    for (const id of SCHEDULES) {
      const runs = await runsOf(id);
      const times = runs.map((r) => r.scheduledFor!);
      expect(new Set(times).size, `${id}: an occurrence has two runs`).toBe(times.length);
      expect(runs.every((r) => r.status !== "running" && ids.has(r.host!))).toBe(true);
      // Every second from the first run to the last is accounted for: a run, a skip with why, or covered by a catch-up.
      const covered = new Set<number>();
      for (const r of runs) {
        covered.add(r.scheduledFor!);
        if (r.coversFrom !== null) for (let t = r.coversFrom; t <= r.scheduledFor!; t += SEC) covered.add(t);
      }
      const missing: string[] = [];
      for (let t = Math.min(...times); t <= Math.max(...times); t += SEC) if (!covered.has(t)) missing.push(new Date(t).toISOString());
      expect(missing, `${id}: occurrences lost`).toEqual([]);
      // The outage: exactly one catch-up run (not skipped), on one host, standing for the seconds the fleet was down.
      const catchUps = runs.filter((r) => r.trigger === "catch-up" && r.status !== "skipped" && r.scheduledFor! >= outageFrom - SEC);
      expect(catchUps.map((r) => `${r.scheduledFor! - outageFrom} ${r.status} covers ${r.coversFrom! - outageFrom}+${r.coversCount}`), `${id}: catch-ups after the outage`).toHaveLength(1);
      expect(catchUps[0]!.coversFrom, `${id}: the catch-up stands for the seconds from where it stood`).toBe(Math.min(stoodAt.get(id)!, catchUps[0]!.scheduledFor!));
      expect(catchUps[0]!.coversCount!).toBeGreaterThanOrEqual(4);
    }
    // The killed host's run in flight is interrupted by a survivor, within the takeover goal (≤ 10 s).
    const killed = await ledger.getRun(killedRun.runId);
    expect(killed).toMatchObject({ status: "interrupted", host: a.id });
    expect(killed!.finishedAt! - killedAt).toBeLessThan(10_000);
    // The survivors ran the killed host's schedule from the next occurrence on.
    const after = (await runsOf(killedRun.scheduleId)).filter((r) => r.scheduledFor! > killedAt && r.scheduledFor! < frozenAt && r.status === "success");
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((r) => r.host !== a.id)).toBe(true);
    // The frozen host's run in flight too; its end, recorded when it woke, did not overwrite that.
    expect(await ledger.getRun(frozenRun.runId)).toMatchObject({ status: "interrupted", host: b.id });

    // --- judged from what the task code did -------------------------------------------------
    const marks = readMarkers(markers, members.map((m) => m.name));
    const byOccurrence = new Map<string, typeof marks>();
    for (const m of marks) byOccurrence.set(`${m.s}@${m.t}`, [...(byOccurrence.get(`${m.s}@${m.t}`) ?? []), m]);
    const twice = [...byOccurrence].filter(([, list]) => list.length > 1).map(([k, list]) => `${k} on ${list.map((m) => m.host).join(", ")}`);
    expect(twice, "occurrences whose code ran twice").toEqual([]);
    const idOf = new Map(members.map((m) => [m.name, m.id]));
    const rows = new Map<string, RunRow>();
    for (const id of SCHEDULES) for (const r of await runsOf(id)) rows.set(`${r.scheduleId}@${r.scheduledFor}`, r);
    // Each execution is the ledger's run of that occurrence, on the host the ledger says; none ran what it did not own.
    const foreign = marks.filter((m) => rows.get(`${m.s}@${m.t}`)?.host !== idOf.get(m.host) || rows.get(`${m.s}@${m.t}`)?.startedAt == null);
    expect(foreign.map((m) => ({ ...m, ledger: rows.get(`${m.s}@${m.t}`) })), "executions the ledger does not give to their host").toEqual([]);
    // In particular the frozen host after it woke.
    expect(marks.filter((m) => m.host === b.name && m.at >= wokeAt).every((m) => rows.get(`${m.s}@${m.t}`)?.host === b.id)).toBe(true);
    // Every run the ledger says succeeded did execute, once.
    const ran = [...rows.values()].filter((r) => r.status === "success");
    expect(ran.filter((r) => !byOccurrence.has(`${r.scheduleId}@${r.scheduledFor}`)).map((r) => r.id)).toEqual([]);
  }, SOAK_MS + 240_000);
});
