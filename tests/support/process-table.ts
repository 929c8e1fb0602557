import { readdirSync, readFileSync } from "node:fs";

/** A process as /proc shows it. */
export interface Proc {
  pid: number;
  ppid: number;
  /** R, S, Z, T … */
  state: string;
  cmdline: string;
}

/** Every process on the machine now, from /proc. */
export function processTable(): Proc[] {
  const out: Proc[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      out.push({ pid: Number(entry), ppid: Number(fields[1]), state: fields[0]!, cmdline });
    } catch {
      // gone while we looked
    }
  }
  return out;
}
