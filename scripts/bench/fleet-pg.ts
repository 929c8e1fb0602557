/**
 * The fleet on PostgreSQL (issue 14): start lag with 1 and 3 hosts, claim
 * latency, and takeover after a kill -9. The hosts are fleet members
 * (tests/support/fleet-member.ts: the PostgreSQL ledger, FleetMembership and a
 * minimal every-second scheduler over the ledger's intents), so these rows
 * measure the ledger path a host's claims take; the sql.js single-host lag is
 * the "lag, 10 jobs every second" row of the real host.
 */
import { openPgLedger, type PgLedger } from "../../runtime/store/pg-ledger.ts";
import { DEFAULT_LEASE_MS } from "../../runtime/store/pg-options.ts";
import { isReady, startMember, type Member } from "../../tests/support/fleet-members.ts";
import { startPostgres, type TestPostgres } from "../../tests/support/pg-cluster.ts";
import { waitFor } from "../../tests/support/wait-for.ts";
import { percentile, sleep } from "./measure.ts";
import type { Results } from "./results.ts";

const SEC = 1000;

async function schedules(ledger: PgLedger, n: number, firstRun: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const taskId = `job${i}`;
    await ledger.recordTaskLoad({ id: taskId, title: taskId, file: `tasks/${taskId}.ts`, error: null, enabled: true });
    await ledger.ensureSchedule({ id: `${taskId}#tick`, taskId, method: "tick", fingerprint: "fp", spec: "every 1 second", firstRun, enabled: true });
    ids.push(`${taskId}#tick`);
  }
  return ids;
}

async function members(url: string, n: number, ids: string[], leaseMs = DEFAULT_LEASE_MS): Promise<Member[]> {
  const out = Array.from({ length: n }, (_, i) => startMember(url, `bench-${i}`, leaseMs, ids));
  await waitFor(() => out.every(isReady), { timeoutMs: 60_000, what: "fleet members ready" });
  return out;
}

async function stopAll(all: Member[]): Promise<void> {
  for (const m of all) if (m.child.exitCode === null && m.child.signalCode === null) m.child.kill("SIGTERM");
  await Promise.all(all.map((m) => m.exited));
}

/** Start lag (start - occurrence) of `jobs` every-second schedules over `seconds`, shared by `hosts` members. */
async function fleetLag(pgc: TestPostgres, results: Results, hosts: number, jobs: number, seconds: number): Promise<void> {
  const url = await pgc.createDatabase();
  const ledger = await openPgLedger({ url });
  try {
    const from = Math.ceil(Date.now() / SEC) * SEC + 15 * SEC;
    const ids = await schedules(ledger, jobs, from);
    const all = await members(url, hosts, ids);
    await sleep(from + seconds * SEC + 1500 - Date.now());
    await stopAll(all);
    const runs = (await ledger.listRunsBetween(from, from + seconds * SEC)).filter((r) => r.trigger === "schedule" && r.startedAt !== null);
    const lags = runs.map((r) => r.startedAt! - r.scheduledFor!).sort((a, b) => a - b);
    const scenario = `fleet lag, ${jobs} jobs every second, ${hosts} host${hosts === 1 ? "" : "s"} on PostgreSQL`;
    results.record("taskhost", scenario, "start lag p50", percentile(lags, 50), "ms");
    results.record("taskhost", scenario, "start lag p99", percentile(lags, 99), "ms");
    results.record("taskhost", scenario, "occurrences not run", jobs * seconds - runs.length, "");
    const perHost = new Map<string, number>();
    for (const r of runs) perHost.set(r.host!, (perHost.get(r.host!) ?? 0) + 1);
    results.note(`${scenario}: runs per host ${[...perHost.values()].join(" / ")}`);
  } finally {
    await ledger.close();
  }
}

/** One claim (compare-and-set + insert) alone, and three hosts racing for the same occurrence. */
async function claimLatency(pgc: TestPostgres, results: Results, rounds: number): Promise<void> {
  const url = await pgc.createDatabase();
  const ledgers = await Promise.all([1, 2, 3].map(() => openPgLedger({ url })));
  try {
    await Promise.all(ledgers.map((l, i) => l.registerHost({ id: `h${i}`, hostname: "bench", pid: i, startedAt: Date.now() })));
    const T0 = Date.UTC(2026, 0, 1);
    await schedules(ledgers[0]!, 2, T0);
    const claim = (i: number, scheduleId: string, at: number) =>
      ledgers[i]!.claimOccurrences({
        scheduleId,
        taskId: scheduleId.split("#")[0]!,
        expectedNext: at,
        next: at + SEC,
        fingerprint: "fp",
        owner: `h${i}`,
        occurrences: [{ scheduledFor: at, trigger: "schedule" }],
      });
    const alone: number[] = [];
    const raced: number[] = [];
    // Live hosts renew their leases meanwhile (claims are fenced by them), as FleetMembership does.
    const beating = setInterval(() => {
      for (const [i, l] of ledgers.entries()) void l.beat(`h${i}`, 0).catch(() => undefined);
    }, 1000);
    try {
      for (let k = 0; k < rounds; k++) {
        const at = T0 + k * SEC;
        let t = performance.now();
        await claim(0, "job0#tick", at);
        alone.push(performance.now() - t);
        t = performance.now();
        const outcomes = await Promise.all([0, 1, 2].map((i) => claim(i, "job1#tick", at)));
        raced.push(performance.now() - t);
        if (outcomes.filter((o) => o.ok).length !== 1) throw new Error(`claim race ${k}: ${outcomes.filter((o) => o.ok).length} winners`);
      }
    } finally {
      clearInterval(beating);
    }
    alone.sort((a, b) => a - b);
    raced.sort((a, b) => a - b);
    const scenario = "fleet claim (CAS + insert, one statement) on PostgreSQL";
    results.record("taskhost", scenario, "one host p50", percentile(alone, 50), "ms");
    results.record("taskhost", scenario, "one host p99", percentile(alone, 99), "ms");
    results.record("taskhost", scenario, "3 hosts racing, all answered, p50", percentile(raced, 50), "ms");
    results.record("taskhost", scenario, "3 hosts racing, all answered, p99", percentile(raced, 99), "ms");
  } finally {
    await Promise.all(ledgers.map((l) => l.close()));
  }
}

/** kill -9 the host running a schedule's occurrence: when a survivor runs that schedule, and when the lost run is recorded. */
async function takeover(pgc: TestPostgres, results: Results, trials: number): Promise<void> {
  const nextRun: number[] = [];
  const interrupted: number[] = [];
  for (let trial = 0; trial < trials; trial++) {
    const url = await pgc.createDatabase();
    const ledger = await openPgLedger({ url });
    try {
      const ids = await schedules(ledger, 1, Math.ceil(Date.now() / SEC) * SEC + 10 * SEC);
      const all = await members(url, 3, ids);
      const victimStart = await waitFor(
        () => {
          for (const m of all) {
            const ended = new Set(m.events.filter((e) => e.ev === "end").map((e) => e.runId));
            const s = m.events.find((e) => e.ev === "start" && !ended.has(e.runId) && Date.now() - e.t < 100);
            if (s) return { member: m, start: s };
          }
          return undefined;
        },
        { timeoutMs: 60_000, intervalMs: 10, what: "a run in flight" },
      );
      victimStart.member.child.kill("SIGKILL");
      const killedAt = Date.now();
      const survivors = all.filter((m) => m !== victimStart.member);
      const firstOnSurvivor = await waitFor(() => survivors.flatMap((m) => m.events).find((e) => e.ev === "start" && e.t >= killedAt), {
        timeoutMs: 60_000,
        what: "a survivor's run",
      });
      const row = await waitFor(async () => {
        const r = await ledger.getRun(victimStart.start.runId!);
        return r?.status === "interrupted" ? r : undefined;
      }, { timeoutMs: 60_000, what: "the lost run recorded interrupted" });
      nextRun.push(firstOnSurvivor.t - killedAt);
      interrupted.push(row.finishedAt! - killedAt);
      await stopAll(all);
    } finally {
      await ledger.close();
    }
  }
  const scenario = `fleet takeover after kill -9 (3 hosts, lease ${DEFAULT_LEASE_MS / SEC} s, every(1).seconds)`;
  results.record("taskhost", scenario, "dead host's schedule runs on a survivor, max", Math.max(...nextRun) / SEC, "s");
  results.record("taskhost", scenario, "its run in flight recorded interrupted, max", Math.max(...interrupted) / SEC, "s");
  results.note(
    `${scenario}, ${trials} trials. Peers' documented takeover (not measured here): Quartz JDBC clustering ~22–37 s ` +
      `(check-in 15 s + 7.5 s), pg-boss 15 min (expireInSeconds default), graphile-worker ≥ 4 h (locked jobs of a killed worker).`,
  );
}

export async function fleetBench(results: Results, quick: boolean): Promise<void> {
  const pgc = await startPostgres({ fast: false });
  try {
    await fleetLag(pgc, results, 1, 10, quick ? 5 : 30);
    await fleetLag(pgc, results, 3, 10, quick ? 5 : 30);
    await claimLatency(pgc, results, quick ? 50 : 500);
    await takeover(pgc, results, quick ? 1 : 3);
  } finally {
    await pgc.stop();
  }
}
