/**
 * `npm run bench [-- --quick]`: taskhost against the schedulers a user would pick
 * instead (Bree: job files in worker threads; croner: in-process callbacks),
 * driven with the same trivial job in the same run. Prints one markdown table
 * and writes it as JSON to data/bench/. Scenarios live in scripts/bench/, one a file.
 * The full bench ends with the adversarial suite (issue 10: kills, fault tasks,
 * attacks); `--faults` runs only that suite, `--faults=a,b` only those scenarios.
 * `--profile`: every taskhost host started writes a CPU profile of its main
 * thread to data/bench/profiles-<time>/ when it stops (TASKHOST_CPU_PROFILE).
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { REPO } from "../tests/support/temp-project.ts";
import { EVERY_5_SECONDS, EVERY_MINUTE } from "./bench/jobs.ts";
import { machineBusy, sleep } from "./bench/measure.ts";
import { peerIdle } from "./bench/peer-idle.ts";
import { peerLag } from "./bench/peer-lag.ts";
import { adversarialSuite } from "./bench/adversarial.ts";
import { Results } from "./bench/results.ts";
import { taskhostIdle } from "./bench/taskhost-idle.ts";
import { DRAIN_SECONDS, taskhostLag } from "./bench/taskhost-lag.ts";
import { taskhostBurst } from "./bench/taskhost-burst.ts";
import { peerBurst } from "./bench/peer-burst.ts";
import { taskhostReload } from "./bench/taskhost-reload.ts";
import { fleetBench } from "./bench/fleet-pg.ts";
import { skipPostgres } from "../tests/support/pg-cluster.ts";
import { isolationTax } from "./bench/isolation-tax.ts";

const quick = process.argv.includes("--quick");
const faultsFlag = process.argv.find((a) => a === "--faults" || a.startsWith("--faults="));
const faultNames = faultsFlag?.startsWith("--faults=") ? faultsFlag.slice("--faults=".length).split(",") : null;
const only = faultsFlag ? ["faults"] : process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
// The adversarial suite takes minutes: the full bench runs it, --quick only when asked.
const wanted = (name: string) => (only ? only.includes(name) : name !== "faults" || !quick);

/** Per scenario: jobs, seconds of boundaries counted, and taskhost's scheduler.max_concurrent_runs. */
const LAG = quick
  ? [
      { jobs: 10, seconds: 2, slots: 10 },
      { jobs: 100, seconds: 2, slots: 16 },
    ]
  : [
      { jobs: 10, seconds: 30, slots: 10 },
      { jobs: 100, seconds: 60, slots: 16 },
    ];
const BIG = quick ? { jobs: 50, period: EVERY_5_SECONDS, slots: 16, waitMs: 20_000 } : { jobs: 1000, period: EVERY_MINUTE, slots: 16, waitMs: 120_000 };
const IDLE = { jobs: 100, seconds: quick ? 5 : 60 };
const TAX_RUNS = quick ? 100 : 1000;
const RELOAD = quick ? { edits: 10, configEdits: 5 } : { edits: 50, configEdits: 20 };

const results = new Results();
const began = Date.now();

if (process.argv.includes("--profile")) {
  const folder = path.join(REPO, "data", "bench", `profiles-${new Date(began).toISOString().replace(/[:.]/g, "-")}`);
  await mkdir(folder, { recursive: true });
  // Inherited by each host's supervisor (tests/support/temp-project.ts passes process.env on).
  process.env.TASKHOST_CPU_PROFILE = folder;
  results.note(`CPU profiles of each host's main thread (one a host process, written when it stops): ${path.relative(REPO, folder)}`);
}

/** Waits (up to 30 s; not at all with --quick) for the machine to be mostly idle before a measurement, and notes it when it was not. */
async function quietMachine(label: string): Promise<void> {
  for (let waited = 0; ; waited += 5) {
    const { busyPercent, load1 } = await machineBusy();
    if (busyPercent < 40) return;
    if (quick || waited >= 30) {
      results.note(`${label}: machine still ${busyPercent.toFixed(0)}% busy (load ${load1}) from other work when measured`);
      return;
    }
    await sleep(4000);
  }
}

process.stderr.write(`taskhost bench (${quick ? "quick" : "full"})\n`);

if (wanted("reload")) {
  await quietMachine("reload");
  await taskhostReload(results, RELOAD.edits, RELOAD.configEdits);
}

if (wanted("lag")) {
  for (const { jobs, seconds, slots } of LAG) {
    await quietMachine(`lag ${jobs}`);
    await taskhostLag(results, jobs, seconds, slots);
    await peerLag(results, "bree", jobs, seconds);
    await peerLag(results, "croner", jobs, seconds);
  }
}

if (wanted("big")) {
  // N task files: cold start, warm start, then one boundary where all N are due at once.
  await quietMachine(`start/burst ${BIG.jobs}`);
  await taskhostBurst(results, BIG.jobs, BIG.period, BIG.slots, BIG.waitMs);
  await peerBurst(results, "bree", BIG.jobs, BIG.period, BIG.waitMs);
  await peerBurst(results, "croner", BIG.jobs, BIG.period, BIG.waitMs);
}

if (wanted("tax")) {
  // The same burst through the run launcher under each isolation level, and croner in-process.
  await quietMachine(`isolation tax ${TAX_RUNS}`);
  await isolationTax(results, TAX_RUNS);
}

if (wanted("idle")) {
  await quietMachine("idle");
  await taskhostIdle(results, IDLE.jobs, IDLE.seconds);
  await quietMachine("idle, no supervisor");
  await taskhostIdle(results, IDLE.jobs, IDLE.seconds, false);
  await peerIdle(results, "bree", IDLE.jobs, IDLE.seconds);
  await peerIdle(results, "croner", IDLE.jobs, IDLE.seconds);
}

if (wanted("fleet")) {
  // Several hosts on one PostgreSQL ledger (issue 14); needs Debian's postgresql (see scripts/pg-start.sh).
  if (skipPostgres) results.note("fleet: skipped, PostgreSQL's server programs are not installed (apt-get install postgresql)");
  else {
    await quietMachine("fleet");
    await fleetBench(results, quick);
  }
}

if (wanted("faults")) await adversarialSuite(results, quick, faultNames);

if (results.rows.length) {
  results.note(
    `taskhost scheduler.max_concurrent_runs: ${[...LAG, BIG].map((l) => `${l.slots} for ${l.jobs} jobs`).join(", ")} (default 8 in reload/idle). ` +
      `Lag windows: ${LAG.map((l) => `${l.seconds} s`).join(" / ")} of boundaries, each plus ${DRAIN_SECONDS} s for late starts. Idle window ${IDLE.seconds} s.`,
  );
}
const wallSec = (Date.now() - began) / 1000;
results.note(`wall time ${wallSec.toFixed(0)} s (${quick ? "quick" : "full"}), Node ${process.version}`);

process.stdout.write(`${results.markdown()}\n`);
const dir = path.join(REPO, "data", "bench");
await mkdir(dir, { recursive: true });
const file = path.join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
await writeFile(file, JSON.stringify({ quick, node: process.version, at: new Date().toISOString(), wallSec, rows: results.rows, faults: results.faults, notes: results.notes }, null, 2));
process.stderr.write(`written ${path.relative(REPO, file)}\n`);
