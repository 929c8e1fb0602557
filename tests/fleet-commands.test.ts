/**
 * Commands given to any host of a fleet act on the fleet (issue 14): two real
 * hosts on one PostgreSQL ledger; pause, resume, run, history, check-overdue
 * and reset-schedules through one host's CLI, seen on the other; status names
 * the hosts that disagree on a task's version while a deploy is half done.
 */
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { RunJson, StatusJson } from "../runtime/host/report-shapes.ts";
import { openPgLedger, type PgLedger } from "../runtime/store/pg-ledger.ts";
import { fleetProject, startMember, type FleetMember } from "./support/fleet-hosts.ts";
import { duplicateOccurrences } from "./support/history.ts";
import { skipPostgres, usePostgres } from "./support/postgres.ts";
import { taskSource } from "./support/task-sources.ts";
import { waitFor } from "./support/wait-for.ts";

const LEASE_SEC = 3;
const tick = (schedule: string) => taskSource({ schedule, body: "ctx.log.info('tick');", method: "tick" });

describe.skipIf(skipPostgres)("commands on a fleet", () => {
  const pgServer = usePostgres();
  const members: FleetMember[] = [];
  let ledger: PgLedger | undefined;
  afterAll(async () => {
    for (const m of members) await m.project.cleanup();
    await ledger?.close();
  });

  const status = (m: FleetMember) => m.project.json<StatusJson>(["status"]);
  const stateOf = async (m: FleetMember, task: string) => (await status(m)).tasks.find((t) => t.id === task)?.state;
  const runsOf = async (task: string) => (await ledger!.listRunsBetween(0, Date.now() + 60_000, { taskId: task })).filter((r) => r.trigger !== "manual");

  it("pause, resume, reset-schedules, run, history and check-overdue through one host act on all; status says when versions differ", async () => {
    const url = await pgServer().createDatabase();
    ledger = await openPgLedger({ url, leaseMs: LEASE_SEC * 1000, onWarning: () => undefined });
    for (let i = 0; i < 2; i++) {
      const project = await fleetProject(url, LEASE_SEC, { "t.ts": tick("every(1).seconds") });
      members.push(await startMember({ name: path.basename(project.root), project }, ledger));
    }
    const [a, b] = members as [FleetMember, FleetMember];
    await waitFor(async () => (await runsOf("t")).filter((r) => r.status === "success").length >= 3, { timeoutMs: 30_000, what: "runs of t" });

    // Paused through B: A stops too, once its next heartbeat shows it (an occurrence it claimed before may still run).
    // Times count from when A is seen paused: a heartbeat is 750 ms, but on a loaded machine a `status` may take seconds.
    expect((await b.project.cli(["pause", "t"])).code).toBe(0);
    await waitFor(async () => (await stateOf(a, "t")) === "paused", { timeoutMs: 30_000, what: "host A to see the pause" });
    const pausedAt = Date.now();
    await waitFor(() => Date.now() > pausedAt + 4000, { timeoutMs: 10_000, what: "four boundaries paused" });
    expect((await runsOf("t")).filter((r) => r.scheduledFor! > pausedAt + 2000)).toEqual([]);
    // A does not list it as overdue (resume catches nothing up), and names it as paused.
    expect(await a.project.json<unknown[]>(["check-overdue"])).toEqual([]);
    expect((await a.project.cli(["check-overdue"])).stdout).toContain("paused, not overdue (resume starts from then, nothing is caught up): t#tick");

    // Resumed through A: B resumes too, and the fleet runs it from now on, each occurrence once.
    // From when the resume was asked: a host may run the next occurrence before the command has answered.
    const resumedAt = Date.now();
    expect((await a.project.cli(["resume", "t"])).code).toBe(0);
    await waitFor(async () => (await stateOf(b, "t")) === "scheduled", { timeoutMs: 30_000, what: "host B to see the resume" });
    await waitFor(async () => (await runsOf("t")).some((r) => r.scheduledFor! > resumedAt && r.status === "success"), { timeoutMs: 15_000, what: "runs after the resume" });
    // Nothing paused was caught up.
    expect((await runsOf("t")).filter((r) => r.scheduledFor! > pausedAt + 2000 && r.scheduledFor! < resumedAt)).toEqual([]);

    // reset-schedules through B: the next run is the aligned one from now, on both hosts.
    expect((await b.project.cli(["reset-schedules", "--task", "t"])).code).toBe(0);
    const next = async (m: FleetMember) => (await status(m)).tasks.find((t) => t.id === "t")!.schedules[0]!.nextRun;
    await waitFor(async () => Date.parse((await next(a))!) > Date.now() - 1500 && Date.parse((await next(b))!) > Date.now() - 1500, { timeoutMs: 30_000, what: "next runs after the reset" });

    // A manual run through A is recorded as A's, and B's history shows it.
    const manual = await a.project.json<RunJson>(["run", "t"]);
    expect(manual).toMatchObject({ status: "success", trigger: "manual", host: a.id });
    const history = await b.project.json<RunJson[]>(["history", "t", "--limit", "200"]);
    expect(history.find((r) => r.id === manual.id)).toMatchObject({ host: a.id });
    expect(history.every((r) => r.host === a.id || r.host === b.id)).toBe(true);
    expect(duplicateOccurrences(history)).toEqual([]);
    // Its log file is in A's logs/runs/: B's `logs --run` says where, and shows the ledger's excerpt.
    const onB = await b.project.cli(["logs", "t", "--run", String(manual.id)]);
    expect(onB.stderr).toContain(`it ran on host ${a.id}, whose logs/runs/ holds its file`);
    expect(onB.stdout).toContain("tick");

    // Half a deploy: B gets a new version of t. Status (on either host) names who has which; A does not run B's version.
    await b.project.writeTask("t.ts", tick("every(2).seconds"));
    const warningOf = async (m: FleetMember) => (await status(m)).tasks.find((t) => t.id === "t")?.warnings ?? [];
    const warning = await waitFor(async () => (await warningOf(a)).find((w) => /hosts disagree/.test(w)), { timeoutMs: 15_000, what: "the version warning" });
    expect(warning).toContain(a.id);
    expect(warning).toContain(b.id);
    const deployedAt = Date.now();
    await waitFor(() => Date.now() > deployedAt + 5000, { timeoutMs: 10_000, what: "a few boundaries on the new version" });
    const sinceDeploy = (await runsOf("t")).filter((r) => r.scheduledFor! > deployedAt + 1000);
    expect(sinceDeploy.length).toBeGreaterThan(0);
    expect(sinceDeploy.every((r) => r.host === b.id && (r.scheduledFor! / 1000) % 2 === 0)).toBe(true);
    // The rest of the deploy: A gets it too; the warning goes, both may run it.
    await a.project.writeTask("t.ts", tick("every(2).seconds"));
    await waitFor(async () => (await warningOf(a)).length === 0 && (await warningOf(b)).length === 0, { timeoutMs: 15_000, what: "the warning to go" });
    for (const m of members) expect(await m.host!.stop()).toBe(0);
    // With no host running, `taskhost run` is a host of the fleet while it runs (with its folder's id).
    const offline = await a.project.json<RunJson>(["run", "t"]);
    expect(offline).toMatchObject({ status: "success", trigger: "manual", host: a.id });
    expect(await ledger.listHosts()).toEqual([]);
    const times = (await runsOf("t")).map((r) => r.scheduledFor);
    expect(new Set(times).size).toBe(times.length);
  }, 180_000);
});
