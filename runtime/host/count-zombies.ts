import { readdirSync } from "node:fs";
import { procStat } from "../util/proc-stat.ts";

/**
 * How many children of this process have died and wait to be reaped. Each
 * holds a PID (and counts against systemd's TasksMax) until the host process
 * exits. A run's children are reaped by its thread (run-children.ts); one whose
 * thread ended at once (its heap limit) leaves them here. Linux only (/proc);
 * elsewhere 0.
 */
export function countZombies(pid = process.pid): number {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return 0;
  }
  let count = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    // null: gone while we looked.
    const [state, ppid] = procStat(entry) ?? [];
    if (state === "Z" && Number(ppid) === pid) count++;
  }
  return count;
}
