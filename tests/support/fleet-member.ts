/**
 * One fleet member for the ledger-level fleet tests, as a real process (so it
 * can be kill -9'ed and SIGSTOPped): the PostgreSQL ledger, FleetMembership,
 * and a minimal every-second scheduler over the ledger's intents (claim with
 * compare-and-set, catch-up once after an outage, start, run 300 ms, end).
 * It stands in for the host's scheduler until that is wired onto the fleet.
 *
 *   node --import tsx tests/support/fleet-member.ts <url> <hostId> <leaseMs> <scheduleId>...
 *
 * stdout, one JSON object a line: {"ev":"start"|"end"|"lost"|"takeover"|"claim-lost"|"ready"|"error", ...}.
 * SIGTERM: stops claiming, lets runs end, leaves the fleet, exits 0.
 */
import { isCode } from "../../runtime/errors.ts";
import { FleetMembership } from "../../runtime/host/fleet-membership.ts";
import { openPgLedger } from "../../runtime/store/pg-ledger.ts";

const [url, hostId, leaseArg, ...scheduleIds] = process.argv.slice(2);
const PERIOD = 1000;
const RUN_MS = 300;
/** Claims are taken this long before the occurrence (as the host's scheduler arms them), so the start waits on no query. */
const AHEAD_MS = 400;
const say = (ev: string, data: Record<string, unknown> = {}) => process.stdout.write(`${JSON.stringify({ ev, t: Date.now(), ...data })}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let stopping = false;
process.on("SIGTERM", () => {
  stopping = true;
});
const ledger = await openPgLedger({ url: url!, leaseMs: Number(leaseArg), onWarning: (m) => say("warning", { m }) });
const inFlight = new Set<Promise<void>>();
const membership = new FleetMembership({ ledger, hostId: hostId!, running: () => inFlight.size });
membership.on("lost", () => say("lost"));
membership.on("takeover", (r) => say("takeover", { dead: r.deadHosts, interrupted: r.interrupted.map((x) => x.id), back: r.handedBack }));
membership.on("error", (e) => say("error", { m: String(e) }));
await membership.start();
say("ready");

async function runOne(runId: number, scheduledFor: number): Promise<void> {
  if (scheduledFor > Date.now()) await sleep(scheduledFor - Date.now());
  try {
    await ledger.recordStart(runId, Date.now());
  } catch (error) {
    if (isCode(error, "ERR_CLAIM_LOST")) {
      say("claim-lost", { runId, scheduledFor });
      return;
    }
    throw error;
  }
  say("start", { runId, scheduledFor });
  await sleep(RUN_MS);
  const row = await ledger.recordEnd(runId, { status: "success", finishedAt: Date.now(), error: null });
  say("end", { runId, scheduledFor, recorded: row?.status });
}

async function loop(scheduleId: string): Promise<void> {
  const taskId = scheduleId.split("#")[0]!;
  while (!stopping) {
    const s = await ledger.getSchedule(scheduleId);
    const now = Date.now();
    if (!s || s.nextRun === null || s.nextRun - AHEAD_MS > now) {
      await sleep(Math.min(100, s?.nextRun ? Math.max(1, s.nextRun - AHEAD_MS - now) : 100));
      continue;
    }
    // Every occurrence from the ledger's next run up to now: one is a boundary (maybe just ahead), several an outage (catch-up once).
    const due: number[] = [s.nextRun];
    for (let t = s.nextRun + PERIOD; t <= now; t += PERIOD) due.push(t);
    const next = due[due.length - 1]! + PERIOD;
    const last = due.length - 1;
    const occurrences = due.map((scheduledFor, i) =>
      due.length === 1
        ? { scheduledFor, trigger: "schedule" as const }
        : i < last
          ? { scheduledFor, trigger: "catch-up" as const, skipped: "catch_up: once" }
          : { scheduledFor, trigger: "catch-up" as const, covers: { from: due[0]!, count: due.length } },
    );
    const result = await ledger.claimOccurrences({ scheduleId, taskId, expectedNext: s.nextRun, next, fingerprint: "fp", owner: hostId!, occurrences });
    if (!result.ok) continue;
    const runId = result.runIds[last]!;
    const p: Promise<void> = runOne(runId, due[last]!)
      .catch((e: unknown) => void say("error", { m: String(e) }))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
}

await Promise.all(scheduleIds.map((id) => loop(id).catch((e: unknown) => say("error", { m: String(e) }))));
await Promise.all(inFlight);
await membership.close();
await ledger.close();
say("stopped");
process.exit(0);
