/**
 * The scheduler on a ledger other hosts write too (issue 14), in the style of
 * scheduler-core.test.ts: a fake clock and fake launchers, real ledgers (one
 * sql.js object shared by two schedulers, or PostgreSQL where the ledger's
 * fleet rules matter: leases, pauses and takeovers decided in the database).
 * What the host-level fleet component feeds in (changedElsewhere,
 * abandonClaims) is called here by hand.
 */
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import type { SharedLedger } from "../runtime/scheduler/scheduler-types.ts";
import { SHARED_GO_AHEAD_MS } from "../runtime/scheduler/scheduling-policy.ts";
import type { ScheduleHint } from "../runtime/scheduler/scheduler.ts";
import type { Ledger, RunRow } from "../runtime/store/ledger.ts";
import { openPgLedger, type PgLedger } from "../runtime/store/pg-ledger.ts";
import { FakeTime } from "./support/fake-time.ts";
import { skipPostgres, usePostgres } from "./support/postgres.ts";
import { every, harness, task, withScheduler, type Harness } from "./support/scheduler-harness.ts";
import { waitFor } from "./support/wait-for.ts";

const S = 1000;
const T0 = Date.parse("2026-03-02T10:00:30.000Z");
const at = (hhmmss: string) => Date.parse(`2026-03-02T${hhmmss}${hhmmss.includes(".") ? "" : ".000"}Z`);
const brief = (runs: RunRow[]) => runs.map((r) => `${new Date(r.scheduledFor!).toISOString().slice(11, 19)} ${r.trigger} ${r.status}${r.host ? ` ${r.host}` : ""}`);

let open: Harness[] = [];
afterEach(async () => {
  for (const h of open.reverse()) await h.close();
  open = [];
});

/** Another host's scheduler on the same ledger object and clock. */
function peer(of: Harness, owner: string, shared?: SharedLedger): Harness {
  const h = withScheduler({ dir: of.dir, ledger: of.ledger, time: of.time, ownsLedger: false, owner, shared });
  open.push(h);
  return h;
}

/** What a host of the fleet sees of every schedule at a heartbeat. */
async function hints(ledger: Ledger): Promise<ScheduleHint[]> {
  const out: ScheduleHint[] = [];
  for (const s of await ledger.listSchedules()) {
    out.push({ id: s.id, nextRun: s.nextRun, fingerprint: s.fingerprint, paused: (await ledger.getTask(s.taskId))?.paused ?? false });
  }
  return out;
}

describe("two hosts on one ledger", () => {
  it("a pause and a resume made on another host are taken from the ledger, without writing them again", async () => {
    const a = await harness({ start: T0, owner: "a" });
    open.push(a);
    const b = peer(a, "b");
    await a.ledger.recordTaskLoad({ id: "p", title: "p", file: "tasks/p.ts", error: null, enabled: true });
    for (const h of [a, b]) await h.scheduler.setTask(task("p"));
    a.scheduler.start();
    b.scheduler.start();
    await a.time.advanceTo(at("10:01:30"));
    // Paused on host a (its command writes the ledger, then its scheduler).
    await a.ledger.setPaused("p", true);
    await a.scheduler.setPaused("p", true);
    await b.scheduler.changedElsewhere(await hints(a.ledger));
    expect(b.scheduler.isPaused("p")).toBe(true);
    await a.time.advanceTo(at("10:04:30"));
    expect(brief(await a.runs("p")).map((r) => r.slice(0, 25))).toEqual(["10:01:00 schedule success"]);
    // Resumed on host a: it starts afresh from now; b takes a's next run instead of computing its own.
    await a.time.advanceTo(at("10:04:40"));
    await a.ledger.setPaused("p", false);
    await a.scheduler.setPaused("p", false);
    const resumedNext = (await a.ledger.getSchedule("p#run"))!.nextRun;
    await b.scheduler.changedElsewhere(await hints(a.ledger));
    expect(b.scheduler.isPaused("p")).toBe(false);
    expect(b.scheduler.nextRunOf("p#run")).toBe(resumedNext);
    await a.time.advanceTo(at("10:07:10"));
    const times = (await a.runs("p")).map((r) => r.scheduledFor);
    expect(times).toEqual([at("10:01:00"), at("10:05:00"), at("10:06:00"), at("10:07:00")]);
    expect(b.events.filter((e) => e.name === "task.paused").map((e) => (e.info as { paused: boolean }).paused)).toEqual([true, false]);
  });

  it("a host with another version of a task does not claim it, warns once, and takes it up when the versions agree", async () => {
    const a = await harness({ start: T0, owner: "a" });
    open.push(a);
    const b = peer(a, "b");
    await a.scheduler.setTask(task("v", { spec: every(1, "minute") }));
    // b was deployed a new version (every 2 minutes): the ledger holds b's, loaded last.
    await b.scheduler.setTask(task("v", { spec: every(2, "minute") }));
    a.scheduler.start();
    b.scheduler.start();
    await a.time.advanceTo(at("10:08:30"));
    expect(brief(await a.runs("v"))).toEqual(["10:02:00 schedule success b", "10:04:00 schedule success b", "10:06:00 schedule success b", "10:08:00 schedule success b"]);
    expect(a.logs.filter((l) => l.fields.event === "claim.version")).toHaveLength(1);
    expect(a.launcher.runs).toHaveLength(0);
    // Still another version at the next heartbeat: a stays out.
    await a.scheduler.changedElsewhere(await hints(a.ledger));
    await a.time.advanceTo(at("10:10:30"));
    expect(a.launcher.runs).toHaveLength(0);
    // a gets the new version too: both race for it, each occurrence runs once.
    await a.scheduler.setTask(task("v", { spec: every(2, "minute") }));
    await a.time.advanceTo(at("10:16:30"));
    const times = (await a.runs("v")).map((r) => new Date(r.scheduledFor!).toISOString().slice(11, 19));
    expect(times).toEqual(["10:02:00", "10:04:00", "10:06:00", "10:08:00", "10:10:00", "10:12:00", "10:14:00", "10:16:00"]);
  });

  it("after a total outage, one host's claim takes the catch-up and only that host reports the missed occurrences", async () => {
    const a = await harness({ start: T0, owner: "a" });
    open.push(a);
    await a.scheduler.setTask(task("c"));
    a.scheduler.start();
    await a.time.advanceTo(at("10:01:10"));
    await a.scheduler.stop(0);
    // Every host was down for an hour.
    await a.time.advanceTo(at("11:01:10"));
    const hosts = new Map(["b", "c", "d"].map((id) => [id, peer(a, id)]));
    for (const h of hosts.values()) await h.scheduler.setTask(task("c"));
    for (const h of hosts.values()) h.scheduler.start();
    await a.time.advance(5 * S);
    const rows = await a.runs("c");
    expect(brief(rows).map((r) => r.slice(0, 25))).toEqual(["10:01:00 schedule success", "11:01:00 catch-up success"]);
    expect(rows[1]).toMatchObject({ coversFrom: at("10:02:00"), coversCount: 60 });
    // Said once, by the host that runs the catch-up.
    const reported = [...hosts].flatMap(([id, h]) => h.events.filter((e) => e.name === "occurrence.missed").map(() => id));
    expect(reported).toEqual([rows[1]!.host]);
  });

  it("abandonClaims: runs in flight are stopped and the schedule goes on", async () => {
    const a = await harness({ start: T0, owner: "a" });
    open.push(a);
    a.launcher.plan = () => ({ durationMs: 30 * S });
    await a.scheduler.setTask(task("x"));
    a.scheduler.start();
    await a.time.advanceTo(at("10:01:10"));
    expect(a.launcher.running()).toHaveLength(1);
    await a.scheduler.abandonClaims("another host took this host's work over");
    expect(a.launcher.runs[0]!.stopped).toMatchObject({ status: "interrupted", reason: "another host took this host's work over" });
    await a.time.advanceTo(at("10:02:40"));
    const rows = await a.runs("x");
    expect(brief(rows)).toEqual(["10:01:00 schedule interrupted a", "10:02:00 schedule success a"]);
  });

  it("a run's end is recorded after its state writes landed (the next run may start on another host)", async () => {
    const a = await harness({ start: T0, owner: "a" });
    open.push(a);
    const order: string[] = [];
    const ledger = a.ledger;
    const setState = ledger.setState.bind(ledger);
    const recordEnd = ledger.recordEnd.bind(ledger);
    ledger.setState = async (...args) => {
      await setState(...args);
      order.push("state");
    };
    ledger.recordEnd = (...args) => {
      order.push("end");
      return recordEnd(...args);
    };
    a.launcher.plan = () => ({ durationMs: 5 * S, writes: { n: 1, m: 2 } });
    await a.scheduler.setTask(task("s"));
    a.scheduler.start();
    await a.time.advanceTo(at("10:01:10"));
    expect(order).toEqual(["state", "state", "end"]);
  });
});

describe.skipIf(skipPostgres)("hosts on one PostgreSQL ledger", () => {
  const pgServer = usePostgres();
  const ledgers: PgLedger[] = [];
  afterEach(async () => {
    for (const h of open.reverse()) await h.close();
    open = [];
    await Promise.all(ledgers.splice(0).map((l) => l.close()));
  });

  /** Hosts a, b, … registered on one new database, each with its own connection and the shared-ledger port. */
  async function fleet(ids: string[], leaseMs = 60_000) {
    const url = await pgServer().createDatabase();
    const time = new FakeTime(T0);
    const out: Array<{ id: string; ledger: PgLedger; h: Harness }> = [];
    for (const id of ids) {
      const ledger = await openPgLedger({ url, leaseMs, onWarning: () => undefined });
      ledgers.push(ledger);
      await ledger.registerHost({ id, hostname: id, pid: 1, startedAt: Date.now() });
      const shared: SharedLedger = { pollMs: 250, runsElsewhere: async (s) => (await ledger.runsInFlight(s)).filter((r) => r.host !== id).length };
      const h = withScheduler({ dir: "/nonexistent", ledger, time, owner: id, shared, ownsLedger: false });
      open.push(h);
      out.push({ id, ledger, h });
    }
    return { url, time, hosts: out };
  }

  it("a claim taken back before its start (the host's lease lapsed, a survivor took over) does not run; the survivor runs it once", async () => {
    const { url, time, hosts } = await fleet(["a", "b"], 1000);
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    await a.h.scheduler.setTask(task("t"));
    a.h.scheduler.start();
    await time.advanceTo(at("10:00:59.700")); // a claimed 10:01:00 and launched its run
    expect(brief(await a.h.runs("t"))).toEqual(["10:01:00 schedule running a"]);
    // a freezes: no heartbeat past its lease; b beats and takes a's work over.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await waitFor(
        async () => {
          await b.ledger.beat("b", 0);
          return (await client.query("SELECT taskhost.now_ms() > last_heartbeat + lease_ms AS lapsed FROM taskhost.hosts WHERE id = 'a'")).rows[0]?.lapsed === true;
        },
        { timeoutMs: 10_000, intervalMs: 100, what: "a's lease to lapse" },
      );
    } finally {
      await client.end();
    }
    const recovery = await b.ledger.recoverFleet("b");
    expect(recovery).toMatchObject({ deadHosts: ["a"], handedBack: ["t#run"] });
    await b.h.scheduler.setTask(task("t"));
    b.h.scheduler.start();
    await time.advanceTo(at("10:01:00.500"));
    const rows = await b.h.runs("t");
    expect(brief(rows)).toEqual(["10:01:00 schedule success b"]);
    const launched = a.h.launcher.of("t#run");
    expect(launched.map((r) => [r.startedAt, r.cancelled])).toEqual([[null, true]]);
    expect(a.h.logs.find((l) => l.fields.event === "run.not_started")?.message).toMatch(/another host took its claim back/);
  });

  it("overlap counts a run in flight on another host: skip skips, queue waits for it to end", async () => {
    for (const overlap of ["skip", "queue"] as const) {
      const { time, hosts } = await fleet(["a", "b"]);
      const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
      a.h.launcher.plan = () => ({ durationMs: 150 * S });
      b.h.launcher.plan = () => ({ durationMs: 1 * S });
      await a.h.scheduler.setTask(task("o", { meta: { overlap } }));
      a.h.scheduler.start();
      await time.advanceTo(at("10:01:10")); // a runs 10:01 until 10:03:30
      // The task moves to host b (a's run goes on).
      a.h.scheduler.removeTask("o");
      await b.h.scheduler.setTask(task("o", { meta: { overlap } }));
      b.h.scheduler.start();
      await time.advanceTo(at("10:03:10"));
      if (overlap === "skip") {
        expect(brief(await b.h.runs("o")).map((r) => r.replace(/ [ab]$/, ""))).toEqual(["10:01:00 schedule running", "10:02:00 schedule skipped", "10:03:00 schedule skipped"]);
        expect((await b.h.runs("o"))[1]!.error).toMatch(/overlap: skip/);
        expect(b.h.launcher.running()).toHaveLength(0);
      } else {
        expect(b.h.launcher.running()).toHaveLength(0);
        await time.advanceTo(at("10:03:35"));
        const started = b.h.launcher.of("o#run").filter((r) => r.startedAt !== null);
        expect(started.map((r) => r.request.scheduledFor)).toEqual([at("10:02:00"), at("10:03:00")]);
        // It began once a's run had ended (10:03:30), at the next look.
        expect(started[0]!.startedAt!).toBeGreaterThanOrEqual(at("10:03:30"));
        expect(started[0]!.startedAt!).toBeLessThanOrEqual(at("10:03:30.250"));
        await time.advanceTo(at("10:04:10"));
        expect(brief(await b.h.runs("o"))).toEqual(["10:01:00 schedule success a", "10:02:00 schedule success b", "10:03:00 schedule success b", "10:04:00 schedule success b"]);
      }
      for (const h of open.splice(0).reverse()) await h.close();
    }
  });

  it("a run told to go ahead of its instant: its fenced start says its instant; another host's run that ends before the instant does not skip it", async () => {
    const { time, hosts } = await fleet(["a", "b"]);
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    // a's run ends at 10:01:59.950: in flight when b's next run may go ahead, over on its instant.
    a.h.launcher.plan = () => ({ durationMs: 60 * S - 50 });
    b.h.launcher.plan = () => ({ durationMs: 1 * S });
    await a.h.scheduler.setTask(task("g"));
    a.h.scheduler.start();
    await time.advanceTo(at("10:01:10"));
    a.h.scheduler.removeTask("g");
    await b.h.scheduler.setTask(task("g"));
    b.h.scheduler.start();
    await time.advanceTo(at("10:03:10"));
    expect(brief(await b.h.runs("g"))).toEqual(["10:01:00 schedule success a", "10:02:00 schedule success b", "10:03:00 schedule success b"]);
    const [second, third] = b.h.launcher.of("g#run");
    // 10:02 waited for its instant to look again; 10:03, with nothing in flight anywhere, went ahead.
    expect(second!.startAskedAt).toBeGreaterThanOrEqual(at("10:02:00"));
    expect([third!.startAskedAt, third!.startedAt]).toEqual([at("10:03:00") - SHARED_GO_AHEAD_MS, at("10:03:00")]);
    expect((await b.h.runs("g"))[2]!.startedAt).toBe(at("10:03:00"));
  });

  it("overlap: replace across hosts: the newer occurrence starts, and the older run's host stops it when it sees it", async () => {
    const { time, hosts } = await fleet(["a", "b"]);
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    a.h.launcher.plan = () => ({ durationMs: 150 * S });
    b.h.launcher.plan = () => ({ durationMs: 1 * S });
    await a.h.scheduler.setTask(task("r", { meta: { overlap: "replace" } }));
    a.h.scheduler.start();
    await time.advanceTo(at("10:01:10"));
    a.h.scheduler.removeTask("r");
    await b.h.scheduler.setTask(task("r", { meta: { overlap: "replace" } }));
    b.h.scheduler.start();
    await time.advanceTo(at("10:02:00.500"));
    expect(b.h.launcher.of("r#run").map((r) => r.startedAt)).toEqual([at("10:02:00")]);
    // Host a's next beat: what is in flight elsewhere.
    expect(a.h.scheduler.inFlight.runningWith("replace")).toHaveLength(1);
    a.h.scheduler.inFlight.replacedElsewhere((await a.ledger.runsInFlight()).filter((r) => r.host !== "a"));
    expect(a.h.launcher.runs[0]!.stopped).toMatchObject({ status: "interrupted", reason: "replaced by a newer occurrence on another host (overlap: replace)" });
    await time.advanceTo(at("10:02:10"));
    expect(brief(await a.h.runs("r"))).toEqual(["10:01:00 schedule interrupted a", "10:02:00 schedule success b"]);
  });

  it("a claim refused because another host paused the task is held, not retried at once; the next heartbeat's view pauses it here", async () => {
    const { time, hosts } = await fleet(["a", "b"]);
    const [a, b] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    await a.ledger.recordTaskLoad({ id: "p", title: "p", file: "tasks/p.ts", error: null, enabled: true });
    await a.h.scheduler.setTask(task("p", { spec: every(1, "second") }));
    await b.h.scheduler.setTask(task("p", { spec: every(1, "second") }));
    b.h.scheduler.start();
    await time.advanceTo(at("10:00:35.500"));
    // Paused through host a (its command writes the ledger); b has not heard yet.
    await a.ledger.setPaused("p", true);
    const claims: number[] = [];
    const claim = b.ledger.claimOccurrences.bind(b.ledger);
    b.ledger.claimOccurrences = (c) => {
      claims.push(time.now());
      return claim(c);
    };
    await time.advanceTo(at("10:00:41.500"));
    // Refused, then held for 2 s at a time instead of claimed every second.
    expect(b.h.logs.filter((l) => l.fields.event === "claim.refused").length).toBeGreaterThan(0);
    expect(claims.length).toBeLessThanOrEqual(4);
    expect(b.h.scheduler.nextRunOf("p#run")).toBe((await b.ledger.getSchedule("p#run"))!.nextRun);
    await b.h.scheduler.changedElsewhere(await hints(b.ledger));
    expect(b.h.scheduler.isPaused("p")).toBe(true);
    const before = (await b.h.runs("p")).length;
    await time.advanceTo(at("10:00:45.500"));
    expect((await b.h.runs("p")).length).toBe(before);
  });
});
