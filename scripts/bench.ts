/**
 * `npm run bench [-- --quick]`: measured numbers, printed as a markdown table and
 * written as JSON to data/bench/. Tests only assert generous bounds; the figures live here.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { TempProject, REPO } from "../tests/support/temp-project.ts";
import { waitFor } from "../tests/support/wait-for.ts";
import type { RunJson } from "../runtime/host/report-shapes.ts";

const quick = process.argv.includes("--quick");

interface Row {
  scenario: string;
  metric: string;
  value: number;
  unit: string;
}
const rows: Row[] = [];
const record = (scenario: string, metric: string, value: number, unit: string) => {
  rows.push({ scenario, metric, value: Math.round(value * 100) / 100, unit });
  process.stderr.write(`  ${scenario}: ${metric} = ${value.toFixed(2)} ${unit}\n`);
};

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const tick = (n: number) => `import { repeat, every, type TaskContext } from "taskhost";
export default class {
  @repeat(every(1).seconds)
  async start(ctx: TaskContext) { ctx.state.set("n", ${n}); }
}
`;

/** Scheduling lag (startedAt - scheduledFor) with `count` tasks due on the same boundaries. */
async function lag(count: number, seconds: number): Promise<void> {
  const project = await TempProject.create({ scheduler: { max_concurrent_runs: Math.min(count, 8) }, logging: { level: "warn" } });
  try {
    for (let i = 0; i < count; i++) await project.writeTask(`t${i}.ts`, tick(i));
    const host = await project.start();
    const startedAt = Date.now();
    await waitFor(() => Date.now() > startedAt + seconds * 1000, { timeoutMs: seconds * 1000 + 5000, intervalMs: 200 });
    await host.stop();
    const lags: number[] = [];
    for (let i = 0; i < count; i++) {
      const runs = await project.json<RunJson[]>(["history", `t${i}`, "--limit", "1000"]);
      for (const r of runs) if (r.startedAt && r.scheduledFor && r.trigger === "schedule") lags.push(Date.parse(r.startedAt) - Date.parse(r.scheduledFor));
    }
    lags.sort((a, b) => a - b);
    const name = `lag, ${count} task(s) every(1).seconds`;
    record(name, "runs", lags.length, "runs");
    record(name, "median", percentile(lags, 50), "ms");
    record(name, "p99", percentile(lags, 99), "ms");
    record(name, "max", lags.at(-1) ?? NaN, "ms");
  } finally {
    await project.cleanup();
  }
}

/** Idle cost: 100 tasks scheduled every minute. */
async function idle(count: number, seconds: number): Promise<void> {
  const project = await TempProject.create({ logging: { level: "warn" } });
  try {
    for (let i = 0; i < count; i++) {
      await project.writeTask(
        `m${i}.ts`,
        `import { repeat, every } from "taskhost";\nexport default class { @repeat(every(1).minute) async start() {} }\n`,
      );
    }
    const t0 = Date.now();
    const host = await project.start();
    record(`idle, ${count} tasks every minute`, "cold start", Date.now() - t0, "ms");
    const cpu0 = await cpuTicks(host.pid);
    const w0 = Date.now();
    await waitFor(() => Date.now() > w0 + seconds * 1000, { timeoutMs: seconds * 1000 + 5000, intervalMs: 500 });
    const cpu1 = await cpuTicks(host.pid);
    const rss = await rssMb(host.pid);
    record(`idle, ${count} tasks every minute`, "CPU of one core", ((cpu1 - cpu0) / 100 / seconds) * 100, "%");
    record(`idle, ${count} tasks every minute`, "RSS", rss, "MB");
    await host.stop();
  } finally {
    await project.cleanup();
  }
}

async function cpuTicks(pid: number): Promise<number> {
  const stat = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
  return Number(stat[11]) + Number(stat[12]);
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** Counts `event` lines in scheduler.log, read from where the last call stopped. */
function eventCounter(project: TempProject, event: string): () => Promise<number> {
  let offset = 0;
  let count = 0;
  const file = path.join(project.root, "logs", "scheduler.log");
  return async () => {
    const text = await readFile(file, "utf8").catch(() => "");
    const fresh = text.slice(offset);
    offset = text.length;
    count += fresh.split(`"event":"${event}"`).length - 1;
    return count;
  };
}

/** Save-to-live: from writing a task file (or config.yaml) to the host logging it live. */
async function reload(edits: number): Promise<void> {
  const project = await TempProject.create();
  try {
    const file = await project.writeTask("edited.ts", tick(0));
    await project.start();
    const loaded = eventCounter(project, "task.loaded");
    await loaded();
    const latencies: number[] = [];
    for (let i = 1; i <= edits; i++) {
      const before = await loaded();
      const t0 = performance.now();
      await writeFile(file, tick(i));
      await waitFor(async () => (await loaded()) > before, { timeoutMs: 10_000, intervalMs: 2 });
      latencies.push(performance.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    record(`reload, task file saved ${edits} times`, "median", percentile(latencies, 50), "ms");
    record(`reload, task file saved ${edits} times`, "p95", percentile(latencies, 95), "ms");

    const reloaded = eventCounter(project, "config.reloaded");
    await reloaded();
    const configLatencies: number[] = [];
    for (let i = 1; i <= Math.min(edits, 20); i++) {
      const before = await reloaded();
      const t0 = performance.now();
      await project.writeConfig({ scheduler: { max_concurrent_runs: 4 + (i % 2) } });
      await waitFor(async () => (await reloaded()) > before, { timeoutMs: 10_000, intervalMs: 2, what: "config.reloaded" }).catch(async (error: unknown) => {
        const log = await readFile(path.join(project.root, "logs", "scheduler.log"), "utf8");
        throw new Error(`${String(error)}\n${log.split("\n").filter((l) => !l.includes("run.")).slice(-8).join("\n")}`);
      });
      configLatencies.push(performance.now() - t0);
    }
    configLatencies.sort((a, b) => a - b);
    record("reload, config.yaml saved", "median", percentile(configLatencies, 50), "ms");
    record("reload, config.yaml saved", "p95", percentile(configLatencies, 95), "ms");
  } finally {
    await project.cleanup();
  }
}

process.stderr.write(`taskhost bench (${quick ? "quick" : "full"})\n`);
await reload(quick ? 20 : 50);
if (!process.argv.includes("--reload-only")) await lag(1, quick ? 12 : 60);
if (!process.argv.includes("--reload-only")) await lag(10, quick ? 10 : 30);
if (!quick) await lag(100, 30);
if (!process.argv.includes("--reload-only")) await idle(100, quick ? 20 : 60);

const table = ["| scenario | metric | value |", "|---|---|---|", ...rows.map((r) => `| ${r.scenario} | ${r.metric} | ${r.value} ${r.unit} |`)].join("\n");
process.stdout.write(`${table}\n`);
const dir = path.join(REPO, "data", "bench");
await mkdir(dir, { recursive: true });
const file = path.join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
await writeFile(file, JSON.stringify({ quick, node: process.version, at: new Date().toISOString(), rows }, null, 2));
process.stderr.write(`written ${path.relative(REPO, file)}\n`);
