/** Statistics and /proc sampling shared by every scenario. */
import { readFile, readdir } from "node:fs/promises";

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Sleeps until `ms` past the next whole second (so a window starts away from a boundary). */
export async function untilPastSecond(ms: number): Promise<void> {
  await sleep(1000 - (Date.now() % 1000) + ms);
}

/** The process and all its descendants (taskhost: supervisor + host; a peer: one process). */
export async function processTree(pid: number): Promise<number[]> {
  const all = [pid];
  for (let i = 0; i < all.length; i++) {
    const tasks = await readdir(`/proc/${all[i]}/task`).catch(() => [] as string[]);
    for (const tid of tasks) {
      const children = await readFile(`/proc/${all[i]}/task/${tid}/children`, "utf8").catch(() => "");
      for (const child of children.split(" ").filter(Boolean)) all.push(Number(child));
    }
  }
  return all;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** utime + stime of the tree, in seconds (exited descendants are not counted). */
export async function cpuSeconds(pid: number): Promise<number> {
  let ticks = 0;
  for (const p of await processTree(pid)) {
    const stat = await readFile(`/proc/${p}/stat`, "utf8").catch(() => "");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields.length > 13) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS;
}

/** Resident set of the tree, MB. */
export async function rssMb(pid: number): Promise<number> {
  let kb = 0;
  for (const p of await processTree(pid)) {
    const status = await readFile(`/proc/${p}/status`, "utf8").catch(() => "");
    kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  return kb / 1024;
}

/** CPU (% of one core) and RSS of a process tree over `seconds`, RSS sampled every second (mean and max). */
export async function idleCost(pid: number, seconds: number): Promise<{ cpuPercent: number; rssMeanMb: number; rssMaxMb: number }> {
  const c0 = await cpuSeconds(pid);
  const t0 = performance.now();
  const samples: number[] = [];
  while (performance.now() - t0 < seconds * 1000) {
    await sleep(Math.min(1000, seconds * 1000 - (performance.now() - t0)));
    samples.push(await rssMb(pid));
  }
  const c1 = await cpuSeconds(pid);
  const wall = (performance.now() - t0) / 1000;
  return { cpuPercent: ((c1 - c0) / wall) * 100, rssMeanMb: samples.reduce((a, b) => a + b, 0) / samples.length, rssMaxMb: Math.max(...samples) };
}

/** Machine load right now (1-minute load average and busy share over 1 s), to flag disturbed measurements. */
export async function machineBusy(): Promise<{ load1: number; busyPercent: number }> {
  const read = async () => (await readFile("/proc/stat", "utf8")).split("\n")[0]!.split(/\s+/).slice(1).map(Number);
  const a = await read();
  await sleep(1000);
  const b = await read();
  const d = b.map((v, i) => v - a[i]!);
  const total = d.reduce((x, y) => x + y, 0);
  const idle = d[3]! + d[4]!;
  const load1 = Number((await readFile("/proc/loadavg", "utf8")).split(" ")[0]);
  return { load1, busyPercent: total ? ((total - idle) / total) * 100 : 0 };
}
