/**
 * Ledger flush cost with a big history (not part of `npm test` or `npm run bench`):
 *
 *   node --import tsx scripts/bench/store-flush.ts [--runs=100000] [--flushes=1000] [--store=<sqljs-store.ts>]
 *
 * Builds a database of `runs` runs (100 tasks, ~300 bytes each), then does
 * what the scheduler does once per run: claim (insertRun + setNextRun +
 * flush), finish (updateRun with output + pruneRuns to 1000), and times each
 * claim's flush(). Also times a full snapshot (close()) and an open that
 * replays a journal. `--store` points at another copy of the store module
 * (e.g. a checkout of an older commit) to compare; options it does not know
 * are ignored there.
 */
import { copyFile, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { NewRun } from "../../runtime/store/store-mutations.ts";
import type { SqlJsLedger as Store } from "../../runtime/store/sqljs-store.ts";
import type { SqlJsStoreOptions } from "../../runtime/store/store-options.ts";
import { percentile } from "./measure.ts";

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const RUNS = Number(arg("runs", "100000"));
const FLUSHES = Number(arg("flushes", "1000"));
const TASKS = 100;
const storeModule = path.resolve(arg("store", path.join(import.meta.dirname, "../../runtime/store/sqljs-store.ts")));
const { openSqlJsStore } = (await import(pathToFileURL(storeModule).href)) as {
  openSqlJsStore: (options: SqlJsStoreOptions) => Promise<Store>;
};

const OUTPUT = "line of task output, ".repeat(10);
const run = (task: number, at: number, finished: boolean): NewRun => ({
  taskId: `task-${task}`,
  scheduleId: `task-${task}#run`,
  scheduledFor: at,
  startedAt: finished ? at + 1 : null,
  finishedAt: finished ? at + 5 : null,
  status: finished ? "success" : "running",
  attempt: 1,
  trigger: "schedule",
  error: null,
  output: finished ? OUTPUT : "",
});

const ms = (start: number) => performance.now() - start;
const fmt = (n: number) => n.toFixed(2);
function summary(name: string, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  console.log(
    `${name}: n=${samples.length} median ${fmt(percentile(sorted, 50))} ms, p99 ${fmt(percentile(sorted, 99))} ms, ` +
      `max ${fmt(sorted[sorted.length - 1]!)} ms, mean ${fmt(mean)} ms`,
  );
}

const dir = await mkdtemp(path.join(tmpdir(), "taskhost-flush-bench-"));
const dbPath = path.join(dir, "scheduler.db");
const options = { path: dbPath, flushDelayMs: 200, onWarning: (m: string) => console.warn(m) };
try {
  console.log(`store: ${path.relative(process.cwd(), storeModule)}; ${RUNS} runs, ${FLUSHES} timed claims`);
  let start = performance.now();
  let store = await openSqlJsStore(options);
  for (let i = 0; i < TASKS; i++) {
    await store.upsertTask({ id: `task-${i}`, title: `Task ${i}`, file: `tasks/task-${i}.ts` });
    await store.upsertSchedule({ id: `task-${i}#run`, taskId: `task-${i}`, method: "run", fingerprint: "{}", spec: "every second", nextRun: 0 });
  }
  for (let i = 0; i < RUNS; i++) await store.insertRun(run(i % TASKS, i * 1000, true));
  await store.close();
  console.log(`built in ${fmt(ms(start))} ms; file ${((await stat(dbPath)).size / 1e6).toFixed(1)} MB`);

  start = performance.now();
  store = await openSqlJsStore(options);
  console.log(`open (snapshot, empty journal): ${fmt(ms(start))} ms`);

  const flushes: number[] = [];
  const cycles: number[] = [];
  for (let i = 0; i < FLUSHES; i++) {
    const task = i % TASKS;
    const at = (RUNS + i) * 1000;
    const cycle = performance.now();
    // Claim: the scheduler's insertRun + setNextRun + flush before the run starts.
    const id = await store.insertRun(run(task, at, false));
    await store.setNextRun(`task-${task}#run`, at + 1000);
    start = performance.now();
    await store.flush();
    flushes.push(ms(start));
    // Finish: record the outcome and prune the history (flushed in the background).
    await store.updateRun(id, { status: "success", startedAt: at + 1, finishedAt: at + 5, output: OUTPUT });
    await store.pruneRuns(`task-${task}`, RUNS / TASKS);
    cycles.push(ms(cycle));
  }
  summary("claim flush()", flushes);
  summary("claim+flush+finish+prune", cycles);

  // A crash now: copy the files, then time an open that replays the journal.
  const crashed = path.join(dir, "crashed");
  await import("node:fs/promises").then((fs) => fs.mkdir(crashed));
  for (const name of await readdir(dir)) if (name.startsWith("scheduler.db")) await copyFile(path.join(dir, name), path.join(crashed, name));
  const journalBytes = await stat(path.join(crashed, "scheduler.db.journal")).then((s) => s.size, () => 0);
  start = performance.now();
  const reopened = await openSqlJsStore({ ...options, path: path.join(crashed, "scheduler.db") });
  console.log(`open after a crash (journal ${(journalBytes / 1e3).toFixed(0)} kB, replayed + snapshot): ${fmt(ms(start))} ms`);
  await reopened.close();

  const snapshots: number[] = [];
  for (let i = 0; i < 5; i++) {
    await store.insertRun(run(0, 0, true));
    start = performance.now();
    await store.close(); // a full snapshot (export + write + fsync + rename)
    snapshots.push(ms(start));
    store = await openSqlJsStore(options);
  }
  summary("snapshot (close)", snapshots);
  await store.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
