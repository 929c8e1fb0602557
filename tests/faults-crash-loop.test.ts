import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TempProject } from "./support/temp-project.ts";
import { taskSource } from "./support/task-sources.ts";
import { history } from "./support/history.ts";
import { waitFor } from "./support/wait-for.ts";
import { hostEvents, readLedger, runTwice, warmHost, type Ledger, type WarmHost } from "./support/fault-host.ts";
import type { RunRow } from "../runtime/store/ledger.ts";

/**
 * 15 rounds cover every case of the loop: kills among runs, kills in the start-up (every
 * fifth), starts with overdue occurrences (every third), and both at once (round 15).
 * TASKHOST_CRASH_LOOP_ROUNDS=30 (or more) soaks longer: more random kill moments, no new case.
 */
const ROUNDS = Number(process.env.TASKHOST_CRASH_LOOP_ROUNDS ?? 15);
const STARTUP_EVERY = 5;
const OVERDUE_EVERY = 3;
const POLICIES = ["once", "skip", "all"] as const;
/** The scheduler's "late" threshold: an occurrence older than this at start is overdue. */
const LATE_MS = 1000;

const second = (ms: number) => Math.floor(ms / 1000) * 1000;
const rowsOf = (ledger: Ledger, policy: string) => ledger.runs.filter((r) => r.taskId === `catch-${policy}`);

/** Every second from the first occurrence recorded to the last has a row: none lost. */
function gaps(runs: RunRow[]): number[] {
  const seen = new Set(runs.map((r) => r.scheduledFor!));
  const times = [...seen].sort((a, b) => a - b);
  const missing: number[] = [];
  for (let t = times[0]!; t <= times.at(-1)!; t += 1000) if (!seen.has(t)) missing.push(t);
  return missing;
}

/**
 * What the host started at `goAt` must have done with the occurrences that were
 * overdue then, judged from the rows it added (ids above `before`'s).
 */
function checkCatchUp(before: Ledger, after: Ledger, goAt: number, round: number): void {
  const maxId = Math.max(0, ...before.runs.map((r) => r.id));
  for (const policy of POLICIES) {
    const next = before.schedules.find((s) => s.id === `catch-${policy}#start`)?.nextRun;
    if (next == null || goAt <= next + LATE_MS) continue; // not overdue at start
    const added = rowsOf(after, policy).filter((r) => r.id > maxId);
    if (added.length === 0) continue; // killed before the scheduler claimed anything
    const where = `round ${round}, catch_up: ${policy}, overdue from ${new Date(next).toISOString()}, start ${new Date(goAt).toISOString()}`;
    const missed = added.filter((r) => r.scheduledFor! <= goAt);
    if (policy === "once") {
      // One catch-up run, for the latest missed occurrence; the others never run.
      expect(added[0]!.trigger, where).toBe("catch-up");
      expect(added.filter((r) => r.trigger === "catch-up"), where).toHaveLength(1);
      expect(added[0]!.scheduledFor!, where).toBeGreaterThanOrEqual(second(goAt));
    } else {
      // Each missed occurrence is recorded: skipped, or run as a catch-up.
      const expected = [];
      for (let t = next; t <= second(goAt); t += 1000) expected.push(t);
      expect(missed.map((r) => r.scheduledFor).sort(), where).toEqual(expected);
      for (const run of missed) {
        expect(run.trigger, where).toBe("catch-up");
        if (policy === "skip") expect(run.status, where).toBe("skipped");
      }
    }
  }
}

/** kill -9 at random moments, ROUNDS times in a row, on one project. */
describe("a host crash-looping under kill -9", () => {
  let project: TempProject;
  const hosts: WarmHost[] = [];
  beforeEach(async () => {
    project = await TempProject.create({ scheduler: { shutdown_grace: 1 } });
  });
  afterEach(async () => {
    for (const host of hosts) await host.kill9();
    await project.cleanup();
  });

  it("always leaves a ledger that opens, never runs an occurrence twice, and catches up per catch_up", async () => {
    for (const policy of POLICIES) {
      await project.writeTask(
        `catch-${policy}.ts`,
        taskSource({
          schedule: "every(1).seconds",
          // State writes and runs that are still going when the kill comes.
          body: 'ctx.state.set("n", (ctx.state.get<number>("n") ?? 0) + 1); await new Promise((r) => setTimeout(r, 300));',
          frontmatter: { catch_up: policy },
        }),
      );
    }
    // Hosts with the runtime already imported, three rounds ahead.
    const spawnWarm = () => {
      const host = warmHost(project);
      hosts.push(host);
      return host;
    };
    const queue = [spawnWarm(), spawnWarm(), spawnWarm()];
    let before: Ledger = { runs: [], schedules: [], warnings: [] };
    let killedAt = 0;
    let busyRounds = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const host = queue.shift()!;
      await host.warm;
      // Every third round the host stays down across two boundaries: those are overdue at start.
      if (round % OVERDUE_EVERY === 0) await waitFor(() => Date.now() > killedAt + 2200, { what: "two boundaries to pass" });
      const goAt = Date.now();
      host.go();
      queue.push(spawnWarm());
      // A random moment: every fifth round in the start-up (loading, recovering, claiming), the others among runs.
      let from = goAt;
      if (round % STARTUP_EVERY !== 0) {
        const seen = (await hostEvents(project, "host.start")).length;
        await waitFor(async () => (await hostEvents(project, "host.start")).length > seen || host.child.exitCode != null, {
          intervalMs: 10,
          timeoutMs: 20_000,
          what: `host ${round} to start`,
        });
        from = Date.now();
      }
      const killAt = from + Math.random() * (round % STARTUP_EVERY === 0 ? 600 : 1000);
      await waitFor(() => Date.now() >= killAt || host.child.exitCode != null, { intervalMs: 10, what: "the moment to kill" });
      expect(host.child.exitCode, host.output()).toBeNull();
      await host.kill9();
      killedAt = Date.now();

      const after = await readLedger(project);
      expect(after.warnings, `round ${round}`).toEqual([]);
      expect(runTwice(after.runs), `round ${round}`).toEqual([]);
      checkCatchUp(before, after, goAt, round);
      if (after.runs.length > before.runs.length) busyRounds++;
      before = after;
    }
    for (const host of queue) await host.kill9();
    // The kills really came during activity (claims, runs), not only while starting.
    expect(busyRounds).toBeGreaterThanOrEqual(ROUNDS / 2);

    // A last start through `taskhost start`, after a down time: it recovers and catches up.
    await waitFor(() => Date.now() > killedAt + 2200, { what: "two boundaries to pass" });
    const finalAt = Date.now();
    const host = await project.start();
    // Back on the grid: a scheduled run well after the start, so after any catch-up runs queued at
    // the start (a stop hands those back, which would leave a hole in catch-all's history).
    const upAt = Date.now();
    for (const policy of POLICIES) {
      await waitFor(
        async () => (await history(project, `catch-${policy}`)).some((r) => Date.parse(r.scheduledFor!) > upAt + 2000 && r.status === "success"),
        { what: `catch-${policy} back on the grid` },
      );
    }
    expect(await host.stop()).toBe(0);
    const final = await readLedger(project);
    checkCatchUp(before, final, finalAt, ROUNDS + 1);
    expect(final.warnings).toEqual([]);
    expect(runTwice(final.runs)).toEqual([]);
    // Nothing left "running"; what the kills cut off says so.
    expect(final.runs.filter((r) => r.status === "running")).toEqual([]);
    for (const run of final.runs.filter((r) => r.status === "interrupted")) expect(run.error).toMatch(/host (stopped|is shutting down)/);
    // No occurrence was lost where the policy records every one.
    expect(gaps(rowsOf(final, "skip"))).toEqual([]);
    expect(gaps(rowsOf(final, "all"))).toEqual([]);
  }, 240_000);
});
