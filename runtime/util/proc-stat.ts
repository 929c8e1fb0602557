import { readFileSync } from "node:fs";

/**
 * The fields of /proc/<pid>/stat after the parenthesised command name (which
 * may hold spaces): [0] the state ("Z": a zombie), [1] the parent's PID, [2]
 * the process group. null when there is no such process, or no /proc (not Linux).
 */
export function procStat(pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}
