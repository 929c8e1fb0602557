/**
 * A peer scheduler (Bree or croner) with N jobs, in a child process of its own
 * so its CPU and RSS are measured like taskhost's. The driver is plain JS
 * written to a temp folder and run with plain `node` (no loader).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { jobBody, type Period } from "./jobs.ts";

export type Peer = "bree" | "croner";

export interface PeerOutcome {
  /** [boundary, job code start] pairs, epoch ms. */
  samples: Array<[number, number]>;
  /** Bree: runs refused because the job's previous worker was still running. */
  skipped: number;
}

const require = createRequire(import.meta.url);

/**
 * Bree: one job file per job in a worker thread, on a cron pattern with seconds
 * (Bree's `interval: '1s'` is a plain setInterval, not aligned to the clock).
 * The boundary a run is for is the whole second at or just before Bree created
 * its worker (50 ms of early firing tolerated); the job posts its own start time.
 * croner: in-process; the boundary is the whole second the callback started in
 * (croner's currentRun() is the trigger time, not the scheduled instant).
 */
const DRIVER = String.raw`
const [peer, jobs, pattern, periodMs, dir, lib] = process.argv.slice(2);
const n = Number(jobs);
const period = Number(periodMs);
const samples = [];
let skipped = 0;
let stop;
const boundary = (t) => Math.floor(t / period) * period;
const sample = (b, startedAt) => {
  samples.push([b, startedAt]);
  process.stdout.write("n " + samples.length + "\n");
};
if (peer === "croner") {
  const { Cron } = await import(lib);
  const crons = [];
  for (let i = 0; i < n; i++) {
    crons.push(new Cron(pattern, () => {
      const startedAt = Date.now();
      JOB_BODY
      sample(boundary(startedAt), startedAt);
    }));
  }
  stop = async () => crons.forEach((c) => c.stop());
} else {
  const Bree = (await import(lib)).default;
  const created = new Map();
  const bree = new Bree({
    root: false,
    logger: { info() {}, warn(e) { if (String(e && e.message || e).includes("already running")) skipped++; else console.error(e); }, error(...a) { console.error(...a); } },
    jobs: Array.from({ length: n }, (_, i) => ({
      name: "job" + i,
      path: dir + "/job" + i + ".mjs",
      cron: pattern,
      hasSeconds: true,
    })),
    workerMessageHandler: ({ name, message }) => {
      if (message && typeof message.startedAt === "number") sample(boundary((created.get(name) ?? message.startedAt) + 50), message.startedAt);
    },
  });
  bree.on("worker created", (name) => created.set(name, Date.now()));
  // Bree's cron (later.js) keeps the millisecond phase of the moment it was started:
  // start it just after a whole second, the best alignment a user can get.
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 2));
  await bree.start();
  stop = () => bree.stop();
}
process.stdout.write("ready\n");
process.stdin.setEncoding("utf8").on("data", async (d) => {
  if (!d.includes("stop")) return;
  await stop();
  process.stdout.write(JSON.stringify({ samples, skipped }) + "\n", () => process.exit(0));
});
`;

const breeJob = (i: number) => `import { parentPort } from "node:worker_threads";
const startedAt = Date.now();
${jobBody(i)}
parentPort.postMessage({ startedAt });
`;

export interface RunningPeer {
  child: ChildProcess;
  pid: number;
  /** Runs whose job code has started so far. */
  started(): number;
  /** Stops the scheduler and returns what it measured. */
  finish(): Promise<PeerOutcome>;
}

export async function startPeer(peer: Peer, jobs: number, period: Period): Promise<RunningPeer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `bench-${peer}-`));
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "driver.mjs"), DRIVER.replace("JOB_BODY", jobBody(0).replace("0", "i")));
  if (peer === "bree") for (let i = 0; i < jobs; i++) await writeFile(path.join(dir, `job${i}.mjs`), breeJob(i));
  const lib = pathToFileURL(peer === "bree" ? require.resolve("bree") : require.resolve("croner")).href;
  const child = spawn(process.execPath, [path.join(dir, "driver.mjs"), peer, String(jobs), period.cron, String(period.ms), dir, lib], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  let started = 0;
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    for (const m of d.matchAll(/^n (\d+)$/gm)) started = Number(m[1]);
    out += d.replace(/^n \d+\n/gm, "");
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (out.includes("ready\n")) {
        clearInterval(poll);
        resolve();
      } else if (child.exitCode != null) {
        clearInterval(poll);
        reject(new Error(`${peer} driver exited ${child.exitCode}`));
      }
    }, 20);
  });
  return {
    child,
    pid: child.pid!,
    started: () => started,
    finish: async () => {
      child.stdin!.write("stop\n");
      const code = await Promise.race([exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 60_000).unref())]);
      if (code === "timeout") child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (!line) throw new Error(`${peer} driver gave no result (exit ${String(code)})`);
      return JSON.parse(line) as PeerOutcome;
    },
  };
}
