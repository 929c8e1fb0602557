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

/** CPU of `pid`'s tree from `from` until `until` (epoch ms), s: a process tree's CPU over a lag window. */
export async function windowCpu(pid: number, from: number, until: number): Promise<number> {
  await sleep(from - Date.now());
  const c0 = await cpuSeconds(pid);
  await sleep(until - Date.now());
  return (await cpuSeconds(pid)) - c0;
}

/**
 * Memory of the tree, MB: RSS summed (pages the processes share, such as the
 * node binary's, counted once per process) and PSS (each shared page split
 * between the processes that map it, so the tree's sum counts it once).
 */
export async function treeMemoryMb(pid: number): Promise<{ rss: number; pss: number }> {
  let rss = 0;
  let pss = 0;
  for (const p of await processTree(pid)) {
    const status = await readFile(`/proc/${p}/status`, "utf8").catch(() => "");
    rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const rollup = await readFile(`/proc/${p}/smaps_rollup`, "utf8").catch(() => "");
    pss += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
  }
  return { rss: rss / 1024, pss: pss / 1024 };
}

/** Resident set of the tree (summed), MB. */
export async function rssMb(pid: number): Promise<number> {
  return (await treeMemoryMb(pid)).rss;
}

export interface IdleCost {
  cpuPercent: number;
  rssMeanMb: number;
  rssMaxMb: number;
  pssMeanMb: number;
}

/** CPU (% of one core) and memory of a process tree over `seconds`, sampled every second (mean and max). */
export async function idleCost(pid: number, seconds: number): Promise<IdleCost> {
  const c0 = await cpuSeconds(pid);
  const t0 = performance.now();
  const samples: Array<{ rss: number; pss: number }> = [];
  while (performance.now() - t0 < seconds * 1000) {
    await sleep(Math.min(1000, seconds * 1000 - (performance.now() - t0)));
    samples.push(await treeMemoryMb(pid));
  }
  const c1 = await cpuSeconds(pid);
  const wall = (performance.now() - t0) / 1000;
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    cpuPercent: ((c1 - c0) / wall) * 100,
    rssMeanMb: mean(samples.map((s) => s.rss)),
    rssMaxMb: Math.max(...samples.map((s) => s.rss)),
    pssMeanMb: mean(samples.map((s) => s.pss)),
  };
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
